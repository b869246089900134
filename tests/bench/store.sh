#!/usr/bin/env bash
# Store benchmark: writes through the management API (each acknowledged only once it is
# durable), loading a store of RECORDS records at start, and how long a write takes to
# be served by the DNS side. acme-srv only: no reference program has this API.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench-store tests/bench/store.sh
#
# Environment (normally set by tests/bench/run):
#   BIN        the acme-srv binary (required)      OUT_DIR  results folder (required)
#   DURATION   seconds per wrk run (10)            REPS     repetitions (3)
#   RECORDS    records in the large store (100000) SERVER_CPU / LOAD_CPU  cores (0 / 1)
#
# 1. API writes/s: `acme-srv serve` (DNS + API + SQLite store) pinned to SERVER_CPU, wrk
#    on LOAD_CPU adding a new TXT record per request (api-writes.lua) with 1 and with 16
#    connections. Afterwards every acknowledged write must be in the store.
# 2. Load: RECORDS SRV records are put into the store file (one SQLite transaction, by
#    python3's sqlite3, with the JSON form the API itself stored), then acme-srv is
#    started and timed until "acme-srv ready"; RSS is read then, and dig checks an answer.
# 3. The same writes with RECORDS records in the store, and write-to-answer latency: from
#    the API's 201 until dig sees the new TXT record.
source "$(dirname "$0")/lib.sh"
set -E
here=$(cd "$(dirname "$0")" && pwd)

: "${BIN:?store.sh: set BIN to the acme-srv binary}"
: "${OUT_DIR:?store.sh: set OUT_DIR to a results folder}"
: "${DURATION:=10}" "${REPS:=3}" "${RECORDS:=100000}"
LOAD_DEADLINE=120   # seconds acme-srv may take to become ready
VISIBLE_PROBES=5    # writes timed until DNS serves them
token="bench-admin-token"

die() { echo "store.sh: $*" >&2; exit 1; }
say() { echo "store.sh: $*" >&2; }
trap 'echo "store.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
for tool in wrk:wrk dig:bind9-dnsutils python3:python3 taskset:util-linux; do
    command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} not found (apt-get install ${tool#*:})"
done
BIN=$(readlink -f "$BIN")
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
work="$OUT_DIR/store"
rm -rf "$work"
mkdir -p "$work"
: > "$OUT_DIR/store.tsv"
db="$work/store.sqlite"
dns_port=$(free_port)
api_port=$(free_port)
cat > "$work/acme-srv.toml" <<EOF
[dns]
listen = ["127.0.0.1:$dns_port"]

[[dns.zones]]
origin = "bench.test"
ns = ["ns1.bench.test"]
records = ["ns1 3600 IN A 127.0.0.1", "client 300 IN A 127.0.0.1"]

[api]
listen = "127.0.0.1:$api_port"

[store]
url = "sqlite://$db"
EOF

# start_server : starts acme-srv, waits for "acme-srv ready", sets PID and READY_S.
start_server() {
    local log="$work/server.$1.log" t0
    t0=$(date +%s.%N)
    start_bg "$SERVER_CPU" "$log" env -u RUST_LOG ACME_SRV_ADMIN_TOKEN="$token" "$BIN" serve --config "$work/acme-srv.toml"
    PID=$BENCH_LAST_PID
    wait_log "$log" "acme-srv ready" "$LOAD_DEADLINE" || die "acme-srv did not become ready (log: $log)"
    READY_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
    SERVER_LOG=$log
}

stop_server() {
    kill -TERM "$PID"
    local deadline=$(( $(date +%s) + 30 ))
    while kill -0 "$PID" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || die "acme-srv did not stop within 30 s of SIGTERM"
        sleep 0.05
    done
}

# api METHOD PATH [BODY] : calls the API as admin; prints the body, fails on non-2xx.
api() {
    curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$api_port$2"
}

# writes LABEL CONNS REP : one wrk run; appends its figures to store.tsv, counts acks.
ACKED=0
writes() {
    local label=$1 conns=$2 rep=$3 out="$work/wrk.$1.$2.$3.txt"
    taskset -c "$LOAD_CPU" timeout -k 5 $(( DURATION + 30 )) wrk -t1 -c"$conns" -d"${DURATION}s" --latency \
        -s "$here/api-writes.lua" "http://127.0.0.1:$api_port" -- "$token" "$label-$conns-$rep" > "$out"
    local total non2xx rps p50 p99
    total=$(awk '/requests in/ {print $1}' "$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
    rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    [ -n "$total" ] && [ -n "$rps" ] || { cat "$out" >&2; die "wrk printed no figures"; }
    [ -z "$non2xx" ] || { cat "$out" >&2; die "$non2xx writes were refused ($label, $conns connections)"; }
    ACKED=$(( ACKED + total ))
    say "  $label, $conns connections, run $rep: $rps writes/s, p50 $p50, p99 $p99"
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$conns" "$rep" writes_per_s "$rps" "$label" "$conns" "$rep" p50 "$p50" \
        "$label" "$conns" "$rep" p99 "$p99" >> "$work/runs.tsv"
}

# stored_writes : how many benchmark TXT records (owners w*) the API lists.
stored_writes() {
    api GET /v1/records | python3 -c 'import json, sys; print(sum(1 for r in json.load(sys.stdin) if r["owner"].startswith("w")))'
}

: > "$work/runs.tsv"
# ---------------------------------------------------------------------------------------
say "1. API writes into an empty store"
start_server empty
for rep in $(seq 1 "$REPS"); do
    for conns in 1 16; do writes empty "$conns" "$rep"; done
done
stored=$(stored_writes)
[ "$stored" -ge "$ACKED" ] || die "only $stored of $ACKED acknowledged writes are in the store"
acked_empty=$ACKED
say "  $acked_empty writes acknowledged, $stored stored"
# The SRV record whose stored JSON form the large store repeats.
api POST /v1/records '{"owner":"_acme-challenge._tcp.template.bench.test","ttl":300,"type":"SRV","priority":10,"weight":5,"port":8080,"target":"client.bench.test"}' >/dev/null
stop_server

# ---------------------------------------------------------------------------------------
say "2. loading a store of $RECORDS SRV records"
python3 - "$db" "$RECORDS" <<'PY'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
(data,) = con.execute("SELECT data FROM records WHERE type = 'SRV'").fetchone()
with con:
    # The writes of part 1 go, so the store holds exactly n records (and the template).
    con.execute("DELETE FROM records WHERE type = 'TXT' AND owner GLOB 'w*'")
    con.executemany(
        "INSERT INTO records (owner, type, data, ttl) VALUES (?, 'SRV', ?, 300)",
        ((f"_acme-challenge._tcp.n{i}.bench.test", data) for i in range(n)),
    )
    con.execute("UPDATE zone_serial SET serial = serial + 1")
con.close()
PY
for rep in $(seq 1 "$REPS"); do
    start_server "large-$rep"
    rss=$(rss_kib "$PID")
    built_ms=$(grep -o 'DNS snapshot built.*' "$SERVER_LOG" | grep -o 'took_ms=[0-9]*' | head -1 | cut -d= -f2)
    records=$(grep -o 'DNS snapshot built.*' "$SERVER_LOG" | grep -o 'records=[0-9]*' | head -1 | cut -d= -f2)
    [ "${records:-0}" -ge "$RECORDS" ] || die "the snapshot has ${records:-no} records, expected at least $RECORDS"
    answer=$(dig +short +time=2 +tries=1 -p "$dns_port" @127.0.0.1 "_acme-challenge._tcp.n$(( RECORDS - 1 )).bench.test" SRV)
    [ "$answer" = "10 5 8080 client.bench.test." ] || die "wrong SRV answer from the large store: '$answer'"
    say "  run $rep: ready in $READY_S s (snapshot built in $built_ms ms), RSS $(( rss / 1024 )) MiB"
    printf 'load\t-\t%s\tready_s\t%s\nload\t-\t%s\tsnapshot_ms\t%s\nload\t-\t%s\trss_kib\t%s\n' \
        "$rep" "$READY_S" "$rep" "$built_ms" "$rep" "$rss" >> "$work/runs.tsv"
    [ "$rep" = "$REPS" ] || stop_server
done

# ---------------------------------------------------------------------------------------
say "3. API writes with $RECORDS records in the store"
for rep in $(seq 1 "$REPS"); do writes large 16 "$rep"; done
say "  write-to-answer latency"
for i in $(seq 1 "$VISIBLE_PROBES"); do
    owner="visible-$i.bench.test"
    api POST /v1/records "{\"owner\":\"$owner\",\"ttl\":60,\"type\":\"TXT\",\"value\":\"probe $i\"}" >/dev/null
    t0=$(date +%s%N)
    deadline=$(( $(date +%s) + 30 ))
    until [ -n "$(dig +short +time=1 +tries=1 -p "$dns_port" @127.0.0.1 "$owner" TXT)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "$owner not served 30 s after its write was acknowledged"
    done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf 'visible\t-\t%s\tms\t%s\n' "$i" "$ms" >> "$work/runs.tsv"
done
rss_after=$(rss_kib "$PID")
stop_server

# ---------------------------------------------------------------------------------------
# Medians and the report.
med() { median $(awk -F'\t' -v l="$1" -v c="$2" -v m="$3" '$1 == l && $2 == c && $4 == m {print $5}' "$work/runs.tsv"); }
# One value per line, so that median gets one argument per run.
strip_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f\n", v / 1000; else if (v ~ /ms$/) printf "%.2f\n", v + 0; else if (v ~ /s$/) printf "%.2f\n", v * 1000; else print v }'; }
declare -A M
for key in empty:1 empty:16 large:16; do
    l=${key%%:*} c=${key#*:}
    M[$key,rps]=$(med "$l" "$c" writes_per_s)
    M[$key,p50]=$(median $(for v in $(awk -F'\t' -v l="$l" -v c="$c" '$1 == l && $2 == c && $4 == "p50" {print $5}' "$work/runs.tsv"); do strip_ms "$v"; done))
    M[$key,p99]=$(median $(for v in $(awk -F'\t' -v l="$l" -v c="$c" '$1 == l && $2 == c && $4 == "p99" {print $5}' "$work/runs.tsv"); do strip_ms "$v"; done))
    printf 'api_writes_%s\tacme-srv\t%s_conns_writes_per_s\t%s\n' "$l" "$c" "${M[$key,rps]}" >> "$OUT_DIR/store.tsv"
    printf 'api_writes_%s\tacme-srv\t%s_conns_p99_ms\t%s\n' "$l" "$c" "${M[$key,p99]}" >> "$OUT_DIR/store.tsv"
done
ready=$(med load - ready_s) snapshot=$(med load - snapshot_ms) rss=$(med load - rss_kib) visible=$(med visible - ms)
printf 'store_load\tacme-srv\tready_s\t%s\nstore_load\tacme-srv\tsnapshot_ms\t%s\nstore_load\tacme-srv\trss_kib\t%s\nstore_visible\tacme-srv\tms\t%s\n' \
    "$ready" "$snapshot" "$rss" "$visible" >> "$OUT_DIR/store.tsv"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
    echo "## Store: API writes, loading $RECORDS records, write to answer"
    echo
    echo "\`acme-srv serve\` with DNS, API and the SQLite store (WAL, \`synchronous = FULL\`: a 201"
    echo "means the write is on disk), pinned to one core; wrk on the other adds one new TXT"
    echo "record per request (\`tests/bench/api-writes.lua\`). After the runs on the empty store,"
    echo "all $acked_empty acknowledged writes were in the store ($stored found)."
    echo
    echo "| store | connections | writes/s | p50 ms | p99 ms |"
    echo "|---|---:|---:|---:|---:|"
    for key in empty:1 empty:16 large:16; do
        l=${key%%:*} c=${key#*:}
        label=$([ "$l" = empty ] && echo "empty" || echo "$RECORDS records")
        echo "| $label | $c | ${M[$key,rps]} | ${M[$key,p50]} | ${M[$key,p99]} |"
    done
    echo
    echo "Loading $RECORDS SRV records from the store at start: ready in **$ready s** (snapshot"
    echo "built in $snapshot ms), RSS **$(mib "$rss") MiB** when ready ($(mib "$rss_after") MiB after the write runs)."
    echo "Write to answer: a TXT record written through the API is served by the DNS side"
    echo "**$visible ms** (median of $VISIBLE_PROBES) after its 201, with $RECORDS records in the store"
    echo "(only the changed names are read back from the store; the snapshot is rebuilt from memory, bursts coalesced)."
    echo
} > "$OUT_DIR/store.md"
say "wrote $OUT_DIR/store.md and $OUT_DIR/store.tsv"

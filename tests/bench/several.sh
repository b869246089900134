#!/usr/bin/env bash
# Several instances on PostgreSQL (issue 13): API writes/s with durable acknowledgements
# on PostgreSQL beside SQLite, and write-to-answer latency within one instance and
# across two instances on one database.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench DURATION=10 REPS=3 tests/bench/several.sh
#
# 1. `acme-srv serve` (DNS + API) with the SQLite store, then with a PostgreSQL store (a
#    throwaway cluster, tests/postgres-cluster.sh; fsync on, synchronous_commit on), each
#    pinned with its database to SERVER_CPU; wrk on LOAD_CPU adds one new TXT record per
#    request (api-writes.lua) with 1 and 16 connections. Every acknowledged write must be
#    stored afterwards.
# 2. Write to answer: PROBES writes through instance A's API, each timed from its 201
#    until dig sees it at A's DNS server and at B's (a second instance on the same
#    database, told by LISTEN/NOTIFY).
# Writes $OUT_DIR/several.md and $OUT_DIR/several.tsv; stops everything it starts.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${BIN:?several.sh: set BIN}" "${OUT_DIR:?several.sh: set OUT_DIR}"
: "${DURATION:=10}" "${REPS:=3}" "${PROBES:=20}"
token="bench-admin-token"
die() { echo "several.sh: $*" >&2; exit 1; }
say() { echo "several.sh: $*" >&2; }
for tool in wrk dig curl python3 taskset; do command -v "$tool" >/dev/null || die "$tool not found"; done
BIN=$(readlink -f "$BIN")
mkdir -p "$OUT_DIR"
work="$OUT_DIR/several"
rm -rf "$work"
mkdir -p "$work"

pg_dir="$work/pg"
admin_url=$("$root/tests/postgres-cluster.sh" start "$pg_dir") || die "could not start PostgreSQL"
trap '"$root/tests/postgres-cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true; cleanup_bench' EXIT
pg_pid=$(head -1 "$pg_dir"/data/postmaster.pid 2>/dev/null || true)
[ -n "$pg_pid" ] && taskset -a -cp "$SERVER_CPU" "$pg_pid" >/dev/null 2>&1 || true
for p in $(pgrep -P "${pg_pid:-0}" 2>/dev/null || true); do taskset -cp "$SERVER_CPU" "$p" >/dev/null 2>&1 || true; done
createdb_url() {  # createdb_url NAME : creates database NAME, prints its URL
    psql --no-psqlrc -q --dbname "$admin_url" -c "CREATE DATABASE $1" >/dev/null || die "createdb $1"
    echo "${admin_url%/postgres}/$1"
}

# config NAME URL : writes $work/NAME.toml (ports picked now), sets DNS_PORT and API_PORT.
config() {
    DNS_PORT=$(free_port) API_PORT=$(free_port)
    cat > "$work/$1.toml" <<EOF
[dns]
listen = ["127.0.0.1:$DNS_PORT"]
[[dns.zones]]
origin = "bench.test"
ns = ["ns1.bench.test"]
records = ["ns1 3600 IN A 127.0.0.1"]
[api]
listen = "127.0.0.1:$API_PORT"
[store]
url = "$2"
EOF
}
start() {  # start NAME : acme-srv serve with $work/NAME.toml; sets PID
    start_bg "$SERVER_CPU" "$work/$1.log" env -u RUST_LOG ACME_SRV_ADMIN_TOKEN="$token" "$BIN" serve --config "$work/$1.toml"
    PID=$BENCH_LAST_PID
    wait_log "$work/$1.log" "acme-srv ready" 60 || die "$1 did not become ready"
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

: > "$work/runs.tsv"
writes() {  # writes STORE CONNS REP API_PORT
    local out="$work/wrk.$1.$2.$3.txt" rps total non
    taskset -c "$LOAD_CPU" timeout -k 5 $(( DURATION + 30 )) wrk -t1 -c"$2" -d"${DURATION}s" --latency \
        -s "$here/api-writes.lua" "http://127.0.0.1:$4" -- "$token" "$1-$2-$3" > "$out"
    read -r rps p50 p99 total non _ < <(wrk_summary "$out")
    [ "$non" = 0 ] || { cat "$out" >&2; die "$non writes refused ($1, $2 connections)"; }
    say "$1, $2 connections, run $rep: $rps writes/s, p50 $p50 ms, p99 $p99 ms"
    printf '%s\t%s\twrites_per_s\t%s\n%s\t%s\tp50\t%s\n%s\t%s\tp99\t%s\n' "$1" "$2" "$rps" "$1" "$2" "$p50" "$1" "$2" "$p99" >> "$work/runs.tsv"
    ACKED=$(( ACKED + total ))
}
stored() {  # stored API_PORT : benchmark records the API lists
    curl -sS --fail -H "Authorization: Bearer $token" "http://127.0.0.1:$1/v1/records" |
        python3 -c 'import json, sys; print(sum(1 for r in json.load(sys.stdin) if r["owner"].startswith("w")))'
}

for store in sqlite postgres; do
    url=$([ "$store" = sqlite ] && echo "sqlite://$work/store.sqlite" || createdb_url writes)
    config "$store" "$url"
    start "$store"
    ACKED=0
    for rep in $(seq 1 "$REPS"); do
        for conns in 1 16; do writes "$store" "$conns" "$rep" "$API_PORT"; done
    done
    n=$(stored "$API_PORT")
    [ "$n" -ge "$ACKED" ] || die "$store: only $n of $ACKED acknowledged writes are stored"
    say "$store: $ACKED acknowledged, $n stored"
    stop "$PID"
done

# 2. Write to answer, within instance A and across to instance B.
url=$(createdb_url visible)
config a "$url"; A_DNS=$DNS_PORT A_API=$API_PORT
start a; A_PID=$PID
config b "$url"; B_DNS=$DNS_PORT
start b; B_PID=$PID
seen_at() {  # seen_at PORT OWNER : waits (30 s at most) until dig at PORT answers OWNER TXT
    local deadline=$(( $(date +%s) + 30 ))
    until [ -n "$(dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 "$2" TXT)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "$2 not served at port $1 30 s after its write"
    done
}
for i in $(seq 1 "$PROBES"); do
    owner="visible-$i.bench.test"
    curl -sS --fail -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data "{\"owner\":\"$owner\",\"ttl\":60,\"type\":\"TXT\",\"value\":\"probe $i\"}" "http://127.0.0.1:$A_API/v1/records"
    t0=$(date +%s%N)
    seen_at "$A_DNS" "$owner"
    t1=$(date +%s%N)
    seen_at "$B_DNS" "$owner"
    t2=$(date +%s%N)
    printf 'visible\tsame\tms\t%s\nvisible\tother\tms\t%s\n' "$(( (t1 - t0) / 1000000 ))" "$(( (t2 - t0) / 1000000 ))" >> "$work/runs.tsv"
done
stop "$A_PID"; stop "$B_PID"

med() { median $(awk -F'\t' -v s="$1" -v c="$2" -v m="$3" '$1 == s && $2 == c && $3 == m {print $4}' "$work/runs.tsv"); }
pct() { awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $2 == c {print $4}' "$work/runs.tsv" | sort -n | awk -v q="$3" '{a[NR]=$1} END {i=int(q*NR+0.999); if (i<1) i=1; print a[i]}'; }
{
    echo "## Several instances on PostgreSQL (\`tests/bench/several.sh\`)"
    echo
    echo "\`acme-srv serve\` (DNS + API) with its store, pinned with the database server to one"
    echo "core; wrk on the other adds a new TXT record per request; a 201 means the write is"
    echo "durable (SQLite: WAL, \`synchronous = FULL\`; PostgreSQL: a committed transaction with"
    echo "\`synchronous_commit = on\`, fsync on). Medians of $REPS runs of $DURATION s."
    echo
    echo "| store | connections | writes/s | p50 ms | p99 ms | PostgreSQL / SQLite |"
    echo "|---|---:|---:|---:|---:|---:|"
    for store in sqlite postgres; do
        for conns in 1 16; do
            echo "| $store | $conns | $(med "$store" "$conns" writes_per_s) | $(med "$store" "$conns" p50) | $(med "$store" "$conns" p99) | $([ "$store" = postgres ] && ratio "$(med postgres "$conns" writes_per_s)" "$(med sqlite "$conns" writes_per_s)" || echo) |"
        done
    done
    echo
    echo "Write to answer on PostgreSQL, from the API's 201 until dig sees the record ($PROBES writes"
    echo "through instance A): at A's own DNS server median **$(med visible same ms) ms** (p90 $(pct visible same 0.9) ms); at"
    echo "instance B's, told by LISTEN/NOTIFY, median **$(med visible other ms) ms** (p90 $(pct visible other 0.9) ms)."
    echo
} > "$OUT_DIR/several.md"
for store in sqlite postgres; do
    for conns in 1 16; do
        printf 'several\t%s\t%s_conns_writes_per_s\t%s\n' "$store" "$conns" "$(med "$store" "$conns" writes_per_s)"
    done
done > "$OUT_DIR/several.tsv"
printf 'several\tpostgres\twrite_to_answer_same_ms\t%s\nseveral\tpostgres\twrite_to_answer_other_ms\t%s\n' \
    "$(med visible same ms)" "$(med visible other ms)" >> "$OUT_DIR/several.tsv"
say "wrote $OUT_DIR/several.md"

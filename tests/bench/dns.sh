#!/usr/bin/env bash
# DNS benchmark: acme-srv's authoritative server against Knot, NSD and BIND, all serving
# the same RFC 1035 zone file over UDP on loopback.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench-dns tests/bench/dns.sh
#   BIN=... OUT_DIR=... DURATION=1 REPS=1 RECORDS=1000 tests/bench/dns.sh     # smoke
#
# Environment (normally set by tests/bench/run):
#   BIN        the acme-srv binary (required)
#   OUT_DIR    results folder (required); writes dns.md, dns.tsv and dns/ (zone, query
#              files, configs, logs, per-run figures in dns/runs.tsv)
#   DURATION   seconds per dnsperf run (10)        REPS     repetitions (3)
#   RECORDS    SRV records in the zone (100000)    SERVER_CPU / LOAD_CPU  cores (0 / 1)
#   DNSPERF_CLIENTS (8), DNSPERF_OUTSTANDING (100), DNSPERF_QPS_CAP (500000)
#
# For each repetition, each server is started fresh (empty state directory) pinned to
# SERVER_CPU, timed from start until it answers the first SRV query (a bounded UDP poll)
# and its RSS read; its answers are checked with dig; then dnsperf, pinned to LOAD_CPU,
# runs the `srv` and the `mixed` query files for DURATION seconds each; then the server is
# stopped. Figures are medians over REPS; ratios are acme-srv / reference.
# Every wait is bounded and every process started is stopped (lib.sh's EXIT trap).
source "$(dirname "$0")/lib.sh"
set -E

: "${BIN:?dns.sh: set BIN to the acme-srv binary}"
: "${OUT_DIR:?dns.sh: set OUT_DIR to a results folder}"
: "${DURATION:=10}" "${REPS:=3}" "${RECORDS:=100000}"
: "${DNSPERF_CLIENTS:=8}" "${DNSPERF_OUTSTANDING:=100}" "${DNSPERF_QPS_CAP:=500000}"
SERVERS=(acme-srv knot nsd bind)
QUERY_LINES=100000       # lines per query file (dnsperf loops over the file)
LOAD_DEADLINE=120        # seconds a server may take to answer its first SRV query
DNSPERF_CEILING=300000   # what dnsperf alone reaches on one core of this machine

die() { echo "dns.sh: $*" >&2; exit 1; }
trap 'echo "dns.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

[ -x "$BIN" ] || die "BIN=$BIN is not an executable"
case $DURATION$REPS$RECORDS in *[!0-9]*) die "DURATION, REPS and RECORDS must be whole numbers" ;; esac
[ "$REPS" -ge 1 ] && [ "$DURATION" -ge 1 ] && [ "$RECORDS" -ge 10 ] || die "need REPS >= 1, DURATION >= 1, RECORDS >= 10"
for tool in knotd:knot nsd:nsd named:bind9 dnsperf:dnsperf dig:bind9-dnsutils python3:python3 taskset:util-linux; do
    command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} not found (apt-get install ${tool#*:})"
done
BIN=$(readlink -f "$BIN")
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
work="$OUT_DIR/dns"
rm -rf "$work"
mkdir -p "$work/logs"
tmp=$(mktemp -d /tmp/bench-dns.XXXXXX)
trap 'cleanup_bench; rm -rf "$tmp"' EXIT
rm -f "$OUT_DIR/dns.md" "$OUT_DIR/dns.tsv"
: > "$work/runs.tsv"

# ---------------------------------------------------------------------------------------
# The zone and the query files, generated once.
zone="$work/bench.test.zone"
awk -v n="$RECORDS" 'BEGIN {
    print "$ORIGIN bench.test."
    print "$TTL 3600"
    print "@ IN SOA ns1.bench.test. hostmaster.bench.test. 1 3600 600 604800 60"
    print "@ IN NS ns1.bench.test."
    print "ns1 IN A 127.0.0.1"
    for (c = 0; c < 100; c++) printf "client%d 300 IN A 10.0.0.%d\n", c, c + 1
    for (i = 0; i < n; i++) {
        printf "_acme-challenge._tcp.n%d.bench.test. 300 IN SRV 10 5 8080 client%d.bench.test.\n", i, i % 100
        if (i % 10 == 0) printf "_acme-challenge.n%d.bench.test. 300 IN TXT \"token-%d\"\n", i, i
    }
}' > "$zone"
zone_lines=$(grep -c . "$zone")

# srv: SRV queries for random existing names. mixed: 70% SRV hits, 20% SRV for names that
# do not exist (NXDOMAIN), 10% TXT hits. Fixed seeds: the same files on every machine.
awk -v n="$RECORDS" -v q="$QUERY_LINES" 'BEGIN { srand(1035);
    for (k = 0; k < q; k++) printf "_acme-challenge._tcp.n%d.bench.test SRV\n", int(rand() * n) }' > "$work/srv.queries"
awk -v n="$RECORDS" -v q="$QUERY_LINES" 'BEGIN { srand(2782);
    for (k = 0; k < q; k++) {
        r = rand()
        if (r < 0.7) printf "_acme-challenge._tcp.n%d.bench.test SRV\n", int(rand() * n)
        else if (r < 0.9) printf "_acme-challenge._tcp.n%d.bench.test SRV\n", n + int(rand() * n)
        else printf "_acme-challenge.n%d.bench.test TXT\n", 10 * int(rand() * (n / 10))
    } }' > "$work/mixed.queries"

# ---------------------------------------------------------------------------------------
# Servers. start_SERVER DIR PORT LOG starts it (pinned to SERVER_CPU, output to LOG) with
# its state in DIR, and sets SERVER_PID.

start_acme-srv() {
    local dir=$1 port=$2
    SERVER_LOG=$3
    cat > "$dir/acme-srv.toml" <<EOF
[dns]
listen = ["127.0.0.1:$port"]

[[dns.zones]]
origin = "bench.test"
zone_file = "$zone"

[store]
url = "sqlite://$dir/acme-srv.sqlite"
EOF
    cp "$dir/acme-srv.toml" "$work/acme-srv.toml"
    start_bg "$SERVER_CPU" "$SERVER_LOG" env -u RUST_LOG "$BIN" serve --config "$dir/acme-srv.toml"
    SERVER_PID=$BENCH_LAST_PID
}

start_knot() {
    local dir=$1 port=$2
    SERVER_LOG=$3
    cat > "$dir/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: "$dir"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

database:
    storage: "$dir"

log:
  - target: stderr
    any: info

zone:
  - domain: bench.test
    file: "$zone"
    zonefile-sync: -1
    journal-content: none
EOF
    cp "$dir/knot.conf" "$work/knot.conf"
    start_bg "$SERVER_CPU" "$SERVER_LOG" knotd -c "$dir/knot.conf"
    SERVER_PID=$BENCH_LAST_PID
}

start_nsd() {
    local dir=$1 port=$2
    SERVER_LOG=$3
    cat > "$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    pidfile: "$dir/nsd.pid"
    xfrdfile: "$dir/xfrd.state"
    zonelistfile: "$dir/zone.list"
    xfrdir: "$dir"
    server-count: 1
    verbosity: 1
    # NSD's response rate limiting is on by default (200 qps per source): it would drop
    # most NXDOMAIN answers to dnsperf's single address.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0

remote-control:
    control-enable: no

zone:
    name: bench.test
    zonefile: "$zone"
EOF
    cp "$dir/nsd.conf" "$work/nsd.conf"
    start_bg "$SERVER_CPU" "$SERVER_LOG" nsd -d -c "$dir/nsd.conf"
    SERVER_PID=$BENCH_LAST_PID
}

start_bind() {
    local dir=$1 port=$2
    SERVER_LOG=$3
    # check-integrity off: otherwise BIND logs one warning per SRV whose target has no
    # address record and loads twice as slowly (interop-notes.md).
    cat > "$dir/named.conf" <<EOF
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    session-keyfile "$dir/session.key";
    managed-keys-directory "$dir";
    listen-on port $port { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer { none; };
};
controls { };
zone "bench.test" {
    type primary;
    file "$zone";
    check-integrity no;
};
EOF
    cp "$dir/named.conf" "$work/named.conf"
    start_bg "$SERVER_CPU" "$SERVER_LOG" named -g -n 1 -c "$dir/named.conf"
    SERVER_PID=$BENCH_LAST_PID
}

# server_command SERVER : the command line, for the report.
server_command() {
    case $1 in
        acme-srv) echo "acme-srv serve --config acme-srv.toml" ;;
        knot) echo "knotd -c knot.conf   # then: taskset -a -cp $SERVER_CPU PID" ;;
        nsd) echo "nsd -d -c nsd.conf" ;;
        bind) echo "named -g -n 1 -c named.conf" ;;
    esac
}

# tree_pids PID : PID and its descendants (NSD forks a server and xfrd).
tree_pids() {
    local p
    echo "$1"
    for p in $(pgrep -P "$1" || true); do tree_pids "$p"; done
}

# check_pinned NAME PID : every thread of every process of the server is on SERVER_CPU.
check_pinned() {
    local name=$1 pid=$2 p t list bad=""
    for p in $(tree_pids "$pid"); do
        for t in /proc/"$p"/task/*; do
            t=${t##*/}
            list=$(taskset -cp "$t" 2>/dev/null | sed 's/.*: //') || continue
            [ -z "$list" ] || [ "$list" = "$SERVER_CPU" ] || bad="$bad $p/$t:$list"
        done
    done
    [ -z "$bad" ] || die "$name: threads not pinned to CPU $SERVER_CPU (pid/tid:cpus):$bad"
}

# pss_kib PID : proportional set size of PID and its descendants, KiB.
pss_kib() {
    local p total=0 v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        total=$(( total + ${v:-0} ))
    done
    echo "$total"
}

# forget_pid PID : drops PID from lib.sh's list once it has ended.
forget_pid() {
    local p kept=()
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
    BENCH_PIDS=("${kept[@]}")
}

# cpu_ticks PID : CPU time (user + system, clock ticks) of PID and its descendants.
cpu_ticks() {
    local p total=0 v
    for p in $(tree_pids "$1"); do
        v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
        total=$(( total + ${v:-0} ))
    done
    echo "$total"
}

# core_ticks CPU : "busy total" clock ticks of core CPU since boot (/proc/stat).
core_ticks() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# max_rss_kib PID : the largest VmRSS among PID and its descendants, KiB (NSD's main
# process is small: the zone lives in the server child it forks).
max_rss_kib() {
    local p max=0 v
    for p in $(tree_pids "$1"); do
        v=$(rss_kib "$p" 2>/dev/null || true)
        [ "${v:-0}" -le "$max" ] || max=$v
    done
    echo "$max"
}

# stop_server PID : SIGTERM, bounded wait, SIGKILL (the process and any child it left).
stop_server() {
    local pid=$1 i p tree
    tree=$(tree_pids "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "dns.sh: pid $pid did not stop within 10 s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for p in $tree; do
        for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    forget_pid "$pid"
}

# first_answer PORT QNAME T0 DEADLINE PID : polls 127.0.0.1:PORT over UDP (every 10 ms, each
# try waiting at most 20 ms) until an SRV query for QNAME gets NOERROR with an answer;
# prints the seconds since T0 (epoch seconds). Bounded by DEADLINE seconds; gives up at
# once if PID has exited.
first_answer() {
    taskset -c "$LOAD_CPU" python3 - "$@" <<'PY'
import socket, struct, sys, time
port, qname, t0, deadline, pid = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

def alive():
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

q = b"".join(bytes([len(l)]) + l.encode() for l in qname.rstrip(".").split(".")) + b"\0"
end = time.time() + deadline
ident = 0
while time.time() < end:
    if not alive():
        sys.exit(2)
    ident = (ident + 1) & 0xFFFF
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.02)
    try:
        s.connect(("127.0.0.1", port))
        s.send(struct.pack(">HHHHHH", ident, 0, 1, 0, 0, 0) + q + struct.pack(">HH", 33, 1))
        r = s.recv(4096)
        if len(r) >= 12:
            rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
            if rid == ident and flags & 0x8000 and flags & 0xF == 0 and an >= 1:
                print("%.3f" % (time.time() - t0))
                sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(0.01)
sys.exit(1)
PY
}

# check_answers NAME PORT : the server gives the zone's answers (SRV, TXT, NXDOMAIN).
check_answers() {
    local name=$1 port=$2 last=$(( RECORDS - 1 )) out
    local dig=(dig +norec +tries=2 +time=2 @127.0.0.1 -p "$port")
    out=$("${dig[@]}" "_acme-challenge._tcp.n$last.bench.test" SRV +short)
    [ "$out" = "10 5 8080 client$(( last % 100 )).bench.test." ] \
        || die "$name: wrong SRV answer for n$last: '$out'"
    out=$("${dig[@]}" "_acme-challenge.n$(( (last / 10) * 10 )).bench.test" TXT +short)
    [ "$out" = "\"token-$(( (last / 10) * 10 ))\"" ] || die "$name: wrong TXT answer: '$out'"
    out=$("${dig[@]}" "_acme-challenge._tcp.n$RECORDS.bench.test" SRV)
    grep -q "status: NXDOMAIN" <<<"$out" || die "$name: no NXDOMAIN for a missing name: $(grep HEADER <<<"$out")"
    grep -q "flags: qr aa" <<<"$out" || die "$name: NXDOMAIN answer without the AA flag"
}

# run_dnsperf SERVER REP KIND PORT SERVER_PID : one dnsperf run; appends its figures to
# runs.tsv, with the server's CPU use and how busy the load core was.
run_dnsperf() {
    local server=$1 rep=$2 kind=$3 port=$4 spid=$5 log="$work/logs/dnsperf.$1.$3.$2.log" pid rc=0
    local hz s0 s1 l0 l1 w0 w1
    hz=$(getconf CLK_TCK)
    s0=$(cpu_ticks "$spid") l0=$(core_ticks "$LOAD_CPU") w0=$(date +%s.%N)
    start_bg "$LOAD_CPU" "$log" timeout -k 5 $(( DURATION + 30 )) \
        dnsperf -s 127.0.0.1 -p "$port" -d "$work/$kind.queries" -l "$DURATION" \
        -c "$DNSPERF_CLIENTS" -q "$DNSPERF_OUTSTANDING" -Q "$DNSPERF_QPS_CAP" -t 1
    pid=$BENCH_LAST_PID
    wait "$pid" || rc=$?
    forget_pid "$pid"
    s1=$(cpu_ticks "$spid") l1=$(core_ticks "$LOAD_CPU") w1=$(date +%s.%N)
    awk -v b="dns_$kind" -v s="$server" -v r="$rep" -v hz="$hz" -v s0="$s0" -v s1="$s1" \
        -v l0="$l0" -v l1="$l1" -v w0="$w0" -v w1="$w1" 'BEGIN {
        split(l0, a, " "); split(l1, c, " ")
        printf "%s\t%s\t%s\tserver_cpu_pct\t%.0f\n", b, s, r, 100 * (s1 - s0) / hz / (w1 - w0)
        printf "%s\t%s\t%s\tload_core_busy_pct\t%.0f\n", b, s, r, (c[2] > a[2]) ? 100 * (c[1] - a[1]) / (c[2] - a[2]) : 0
    }' >> "$work/runs.tsv"
    [ "$rc" = 0 ] || { tail -20 "$log" >&2; die "$server: dnsperf ($kind) exited with status $rc (log: $log)"; }
    awk -v b="dns_$kind" -v s="$server" -v r="$rep" '
        function row(m, v) { printf "%s\t%s\t%s\t%s\t%s\n", b, s, r, m, v }
        /Queries sent:/ { row("sent", $3) }
        /Queries completed:/ { row("completed", $3) }
        /Queries lost:/ { row("lost", $3) }
        /Response codes:/ { sub(/.*Response codes: */, ""); gsub(/,/, ""); for (i = 1; i < NF; i += 3) row("rcode_" $i, $(i + 1)) }
        /Average packet size:/ { row("request_bytes", $5 + 0); row("response_bytes", $7 + 0) }
        /Queries per second:/ { row("qps", $4) }
        /Average Latency \(s\):/ { row("avg_latency_us", $4 * 1e6) }
        /Latency StdDev \(s\):/ { row("latency_stddev_us", $4 * 1e6) }
    ' "$log" >> "$work/runs.tsv"
    grep -q "Queries per second:" "$log" || { tail -20 "$log" >&2; die "$server: no statistics in dnsperf's output ($log)"; }
}

# ---------------------------------------------------------------------------------------
# The runs.
echo "dns.sh: zone of $RECORDS SRV records ($zone_lines lines); $REPS x ${DURATION}s per query file; servers on CPU $SERVER_CPU, dnsperf on CPU $LOAD_CPU"
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq "$REPS"); do
    for server in "${SERVERS[@]}"; do
        dir="$tmp/$server.$rep"
        mkdir -p "$dir"
        port=$(free_port)
        t0=$(date +%s.%N)
        SERVER_LOG="$work/logs/$server.$rep.log"
        "start_$server" "$dir" "$port" "$SERVER_LOG"
        pid=$SERVER_PID
        if ! load_s=$(first_answer "$port" "_acme-challenge._tcp.n$(( RECORDS - 1 )).bench.test" "$t0" "$LOAD_DEADLINE" "$pid"); then
            tail -20 "$SERVER_LOG" >&2
            kill -0 "$pid" 2>/dev/null && wait_rc="" || { wait "$pid" 2>/dev/null; wait_rc=" (exited with status $?)"; }
            die "$server: no SRV answer on 127.0.0.1:$port$wait_rc, at most ${LOAD_DEADLINE}s after start (its log above: $SERVER_LOG)"
        fi
        kill -0 "$pid" 2>/dev/null || die "$server: exited after answering (log: $SERVER_LOG)"
        if [ "$server" = knot ]; then
            # Knot pins its UDP worker to a core of its choosing at start: move every
            # thread back, then check that they stayed.
            repin "$pid" "$SERVER_CPU"
            sleep 0.5
        fi
        check_pinned "$server" "$pid"
        rss=$(max_rss_kib "$pid")
        pss=$(pss_kib "$pid")
        check_answers "$server" "$port"
        printf 'dns_load\t%s\t%s\t%s\t%s\n' "$server" "$rep" load_s "$load_s" "$server" "$rep" rss_kib "$rss" \
            "$server" "$rep" pss_kib "$pss" >> "$work/runs.tsv"
        for kind in srv mixed; do
            run_dnsperf "$server" "$rep" "$kind" "$port" "$pid"
            kill -0 "$pid" 2>/dev/null || die "$server: died during the $kind run (log: $SERVER_LOG)"
        done
        check_pinned "$server" "$pid"
        stop_server "$pid"
        rm -rf "$dir"
        qps_srv=$(awk -F'\t' -v s="$server" -v r="$rep" '$1 == "dns_srv" && $2 == s && $3 == r && $4 == "qps" {print $5}' "$work/runs.tsv")
        qps_mixed=$(awk -F'\t' -v s="$server" -v r="$rep" '$1 == "dns_mixed" && $2 == s && $3 == r && $4 == "qps" {print $5}' "$work/runs.tsv")
        printf 'dns.sh: rep %s %-8s load %6ss  RSS %6s KiB  srv %10s qps  mixed %10s qps\n' \
            "$rep" "$server" "$load_s" "$rss" "$qps_srv" "$qps_mixed"
    done
done
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# Medians, ratios, report.

# med BENCH SERVER METRIC : the median over the repetitions (0 when absent, e.g. an rcode).
med() {
    local vals
    vals=$(awk -F'\t' -v b="$1" -v s="$2" -v m="$3" '$1 == b && $2 == s && $4 == m {print $5}' "$work/runs.tsv")
    if [ -z "$vals" ]; then echo 0; else median $vals; fi
}
# all BENCH SERVER METRIC : every repetition's value, comma-separated.
all() {
    awk -F'\t' -v b="$1" -v s="$2" -v m="$3" '$1 == b && $2 == s && $4 == m {printf "%s%s", (n++ ? ", " : ""), (m == "qps" ? sprintf("%.0f", $5) : $5)}' "$work/runs.tsv"
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }

declare -A M
metrics_load=(load_s rss_kib pss_kib)
metrics_perf=(qps server_cpu_pct load_core_busy_pct avg_latency_us latency_stddev_us sent lost request_bytes response_bytes rcode_NOERROR rcode_NXDOMAIN rcode_REFUSED rcode_SERVFAIL)
: > "$OUT_DIR/dns.tsv"
for server in "${SERVERS[@]}"; do
    for m in "${metrics_load[@]}"; do
        M[dns_load,$server,$m]=$(med dns_load "$server" "$m")
        printf 'dns_load\t%s\t%s\t%s\n' "$server" "$m" "${M[dns_load,$server,$m]}" >> "$OUT_DIR/dns.tsv"
    done
    for b in dns_srv dns_mixed; do
        for m in "${metrics_perf[@]}"; do
            M[$b,$server,$m]=$(med "$b" "$server" "$m")
            printf '%s\t%s\t%s\t%s\n' "$b" "$server" "$m" "${M[$b,$server,$m]}" >> "$OUT_DIR/dns.tsv"
        done
    done
done
declare -A NAME=([acme-srv]=acme-srv [knot]=Knot [nsd]=NSD [bind]=BIND)
for ref in bind knot nsd; do
    for pair in dns_load:load_s dns_load:rss_kib dns_srv:qps dns_srv:avg_latency_us dns_mixed:qps dns_mixed:avg_latency_us; do
        b=${pair%%:*} m=${pair#*:}
        printf '%s\tacme-srv/%s\t%s_ratio\t%s\n' "$b" "$ref" "$m" "$(ratio "${M[$b,acme-srv,$m]}" "${M[$b,$ref,$m]}")" >> "$OUT_DIR/dns.tsv"
    done
done

# first_line CMD... : the first line CMD prints (some of these exit non-zero after -v).
first_line() { { "$@" 2>&1 || true; } | awk 'NR == 1'; }
versions="$(first_line "$BIN" --version); $(first_line knotd -V); $(first_line nsd -v); $(first_line named -v); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2; exit}')"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "0"; else printf "%.2f", 100 * a / b }'; }
meets() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { exit !((op == "<" && a < b) || (op == ">=" && a >= b)) }'; then echo "met"; else echo "**missed**"; fi; }

{
    echo "## DNS: acme-srv vs Knot, NSD and BIND"
    echo
    echo "The same zone file, \`bench.test.\` with $RECORDS SRV records"
    echo "(\`_acme-challenge._tcp.n<i>.bench.test. 300 IN SRV 10 5 8080 client<i%100>.bench.test.\`),"
    echo "A records for the 100 targets, a TXT \`_acme-challenge.n<i>\` for every 10th name, SOA and NS"
    echo "with glue ($zone_lines lines), served over UDP on 127.0.0.1 by each server pinned to core"
    echo "$SERVER_CPU (one worker each; Knot's threads re-pinned after start, every thread of every"
    echo "server checked before and after the load runs). dnsperf runs on core $LOAD_CPU. Each of"
    echo "the $REPS repetitions starts every server afresh (empty state directory), then runs both"
    echo "query files for $DURATION s each; figures are medians over the repetitions."
    echo
    echo "- **load s**: from the start of the process to the first NOERROR answer to an SRV query"
    echo "  (the last record of the file), polled over UDP every 10 ms. **RSS**: VmRSS right after that"
    echo "  (for NSD, of its largest process: the server child that holds the zone); **PSS**: proportional set size of all its processes (NSD forks"
    echo "  a server and xfrd, which share the zone copy-on-write with the main process)."
    echo "- **srv**: $QUERY_LINES SRV queries for random existing names. **mixed**: 70% SRV hits, 20% SRV"
    echo "  for names that do not exist (NXDOMAIN), 10% TXT hits. Both generated once with fixed seeds."
    echo "- Latency is dnsperf's mean and standard deviation: dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2; exit}')"
    echo "  has no percentile or histogram output (\`-O\` takes only num-queries-per-conn, suppress and"
    echo "  the DoH options), so there is no p50/p99. With a closed loop of $DNSPERF_OUTSTANDING outstanding"
    echo "  queries, mean latency is about outstanding / qps."
    echo "- dnsperf: $DNSPERF_CLIENTS client sockets, at most $DNSPERF_OUTSTANDING queries outstanding (a closed loop), \`-Q $DNSPERF_QPS_CAP\`"
    echo "  (above anything it reaches here, so the loop, not the cap, sets the rate). With 500 outstanding"
    echo "  Knot starts to drop queries (its socket buffer overflows) without answering more of them."
    echo "- dnsperf alone is said to top out near $(( DNSPERF_CEILING / 1000 ))k queries/s on one core of this kind of"
    echo "  machine (interop-notes.md); a figure near that measures dnsperf, not the server. In practice"
    echo "  the two CPU columns tell which side limits a run: server CPU near 100% means the server is"
    echo "  the limit; the load core near 100% with the server below means dnsperf may be (flagged below)."
    echo "- **server CPU %**: CPU time of the server's processes over the dnsperf run's wall time (100 ="
    echo "  its core saturated). **load core busy %**: how busy core $LOAD_CPU was (dnsperf; near 100 means"
    echo "  the load generator, not the server, may be the limit)."
    echo "- **lost**: queries without an answer within 1 s (\`-t 1\`); a server that drops queries shows it here."
    echo "- NSD runs with its default response rate limiting off (\`rrl-ratelimit: 0\`): at its default of"
    echo "  200 answers/s per source it drops most NXDOMAIN answers to dnsperf's one address. BIND runs"
    echo "  with \`check-integrity no\` (otherwise one warning per SRV target without an address, and a"
    echo "  load twice as slow). Neither Knot nor BIND limits rates unless configured to."
    echo
    echo "| server | load s | RSS MiB | PSS MiB | srv qps | srv latency µs, mean (stddev) | srv lost | mixed qps | mixed latency µs, mean (stddev) | mixed lost | server CPU % srv / mixed | load core busy % srv / mixed | answer bytes srv / mixed |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${SERVERS[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s (%s) | %s | %s / %s | %s / %s | %s / %s |\n' "${NAME[$s]}" \
            "$(fmt "${M[dns_load,$s,load_s]}" %.3f)" "$(mib "${M[dns_load,$s,rss_kib]}")" "$(mib "${M[dns_load,$s,pss_kib]}")" \
            "$(fmt "${M[dns_srv,$s,qps]}" %.0f)" "$(fmt "${M[dns_srv,$s,avg_latency_us]}" %.0f)" "$(fmt "${M[dns_srv,$s,latency_stddev_us]}" %.0f)" \
            "$(fmt "${M[dns_srv,$s,lost]}" %.0f) ($(pct "${M[dns_srv,$s,lost]}" "${M[dns_srv,$s,sent]}")%)" \
            "$(fmt "${M[dns_mixed,$s,qps]}" %.0f)" "$(fmt "${M[dns_mixed,$s,avg_latency_us]}" %.0f)" "$(fmt "${M[dns_mixed,$s,latency_stddev_us]}" %.0f)" \
            "$(fmt "${M[dns_mixed,$s,lost]}" %.0f) ($(pct "${M[dns_mixed,$s,lost]}" "${M[dns_mixed,$s,sent]}")%)" \
            "${M[dns_srv,$s,server_cpu_pct]}" "${M[dns_mixed,$s,server_cpu_pct]}" \
            "${M[dns_srv,$s,load_core_busy_pct]}" "${M[dns_mixed,$s,load_core_busy_pct]}" \
            "${M[dns_srv,$s,response_bytes]}" "${M[dns_mixed,$s,response_bytes]}"
    done
    echo
    echo "Ratios, acme-srv / reference (qps: higher is better for acme-srv; load, RSS, latency: lower is better):"
    echo
    echo "| ratio | load s | RSS | srv qps | srv latency | mixed qps | mixed latency |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for ref in bind knot nsd; do
        printf '| acme-srv / %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$ref]}" \
            "$(ratio "${M[dns_load,acme-srv,load_s]}" "${M[dns_load,$ref,load_s]}")" \
            "$(ratio "${M[dns_load,acme-srv,rss_kib]}" "${M[dns_load,$ref,rss_kib]}")" \
            "$(ratio "${M[dns_srv,acme-srv,qps]}" "${M[dns_srv,$ref,qps]}")" \
            "$(ratio "${M[dns_srv,acme-srv,avg_latency_us]}" "${M[dns_srv,$ref,avg_latency_us]}")" \
            "$(ratio "${M[dns_mixed,acme-srv,qps]}" "${M[dns_mixed,$ref,qps]}")" \
            "$(ratio "${M[dns_mixed,acme-srv,avg_latency_us]}" "${M[dns_mixed,$ref,avg_latency_us]}")"
    done
    echo
    a_srv=${M[dns_srv,acme-srv,qps]} a_mix=${M[dns_mixed,acme-srv,qps]}
    b_srv=${M[dns_srv,bind,qps]} b_mix=${M[dns_mixed,bind,qps]}
    a_load=${M[dns_load,acme-srv,load_s]} a_rss=$(mib "${M[dns_load,acme-srv,rss_kib]}")
    echo "**Targets (issue 5):** srv qps ≥ BIND's: $(meets "$a_srv" ">=" "$b_srv") ($(ratio "$a_srv" "$b_srv")×);"
    echo "mixed qps ≥ BIND's: $(meets "$a_mix" ">=" "$b_mix") ($(ratio "$a_mix" "$b_mix")×);"
    echo "load < 2 s: $(meets "$a_load" "<" 2) ($(fmt "$a_load" %.3f) s);"
    echo "RSS < 100 MiB: $(meets "$a_rss" "<" 100) ($a_rss MiB)."
    echo "The goal beyond BIND is Knot's qps: acme-srv reaches $(ratio "$a_srv" "${M[dns_srv,knot,qps]}")× of it on srv."
    if [ "$RECORDS" -ne 100000 ]; then
        echo "(The load and RSS targets are for 100,000 records; this run had $RECORDS, so they say little.)"
    fi
    for s in "${SERVERS[@]}"; do
        if awk -v q="${M[dns_srv,$s,qps]}" -v c="$DNSPERF_CEILING" 'BEGIN { exit !(q > 0.8 * c) }'; then
            echo "${NAME[$s]}'s srv figure is within 20% of dnsperf's own ceiling: it is bounded by the load generator."
        elif awk -v l="${M[dns_srv,$s,load_core_busy_pct]}" -v c="${M[dns_srv,$s,server_cpu_pct]}" 'BEGIN { exit !(l >= 95 && c < 98) }'; then
            echo "${NAME[$s]}: the load core was ${M[dns_srv,$s,load_core_busy_pct]}% busy and the server ${M[dns_srv,$s,server_cpu_pct]}%: its srv figure may be partly bounded by dnsperf."
        fi
    done
    echo
    echo "Response codes in the mixed runs (median counts; expected about 80% NOERROR, 20% NXDOMAIN):"
    for s in "${SERVERS[@]}"; do
        t=${M[dns_mixed,$s,sent]}
        echo "${NAME[$s]} NOERROR $(pct "${M[dns_mixed,$s,rcode_NOERROR]}" "$t")%, NXDOMAIN $(pct "${M[dns_mixed,$s,rcode_NXDOMAIN]}" "$t")%$(
            [ "${M[dns_mixed,$s,rcode_SERVFAIL]}" = 0 ] || echo ", SERVFAIL $(pct "${M[dns_mixed,$s,rcode_SERVFAIL]}" "$t")%")$(
            [ "${M[dns_mixed,$s,rcode_REFUSED]}" = 0 ] || echo ", REFUSED $(pct "${M[dns_mixed,$s,rcode_REFUSED]}" "$t")%");"
    done
    echo
    echo "Every run (qps srv | qps mixed | load s):"
    echo
    for s in "${SERVERS[@]}"; do
        echo "- ${NAME[$s]}: $(all dns_srv "$s" qps) | $(all dns_mixed "$s" qps) | $(all dns_load "$s" load_s)"
    done
    echo
    echo "Commands (configurations and logs in \`$work\`):"
    echo
    echo '```sh'
    for s in "${SERVERS[@]}"; do echo "taskset -c $SERVER_CPU $(server_command "$s")"; done
    echo "taskset -c $LOAD_CPU dnsperf -s 127.0.0.1 -p PORT -d {srv,mixed}.queries -l $DURATION -c $DNSPERF_CLIENTS -q $DNSPERF_OUTSTANDING -Q $DNSPERF_QPS_CAP -t 1"
    echo '```'
    echo
    echo "Versions: $versions."
    echo "Load average before / after the DNS runs: $loadavg_before / $loadavg_after."
} > "$OUT_DIR/dns.md"

echo "dns.sh: wrote $OUT_DIR/dns.md and $OUT_DIR/dns.tsv"

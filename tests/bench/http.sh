#!/usr/bin/env bash
# HTTP benchmarks of the acme-srv relay against nginx and HAProxy (issue 5, parts 1-4).
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench-http DURATION=10 REPS=3 \
#       IDLE_CONNS=10000 COLD_NAMES=100000 tests/bench/http.sh
#
# Usually called by tests/bench/run. Everything runs on 127.0.0.1 with free ports:
#   - a small *target* (nginx, pinned to LOAD_CPU) that stands in for the ACME client
#     behind the SRV record: /.well-known/acme-challenge/ answers "<token>.thumbprint",
#     / answers "app";
#   - the servers under test, pinned to SERVER_CPU: `acme-srv serve` (relay + its own DNS
#     server holding the SRV record), nginx with the shipped deploy/nginx snippet and
#     HAProxy with the shipped deploy/haproxy snippet (their relay address replaced by
#     the target's), both with an upstream keep-alive pool for ordinary requests;
#   - wrk (pinned to LOAD_CPU) as the load: 1. challenges on a fresh connection each,
#     2. keep-alive pass-through, 3. cold names (acme-srv only), 4. RSS idle, under
#     load 1 and with IDLE_CONNS idle keep-alive connections (idle-conns.py).
# COLD_ONLY=1 runs benchmark 3 alone (the target and acme-srv with the cold zone; no
# nginx/HAProxy references) and writes only its section: a quick check of the DNS
# queries per cold challenge, e.g. of two builds one after the other.
# Writes $OUT_DIR/http.md (the report section) and $OUT_DIR/http.tsv (benchmark, server,
# metric, value; no header, so the driver can concatenate the parts). Generated
# configurations and logs are kept in $OUT_DIR/http-work/. Exits non-zero with a message
# on any failure; every process it starts is stopped (lib.sh's EXIT trap).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

: "${BIN:=$ROOT/target/dist/acme-srv}"
: "${OUT_DIR:=/tmp/bench-http}"
: "${DURATION:=10}"
: "${REPS:=3}"
: "${IDLE_CONNS:=10000}"
: "${COLD_NAMES:=100000}"
: "${COLD_ONLY:=0}"
CONNS=50                 # wrk connections in every load run
TOKEN=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
KEYAUTH="$TOKEN.thumbprint"
CHALLENGE_PATH="/.well-known/acme-challenge/$TOKEN"
APP_PATH="/app/index.html"
HOST=www.bench.test
KA_HOST=ka.bench.test     # benchmark 1c: its target keeps connections open

die() { echo "http.sh: error: $*" >&2; exit 1; }
say() { echo "http.sh: $*" >&2; }

for v in DURATION REPS IDLE_CONNS COLD_NAMES SERVER_CPU LOAD_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$DURATION" -ge 1 ] && [ "$REPS" -ge 1 ] && [ "$IDLE_CONNS" -ge 1 ] && [ "$COLD_NAMES" -ge 1 ] ||
    die "DURATION, REPS, IDLE_CONNS and COLD_NAMES must be at least 1"
[ -x "$BIN" ] || die "BIN=$BIN is not an executable (build it: cargo build --profile dist -p acme-srv)"
for tool in wrk:wrk nginx:nginx haproxy:haproxy curl:curl python3:python3 taskset:util-linux timeout:coreutils; do
    command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing (apt-get install ${tool#*:})"
done
ncpu=$(nproc --all)
[ "$SERVER_CPU" -lt "$ncpu" ] && [ "$LOAD_CPU" -lt "$ncpu" ] || die "SERVER_CPU/LOAD_CPU must be below $ncpu"

# Open files: the IDLE_CONNS client sockets live in idle-conns.py and the same number of
# server sockets in the server under test; both inherit this limit. Raise the soft limit
# as far as allowed (a container may cap the hard limit: then each side must still fit).
want_fds=$(( IDLE_CONNS * 3 + 4096 ))
[ "$want_fds" -ge 65536 ] || want_fds=65536
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
    ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
FDS=$(ulimit -n)
[ "$FDS" != unlimited ] || FDS=1048576
[ "$FDS" -ge $(( IDLE_CONNS + 1024 )) ] ||
    die "the open-file limit is $FDS (hard limit $(ulimit -Hn)), too low for IDLE_CONNS=$IDLE_CONNS: raise the hard limit or lower IDLE_CONNS"
# Connection limits of the servers: room for the idle connections, at least 20000.
MAX_CONNS=$(( IDLE_CONNS + 1000 ))
[ "$MAX_CONNS" -ge 20000 ] || MAX_CONNS=20000
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$OUT_DIR"
W="$OUT_DIR/http-work"
rm -rf "$W"
mkdir -p "$W"
TSV="$OUT_DIR/http.tsv"
MD="$OUT_DIR/http.md"
rm -f "$TSV" "$MD"
START_TS=$(date +%s)
DNSPERF_SEEN=()

# ---------------------------------------------------------------------------------------
# Small helpers

# pick_ports N : N distinct free loopback ports, in PORTS.
pick_ports() {
    PORTS=()
    local tries=0 p
    while [ "${#PORTS[@]}" -lt "$1" ]; do
        tries=$((tries + 1))
        [ "$tries" -le 100 ] || die "could not find $1 distinct free ports"
        p=$(free_port)
        [[ " ${PORTS[*]:-} ${USED_PORTS:-} " == *" $p "* ]] || PORTS+=("$p")
    done
    USED_PORTS="${USED_PORTS:-} ${PORTS[*]}"
}

# tree_pids PID : PID and its children (nginx: the master and its workers).
tree_pids() {
    echo "$1"
    pgrep -P "$1" 2>/dev/null || true
}

# rss_sum PID : RSS of PID and its children, KiB.
rss_sum() {
    local total=0 p r
    for p in $(tree_pids "$1"); do
        r=$(rss_kib "$p" 2>/dev/null || true)
        total=$(( total + ${r:-0} ))
    done
    echo "$total"
}

# cpu_ticks PID : user+system CPU time of PID and its children, in clock ticks.
cpu_ticks() {
    local total=0 p t
    for p in $(tree_pids "$1"); do
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
        total=$(( total + ${t:-0} ))
    done
    echo "$total"
}

# core_stat : "busy total" jiffies of SERVER_CPU then of LOAD_CPU.
core_stat() {
    awk -v s="cpu$SERVER_CPU" -v l="cpu$LOAD_CPU" '
        $1 == s || $1 == l { t = 0; for (i = 2; i <= 9; i++) t += $i; b = t - $5 - $6; v[$1] = b " " t }
        END { print v[s], v[l] }' /proc/stat
}

# busy_pct B0 T0 B1 T1 : percentage busy between two core_stat samples.
busy_pct() { awk -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" 'BEGIN { if (t1 > t0) printf "%.0f", 100 * (b1 - b0) / (t1 - t0); else print "n/a" }'; }

# check_pinned NAME PID CPU : repins every thread of PID and its children to CPU and
# checks that they stay there.
check_pinned() {
    local name=$1 pid=$2 cpu=$3 p t a
    for p in $(tree_pids "$pid"); do
        repin "$p" "$cpu"
        for t in /proc/"$p"/task/*; do
            a=$(awk '/^Cpus_allowed_list:/ {print $2}' "$t/status" 2>/dev/null || true)
            [ -z "$a" ] || [ "$a" = "$cpu" ] || die "$name (pid $p, thread ${t##*/}) runs on CPUs $a, not $cpu"
        done
    done
}

# alive NAME PID LOG : dies with the log's tail if PID has exited.
alive() {
    kill -0 "$2" 2>/dev/null && return 0
    echo "http.sh: error: $1 (pid $2) exited; the end of $3:" >&2
    tail -20 "$3" >&2
    exit 1
}

# check_body NAME PORT HOST PATH EXPECTED : one request; the body must be EXPECTED.
check_body() {
    local body
    body=$(curl -sS --max-time 10 -H "Host: $3" "http://127.0.0.1:$2$4" 2>&1) ||
        die "$1: GET http://$3$4 on port $2 failed: $body"
    [ "$body" = "$5" ] || die "$1: GET http://$3$4 on port $2 answered '$body', expected '$5'"
}

# metric_sum ADMIN_ADDR NAME [LABEL_FILTER] : sum of a Prometheus metric's samples.
metric_sum() {
    local text
    text=$(curl -sS --max-time 10 "http://$1/metrics") || die "cannot read http://$1/metrics"
    awk -v m="$2" -v f="${3:-}" '
        { n = $1; sub(/\{.*/, "", n) }
        n == m && (f == "" || index($1, f)) { s += $NF }
        END { printf "%.0f\n", s }' <<<"$text"
}

tsv() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
fmt0() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.0f", v }'; }
fmt2() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.2f", v }'; }
fmt3() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.3f", v }'; }

# ---------------------------------------------------------------------------------------
# wrk

# run_wrk OUT SERVER_PID ARGS... : wrk pinned to LOAD_CPU for DURATION seconds (bounded by
# `timeout`). Sets W_RPS, W_P50, W_P99 (ms), W_REQS, W_NON2XX, W_SOCKERR, W_CPU_US (CPU
# time of the server per request, µs), W_SBUSY/W_LBUSY (% busy of the two cores) and
# MID_RSS (the server's RSS halfway through, KiB).
run_wrk() {
    local out=$1 spid=$2 wpid rc=0 c0 c1 s0 s1 i
    shift 2
    if pgrep -x dnsperf >/dev/null 2>&1; then DNSPERF_SEEN+=("$(basename "$out")"); fi
    c0=$(cpu_ticks "$spid")
    s0=$(core_stat)
    taskset -c "$LOAD_CPU" timeout -k 5 $(( DURATION + 30 )) wrk "$@" >"$out" 2>&1 &
    wpid=$!
    BENCH_PIDS+=("$wpid")
    sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 2 }')"
    MID_RSS=$(rss_sum "$spid")
    wait "$wpid" || rc=$?
    s1=$(core_stat)
    c1=$(cpu_ticks "$spid")
    for i in "${!BENCH_PIDS[@]}"; do [ "${BENCH_PIDS[$i]}" != "$wpid" ] || unset 'BENCH_PIDS[i]'; done
    BENCH_PIDS=("${BENCH_PIDS[@]}")
    if pgrep -x dnsperf >/dev/null 2>&1; then DNSPERF_SEEN+=("$(basename "$out")"); fi
    [ "$rc" = 0 ] || { cat "$out" >&2; die "wrk failed (exit $rc): wrk $*"; }
    read -r W_RPS W_P50 W_P99 W_REQS W_NON2XX W_SOCKERR < <(wrk_summary "$out")
    [ "$W_REQS" -gt 0 ] || { cat "$out" >&2; die "wrk completed no request: wrk $*"; }
    # A relay that fails fast must not look fast.
    [ $(( W_NON2XX * 100 )) -le "$W_REQS" ] ||
        { cat "$out" >&2; die "$W_NON2XX of $W_REQS responses were not 2xx/3xx: wrk $*"; }
    [ $(( W_SOCKERR * 100 )) -le "$W_REQS" ] ||
        { cat "$out" >&2; die "$W_SOCKERR socket errors in $W_REQS requests: wrk $*"; }
    W_CPU_US=$(awk -v d=$(( c1 - c0 )) -v hz="$CLK_TCK" -v n="$W_REQS" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
    # shellcheck disable=SC2086
    set -- $s0 $s1
    W_SBUSY=$(busy_pct "$1" "$2" "$5" "$6")
    W_LBUSY=$(busy_pct "$3" "$4" "$7" "$8")
}

# Per-run results, as space-separated lists keyed by "bench/server".
declare -A R_RPS R_P50 R_P99 R_CPU R_SBUSY R_LBUSY R_NON2XX R_SOCKERR R_REQS R_MIDRSS

record_run() {
    local k="$1/$2"
    R_RPS[$k]="${R_RPS[$k]:-} $W_RPS"
    R_P50[$k]="${R_P50[$k]:-} $W_P50"
    R_P99[$k]="${R_P99[$k]:-} $W_P99"
    R_CPU[$k]="${R_CPU[$k]:-} $W_CPU_US"
    R_SBUSY[$k]="${R_SBUSY[$k]:-} $W_SBUSY"
    R_LBUSY[$k]="${R_LBUSY[$k]:-} $W_LBUSY"
    R_NON2XX[$k]=$(( ${R_NON2XX[$k]:-0} + W_NON2XX ))
    R_SOCKERR[$k]=$(( ${R_SOCKERR[$k]:-0} + W_SOCKERR ))
    R_REQS[$k]=$(( ${R_REQS[$k]:-0} + W_REQS ))
    R_MIDRSS[$k]="${R_MIDRSS[$k]:-} $MID_RSS"
    say "  $2: $(fmt0 "$W_RPS") req/s, p50 $(fmt3 "$W_P50") ms, p99 $(fmt3 "$W_P99") ms, server CPU $W_CPU_US µs/req, cores busy $W_SBUSY%/$W_LBUSY%"
}

# med KEY ARRAYNAME : median of a recorded list.
med() {
    local -n arr=$2
    # shellcheck disable=SC2086
    median ${arr[$1]}
}

# ---------------------------------------------------------------------------------------
# Configurations

pick_ports 6
TARGET_PORT=${PORTS[0]} NGINX_PORT=${PORTS[1]} HAPROXY_PORT=${PORTS[2]}
DNS_PORT_A=${PORTS[3]} DNS_PORT_B=${PORTS[4]} DNS_PORT_L=${PORTS[5]}

nginx_common() {  # nginx_common DIR : the main-context lines both nginx configs share
    cat <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $FDS;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections $MAX_CONNS; }
EOF
}
nginx_http_common() {
    cat <<EOF
    access_log off;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
EOF
}

# The target: the ACME client's answer and an "app".
mkdir -p "$W/target"
{
    nginx_common "$W/target"
    echo "http {"
    nginx_http_common "$W/target"
    cat <<EOF
    server {
        listen 127.0.0.1:$TARGET_PORT backlog=4096;
        # A one-shot answer with Connection: close, so that no relay keeps connections
        # to the ACME client open.
        location /.well-known/acme-challenge/ {
            keepalive_timeout 0;
            default_type text/plain;
            return 200 "$KEYAUTH";
        }
        location / { default_type text/plain; return 200 "app"; }
    }
    # Benchmark 1c: the same answer for Host $KA_HOST, on a connection that stays open
    # (like the Go servers of lego, Caddy or Traefik).
    server {
        listen 127.0.0.1:$TARGET_PORT;
        server_name $KA_HOST;
        location /.well-known/acme-challenge/ {
            default_type text/plain;
            return 200 "$KEYAUTH";
        }
    }
}
EOF
} >"$W/target/nginx.conf"

# nginx as the reference: the shipped snippet with the target in place of the relay.
mkdir -p "$W/nginx"
sed "s|proxy_pass http://127.0.0.1:8080;|proxy_pass http://127.0.0.1:$TARGET_PORT;|" \
    "$ROOT/deploy/nginx/acme-srv.conf" >"$W/nginx/acme-challenge.conf"
grep -q "proxy_pass http://127.0.0.1:$TARGET_PORT;" "$W/nginx/acme-challenge.conf" ||
    die "deploy/nginx/acme-srv.conf has no 'proxy_pass http://127.0.0.1:8080;' line to point at the target"
{
    nginx_common "$W/nginx"
    echo "http {"
    nginx_http_common "$W/nginx"
    cat <<EOF
    upstream app {
        server 127.0.0.1:$TARGET_PORT;
        keepalive 32;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        include $W/nginx/acme-challenge.conf;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
        }
    }
}
EOF
} >"$W/nginx/nginx.conf"

# HAProxy as the reference: the shipped snippet (both parts) right below the bind line.
mkdir -p "$W/haproxy"
sed "s|server relay 127.0.0.1:8080|server relay 127.0.0.1:$TARGET_PORT|" \
    "$ROOT/deploy/haproxy/acme-srv.cfg" >"$W/haproxy/snippet.cfg"
grep -q "server relay 127.0.0.1:$TARGET_PORT" "$W/haproxy/snippet.cfg" ||
    die "deploy/haproxy/acme-srv.cfg has no 'server relay 127.0.0.1:8080' line to point at the target"
{
    cat <<EOF
global
    maxconn $MAX_CONNS
    nbthread 1
    # HAProxy wants 2 file descriptors per connection (maxconn * 2) and refuses to start
    # when it cannot raise the open-file limit that far; here the limit is $FDS.
    no strict-limits

defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 20s
    timeout http-keep-alive 60s

frontend bench
    bind 127.0.0.1:$HAPROXY_PORT
    maxconn $MAX_CONNS
    default_backend app
EOF
    cat "$W/haproxy/snippet.cfg"
    cat <<EOF

backend app
    http-reuse always
    server app 127.0.0.1:$TARGET_PORT
EOF
} >"$W/haproxy/haproxy.cfg"
haproxy -c -q -f "$W/haproxy/haproxy.cfg" >"$W/haproxy/check.log" 2>&1 ||
    { cat "$W/haproxy/check.log" >&2; die "haproxy -c rejects $W/haproxy/haproxy.cfg"; }

# acme-srv's zones: the challenge name (and, for benchmark 3, COLD_NAMES more names, each
# with its own SRV record and its own target host name, all on the target).
zone_head() {
    cat <<EOF
\$ORIGIN bench.test.
\$TTL 3600
@       IN SOA ns1 hostmaster 1 3600 600 604800 60
@       IN NS  ns1
ns1     IN A   127.0.0.1
client  IN A   127.0.0.1
_acme-challenge._tcp.www IN SRV 10 5 $TARGET_PORT client.bench.test.
_acme-challenge._tcp.${KA_HOST%.bench.test} IN SRV 10 5 $TARGET_PORT client.bench.test.
EOF
}
zone_head >"$W/bench.test.zone"
{
    zone_head
    awk -v n="$COLD_NAMES" -v p="$TARGET_PORT" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "_acme-challenge._tcp.n%d IN SRV 10 5 %d h%d\nh%d IN A 127.0.0.1\n", i, p, i, i }'
} >"$W/bench-cold.test.zone"

# acme_conf FILE DNS_PORT ZONE_FILE STORE [relay-only] : an acme-srv configuration.
acme_conf() {
    cat >"$1" <<EOF
[relay]
listen = ["127.0.0.1:0"]
other_requests = "upstream"

[relay.upstream]
default = "http://127.0.0.1:$TARGET_PORT"

[relay.limits]
requests_per_second_per_client = 0

[relay.timeouts]
# wrk repeats one token: with answer reuse on (the default) every request after the
# first would be answered from the kept answer. Benchmarks 1-3 measure the relay's
# exchange with the target, so reuse is off here; tests/bench/burst.sh measures it.
answer_reuse = "0s"

[relay.connections]
max = $MAX_CONNS
# Every load generator connects from 127.0.0.1: one client.
max_per_client = 0
# Long enough for the idle keep-alive connections of benchmark 4 to stay open (the
# defaults, 10s and 15s, end idle keep-alive connections); nginx and HAProxy get 60 s too.
request_timeout = "60s"
idle_timeout = "60s"

[challenge]
allow_domains = ["*.bench.test"]

[resolver]
servers = ["127.0.0.1:$2"]

[targets]
allow_networks = ["127.0.0.0/8"]
allow_ports = ["1024-65535"]
EOF
    [ "${5:-}" = relay-only ] && return 0
    cat >>"$1" <<EOF

[admin]
listen = "127.0.0.1:0"

[dns]
listen = ["127.0.0.1:$2"]

[[dns.zones]]
origin = "bench.test"
zone_file = "$3"

[store]
url = "sqlite://$4"
EOF
}
acme_conf "$W/acme-srv.toml" "$DNS_PORT_A" "$W/bench.test.zone" "$W/acme-srv.sqlite"
acme_conf "$W/acme-srv-log.toml" "$DNS_PORT_L" "$W/bench.test.zone" "$W/acme-srv-log.sqlite"
acme_conf "$W/acme-srv-cold.toml" "$DNS_PORT_B" "$W/bench-cold.test.zone" "$W/acme-srv-cold.sqlite"
acme_conf "$W/acme-srv-relay-only.toml" "$DNS_PORT_A" "" "" relay-only
for f in acme-srv acme-srv-log acme-srv-cold acme-srv-relay-only; do
    "$BIN" config check "$W/$f.toml" >"$W/$f.check" 2>&1 || { cat "$W/$f.check" >&2; die "acme-srv config check $W/$f.toml failed"; }
done

# acme-srv logs one info line per relayed challenge; the references log nothing here
# (access_log off, no HAProxy log), so by default the relay's per-challenge line is
# silenced too. The "default log" variant measures it with the line on.
QUIET_LOG="info,hickory_server=warn,hickory_proto=warn,hickory_net=warn,http_relay::challenge=warn"

# ---------------------------------------------------------------------------------------
# Starting servers

# start_nginx NAME DIR CPU PORT : sets PID_<NAME>.
start_nginx() {
    start_bg "$3" "$2/stderr.log" nginx -p "$2" -e "$2/error.log" -c "$2/nginx.conf"
    local pid=$BENCH_LAST_PID
    wait_port "$4" 20 || { cat "$2/stderr.log" "$2/error.log" >&2 2>/dev/null; die "$1 did not start"; }
    alive "$1" "$pid" "$2/error.log"
    check_pinned "$1" "$pid" "$3"
    printf -v "PID_$1" '%s' "$pid"
}

# start_acme NAME CONF LOGLEVEL : sets PID_<NAME>, HTTP_<NAME> (port), ADMIN_<NAME>, and
# STARTUP_MS_<NAME> (from exec to "acme-srv ready").
start_acme() {
    local log="$W/$1.log" t0 t1 pid addr
    t0=$(date +%s%N)
    if [ -n "$3" ]; then
        start_bg "$SERVER_CPU" "$log" env RUST_LOG="$3" "$BIN" serve --config "$2"
    else
        start_bg "$SERVER_CPU" "$log" env -u RUST_LOG "$BIN" serve --config "$2"
    fi
    pid=$BENCH_LAST_PID
    wait_log "$log" "acme-srv ready" 120 || die "$1 (acme-srv serve --config $2) did not become ready"
    t1=$(date +%s%N)
    alive "$1" "$pid" "$log"
    check_pinned "$1" "$pid" "$SERVER_CPU"
    addr=$(acme_srv_listen "$log" http)
    [ -n "$addr" ] || die "$1: no 'listening for http on' line in $log"
    printf -v "PID_$1" '%s' "$pid"
    printf -v "HTTP_$1" '%s' "${addr##*:}"
    printf -v "ADMIN_$1" '%s' "$(acme_srv_listen "$log" admin)"
    printf -v "STARTUP_MS_$1" '%s' $(( (t1 - t0) / 1000000 ))
}

# settle_rss PID : RSS a second after start (nothing has been asked yet).
settle_rss() { sleep 1; rss_sum "$1"; }

declare -A IDLE_RSS LOAD_RSS CONN_RSS CONN_OPEN PRE_RSS

say "target (nginx on CPU $LOAD_CPU) on 127.0.0.1:$TARGET_PORT"
start_nginx target "$W/target" "$LOAD_CPU" "$TARGET_PORT"
check_body target "$TARGET_PORT" "$HOST" "$CHALLENGE_PATH" "$KEYAUTH"

if [ "$COLD_ONLY" != 1 ]; then
say "acme-srv (relay + DNS) on CPU $SERVER_CPU"
start_acme acme "$W/acme-srv.toml" "$QUIET_LOG"
IDLE_RSS[acme-srv]=$(settle_rss "$PID_acme")
say "nginx on CPU $SERVER_CPU, port $NGINX_PORT"
start_nginx nginx "$W/nginx" "$SERVER_CPU" "$NGINX_PORT"
IDLE_RSS[nginx]=$(settle_rss "$PID_nginx")
say "HAProxy on CPU $SERVER_CPU, port $HAPROXY_PORT"
start_bg "$SERVER_CPU" "$W/haproxy/haproxy.log" haproxy -db -f "$W/haproxy/haproxy.cfg"
PID_haproxy=$BENCH_LAST_PID
wait_port "$HAPROXY_PORT" 20 || { cat "$W/haproxy/haproxy.log" >&2; die "HAProxy did not start"; }
alive haproxy "$PID_haproxy" "$W/haproxy/haproxy.log"
check_pinned haproxy "$PID_haproxy" "$SERVER_CPU"
IDLE_RSS[haproxy]=$(settle_rss "$PID_haproxy")

# The relay alone (no [dns], no store), only to show its idle RSS.
start_acme relayonly "$W/acme-srv-relay-only.toml" "$QUIET_LOG"
IDLE_RSS[relay-only]=$(settle_rss "$PID_relayonly")
kill "$PID_relayonly"
for _ in $(seq 50); do kill -0 "$PID_relayonly" 2>/dev/null || break; sleep 0.1; done

declare -A PORT_OF PID_OF LOG_OF
LOG_OF[acme-srv]=$W/acme.log LOG_OF[nginx]=$W/nginx/error.log LOG_OF[haproxy]=$W/haproxy/haproxy.log
PORT_OF[acme-srv]=$HTTP_acme PORT_OF[nginx]=$NGINX_PORT PORT_OF[haproxy]=$HAPROXY_PORT
PID_OF[acme-srv]=$PID_acme PID_OF[nginx]=$PID_nginx PID_OF[haproxy]=$PID_haproxy
SERVERS=(acme-srv nginx haproxy)

# One request each before measuring: the answer must be the target's (so a broken relay
# cannot look fast), and acme-srv's SRV and address caches are warm afterwards.
for s in "${SERVERS[@]}"; do
    check_body "$s" "${PORT_OF[$s]}" "$HOST" "$CHALLENGE_PATH" "$KEYAUTH"
    check_body "$s" "${PORT_OF[$s]}" "$HOST" "$APP_PATH" "app"
    check_body "$s" "${PORT_OF[$s]}" "$KA_HOST" "$CHALLENGE_PATH" "$KEYAUTH"
done

# ---------------------------------------------------------------------------------------
# 1. Challenge relay, CA-style; 2. pass-through

WRK_CHALLENGE="wrk -t1 -c$CONNS -d${DURATION}s --latency -H 'Host: $HOST' -H 'Connection: close' http://127.0.0.1:PORT$CHALLENGE_PATH"
WRK_CHALLENGE_KA="wrk -t1 -c$CONNS -d${DURATION}s --latency -H 'Host: $KA_HOST' -H 'Connection: close' http://127.0.0.1:PORT$CHALLENGE_PATH"
WRK_PASS="wrk -t1 -c$CONNS -d${DURATION}s --latency -H 'Host: $HOST' http://127.0.0.1:PORT$APP_PATH"

for rep in $(seq "$REPS"); do
    say "1. challenge relay, fresh connections: run $rep/$REPS"
    for s in "${SERVERS[@]}"; do
        run_wrk "$W/wrk-challenge-$s-$rep.txt" "${PID_OF[$s]}" -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            -H "Host: $HOST" -H "Connection: close" "http://127.0.0.1:${PORT_OF[$s]}$CHALLENGE_PATH"
        record_run challenge "$s"
    done
done
for rep in $(seq "$REPS"); do
    say "2. pass-through, keep-alive: run $rep/$REPS"
    for s in "${SERVERS[@]}"; do
        run_wrk "$W/wrk-pass-$s-$rep.txt" "${PID_OF[$s]}" -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            -H "Host: $HOST" "http://127.0.0.1:${PORT_OF[$s]}$APP_PATH"
        record_run pass "$s"
    done
done
for rep in $(seq "$REPS"); do
    say "1c. challenge relay, fresh connections, keep-alive target: run $rep/$REPS"
    for s in "${SERVERS[@]}"; do
        run_wrk "$W/wrk-challenge-ka-$s-$rep.txt" "${PID_OF[$s]}" -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            -H "Host: $KA_HOST" -H "Connection: close" "http://127.0.0.1:${PORT_OF[$s]}$CHALLENGE_PATH"
        record_run challenge-ka "$s"
    done
done
for s in "${SERVERS[@]}"; do LOAD_RSS[$s]=$(med "challenge/$s" R_MIDRSS); done

# ---------------------------------------------------------------------------------------
# 4. Memory with IDLE_CONNS idle keep-alive connections (after the load runs)

for s in "${SERVERS[@]}"; do
    say "4. $IDLE_CONNS idle keep-alive connections to $s"
    out="$W/idle-conns-$s.txt" stop="$W/idle-conns-$s.stop"
    hold=$(( 120 + IDLE_CONNS / 200 ))
    PRE_RSS[$s]=$(rss_sum "${PID_OF[$s]}")
    taskset -c "$LOAD_CPU" timeout -k 5 $(( hold + 240 )) python3 "$HERE/idle-conns.py" \
        "${PORT_OF[$s]}" "$IDLE_CONNS" "$HOST" "$CHALLENGE_PATH" "$stop" "$hold" >"$out" 2>&1 &
    ipid=$!
    BENCH_PIDS+=("$ipid")
    deadline=$(( $(date +%s) + 240 ))
    until grep -q '^ready' "$out"; do
        kill -0 "$ipid" 2>/dev/null || { cat "$out" >&2; die "idle-conns.py against $s exited early"; }
        [ "$(date +%s)" -lt "$deadline" ] || die "idle-conns.py against $s: not ready after 240 s"
        sleep 0.1
    done
    sleep 1
    CONN_RSS[$s]=$(rss_sum "${PID_OF[$s]}")
    touch "$stop"
    rc=0
    wait "$ipid" || rc=$?
    for i in "${!BENCH_PIDS[@]}"; do [ "${BENCH_PIDS[$i]}" != "$ipid" ] || unset 'BENCH_PIDS[i]'; done
    BENCH_PIDS=("${BENCH_PIDS[@]}")
    [ "$rc" = 0 ] || { cat "$out" >&2; die "idle-conns.py against $s failed (exit $rc)"; }
    opened=$(sed -n 's/^ready open=\([0-9]*\).*/\1/p' "$out")
    still=$(sed -n 's/^still_open=\([0-9]*\).*/\1/p' "$out")
    CONN_OPEN[$s]="$still"
    [ "${opened:-0}" -ge $(( IDLE_CONNS * 99 / 100 )) ] || { cat "$out" >&2; die "only ${opened:-0} of $IDLE_CONNS connections to $s could be opened"; }
    [ "${still:-0}" -ge $(( IDLE_CONNS * 99 / 100 )) ] || { cat "$out" >&2; die "$s closed idle connections: ${still:-0} of $IDLE_CONNS still open when RSS was read"; }
    alive "$s" "${PID_OF[$s]}" "${LOG_OF[$s]}"
    sleep 1   # let the server release the reset connections
done

# ---------------------------------------------------------------------------------------
# 1b. acme-srv with its default log filter (one info line per relayed challenge)

kill "$PID_nginx" "$PID_haproxy" 2>/dev/null || true
say "1b. acme-srv with its default log filter"
start_acme acmelog "$W/acme-srv-log.toml" ""
check_body "acme-srv (default log)" "$HTTP_acmelog" "$HOST" "$CHALLENGE_PATH" "$KEYAUTH"
for rep in $(seq "$REPS"); do
    run_wrk "$W/wrk-challenge-acme-srv-log-$rep.txt" "$PID_acmelog" -t1 -c"$CONNS" -d"${DURATION}s" --latency \
        -H "Host: $HOST" -H "Connection: close" "http://127.0.0.1:$HTTP_acmelog$CHALLENGE_PATH"
    record_run challenge "acme-srv (default log)"
done
kill "$PID_acmelog" "$PID_acme" 2>/dev/null || true

fi # COLD_ONLY

# ---------------------------------------------------------------------------------------
# 3. Cold names (acme-srv only)

say "3. cold names: starting acme-srv with a zone of $COLD_NAMES SRV names"
start_acme cold "$W/acme-srv-cold.toml" "$QUIET_LOG"
IDLE_RSS[cold-zone]=$(settle_rss "$PID_cold")
last=$(( COLD_NAMES - 1 ))
check_body "acme-srv (cold zone)" "$HTTP_cold" "n$last.bench.test" "$CHALLENGE_PATH" "$KEYAUTH"
WRK_COLD="wrk -t1 -c$CONNS -d${DURATION}s --latency -s tests/bench/cold-names.lua http://127.0.0.1:PORT -- $COLD_NAMES OFFSET $TOKEN"
offset=0
COLD_QPR=() COLD_OK=()
for rep in $(seq "$REPS"); do
    say "3. cold names: run $rep/$REPS (names from n$offset)"
    q0=$(metric_sum "$ADMIN_cold" acme_srv_dns_queries_total)
    h0=$(metric_sum "$ADMIN_cold" acme_srv_http_requests_total)
    ok0=$(metric_sum "$ADMIN_cold" acme_srv_http_requests_total 'status="200"')
    run_wrk "$W/wrk-cold-$rep.txt" "$PID_cold" -t1 -c"$CONNS" -d"${DURATION}s" --latency \
        -s "$HERE/cold-names.lua" "http://127.0.0.1:$HTTP_cold" -- "$COLD_NAMES" "$offset" "$TOKEN"
    record_run cold acme-srv
    q1=$(metric_sum "$ADMIN_cold" acme_srv_dns_queries_total)
    h1=$(metric_sum "$ADMIN_cold" acme_srv_http_requests_total)
    ok1=$(metric_sum "$ADMIN_cold" acme_srv_http_requests_total 'status="200"')
    [ $(( h1 - h0 )) -gt 0 ] || die "cold names: acme-srv counted no request"
    COLD_QPR+=("$(awk -v q=$(( q1 - q0 )) -v h=$(( h1 - h0 )) 'BEGIN { printf "%.3f", q / h }')")
    COLD_OK+=("$(awk -v o=$(( ok1 - ok0 )) -v h=$(( h1 - h0 )) 'BEGIN { printf "%.4f", o / h }')")
    offset=$(( offset + h1 - h0 ))
done
COLD_TOTAL=$offset
kill "$PID_cold" 2>/dev/null || true
cleanup_bench

# ---------------------------------------------------------------------------------------
# Report

NGINX_V=$( (nginx -v 2>&1 || true) | sed 's/^nginx version: nginx\///')
HAPROXY_V=$( (haproxy -v 2>&1 || true) | awk 'NR == 1 {print $3}')
WRK_V=$( (wrk -v 2>&1 || true) | awk 'NR == 1 {print $2}')   # wrk -v exits with 1
ACME_V=$("$BIN" --version)
ELAPSED=$(( $(date +%s) - START_TS ))

label() { case $1 in acme-srv) echo "acme-srv";; nginx) echo "nginx $NGINX_V";; haproxy) echo "HAProxy $HAPROXY_V";; *) echo "$1";; esac; }

# table_rows BENCH SERVERS... : markdown rows of one load benchmark, and its TSV lines.
table_rows() {
    local b=$1 s k rps p50 p99 cpu
    shift
    for s in "$@"; do
        k="$b/$s"
        rps=$(med "$k" R_RPS) p50=$(med "$k" R_P50) p99=$(med "$k" R_P99) cpu=$(med "$k" R_CPU)
        # shellcheck disable=SC2086
        echo "| $(label "$s") | $(fmt0 "$rps") | $(fmt3 "$p50") | $(fmt3 "$p99") | $cpu | $(med "$k" R_SBUSY) / $(med "$k" R_LBUSY) | $(echo ${R_RPS[$k]} | xargs -n1 printf '%.0f ' | sed 's/ $//') | ${R_NON2XX[$k]} / ${R_SOCKERR[$k]} of ${R_REQS[$k]} |"
        tsv "$b" "$s" requests_per_s "$(fmt0 "$rps")"
        tsv "$b" "$s" latency_p50_ms "$(fmt3 "$p50")"
        tsv "$b" "$s" latency_p99_ms "$(fmt3 "$p99")"
        tsv "$b" "$s" server_cpu_us_per_request "$cpu"
    done
}
table_head() {
    echo "| server | requests/s | p50 ms | p99 ms | server CPU µs/request | cores busy % (server / load) | requests/s per run | non-2xx / socket errors |"
    echo "|---|---:|---:|---:|---:|---:|---|---|"
}
# ratio_line BENCH REF : "acme-srv / REF" ratios; sets RATIO_RPS, RATIO_P99.
ratio_line() {
    local a="$1/acme-srv" r="$1/$2"
    RATIO_RPS=$(ratio "$(med "$a" R_RPS)" "$(med "$r" R_RPS)")
    RATIO_P99=$(ratio "$(med "$a" R_P99)" "$(med "$r" R_P99)")
    RATIO_CPU=$(ratio "$(med "$a" R_CPU)" "$(med "$r" R_CPU)")
    tsv "$1" "acme-srv/$2" requests_per_s_ratio "$RATIO_RPS"
    tsv "$1" "acme-srv/$2" latency_p99_ratio "$RATIO_P99"
    tsv "$1" "acme-srv/$2" server_cpu_per_request_ratio "$RATIO_CPU"
    echo "| acme-srv / $(label "$2") | ${RATIO_RPS}× | ${RATIO_P99}× | ${RATIO_CPU}× |"
}
# verdict A OP B : "met" when the number A OP B holds (OP: <= >= <).
verdict() {
    if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { a += 0; b += 0
        exit !((op == "<=" && a <= b) || (op == ">=" && a >= b) || (op == "<" && a < b)) }'; then
        echo "**met**"
    else
        echo "**not met**"
    fi
}

# cold_section : the report of benchmark 3, and its TSV lines.
cold_section() {
    echo "### 3. Cold names (acme-srv only)"
    echo
    echo "Every request is for a different name \`n<i>.bench.test\` on a fresh connection, so the"
    echo "relay looks up \`_acme-challenge._tcp.n<i>.bench.test\` SRV (target \`h<i>.bench.test\`) and"
    echo "the target's address (AAAA, then A) from acme-srv's own DNS server, in the same process,"
    echo "serving a zone of $COLD_NAMES such names (loaded from an RFC 1035 file; ready"
    echo "$STARTUP_MS_cold ms after start). Each run continues where the previous one stopped"
    echo "($COLD_TOTAL requests in all$( [ "$COLD_TOTAL" -gt "$COLD_NAMES" ] && echo ", so names came round again after $COLD_NAMES; the resolver cache holds 10,000 entries, so they were still cold")). DNS queries per"
    echo "challenge are from acme-srv's \`/metrics\`: the change of \`acme_srv_dns_queries_total\` over the"
    echo "change of \`acme_srv_http_requests_total\`: 3 when the relay asks SRV, AAAA and A; 1 when the"
    echo "SRV answer's additional section carries the target's addresses and the relay's resolver"
    echo "uses them (docs/dns.md). Neither nginx nor HAProxy can choose a target"
    echo "by SRV record, so there is no reference."
    echo
    echo "    taskset -c $LOAD_CPU $WRK_COLD"
    echo
    echo "| server | requests/s | p50 ms | p99 ms | server CPU µs/request | cores busy % (server / load) | DNS queries/challenge | answered 200 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    c_qpr=$(median "${COLD_QPR[@]}") c_ok=$(median "${COLD_OK[@]}")
    echo "| acme-srv | $(fmt0 "$(med cold/acme-srv R_RPS)") | $(fmt3 "$(med cold/acme-srv R_P50)") | $(fmt3 "$(med cold/acme-srv R_P99)") | $(med cold/acme-srv R_CPU) | $(med cold/acme-srv R_SBUSY) / $(med cold/acme-srv R_LBUSY) | $c_qpr | $(awk -v v="$c_ok" 'BEGIN { printf "%.1f %%", 100 * v }') |"
    tsv cold acme-srv requests_per_s "$(fmt0 "$(med cold/acme-srv R_RPS)")"
    tsv cold acme-srv latency_p50_ms "$(fmt3 "$(med cold/acme-srv R_P50)")"
    tsv cold acme-srv latency_p99_ms "$(fmt3 "$(med cold/acme-srv R_P99)")"
    tsv cold acme-srv server_cpu_us_per_request "$(med cold/acme-srv R_CPU)"
    tsv cold acme-srv dns_queries_per_request "$c_qpr"
    tsv cold acme-srv answered_200_fraction "$c_ok"
    echo
}

if [ "$COLD_ONLY" = 1 ]; then
    { echo "## HTTP relay (\`tests/bench/http.sh\`, COLD_ONLY=1; acme-srv $ACME_V)"; echo; cold_section; } >"$MD"
    say "done in $ELAPSED s: $MD, $TSV"
    exit 0
fi

a_rps=$(med challenge/acme-srv R_RPS) n_rps=$(med challenge/nginx R_RPS)
a_p99=$(med challenge/acme-srv R_P99) n_p99=$(med challenge/nginx R_P99)
pa_rps=$(med pass/acme-srv R_RPS) pn_rps=$(med pass/nginx R_RPS)
wrk_cap=$(awk -v a="$a_rps" -v b="$n_rps" -v c="$(med challenge/haproxy R_RPS)" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; print (m > 40000) ? 1 : 0 }')

{
    echo "## HTTP relay (\`tests/bench/http.sh\`)"
    echo
    echo "$ACME_V (\`$BIN\`), nginx $NGINX_V, HAProxy $HAPROXY_V, wrk $WRK_V,"
    echo "Python $(python3 -c 'import platform; print(platform.python_version())'), kernel $(uname -r), $ncpu cores."
    echo "Run: \`BIN=$BIN OUT_DIR=$OUT_DIR DURATION=$DURATION REPS=$REPS IDLE_CONNS=$IDLE_CONNS COLD_NAMES=$COLD_NAMES SERVER_CPU=$SERVER_CPU LOAD_CPU=$LOAD_CPU tests/bench/http.sh\`"
    echo "($ELAPSED s). Servers under test are pinned to core $SERVER_CPU (\`taskset\`, every thread"
    echo "checked); wrk and the target are pinned to core $LOAD_CPU. Every figure is the median of $REPS"
    echo "runs of $DURATION s with $CONNS connections (\`wrk -t1 -c$CONNS\`); runs alternate between the servers."
    echo
    echo "Targets (issue 5):"
    echo
    echo "- Challenge relay: acme-srv ≥ 1.2× nginx requests/s: $(verdict "$(ratio "$a_rps" "$n_rps")" ">=" 1.2) ($(fmt0 "$a_rps") vs $(fmt0 "$n_rps") requests/s, $(ratio "$a_rps" "$n_rps")×)."
    echo "- Challenge relay: acme-srv p99 ≤ nginx p99: $(verdict "$a_p99" "<=" "$n_p99") ($(fmt3 "$a_p99") vs $(fmt3 "$n_p99") ms)."
    echo "- Pass-through: acme-srv ≥ 1.0× nginx requests/s: $(verdict "$(ratio "$pa_rps" "$pn_rps")" ">=" 1.0) ($(fmt0 "$pa_rps") vs $(fmt0 "$pn_rps") requests/s, $(ratio "$pa_rps" "$pn_rps")×)."
    echo "- Idle RSS < 10 MiB: $(verdict "${IDLE_RSS[acme-srv]}" "<" 10240) ($(mib "${IDLE_RSS[acme-srv]}") MiB for \`acme-srv serve\` with the relay and the DNS server; $(mib "${IDLE_RSS[relay-only]}") MiB for the relay alone)."
    echo
    echo "How to read the figures:"
    echo
    echo "- wrk's latency starts when the request is written: the TCP connect is not in p50/p99,"
    echo "  so for fresh-connection runs they understate what a CA sees."
    echo "- wrk alone tops out near 47,000 new connections/s on one core, and here it shares its"
    echo "  core with the target: when the load core is near 100 % busy the figure measures the"
    echo "  load side, not the server. *Server CPU µs/request* (the server's own user + system"
    echo "  time divided by the requests answered) compares the servers' cost independently of that."
    [ "$wrk_cap" = 1 ] && echo "  In this run a server exceeded 40,000 requests/s: the ratios there are bounded by wrk."
    echo "- Logging: the references log nothing (\`access_log off\`, no HAProxy \`log\`), so acme-srv's"
    echo "  one info line per relayed challenge is filtered out too (\`RUST_LOG=$QUIET_LOG\`);"
    echo "  the row *acme-srv (default log)* shows the cost of that line."
    echo "- Fresh-connection runs leave tens of thousands of sockets in TIME_WAIT; that is normal."
    if [ "${#DNSPERF_SEEN[@]}" -gt 0 ]; then
        echo "- **Disturbed:** dnsperf was running on this machine during $(printf '%s\n' "${DNSPERF_SEEN[@]}" | sort -u | wc -l) of the load runs"
        echo "  ($(printf '%s\n' "${DNSPERF_SEEN[@]}" | sort -u | sed 's/\.txt$//' | paste -sd, - | sed 's/,/, /g')); the figures of those runs are not clean."
    fi
    echo
    echo "### 1. Challenge relay, CA-style (fresh connection per request)"
    echo
    echo "\`GET $CHALLENGE_PATH\` with \`Host: $HOST\` and \`Connection: close\`, relayed to the"
    echo "target (which answers the 61-byte key authorization). acme-srv finds the target through the"
    echo "SRV record \`_acme-challenge._tcp.$HOST\` (cache warm: one request before); nginx and"
    echo "HAProxy use the shipped \`deploy/nginx/acme-srv.conf\` and \`deploy/haproxy/acme-srv.cfg\`"
    echo "with the target's address in place of the relay's. The target answers challenges with"
    echo "\`Connection: close\` (\`keepalive_timeout 0\`, like a one-shot ACME client), so all three open a"
    echo "new connection to it per request. Each answer was checked once with curl to be the key authorization."
    echo
    echo "    taskset -c $LOAD_CPU $WRK_CHALLENGE"
    echo
    table_head
    table_rows challenge acme-srv "acme-srv (default log)" nginx haproxy
    echo
    echo "| ratio | requests/s | p99 | server CPU/request |"
    echo "|---|---:|---:|---:|"
    ratio_line challenge nginx
    ratio_line challenge haproxy
    echo
    echo "### 1c. Challenge relay, CA-style, to a target that keeps connections open"
    echo
    echo "The same load with \`Host: $KA_HOST\`, whose answers come without \`Connection: close\`"
    echo "(HTTP/1.1 keep-alive, like the Go servers of lego, Caddy or Traefik). acme-srv keeps the"
    echo "connection for the next challenge (\`relay.timeouts.target_idle\`, 2 s by default) and"
    echo "HAProxy reuses it (its default \`http-reuse safe\`); nginx with the shipped snippet"
    echo "still opens one per request (no upstream \`keepalive\`: the snippet's \`proxy_pass\` goes"
    echo "to one fixed address, while acme-srv's targets differ per domain)."
    echo
    echo "    taskset -c $LOAD_CPU $WRK_CHALLENGE_KA"
    echo
    table_head
    table_rows challenge-ka acme-srv nginx haproxy
    echo
    echo "| ratio | requests/s | p99 | server CPU/request |"
    echo "|---|---:|---:|---:|"
    ratio_line challenge-ka nginx
    ratio_line challenge-ka haproxy
    echo
    echo "### 2. Pass-through (keep-alive, \`other_requests = \"upstream\"\`)"
    echo
    echo "\`GET $APP_PATH\` with \`Host: $HOST\` on keep-alive connections, proxied to the target's"
    echo "\"app\" through a pool of idle upstream connections: acme-srv's \`[relay.upstream] default\`"
    echo "(up to 256 idle connections per app, the built-in value), nginx \`keepalive 32; proxy_http_version 1.1;"
    echo "proxy_set_header Connection \"\";\`, HAProxy \`http-reuse always\`."
    echo
    echo "    taskset -c $LOAD_CPU $WRK_PASS"
    echo
    table_head
    table_rows pass acme-srv nginx haproxy
    echo
    echo "| ratio | requests/s | p99 | server CPU/request |"
    echo "|---|---:|---:|---:|"
    ratio_line pass nginx
    ratio_line pass haproxy
    echo
    cold_section
    echo "### 4. Memory (RSS)"
    echo
    echo "RSS from \`/proc/PID/status\` (nginx: master + worker). *Idle*: one second after start,"
    echo "before any request. *Under load*: halfway through each run of benchmark 1 (median)."
    echo "*Idle connections*: $IDLE_CONNS keep-alive connections opened by \`tests/bench/idle-conns.py\`"
    echo "(Python asyncio, at most 256 connecting at once, on core $LOAD_CPU), one challenge request"
    echo "answered on each, then held open while RSS is read (after benchmarks 1 and 2). The client"
    echo "needs an open-file limit above $IDLE_CONNS: this script raises the soft \`ulimit -n\` as far as"
    echo "it may (here $FDS; hard limit $(ulimit -Hn)), and the servers inherit it. acme-srv runs with \`relay.connections.max = $MAX_CONNS\`"
    echo "(nginx \`worker_connections $MAX_CONNS\`, HAProxy \`maxconn $MAX_CONNS\` with \`no strict-limits\`, as it"
    echo "would otherwise refuse to start below 2 × maxconn descriptors) and"
    echo "\`request_timeout\` and \`idle_timeout\` of 60 s (the defaults, 10 s and 15 s, close idle keep-alive connections),"
    echo "nginx and HAProxy with a 60 s keep-alive timeout."
    echo
    echo "| server | idle MiB | under load 1 MiB | $IDLE_CONNS idle connections MiB | open at reading | KiB per idle connection |"
    echo "|---|---:|---:|---:|---:|---:|"
    for s in "${SERVERS[@]}"; do
        per=$(awk -v c="${CONN_RSS[$s]}" -v i="${PRE_RSS[$s]}" -v n="${CONN_OPEN[$s]}" 'BEGIN { if (n > 0) printf "%.1f", (c - i) / n; else print "n/a" }')
        echo "| $(label "$s") | $(mib "${IDLE_RSS[$s]}") | $(mib "${LOAD_RSS[$s]}") | $(mib "${CONN_RSS[$s]}") | ${CONN_OPEN[$s]} | $per |"
        tsv memory "$s" rss_idle_kib "${IDLE_RSS[$s]}"
        tsv memory "$s" rss_under_load_kib "${LOAD_RSS[$s]}"
        tsv memory "$s" rss_idle_connections_kib "${CONN_RSS[$s]}"
        tsv memory "$s" idle_connections_open "${CONN_OPEN[$s]}"
    done
    echo "| acme-srv, relay alone (no \`[dns]\`) | $(mib "${IDLE_RSS[relay-only]}") | | | | |"
    echo "| acme-srv with the $COLD_NAMES-name zone (benchmark 3) | $(mib "${IDLE_RSS[cold-zone]}") | | | | |"
    tsv memory "acme-srv relay only" rss_idle_kib "${IDLE_RSS[relay-only]}"
    tsv memory "acme-srv cold zone" rss_idle_kib "${IDLE_RSS[cold-zone]}"
    echo
    echo "*KiB per idle connection* is (RSS with the connections − RSS just before opening them) / connections open."
    echo
    echo "<details><summary>Generated configurations</summary>"
    echo
    echo "acme-srv (\`acme-srv serve --config\`; benchmark 3 uses the same with the larger zone file):"
    echo
    echo '```toml'
    cat "$W/acme-srv.toml"
    echo '```'
    echo
    echo "The zone (benchmark 3 adds \`_acme-challenge._tcp.n<i> IN SRV 10 5 PORT h<i>\` and \`h<i> IN A 127.0.0.1\` for each name):"
    echo
    echo '```'
    cat "$W/bench.test.zone"
    echo '```'
    echo
    echo "nginx (it includes \`deploy/nginx/acme-srv.conf\` with \`proxy_pass http://127.0.0.1:$TARGET_PORT;\`):"
    echo
    echo '```nginx'
    cat "$W/nginx/nginx.conf"
    echo '```'
    echo
    echo "HAProxy (\`haproxy -db -f\`; the part between \`frontend\` and \`backend app\` is \`deploy/haproxy/acme-srv.cfg\` with \`server relay 127.0.0.1:$TARGET_PORT\`):"
    echo
    echo '```'
    grep -v '^ *#' "$W/haproxy/haproxy.cfg" | grep -v '^$'
    echo '```'
    echo
    echo "The target (nginx):"
    echo
    echo '```nginx'
    cat "$W/target/nginx.conf"
    echo '```'
    echo
    echo "</details>"
} >"$MD"

say "done in $ELAPSED s: $MD, $TSV"

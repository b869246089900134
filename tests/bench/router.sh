#!/usr/bin/env bash
# Benchmarks of the acme-srv port-443 router (`acme-srv router`) against HAProxy in TCP
# mode and sslh, all in front of the same TLS nginx, with nginx reached directly as the
# baseline.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench-router DURATION=10 REPS=3 \
#       IDLE_CONNS=10000 BULK_MIB=1024 tests/bench/router.sh
#   BIN=... OUT_DIR=... DURATION=1 REPS=1 IDLE_CONNS=100 BULK_MIB=8 QUIET_WAIT=0 RETRIES=0 \
#       tests/bench/router.sh                                                       # smoke
#
# Usually called by tests/bench/run. Everything runs on 127.0.0.1 with free ports:
#   - the *backend*: nginx terminating TLS (`listen ... ssl http2`, a self-signed P-256
#     certificate for www.bench.test, no session resumption so every connection is a full
#     handshake), /small answers "ok", /big is a BULK_MIB MiB file; pinned to LOAD_CPU
#     with the load generators, so the core under test holds only the router;
#   - the routers under test, pinned to SERVER_CPU, each routing by SNI (www.bench.test)
#     to the backend: `acme-srv router --config` (an SNI backend), HAProxy (`mode tcp`,
#     `req.ssl_sni`), HAProxy with `option splice-auto` (benchmark 2 only), sslh-select
#     and sslh-fork (Debian's sslh 1.20, a `tls` protocol with `sni_hostnames`);
#   - the load, pinned to LOAD_CPU: 1. wrk, a new TLS connection per request
#     (`Connection: close`, checked against nginx's counters); 2. one curl download of
#     /big; 3. wrk on keep-alive connections at a fixed, moderate rate, for the latency a
#     router adds; 4. idle connections that each sent a whole ClientHello (a Python
#     helper, below), for the memory each costs a router.
# wrk takes the server name (SNI and Host) from the URL, so the URL names www.bench.test
# and a small wrk script connects to 127.0.0.1 instead of resolving it (nothing is added
# to /etc/hosts); curl gets the same with --resolve.
# On a shared machine other programs disturb the figures: before each run the script
# waits (at most QUIET_WAIT s, 120) until both cores are idle, and a run during which
# other programs used over 10 % of a core is done again (at most RETRIES times, 2); the
# report says how many were, and which stayed disturbed.
# Writes $OUT_DIR/router.md (the report section) and $OUT_DIR/router.tsv (benchmark,
# server, metric, value; no header). Generated configurations and logs are kept in
# $OUT_DIR/router-work/. Exits non-zero with a message on any failure; every process it
# starts is stopped (lib.sh's EXIT trap).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

: "${BIN:=$ROOT/target/dist/acme-srv}"
: "${OUT_DIR:=/tmp/bench-router}"
: "${DURATION:=10}"
: "${REPS:=3}"
: "${IDLE_CONNS:=10000}"
: "${BULK_MIB:=1024}"
: "${QUIET_WAIT:=120}"   # seconds to wait, before each run, for other programs to go quiet
: "${RETRIES:=2}"        # times a run that other programs disturbed is done again
CONNS=50                 # wrk connections in every load run
LAT_DELAY_MS=10          # benchmark 3: each connection waits this long between requests
SSLH_SELECT_MAX=400      # sslh-select 1.20 uses select(2): it aborts past FD_SETSIZE (1024)
HOST=www.bench.test

die() { echo "router.sh: error: $*" >&2; exit 1; }
say() { echo "router.sh: $*" >&2; }

for v in DURATION REPS IDLE_CONNS BULK_MIB QUIET_WAIT RETRIES SERVER_CPU LOAD_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$DURATION" -ge 1 ] && [ "$REPS" -ge 1 ] && [ "$IDLE_CONNS" -ge 1 ] && [ "$BULK_MIB" -ge 1 ] ||
    die "DURATION, REPS, IDLE_CONNS and BULK_MIB must be at least 1"
[ -x "$BIN" ] || die "BIN=$BIN is not an executable (build it: cargo build --profile dist -p acme-srv)"
for tool in wrk:wrk nginx:nginx haproxy:haproxy sslh-select:sslh sslh:sslh curl:curl openssl:openssl \
    python3:python3 taskset:util-linux timeout:coreutils; do
    command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing (apt-get install ${tool#*:})"
done
ncpu=$(nproc --all)
[ "$SERVER_CPU" -lt "$ncpu" ] && [ "$LOAD_CPU" -lt "$ncpu" ] || die "SERVER_CPU/LOAD_CPU must be below $ncpu"

# Open files: a router holds two descriptors per tunnel (client and backend), so with
# IDLE_CONNS idle tunnels it needs twice as many; the client and nginx one each. Raise
# the soft limit as far as allowed; if the hard limit is lower, benchmark 4 opens as many
# connections as fit (IDLE_N) and the report says so.
want_fds=$(( IDLE_CONNS * 2 + 4096 ))
[ "$want_fds" -ge 65536 ] || want_fds=65536
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
    ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
FDS=$(ulimit -n)
[ "$FDS" != unlimited ] || FDS=1048576
IDLE_N=$IDLE_CONNS
[ $(( IDLE_N * 2 + 1024 )) -le "$FDS" ] || IDLE_N=$(( (FDS - 1024) / 2 ))
[ "$IDLE_N" -ge 1 ] || die "the open-file limit is $FDS: too low for benchmark 4"
SSLH_SELECT_N=$IDLE_N
[ "$SSLH_SELECT_N" -le "$SSLH_SELECT_MAX" ] || SSLH_SELECT_N=$SSLH_SELECT_MAX
MAX_CONNS=$(( IDLE_N + 1000 ))
[ "$MAX_CONNS" -ge 20000 ] || MAX_CONNS=20000
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$OUT_DIR"
W="$OUT_DIR/router-work"
rm -rf "$W"
mkdir -p "$W"
TSV="$OUT_DIR/router.tsv"
MD="$OUT_DIR/router.md"
rm -f "$TSV" "$MD"
START_TS=$(date +%s)

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

# tree_pids PID : PID and its descendants, three levels down (nginx's worker; sslh-fork's
# process per listener and its process per connection).
tree_pids() {
    local level=$1 depth next
    echo "$1"
    for depth in 1 2 3; do
        next=$(pgrep -d, -P "$level" 2>/dev/null || true)
        [ -n "$next" ] || break
        echo "${next//,/$'\n'}"
        level=$next
    done
}

# mem_sum PID : "RSS PSS" of PID and its children, KiB (one awk over every process, so
# thousands of sslh-fork children are read at once). RSS counts a page shared by several
# processes in each; PSS divides it among them.
mem_sum() {
    local files=() p
    for p in $(tree_pids "$1"); do
        [ -r "/proc/$p/status" ] && files+=("/proc/$p/status" "/proc/$p/smaps_rollup")
    done
    [ "${#files[@]}" -gt 0 ] || { echo "0 0"; return; }
    # cat goes on past a process that has just ended.
    cat "${files[@]}" 2>/dev/null | awk '/^VmRSS:/ { r += $2 } /^Pss:/ { p += $2 } END { printf "%d %d\n", r, p }'
}

# cpu_ticks PID : user+system CPU time of PID (with its reaped children: sslh-fork's
# children end with their connection) and its live children, in clock ticks.
cpu_ticks() {
    local total=0 p t root=$1
    for p in $(tree_pids "$root"); do
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null |
            awk -v root=$(( p == root )) '{ print $12 + $13 + (root ? $14 + $15 : 0) }' || true)
        total=$(( total + ${t:-0} ))
    done
    echo "$total"
}

# child_ticks VAR : sets VAR to the user+system CPU time of the processes this shell has
# waited for (the load generators, through `timeout`), in clock ticks. `times` runs in
# this shell (a subshell would report its own children).
child_ticks() {
    times >"$W/times.txt"
    printf -v "$1" '%s' "$(awk -v hz="$CLK_TCK" 'NR == 2 {
        n = split($0, f, " "); s = 0
        for (i = 1; i <= n; i++) { v = f[i]; sub(/s$/, "", v); split(v, ms, "m"); s += ms[1] * 60 + ms[2] }
        printf "%.0f\n", s * hz }' "$W/times.txt")"
}

# core_stat : "busy total user+nice+system" jiffies of SERVER_CPU, then of LOAD_CPU.
core_stat() {
    awk -v s="cpu$SERVER_CPU" -v l="cpu$LOAD_CPU" '
        $1 == s || $1 == l { t = 0; for (i = 2; i <= 9; i++) t += $i; b = t - $5 - $6; v[$1] = b " " t " " ($2 + $3 + $4) }
        END { print v[s], v[l] }' /proc/stat
}

# busy_pct B0 T0 B1 T1 : percentage busy between two core_stat samples.
busy_pct() { awk -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" 'BEGIN { if (t1 > t0) printf "%.0f", 100 * (b1 - b0) / (t1 - t0); else print "n/a" }'; }

# Measuring a run: measure_start SERVER_PID before it, measure_end after it. Sets
# M_SBUSY/M_LBUSY (% busy of the two cores), M_CPU_TICKS (the server's CPU time),
# M_CORE_TICKS (the busy time of SERVER_CPU, the router's core: its process time, the
# kernel's softirq work there, and anything else that ran on it), and M_OTHER:
# CPU time in user and system mode on the two cores that none of the measured processes
# (the server, the backend, the load generator) used, in % of one core: another program
# running meanwhile (a build) shows here, and its figures are not clean.
measure_start() {
    M_PID=$1
    M_C0=$(cpu_ticks "$M_PID") M_B0=0
    [ "$M_PID" = "$PID_backend" ] || M_B0=$(cpu_ticks "$PID_backend")
    child_ticks M_K0
    M_S0=$(core_stat)
}
measure_end() {  # measure_end RUN_NAME
    local run=$1 s1 c1 b1=0 k1
    s1=$(core_stat)
    c1=$(cpu_ticks "$M_PID")
    [ "$M_PID" = "$PID_backend" ] || b1=$(cpu_ticks "$PID_backend")
    child_ticks k1
    M_CPU_TICKS=$(( c1 - M_C0 ))
    # shellcheck disable=SC2086
    set -- $M_S0 $s1
    M_CORE_TICKS=$(( $7 - $1 ))
    M_SBUSY=$(busy_pct "$1" "$2" "$7" "$8")
    M_LBUSY=$(busy_pct "$4" "$5" "${10}" "${11}")
    # Per core: the router alone on SERVER_CPU; the backend and the load on LOAD_CPU.
    # sslh-fork's children are not in its CPU time (it does not wait for them), so for it
    # only the load core is looked at.
    local ours0=$M_CPU_TICKS
    [ "$M_PID" != "$PID_backend" ] || ours0=0
    M_OTHER=$(awk -v u0=$(( ${9} - $3 )) -v u1=$(( ${12} - $6 )) -v t=$(( ${8} - $2 )) \
        -v ours0="$ours0" -v ours1=$(( b1 - M_B0 + k1 - M_K0 + (M_PID == PID_backend ? M_CPU_TICKS : 0) )) \
        -v fork=$(( M_PID == ${PID_OF[sslh-fork]:-0} )) \
        'BEGIN { o0 = u0 - ours0; o1 = u1 - ours1; if (o0 < 0 || fork) o0 = 0; if (o1 < 0) o1 = 0
                 if (t > 0) printf "%.0f", 100 * (o0 + o1) / t; else print 0 }')
    M_DISTURBED=0
    if [ "$M_OTHER" -gt 10 ]; then
        M_DISTURBED=1
        say "  ${run##*/}: $M_OTHER % of a core used by other programs during this run"
    fi
}

# wait_quiet : waits (at most QUIET_WAIT seconds) until the two cores are idle, under
# 10 % of a core together for half a second: the servers are idle between runs, so what
# runs then is another program (a build on a shared machine). Counts the time waited.
wait_quiet() {
    local deadline=$(( $(date +%s) + QUIET_WAIT )) a b
    [ "$QUIET_WAIT" -gt 0 ] || return 0
    while :; do
        a=$(core_stat)
        sleep 0.5
        b=$(core_stat)
        # shellcheck disable=SC2086
        set -- $a $b
        awk -v busy=$(( $7 - $1 + ${10} - $4 )) -v t=$(( $8 - $2 )) 'BEGIN { exit !(t > 0 && busy * 100 < 10 * t) }' && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            QUIET_TIMEOUTS=$(( QUIET_TIMEOUTS + 1 ))
            return 0
        fi
        QUIET_WAITED=$(( QUIET_WAITED + 1 ))
    done
}
QUIET_WAITED=0 QUIET_TIMEOUTS=0 RETRIED=0

# alive NAME PID LOG : dies with the log's tail if PID has exited.
alive() {
    kill -0 "$2" 2>/dev/null && return 0
    echo "router.sh: error: $1 (pid $2) exited; the end of $3:" >&2
    tail -20 "$3" >&2
    exit 1
}

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

# nginx_status : "accepts requests" of the backend (stub_status).
nginx_status() {
    curl -sS --max-time 10 "http://127.0.0.1:$STATUS_PORT/" |
        awk 'p { print $1, $3; exit } /server accepts handled requests/ { p = 1 }'
}

# https_get PORT PATH [NAME] : curl of https://NAME:PORT/PATH on 127.0.0.1 (NAME is the SNI).
https_get() {
    curl -sSk --max-time 60 --resolve "${3:-$HOST}:$1:127.0.0.1" "https://${3:-$HOST}:$1$2"
}

tsv() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }
fmt0() { awk -v v="$1" 'BEGIN { if (v !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) print "n/a"; else printf "%.0f", v }'; }
fmt1() { awk -v v="$1" 'BEGIN { if (v !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) print "n/a"; else printf "%.1f", v }'; }
fmt3() { awk -v v="$1" 'BEGIN { if (v !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) print "n/a"; else printf "%.3f", v }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# forget_pid PID : drops PID from the processes the EXIT trap stops (it has ended).
forget_pid() {
    local i
    for i in "${!BENCH_PIDS[@]}"; do [ "${BENCH_PIDS[$i]}" != "$1" ] || unset 'BENCH_PIDS[i]'; done
    BENCH_PIDS=("${BENCH_PIDS[@]}")
}

# ---------------------------------------------------------------------------------------
# The load generators' scripts

# wrk takes SNI and Host from the URL's host; this makes it connect to 127.0.0.1 instead
# of resolving that name (wrk.resolve runs once, before the threads start).
cat >"$W/resolve.lua" <<'EOF'
function wrk.resolve(host, service)
    wrk.addrs = wrk.lookup("127.0.0.1", service)
end
EOF
# Benchmark 3: the same, and each connection waits between requests, for a fixed load.
{
    cat "$W/resolve.lua"
    echo "function delay() return $LAT_DELAY_MS end"
} >"$W/latency.lua"

# Benchmark 4: holds connections that each sent one ClientHello.
cat >"$W/idle-hello.py" <<'EOF'
"""Opens N connections to 127.0.0.1:PORT, sends the same TLS ClientHello on each (SNI
NAME, from Python's own TLS client), reads what comes back and holds them.

usage: idle-hello.py PORT N NAME STOP_FILE HOLD_SECONDS

Connects at most 256 at a time. When every connection has been tried and each has its
answer (the server's first flight: the router has connected to the backend and replayed
the hello), or after 60 s, prints

    ready open=K answered=A failed=F hello_bytes=B [first_error=...]

then waits until STOP_FILE exists (at most HOLD_SECONDS), prints `still_open=K` and closes
every connection with a reset (no TIME_WAIT). Exit status 2 if the open-file limit is too
low, 1 if opening took too long.
"""
import asyncio, os, resource, socket, ssl, struct, sys, time

CONCURRENCY = 256
STEP_TIMEOUT = 10.0
OPEN_TIMEOUT = 180.0
ANSWER_TIMEOUT = 60.0


def client_hello(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class Held(asyncio.Protocol):
    def __init__(self, hello):
        self.hello, self.got, self.closed, self.transport = hello, 0, False, None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.hello)

    def data_received(self, data):
        self.got += len(data)

    def eof_received(self):
        self.closed = True

    def connection_lost(self, exc):
        self.closed = True


async def open_one(loop, port, hello, sem, conns, errors):
    async with sem:
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: Held(hello), "127.0.0.1", port), STEP_TIMEOUT)
            conns.append(proto)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"connect: {e!r}")


async def main():
    port, n, name, stop_file, hold = sys.argv[1:6]
    port, n, hold = int(port), int(n), float(hold)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print(f"idle-hello: open-file limit {hard} is below {want}", file=sys.stderr)
            sys.exit(2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    hello = client_hello(name)
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(CONCURRENCY)
    conns, errors = [], []
    try:
        await asyncio.wait_for(asyncio.gather(
            *(open_one(loop, port, hello, sem, conns, errors) for _ in range(n))), OPEN_TIMEOUT)
    except asyncio.TimeoutError:
        print(f"idle-hello: opening {n} connections took over {OPEN_TIMEOUT}s", file=sys.stderr)
        sys.exit(1)
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline and any(c.got == 0 and not c.closed for c in conns):
        await asyncio.sleep(0.1)
    answered = sum(1 for c in conns if c.got > 0 and not c.closed)
    extra = f" first_error={errors[0]}" if errors else ""
    print(f"ready open={len(conns)} answered={answered} failed={len(errors)} "
          f"hello_bytes={len(hello)}{extra}", flush=True)
    deadline = time.monotonic() + hold
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    print(f"still_open={sum(1 for c in conns if not c.closed)}", flush=True)
    linger = struct.pack("ii", 1, 0)
    for c in conns:
        sock = c.transport.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        c.transport.close()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
EOF

# ---------------------------------------------------------------------------------------
# Configurations

pick_ports 8
BACKEND_PORT=${PORTS[0]} STATUS_PORT=${PORTS[1]} ACME_PORT=${PORTS[2]} ACMELOG_PORT=${PORTS[3]}
HAPROXY_PORT=${PORTS[4]} SPLICE_PORT=${PORTS[5]} SSLH_SELECT_PORT=${PORTS[6]} SSLH_FORK_PORT=${PORTS[7]}

# The backend's certificate and content.
mkdir -p "$W/backend/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST" -days 2 \
    -keyout "$W/backend/key.pem" -out "$W/backend/cert.pem" >"$W/backend/openssl.log" 2>&1 ||
    { cat "$W/backend/openssl.log" >&2; die "openssl req failed"; }
# A sparse file: the page cache serves zeros without disk space or I/O.
truncate -s "$(( BULK_MIB * 1048576 ))" "$W/backend/www/big"
BULK_BYTES=$(( BULK_MIB * 1048576 ))
# nginx's worker drops to an unprivileged user when started as root: it must reach the
# file even when OUT_DIR is a private temporary folder (mktemp -d, mode 700: --smoke).
chmod a+x "$OUT_DIR" "$W" "$W/backend"
chmod a+rx "$W/backend/www"
chmod a+r "$W/backend/www/big"

# nginx 1.22 (Debian 12) has no `http2 on;` (1.25.1): the listen parameter does the same.
http2_listen="ssl http2"
if nginx -V 2>&1 | awk -F/ '/nginx version/ { split($2, v, "."); exit !(v[1] > 1 || (v[1] == 1 && (v[2] > 25 || (v[2] == 25 && v[3] >= 1)))) }'; then
    http2_listen="ssl"
fi
{
    cat <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $FDS;
pid $W/backend/nginx.pid;
error_log $W/backend/error.log warn;
events { worker_connections $MAX_CONNS; }
http {
    access_log off;
    client_body_temp_path $W/backend/client_body;
    proxy_temp_path $W/backend/proxy;
    fastcgi_temp_path $W/backend/fastcgi;
    uwsgi_temp_path $W/backend/uwsgi;
    scgi_temp_path $W/backend/scgi;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    # Also the TLS handshake's timeout in nginx before 1.25.5: benchmark 4's connections
    # stay in their handshake while they are held.
    client_header_timeout 600s;
    # Only resumed sessions are logged: a load generator resuming would not measure full
    # handshakes (the file must stay empty).
    map \$ssl_session_reused \$resumed { r 1; default 0; }
    log_format resumed '\$remote_addr \$ssl_server_name \$ssl_protocol \$ssl_session_reused';
    log_format probe '\$ssl_server_name \$ssl_protocol \$ssl_cipher \$ssl_curve \$http_host';
    server {
        listen 127.0.0.1:$BACKEND_PORT $http2_listen backlog=4096;
EOF
    [ "$http2_listen" = ssl ] && echo "        http2 on;"
    cat <<EOF
        server_name $HOST;
        ssl_certificate $W/backend/cert.pem;
        ssl_certificate_key $W/backend/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        access_log $W/backend/resumed.log resumed if=\$resumed;
        root $W/backend/www;
        location = /small { default_type text/plain; return 200 "ok\n"; }
        # What a client negotiated (the preflight's one request).
        location = /probe {
            access_log $W/backend/probe.log probe;
            default_type text/plain;
            return 200 "ok\n";
        }
        location = /big { }
    }
    server {
        listen 127.0.0.1:$STATUS_PORT;
        location / { stub_status; }
    }
}
EOF
} >"$W/backend/nginx.conf"
nginx -t -q -p "$W/backend" -e "$W/backend/error.log" -c "$W/backend/nginx.conf" >"$W/backend/check.log" 2>&1 ||
    { cat "$W/backend/check.log" >&2; die "nginx -t rejects $W/backend/nginx.conf"; }

# acme-srv: the router alone, one SNI backend. Every load generator connects from
# 127.0.0.1, one client: no per-client cap. Its info line per connection is silenced for
# the measurements (HAProxy and sslh log nothing here); "acme-srv (default log)" keeps it.
acme_conf() {
    cat >"$1" <<EOF
[router]
listen = ["127.0.0.1:$2"]

[[router.backends]]
server_names = ["$HOST"]
address = "127.0.0.1:$BACKEND_PORT"

[router.connections]
max = $MAX_CONNS
max_per_client = 0
EOF
}
acme_conf "$W/acme-srv.toml" "$ACME_PORT"
acme_conf "$W/acme-srv-log.toml" "$ACMELOG_PORT"
for f in acme-srv acme-srv-log; do
    "$BIN" config check "$W/$f.toml" >"$W/$f.check" 2>&1 || { cat "$W/$f.check" >&2; die "acme-srv config check $W/$f.toml failed"; }
done
QUIET_LOG="info,alpn_router::server=warn"

# HAProxy: TCP mode, the route chosen by the ClientHello's SNI.
haproxy_conf() {  # haproxy_conf FILE PORT [EXTRA_DEFAULTS_LINE]
    cat >"$1" <<EOF
global
    maxconn $MAX_CONNS
    nbthread 1
    # HAProxy wants 2 file descriptors per connection (maxconn * 2) and refuses to start
    # when it cannot raise the open-file limit that far; here the limit is $FDS.
    no strict-limits
    # For \`show info\` (whether pipes were used for splice).
    stats socket $1.sock mode 600 level user

defaults
    mode tcp
    timeout connect 5s
    timeout client 600s
    timeout server 600s
${3:+    $3
}
frontend tls
    bind 127.0.0.1:$2
    maxconn $MAX_CONNS
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend nginx if { req.ssl_sni -i $HOST }

backend nginx
    server nginx 127.0.0.1:$BACKEND_PORT
EOF
    haproxy -c -q -f "$1" >"$1.check" 2>&1 || { cat "$1.check" >&2; die "haproxy -c rejects $1"; }
}
mkdir -p "$W/haproxy"
haproxy_conf "$W/haproxy/haproxy.cfg" "$HAPROXY_PORT"
haproxy_conf "$W/haproxy/haproxy-splice.cfg" "$SPLICE_PORT" "option splice-auto"

# sslh (libconfig): one tls protocol that matches the SNI. A hello that matches no probe
# goes to the first protocol in sslh 1.20, so sslh forwards other names too.
sslh_conf() {  # sslh_conf FILE PORT
    cat >"$1" <<EOF
foreground: true;
inetd: false;
numeric: true;
transparent: false;
timeout: 5;
listen: ( { host: "127.0.0.1"; port: "$2"; } );
protocols: (
    { name: "tls"; host: "127.0.0.1"; port: "$BACKEND_PORT"; sni_hostnames: [ "$HOST" ]; log_level: 0; }
);
EOF
}
mkdir -p "$W/sslh"
sslh_conf "$W/sslh/sslh-select.cfg" "$SSLH_SELECT_PORT"
sslh_conf "$W/sslh/sslh-fork.cfg" "$SSLH_FORK_PORT"

# ---------------------------------------------------------------------------------------
# Starting servers

declare -A PORT_OF PID_OF LOG_OF IDLE_RSS
PORT_OF[nginx]=$BACKEND_PORT PORT_OF[acme-srv]=$ACME_PORT PORT_OF[acme-srv-log]=$ACMELOG_PORT
PORT_OF[haproxy]=$HAPROXY_PORT PORT_OF[haproxy-splice]=$SPLICE_PORT
PORT_OF[sslh-select]=$SSLH_SELECT_PORT PORT_OF[sslh-fork]=$SSLH_FORK_PORT

# start_server NAME CPU LOG CMD... : starts, waits for the port, checks the pinning.
start_server() {
    local name=$1 cpu=$2 log=$3
    shift 3
    start_bg "$cpu" "$log" "$@"
    local pid=$BENCH_LAST_PID
    wait_port "${PORT_OF[$name]}" 20 || { cat "$log" >&2; die "$name did not start: $*"; }
    alive "$name" "$pid" "$log"
    check_pinned "$name" "$pid" "$cpu"
    PID_OF[$name]=$pid LOG_OF[$name]=$log
}

say "backend: nginx (TLS) on CPU $LOAD_CPU, 127.0.0.1:$BACKEND_PORT"
start_server nginx "$LOAD_CPU" "$W/backend/stderr.log" nginx -p "$W/backend" -e "$W/backend/error.log" -c "$W/backend/nginx.conf"
PID_backend=${PID_OF[nginx]}
LOG_OF[nginx]=$W/backend/error.log
wait_port "$STATUS_PORT" 20 || die "nginx's status port did not open"

say "routers on CPU $SERVER_CPU"
start_server acme-srv "$SERVER_CPU" "$W/acme-srv.log" env RUST_LOG="$QUIET_LOG" "$BIN" router --config "$W/acme-srv.toml"
wait_log "$W/acme-srv.log" "listening for router on 127.0.0.1:$ACME_PORT" 20 || die "acme-srv did not log its listener"
start_server acme-srv-log "$SERVER_CPU" "$W/acme-srv-log.log" env -u RUST_LOG "$BIN" router --config "$W/acme-srv-log.toml"
start_server haproxy "$SERVER_CPU" "$W/haproxy/haproxy.log" haproxy -db -f "$W/haproxy/haproxy.cfg"
start_server haproxy-splice "$SERVER_CPU" "$W/haproxy/haproxy-splice.log" haproxy -db -f "$W/haproxy/haproxy-splice.cfg"
start_server sslh-select "$SERVER_CPU" "$W/sslh/sslh-select.log" sslh-select "-F$W/sslh/sslh-select.cfg" -f
start_server sslh-fork "$SERVER_CPU" "$W/sslh/sslh-fork.log" sslh "-F$W/sslh/sslh-fork.cfg" -f
sleep 1
for s in acme-srv haproxy sslh-select sslh-fork; do
    read -r IDLE_RSS[$s] _ < <(mem_sum "${PID_OF[$s]}")
done

# Every path answers the backend's body with the right certificate before anything is
# measured, so a broken router cannot look fast; a name the routers do not know is
# refused by acme-srv and HAProxy (routing is by SNI, not a default).
for s in nginx acme-srv acme-srv-log haproxy haproxy-splice sslh-select sslh-fork; do
    body=$(https_get "${PORT_OF[$s]}" /small 2>&1) || die "$s: GET https://$HOST/small failed: $body"
    [ "$body" = ok ] || die "$s: GET https://$HOST/small answered '$body', expected 'ok'"
    subject=$(openssl s_client -connect "127.0.0.1:${PORT_OF[$s]}" -servername "$HOST" </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null || true)
    [[ $subject == *"CN = $HOST"* ]] || die "$s: the certificate is not the backend's ('$subject')"
done
for s in acme-srv haproxy; do
    if https_get "${PORT_OF[$s]}" /small other.bench.test >/dev/null 2>&1; then
        die "$s forwarded SNI other.bench.test: it should route only $HOST"
    fi
done
# What wrk and curl negotiate with nginx (one request each, logged by /probe).
{
    cat "$W/resolve.lua"
    echo 'function response() wrk.thread:stop() end'
} >"$W/probe.lua"
taskset -c "$LOAD_CPU" timeout -k 5 30 wrk -t1 -c1 -d2s -s "$W/probe.lua" -H "Connection: close" \
    "https://$HOST:$BACKEND_PORT/probe" >"$W/wrk-probe.txt" 2>&1 || { cat "$W/wrk-probe.txt" >&2; die "wrk could not reach nginx"; }
https_get "$BACKEND_PORT" /probe >/dev/null || die "curl could not reach nginx"
for _ in $(seq 50); do [ "$(wc -l <"$W/backend/probe.log" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.1; done
WRK_TLS=$(awk 'NR == 1 { print $2, $3, $4 }' "$W/backend/probe.log")
CURL_TLS=$(awk 'END { print $2, $3, $4 }' "$W/backend/probe.log")
[ "$(awk 'NR == 1 { print $1 }' "$W/backend/probe.log")" = "$HOST" ] || die "wrk did not send SNI $HOST: $(head -1 "$W/backend/probe.log")"
say "wrk negotiates $WRK_TLS, curl $CURL_TLS"
size=$(curl -sk -o /dev/null -w '%{size_download}' --resolve "$HOST:$BACKEND_PORT:127.0.0.1" "https://$HOST:$BACKEND_PORT/big")
[ "$size" = "$BULK_BYTES" ] || die "nginx served $size bytes of /big, expected $BULK_BYTES"

declare -A R_RPS R_P50 R_P99 R_CPU R_CORE R_CORE_GIB R_SBUSY R_LBUSY R_OTHER R_ERR R_REQS R_ACCEPTS R_MBS R_CPU_GIB
DISTURBED=()

# run_wrk OUT SERVER ARGS... : wrk pinned to LOAD_CPU for DURATION seconds (bounded by
# `timeout`), measured. Sets W_RPS, W_P50, W_P99 (ms), W_REQS, W_NON2XX, W_SOCKERR,
# W_ACCEPTS (connections nginx accepted meanwhile).
run_wrk() {
    local attempt
    for attempt in $(seq 0 "$RETRIES"); do
        wait_quiet
        run_wrk_once "$@"
        [ "$M_DISTURBED" = 1 ] || return 0
        [ "$attempt" = "$RETRIES" ] || { RETRIED=$(( RETRIED + 1 )); say "  $2: disturbed, again"; }
    done
    DISTURBED+=("$1")
}
run_wrk_once() {
    local out=$1 s=$2 wpid rc=0 a0 a1 r0 r1
    shift 2
    read -r a0 r0 < <(nginx_status)
    measure_start "${PID_OF[$s]}"
    taskset -c "$LOAD_CPU" timeout -k 5 $(( DURATION + 30 )) wrk "$@" >"$out" 2>&1 &
    wpid=$!
    BENCH_PIDS+=("$wpid")
    wait "$wpid" || rc=$?
    forget_pid "$wpid"
    measure_end "$out"
    read -r a1 r1 < <(nginx_status)
    [ "$rc" = 0 ] || { cat "$out" >&2; die "wrk failed (exit $rc): wrk $*"; }
    alive "$s" "${PID_OF[$s]}" "${LOG_OF[$s]}"
    read -r W_RPS W_P50 W_P99 W_REQS W_NON2XX W_SOCKERR < <(wrk_summary "$out")
    [ "$W_REQS" -gt 0 ] || { cat "$out" >&2; die "wrk completed no request: wrk $*"; }
    [ $(( W_NON2XX * 100 )) -le "$W_REQS" ] ||
        { cat "$out" >&2; die "$W_NON2XX of $W_REQS responses were not 2xx/3xx: wrk $*"; }
    # A router that fails connections must not look fast; sslh-select loses a few
    # connects under load (shown in the table), more than 5 % is a failure.
    [ $(( W_SOCKERR * 20 )) -le "$W_REQS" ] ||
        { cat "$out" >&2; die "$W_SOCKERR socket errors in $W_REQS requests: wrk $*"; }
    W_ACCEPTS=$(( a1 - a0 ))
    [ $(( r1 - r0 )) -ge "$W_REQS" ] || die "$s: nginx answered $(( r1 - r0 )) requests, wrk counted $W_REQS"
}

# record_wrk BENCH SERVER : appends the last run's figures.
record_wrk() {
    local k="$1/$2"
    R_RPS[$k]="${R_RPS[$k]:-} $W_RPS"
    R_P50[$k]="${R_P50[$k]:-} $W_P50"
    R_P99[$k]="${R_P99[$k]:-} $W_P99"
    R_CPU[$k]="${R_CPU[$k]:-} $(awk -v d="$M_CPU_TICKS" -v hz="$CLK_TCK" -v n="$W_REQS" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
    R_CORE[$k]="${R_CORE[$k]:-} $(awk -v d="$M_CORE_TICKS" -v hz="$CLK_TCK" -v n="$W_REQS" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
    R_SBUSY[$k]="${R_SBUSY[$k]:-} $M_SBUSY"
    R_LBUSY[$k]="${R_LBUSY[$k]:-} $M_LBUSY"
    R_OTHER[$k]="${R_OTHER[$k]:-} $M_OTHER"
    R_ERR[$k]=$(( ${R_ERR[$k]:-0} + W_SOCKERR ))
    R_REQS[$k]=$(( ${R_REQS[$k]:-0} + W_REQS ))
    R_ACCEPTS[$k]=$(( ${R_ACCEPTS[$k]:-0} + W_ACCEPTS ))
    say "  $2: $(fmt0 "$W_RPS") requests/s, p50 $(fmt3 "$W_P50") ms, p99 $(fmt3 "$W_P99") ms, nginx accepted $W_ACCEPTS connections for $W_REQS requests, server CPU $M_CPU_TICKS ticks (core $M_CORE_TICKS), cores busy $M_SBUSY%/$M_LBUSY%, other programs $M_OTHER%"
}

# med KEY ARRAYNAME : median of a recorded list.
med() {
    local -n arr=$2
    # shellcheck disable=SC2086
    median ${arr[$1]:-}
}

# ---------------------------------------------------------------------------------------
# 1. New TLS connections per second

RATE_SERVERS=(nginx acme-srv haproxy sslh-select sslh-fork acme-srv-log)
WRK_RATE="wrk -t1 -c$CONNS -d${DURATION}s --latency -s resolve.lua -H 'Connection: close' https://$HOST:PORT/small"
for rep in $(seq "$REPS"); do
    say "1. new TLS connections: run $rep/$REPS"
    for s in "${RATE_SERVERS[@]}"; do
        run_wrk "$W/wrk-rate-$s-$rep.txt" "$s" -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$W/resolve.lua" \
            -H "Connection: close" "https://$HOST:${PORT_OF[$s]}/small"
        record_wrk rate "$s"
        # Connection: close made wrk open one connection per request: nginx accepted as
        # many connections as it answered requests (those still open at the end aside).
        [ "$W_ACCEPTS" -ge $(( W_REQS * 95 / 100 )) ] ||
            die "$s: nginx accepted $W_ACCEPTS connections for $W_REQS requests: wrk did not reconnect per request"
    done
done
[ ! -s "$W/backend/resumed.log" ] || die "nginx logged resumed TLS sessions ($W/backend/resumed.log): handshakes were not all full"

# ---------------------------------------------------------------------------------------
# 2. One bulk transfer

BULK_SERVERS=(nginx acme-srv haproxy haproxy-splice sslh-select sslh-fork)
CURL_BULK="curl -sk -o /dev/null -w '%{speed_download}' --resolve $HOST:PORT:127.0.0.1 https://$HOST:PORT/big"
for rep in $(seq "$REPS"); do
    say "2. bulk transfer of $BULK_MIB MiB: run $rep/$REPS"
    for s in "${BULK_SERVERS[@]}"; do
        out="$W/curl-bulk-$s-$rep.txt"
        for attempt in $(seq 0 "$RETRIES"); do
            wait_quiet
            measure_start "${PID_OF[$s]}"
            rc=0
            taskset -c "$LOAD_CPU" timeout -k 5 600 curl -sSk -o /dev/null -w '%{speed_download} %{size_download} %{http_code}\n' \
                --resolve "$HOST:${PORT_OF[$s]}:127.0.0.1" "https://$HOST:${PORT_OF[$s]}/big" >"$out" 2>&1 || rc=$?
            measure_end "$out"
            [ "$rc" = 0 ] || { cat "$out" >&2; die "$s: curl of /big failed (exit $rc)"; }
            read -r speed got code <"$out"
            [ "$code" = 200 ] && [ "$got" = "$BULK_BYTES" ] || die "$s: /big came as $got bytes with status $code, expected $BULK_BYTES"
            [ "$M_DISTURBED" = 1 ] || break
            if [ "$attempt" = "$RETRIES" ]; then DISTURBED+=("$out"); else RETRIED=$(( RETRIED + 1 )); say "  $s: disturbed, again"; fi
        done
        k="bulk/$s"
        R_MBS[$k]="${R_MBS[$k]:-} $(awk -v b="$speed" 'BEGIN { printf "%.1f", b / 1e6 }')"
        R_CPU_GIB[$k]="${R_CPU_GIB[$k]:-} $(awk -v d="$M_CPU_TICKS" -v hz="$CLK_TCK" -v b="$BULK_BYTES" 'BEGIN { printf "%.3f", d / hz / (b / 1073741824) }')"
        R_CORE_GIB[$k]="${R_CORE_GIB[$k]:-} $(awk -v d="$M_CORE_TICKS" -v hz="$CLK_TCK" -v b="$BULK_BYTES" 'BEGIN { printf "%.3f", d / hz / (b / 1073741824) }')"
        R_SBUSY[$k]="${R_SBUSY[$k]:-} $M_SBUSY"
        R_LBUSY[$k]="${R_LBUSY[$k]:-} $M_LBUSY"
        R_OTHER[$k]="${R_OTHER[$k]:-} $M_OTHER"
        say "  $s: $(awk -v b="$speed" 'BEGIN { printf "%.0f", b / 1e6 }') MB/s, server CPU $M_CPU_TICKS ticks (core $M_CORE_TICKS), cores busy $M_SBUSY%/$M_LBUSY%, other programs $M_OTHER%"
    done
done
# Whether HAProxy spliced: the pipes it allocated for splice(2) (used + kept for reuse).
haproxy_pipes() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"show info\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
info = dict(line.split(": ", 1) for line in data.decode().splitlines() if ": " in line)
print(int(info.get("PipesUsed", 0)) + int(info.get("PipesFree", 0)))
PY
}
PIPES_SPLICE=$(haproxy_pipes "$W/haproxy/haproxy-splice.cfg.sock") || die "cannot read HAProxy's show info"
PIPES_PLAIN=$(haproxy_pipes "$W/haproxy/haproxy.cfg.sock") || die "cannot read HAProxy's show info"

# ---------------------------------------------------------------------------------------
# 3. Added latency under a fixed moderate load (keep-alive)

LAT_SERVERS=(nginx acme-srv haproxy sslh-select sslh-fork)
WRK_LAT="wrk -t1 -c$CONNS -d${DURATION}s --latency -s latency.lua https://$HOST:PORT/small"
for rep in $(seq "$REPS"); do
    say "3. latency at a fixed load (keep-alive, $LAT_DELAY_MS ms between requests): run $rep/$REPS"
    for s in "${LAT_SERVERS[@]}"; do
        run_wrk "$W/wrk-latency-$s-$rep.txt" "$s" -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$W/latency.lua" \
            "https://$HOST:${PORT_OF[$s]}/small"
        record_wrk latency "$s"
    done
done

# ---------------------------------------------------------------------------------------
# 4. Memory per idle connection (each sent a whole ClientHello)

declare -A PRE_RSS PRE_PSS CONN_RSS CONN_PSS CONN_OPEN CONN_N
# nginx first: it also holds the backend side of every router's idle tunnels, and keeps
# the memory they took, so it could not show its own growth after them.
IDLE_SERVERS=(nginx acme-srv haproxy sslh-select sslh-fork)
for s in "${IDLE_SERVERS[@]}"; do
    n=$IDLE_N
    [ "$s" != sslh-select ] || n=$SSLH_SELECT_N
    CONN_N[$s]=$n
    say "4. $n idle connections with a ClientHello to $s"
    out="$W/idle-hello-$s.txt" stop="$W/idle-hello-$s.stop"
    hold=$(( 120 + n / 200 ))
    read -r PRE_RSS[$s] PRE_PSS[$s] < <(mem_sum "${PID_OF[$s]}")
    taskset -c "$LOAD_CPU" timeout -k 5 $(( hold + 300 )) python3 "$W/idle-hello.py" \
        "${PORT_OF[$s]}" "$n" "$HOST" "$stop" "$hold" >"$out" 2>&1 &
    ipid=$!
    BENCH_PIDS+=("$ipid")
    deadline=$(( $(date +%s) + 300 ))
    until grep -q '^ready' "$out"; do
        kill -0 "$ipid" 2>/dev/null || { cat "$out" >&2; die "idle-hello.py against $s exited early"; }
        [ "$(date +%s)" -lt "$deadline" ] || die "idle-hello.py against $s: not ready after 300 s"
        sleep 0.1
    done
    sleep 1
    read -r CONN_RSS[$s] CONN_PSS[$s] < <(mem_sum "${PID_OF[$s]}")
    touch "$stop"
    rc=0
    wait "$ipid" || rc=$?
    forget_pid "$ipid"
    [ "$rc" = 0 ] || { cat "$out" >&2; die "idle-hello.py against $s failed (exit $rc)"; }
    answered=$(sed -n 's/^ready .*answered=\([0-9]*\).*/\1/p' "$out")
    still=$(sed -n 's/^still_open=\([0-9]*\).*/\1/p' "$out")
    CONN_OPEN[$s]="$still"
    [ "${answered:-0}" -ge $(( n * 99 / 100 )) ] || { cat "$out" >&2; die "only ${answered:-0} of $n connections through $s got the backend's answer"; }
    [ "${still:-0}" -ge $(( n * 99 / 100 )) ] || { cat "$out" >&2; die "$s closed idle connections: ${still:-0} of $n still open when memory was read"; }
    alive "$s" "${PID_OF[$s]}" "${LOG_OF[$s]}"
    # Let the routers (and sslh-fork's children) end the reset connections.
    for _ in $(seq 100); do
        [ "$(tree_pids "${PID_OF[$s]}" | wc -l)" -le 3 ] && break
        sleep 0.1
    done
    sleep 1
done
HELLO_BYTES=$(sed -n 's/^ready .*hello_bytes=\([0-9]*\).*/\1/p' "$W/idle-hello-acme-srv.txt")
cleanup_bench

# ---------------------------------------------------------------------------------------
# Report

NGINX_V=$( (nginx -v 2>&1 || true) | sed 's/^nginx version: nginx\///')
HAPROXY_V=$( (haproxy -v 2>&1 || true) | awk 'NR == 1 {print $3}')
SSLH_V=$( (sslh -V 2>&1 || true) | awk 'NR == 1 {print $2}')
WRK_V=$( (wrk -v 2>&1 || true) | awk 'NR == 1 {print $2}')   # wrk -v exits with 1
CURL_V=$(curl --version | awk 'NR == 1 {print $2}')
OPENSSL_V=$(openssl version | awk '{print $2}')
ACME_V=$("$BIN" --version)
ELAPSED=$(( $(date +%s) - START_TS ))

label() {
    case $1 in
        acme-srv) echo "acme-srv router" ;;
        acme-srv-log) echo "acme-srv router (default log)" ;;
        nginx) echo "nginx $NGINX_V direct (no router)" ;;
        haproxy) echo "HAProxy $HAPROXY_V" ;;
        haproxy-splice) echo "HAProxy $HAPROXY_V, \`option splice-auto\`" ;;
        sslh-select) echo "sslh-select $SSLH_V" ;;
        sslh-fork) echo "sslh-fork $SSLH_V" ;;
        *) echo "$1" ;;
    esac
}
per_run() {  # per_run KEY ARRAYNAME : the runs' values, rounded
    local -n arr=$2
    # shellcheck disable=SC2086
    echo ${arr[$1]:-} | xargs -n1 printf '%.0f ' | sed 's/ $//'
}
# verdict A OP B : "met" when the number A OP B holds (OP: <= >=).
verdict() {
    if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { a += 0; b += 0
        exit !((op == "<=" && a <= b) || (op == ">=" && a >= b)) }'; then
        echo "**met**"
    else
        echo "**not met**"
    fi
}
# rat A B : A/B with two decimals, n/a when either is not a number or B is 0.
rat() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a !~ /^-?[0-9.]+$/ || b !~ /^-?[0-9.]+$/ || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}
# x RATIO : "RATIO×", or n/a.
x() { if [ "$1" = n/a ]; then echo "n/a"; else echo "$1×"; fi; }
# cap_per_core US : connections/s one core could carry at US µs of CPU each.
cap_per_core() { awk -v u="$1" 'BEGIN { if (u > 0) printf "%.0f", 1e6 / u; else print "n/a" }'; }
# proc_cpu KEY ARRAY : the median process CPU figure; n/a for sslh-fork, whose children's
# time is lost (it does not wait for them).
proc_cpu() { if [[ $1 == */sslh-fork ]]; then echo "n/a"; else med "$1" "$2"; fi; }

r_a=$(med rate/acme-srv R_RPS) r_h=$(med rate/haproxy R_RPS) r_s=$(med rate/sslh-select R_RPS) r_f=$(med rate/sslh-fork R_RPS) r_n=$(med rate/nginx R_RPS)
c_a=$(med rate/acme-srv R_CPU) c_h=$(med rate/haproxy R_CPU)
k_a=$(med rate/acme-srv R_CORE) k_h=$(med rate/haproxy R_CORE)
b_a=$(med bulk/acme-srv R_MBS) b_h=$(med bulk/haproxy R_MBS) b_hs=$(med bulk/haproxy-splice R_MBS) b_s=$(med bulk/sslh-select R_MBS) b_f=$(med bulk/sslh-fork R_MBS) b_n=$(med bulk/nginx R_MBS)
g_a=$(med bulk/acme-srv R_CPU_GIB) g_h=$(med bulk/haproxy R_CPU_GIB) g_hs=$(med bulk/haproxy-splice R_CPU_GIB)
p_n=$(med latency/nginx R_P99)

{
    echo "## Router (\`tests/bench/router.sh\`)"
    echo
    echo "$ACME_V (\`$BIN\`), HAProxy $HAPROXY_V, sslh $SSLH_V, nginx $NGINX_V (the backend), wrk $WRK_V,"
    echo "curl $CURL_V, OpenSSL $OPENSSL_V, Python $(python3 -c 'import platform; print(platform.python_version())'), kernel $(uname -r), $ncpu cores."
    echo "Run: \`BIN=$BIN OUT_DIR=$OUT_DIR DURATION=$DURATION REPS=$REPS IDLE_CONNS=$IDLE_CONNS BULK_MIB=$BULK_MIB SERVER_CPU=$SERVER_CPU LOAD_CPU=$LOAD_CPU $( [ "$(nice)" = 0 ] || echo "nice -n $(nice) ")tests/bench/router.sh\`"
    echo "($ELAPSED s). The routers are pinned to core $SERVER_CPU (\`taskset\`, every thread checked), one"
    echo "at a time under load; the TLS backend (nginx, one worker) and the load generators share core $LOAD_CPU."
    echo "Each figure is the median of $REPS runs ($DURATION s each for wrk); runs alternate between the routers."
    echo "Every router routes by SNI (\`$HOST\`) to the same nginx, which terminates TLS"
    echo "(\`listen ... $http2_listen\`, self-signed P-256 ECDSA certificate, \`ssl_session_cache off; ssl_session_tickets off;\`"
    echo "so every connection is a full handshake: nginx logged no resumed session). Ratios are acme-srv divided by the reference."
    echo
    echo "Goal (the router's issue): at least HAProxy's connection rate and throughput."
    echo
    echo "- Connection rate: acme-srv ≥ HAProxy: $(verdict "$r_a" ">=" "$r_h") ($(fmt0 "$r_a") vs $(fmt0 "$r_h") connections/s, $(x "$(rat "$r_a" "$r_h")"), bounded by the load core);"
    echo "  one router core's worth ≥ HAProxy's: $(verdict "$(cap_per_core "$k_a")" ">=" "$(cap_per_core "$k_h")") ($(cap_per_core "$k_a") vs $(cap_per_core "$k_h") connections/s);"
    echo "  router CPU per connection ≤ HAProxy's: $(verdict "$c_a" "<=" "$c_h") ($c_a vs $c_h µs, $(x "$(rat "$c_a" "$c_h")"))."
    echo "- Throughput: acme-srv ≥ HAProxy (no splice): $(verdict "$b_a" ">=" "$b_h") ($(fmt0 "$b_a") vs $(fmt0 "$b_h") MB/s, $(x "$(rat "$b_a" "$b_h")"), bounded by the load core);"
    echo "  router CPU per GiB ≤ HAProxy's: $(verdict "$g_a" "<=" "$g_h") ($(fmt3 "$g_a") vs $(fmt3 "$g_h") s, $(x "$(rat "$g_a" "$g_h")"));"
    echo "  router core per GiB ≤ HAProxy's: $(verdict "$(med bulk/acme-srv R_CORE_GIB)" "<=" "$(med bulk/haproxy R_CORE_GIB)") ($(fmt3 "$(med bulk/acme-srv R_CORE_GIB)") vs $(fmt3 "$(med bulk/haproxy R_CORE_GIB)") s)."
    echo "- Per-run spread: connections/s $(per_run rate/acme-srv R_RPS) (acme-srv) vs $(per_run rate/haproxy R_RPS) (HAProxy);"
    echo "  MB/s $(per_run bulk/acme-srv R_MBS) vs $(per_run bulk/haproxy R_MBS): differences within that spread are noise."
    echo
    echo "How to read the figures:"
    echo
    echo "- The TLS work (handshakes, encryption) is done by nginx and the load generator on core $LOAD_CPU;"
    echo "  a router only copies bytes. With two cores, that core is the bottleneck of benchmarks 1 and 2"
    echo "  (*cores busy*), so the measured rates differ little between routers. What tells the routers"
    echo "  apart is their cost: *router CPU* is the router process's own user + system time (\`/proc/PID/stat\`),"
    echo "  *router core* the busy time of core $SERVER_CPU, which holds only the router: its process time and"
    echo "  the kernel's softirq work there (much of the loopback's TCP), each per connection or per GiB."
    echo "  *One core's worth* is 10⁶ / (router core µs per connection), the rate one core could carry."
    echo "  The two accountings differ (the process's time is exact, the core's is sampled at each tick),"
    echo "  by up to a quarter here, so only differences larger than that between routers mean something."
    echo "  sslh-fork does not wait for its children, so their time is lost to its process figures (n/a);"
    echo "  its core figure has it."
    echo "- *Other programs*: CPU time in user and system mode on the two cores used by none of the"
    echo "  measured processes (router, backend, load generator), in % of one core (median of the runs;"
    echo "  for sslh-fork only the load core can be told apart). When it is not near 0, the router core"
    echo "  figures of that row hold other programs' time too."
    echo "  Before each run the script waits (at most $QUIET_WAIT s) until the cores are idle, and a run"
    echo "  during which other programs used over 10 % of a core is done again (at most $RETRIES times)."
    echo "  Here: $QUIET_WAITED half-seconds waited, $QUIET_TIMEOUTS waits given up, $RETRIED runs done again."
    if [ "${#DISTURBED[@]}" -gt 0 ]; then
        echo "  **Disturbed:** other programs still used more than 10 % of a core during ${#DISTURBED[@]} of the runs kept"
        echo "  ($(printf '%s\n' "${DISTURBED[@]}" | xargs -n1 basename | sed 's/\.txt$//' | sort -u | paste -sd, - | sed 's/,/, /g'));"
        echo "  the figures of those runs are not clean."
    fi
    echo "- The references log nothing (HAProxy without \`log\`, sslh \`log_level: 0\`), so acme-srv's"
    echo "  info line per connection is filtered out (\`RUST_LOG=$QUIET_LOG\`); the row"
    echo "  *acme-srv router (default log)* shows its cost."
    echo "- sslh-select and sslh-fork are the two programs of Debian's sslh 1.20 (\`sslh\` is sslh-fork,"
    echo "  one process per connection; sslh-select is one process with \`select(2)\`). sslh 1.20 has no"
    echo "  sslh-ev, and sends a hello that matches no probe to the first protocol: it forwards other"
    echo "  server names to nginx too, where acme-srv and HAProxy refuse them (checked)."
    echo
    echo "### 1. New TLS connections per second"
    echo
    echo "A full TLS handshake and one small HTTPS request (\`GET /small\`, 3-byte body) per connection:"
    echo "wrk with \`Connection: close\` reconnects after each answer (checked: nginx accepted"
    echo "$(awk -v a="${R_ACCEPTS[rate/acme-srv]}" -v r="${R_REQS[rate/acme-srv]}" 'BEGIN { printf "%.3f", a / r }') connections per request through acme-srv,"
    echo "$(awk -v a="${R_ACCEPTS[rate/nginx]}" -v r="${R_REQS[rate/nginx]}" 'BEGIN { printf "%.3f", a / r }') directly) and sends SNI $HOST (checked in nginx's log);"
    echo "it negotiates $WRK_TLS (protocol, cipher, key exchange), with an ECDSA signature by nginx per connection."
    echo "wrk was chosen over \`openssl s_time\` (no \`-servername\` in OpenSSL $OPENSSL_V) and a"
    echo "Python client (which would be slower than wrk on the same core). Its latencies start after the"
    echo "handshake, so they are left out."
    echo
    echo "    taskset -c $LOAD_CPU $WRK_RATE"
    echo
    echo "| router | connections/s | router CPU µs/connection | router core µs/connection | one core's worth, connections/s | cores busy % (router / load) | other programs % | connections/s per run | socket errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
    for s in "${RATE_SERVERS[@]}"; do
        k="rate/$s"
        cpu=$(proc_cpu "$k" R_CPU) core=$(med "$k" R_CORE)
        if [ "$s" = nginx ]; then cpu="—" core_cell="—" cap_cell="—"; else core_cell=$core cap_cell=$(cap_per_core "$core"); fi
        echo "| $(label "$s") | $(fmt0 "$(med "$k" R_RPS)") | $cpu | $core_cell | $cap_cell | $(med "$k" R_SBUSY) / $(med "$k" R_LBUSY) | $(med "$k" R_OTHER) | $(per_run "$k" R_RPS) | ${R_ERR[$k]} of ${R_REQS[$k]} |"
        tsv rate "$s" connections_per_s "$(fmt0 "$(med "$k" R_RPS)")"
        if [ "$s" != nginx ]; then
            tsv rate "$s" router_cpu_us_per_connection "$cpu"
            tsv rate "$s" router_core_us_per_connection "$core"
        fi
        tsv rate "$s" socket_errors "${R_ERR[$k]}"
    done
    echo
    echo "| ratio | connections/s | router CPU/connection | router core/connection |"
    echo "|---|---:|---:|---:|"
    for ref in haproxy sslh-select sslh-fork nginx; do
        rr=$(rat "$r_a" "$(med "rate/$ref" R_RPS)")
        tsv rate "acme-srv/$ref" connections_per_s_ratio "$rr"
        if [ "$ref" = nginx ]; then
            echo "| acme-srv / $(label "$ref") | $(x "$rr") | — | — |"
        else
            rc=$(rat "$c_a" "$(proc_cpu "rate/$ref" R_CPU)")
            rk=$(rat "$(med rate/acme-srv R_CORE)" "$(med "rate/$ref" R_CORE)")
            tsv rate "acme-srv/$ref" router_cpu_per_connection_ratio "$rc"
            tsv rate "acme-srv/$ref" router_core_per_connection_ratio "$rk"
            echo "| acme-srv / $(label "$ref") | $(x "$rr") | $(x "$rc") | $(x "$rk") |"
        fi
    done
    echo
    echo "### 2. One bulk transfer"
    echo
    echo "One download of a $BULK_MIB MiB file (\`/big\`; nginx encrypts it, curl decrypts it, both on"
    echo "core $LOAD_CPU; curl negotiates $CURL_TLS) per run; MB/s is 10⁶ bytes/s as curl reports it. The size and status were"
    echo "checked each time. HAProxy ran twice: as configured for the other benchmarks, and with"
    echo "\`option splice-auto\` (\`splice(2)\` through a pipe instead of copying to user space; HAProxy's"
    echo "\`show info\` counted $PIPES_SPLICE pipes allocated for splicing after the runs, $PIPES_PLAIN without the option)."
    echo
    echo "    taskset -c $LOAD_CPU $CURL_BULK"
    echo
    echo "| router | MB/s | router CPU s/GiB | router core s/GiB | cores busy % (router / load) | other programs % | MB/s per run |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for s in "${BULK_SERVERS[@]}"; do
        k="bulk/$s"
        if [ "$s" = nginx ]; then g="—" gc="—"; else g=$(fmt3 "$(proc_cpu "$k" R_CPU_GIB)") gc=$(fmt3 "$(med "$k" R_CORE_GIB)"); fi
        echo "| $(label "$s") | $(fmt0 "$(med "$k" R_MBS)") | $g | $gc | $(med "$k" R_SBUSY) / $(med "$k" R_LBUSY) | $(med "$k" R_OTHER) | $(per_run "$k" R_MBS) |"
        tsv bulk "$s" mb_per_s "$(fmt1 "$(med "$k" R_MBS)")"
        if [ "$s" != nginx ]; then
            tsv bulk "$s" router_cpu_s_per_gib "$g"
            tsv bulk "$s" router_core_s_per_gib "$gc"
        fi
    done
    echo
    echo "| ratio | MB/s | router CPU/GiB | router core/GiB |"
    echo "|---|---:|---:|---:|"
    for ref in haproxy haproxy-splice sslh-select sslh-fork nginx; do
        rr=$(rat "$b_a" "$(med "bulk/$ref" R_MBS)")
        tsv bulk "acme-srv/$ref" mb_per_s_ratio "$rr"
        if [ "$ref" = nginx ]; then
            echo "| acme-srv / $(label "$ref") | $(x "$rr") | — | — |"
        else
            rc=$(rat "$g_a" "$(proc_cpu "bulk/$ref" R_CPU_GIB)")
            rk=$(rat "$(med bulk/acme-srv R_CORE_GIB)" "$(med "bulk/$ref" R_CORE_GIB)")
            tsv bulk "acme-srv/$ref" router_cpu_per_gib_ratio "$rc"
            tsv bulk "acme-srv/$ref" router_core_per_gib_ratio "$rk"
            echo "| acme-srv / $(label "$ref") | $(x "$rr") | $(x "$rc") | $(x "$rk") |"
        fi
    done
    echo
    echo "Splice in HAProxy on this machine: $(fmt0 "$b_hs") MB/s and $(fmt3 "$g_hs") s of CPU per GiB with"
    echo "\`option splice-auto\`, $(fmt0 "$b_h") MB/s and $(fmt3 "$g_h") s without ($(x "$(rat "$b_hs" "$b_h")") the throughput,"
    echo "$(x "$(rat "$g_hs" "$g_h")") the CPU per GiB, $(x "$(rat "$(med bulk/haproxy-splice R_CORE_GIB)" "$(med bulk/haproxy R_CORE_GIB)")") the router core's busy time per GiB)."
    tsv bulk haproxy-splice pipes_open "$PIPES_SPLICE"
    echo
    echo "### 3. Added latency (keep-alive, fixed moderate load)"
    echo
    echo "$CONNS keep-alive TLS connections, each waiting $LAT_DELAY_MS ms between requests (wrk's"
    echo "\`delay()\`), so the load is the same for all, about $(fmt0 "$(med latency/nginx R_RPS)") requests/s, far from saturation."
    echo "*Added p99* is the router's p99 minus nginx direct's (medians of the runs)."
    echo
    echo "    taskset -c $LOAD_CPU $WRK_LAT"
    echo
    echo "| router | requests/s | p50 ms | p99 ms | added p99 ms | router core µs/request | other programs % | p99 ms per run |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    for s in "${LAT_SERVERS[@]}"; do
        k="latency/$s"
        p99=$(med "$k" R_P99)
        added=$(awk -v a="$p99" -v b="$p_n" 'BEGIN { printf "%.3f", a - b }')
        if [ "$s" = nginx ]; then added="—" cpu="—"; else cpu=$(med "$k" R_CORE); fi
        # shellcheck disable=SC2086
        echo "| $(label "$s") | $(fmt0 "$(med "$k" R_RPS)") | $(fmt3 "$(med "$k" R_P50)") | $(fmt3 "$p99") | $added | $cpu | $(med "$k" R_OTHER) | $(echo ${R_P99[$k]} | xargs -n1 printf '%.3f ' | sed 's/ $//') |"
        tsv latency "$s" latency_p50_ms "$(fmt3 "$(med "$k" R_P50)")"
        tsv latency "$s" latency_p99_ms "$(fmt3 "$p99")"
        [ "$s" = nginx ] || tsv latency "$s" added_p99_ms "$added"
    done
    echo
    a_added=$(awk -v a="$(med latency/acme-srv R_P99)" -v b="$p_n" 'BEGIN { printf "%.3f", a - b }')
    echo "| ratio | p99 | added p99 |"
    echo "|---|---:|---:|"
    for ref in haproxy sslh-select sslh-fork nginx; do
        rp=$(rat "$(med latency/acme-srv R_P99)" "$(med "latency/$ref" R_P99)")
        tsv latency "acme-srv/$ref" latency_p99_ratio "$rp"
        if [ "$ref" = nginx ]; then
            echo "| acme-srv / $(label "$ref") | $(x "$rp") | — |"
        else
            # A ratio of added latencies means nothing when the reference adds none.
            ra=$(awk -v a="$a_added" -v b="$(awk -v a="$(med "latency/$ref" R_P99)" -v b="$p_n" 'BEGIN { printf "%.3f", a - b }')" \
                'BEGIN { if (b + 0 <= 0) print "n/a"; else printf "%.2f", a / b }')
            echo "| acme-srv / $(label "$ref") | $(x "$rp") | $(x "$ra") |"
        fi
    done
    echo
    echo "### 4. Memory per idle connection"
    echo
    echo "Connections that each sent one whole ClientHello for $HOST ($HELLO_BYTES bytes, Python's own TLS"
    echo "client's first flight) and then stay idle: the router has read the hello, connected to nginx"
    echo "and replayed it, nginx answered its first flight (checked for every connection) and waits for the"
    echo "client's, so each is a live tunnel holding two sockets. The helper (\`router-work/idle-hello.py\`,"
    echo "written by the script; Python asyncio, at most 256 connecting at once, on core $LOAD_CPU)"
    echo "reads what comes back. Memory from \`/proc/PID/status\` (VmRSS) and \`/proc/PID/smaps_rollup\`"
    echo "(Pss), summed over the router's processes, just before opening and one second after all"
    echo "were answered; per connection = difference / connections still open at the reading."
    if [ "$IDLE_N" -lt "$IDLE_CONNS" ]; then
        echo "IDLE_CONNS=$IDLE_CONNS did not fit: the open-file limit is $FDS (hard limit $(ulimit -Hn)) and a"
        echo "router needs two descriptors per tunnel, so $IDLE_N connections were opened."
    fi
    echo "sslh-select got $SSLH_SELECT_N: sslh 1.20's \`select(2)\` loop cannot watch descriptors past"
    echo "FD_SETSIZE (1024) and aborts (glibc's \`*** bit out of range 0 - FD_SETSIZE on fd_set ***\`) once"
    echo "more than about 500 tunnels are open. sslh-fork forks a process per connection: its RSS sum"
    echo "counts the pages the processes share once per process, its PSS shares them out."
    echo "nginx direct (terminating TLS, each connection in its handshake; measured first, as it keeps"
    echo "the memory the routers' tunnels take on its side) is shown for scale."
    echo
    echo "| router | connections | RSS idle MiB | RSS with the connections MiB | KiB RSS per connection | KiB PSS per connection |"
    echo "|---|---:|---:|---:|---:|---:|"
    declare -A PER_RSS PER_PSS
    for s in "${IDLE_SERVERS[@]}"; do
        PER_RSS[$s]=$(awk -v c="${CONN_RSS[$s]}" -v i="${PRE_RSS[$s]}" -v n="${CONN_OPEN[$s]}" 'BEGIN { if (n > 0) printf "%.2f", (c - i) / n; else print "n/a" }')
        PER_PSS[$s]=$(awk -v c="${CONN_PSS[$s]}" -v i="${PRE_PSS[$s]}" -v n="${CONN_OPEN[$s]}" 'BEGIN { if (n > 0) printf "%.2f", (c - i) / n; else print "n/a" }')
        idle=${IDLE_RSS[$s]:-}
        echo "| $(label "$s") | ${CONN_OPEN[$s]} | $( [ -n "$idle" ] && mib "$idle" || echo "—") | $(mib "${CONN_RSS[$s]}") | ${PER_RSS[$s]} | ${PER_PSS[$s]} |"
        [ -z "$idle" ] || tsv memory "$s" rss_idle_kib "$idle"
        tsv memory "$s" idle_connections_open "${CONN_OPEN[$s]}"
        tsv memory "$s" rss_kib_per_connection "${PER_RSS[$s]}"
        tsv memory "$s" pss_kib_per_connection "${PER_PSS[$s]}"
    done
    echo
    echo "| ratio | KiB RSS per connection | KiB PSS per connection |"
    echo "|---|---:|---:|"
    for ref in haproxy sslh-select sslh-fork nginx; do
        echo "| acme-srv / $(label "$ref") | $(x "$(rat "${PER_RSS[acme-srv]}" "${PER_RSS[$ref]}")") | $(x "$(rat "${PER_PSS[acme-srv]}" "${PER_PSS[$ref]}")") |"
        tsv memory "acme-srv/$ref" rss_per_connection_ratio "$(rat "${PER_RSS[acme-srv]}" "${PER_RSS[$ref]}")"
    done
    echo
    echo "<details><summary>Generated configurations</summary>"
    echo
    echo "acme-srv (\`acme-srv router --config\`, \`RUST_LOG=$QUIET_LOG\`; the default-log instance the same on another port):"
    echo
    echo '```toml'
    cat "$W/acme-srv.toml"
    echo '```'
    echo
    echo "HAProxy (\`haproxy -db -f\`; the splice instance adds \`option splice-auto\` to \`defaults\`):"
    echo
    echo '```'
    grep -v '^ *#' "$W/haproxy/haproxy.cfg" | grep -v '^$'
    echo '```'
    echo
    echo "sslh (\`sslh-select -F<file> -f\`, \`sslh -F<file> -f\`):"
    echo
    echo '```'
    cat "$W/sslh/sslh-select.cfg"
    echo '```'
    echo
    echo "The backend (nginx; certificate: \`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$HOST -addext subjectAltName=DNS:$HOST -days 2\`):"
    echo
    echo '```nginx'
    cat "$W/backend/nginx.conf"
    echo '```'
    echo
    echo "</details>"
} >"$MD"

say "done in $ELAPSED s: $MD, $TSV"

#!/usr/bin/env bash
# Redirect mode (issue 16, part 3): the most common traffic on port 80 is a browser sent
# to https. acme-srv's `other_requests = "redirect-https"` against nginx `return 301
# https://$host$request_uri` and HAProxy `http-request redirect scheme https`, each
# pinned to SERVER_CPU, wrk pinned to LOAD_CPU: keep-alive (50 connections) and a fresh
# connection per request (wrk -H "Connection: close"). Every answer must be a 301 to
# https://<host><path>?<query>; requests/s, p50/p99, server CPU per request, medians of
# REPS runs of DURATION s; and system calls per keep-alive request under strace -c.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench DURATION=10 REPS=3 tests/bench/redirect.sh
#
# Writes $OUT_DIR/redirect.md and $OUT_DIR/redirect.tsv; every process it starts is stopped.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

: "${BIN:=$ROOT/target/dist/acme-srv}"
: "${OUT_DIR:=/tmp/bench-redirect}"
: "${REPS:=3}"
: "${DURATION:=10}"
CONNS=50
W="$OUT_DIR/redirect-work"
rm -rf "$W"
mkdir -p "$W/nginx" "$W/haproxy"
say() { echo "redirect.sh: $*" >&2; }
die() { echo "redirect.sh: error: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "BIN=$BIN is not an executable"
for tool in wrk nginx haproxy curl taskset strace; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CLK_TCK=$(getconf CLK_TCK)
PATH_Q="/account/login?next=%2Fhome"

cpu_ticks() {
    local total=0 p t
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
        total=$(( total + ${t:-0} ))
    done
    echo "$total"
}

nginx_port=$(free_port) haproxy_port=$(free_port)
cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $W/nginx/client_body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        location / { return 301 https://\$host\$request_uri; }
    }
}
EOF
cat >"$W/haproxy/haproxy.cfg" <<EOF
global
    maxconn 4096
    nbthread 1
    no strict-limits
defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 20s
    timeout http-keep-alive 60s
frontend bench
    bind 127.0.0.1:$haproxy_port
    http-request redirect scheme https code 301
EOF
haproxy -c -q -f "$W/haproxy/haproxy.cfg" || die "haproxy -c rejects its configuration"
cat >"$W/acme-srv.toml" <<EOF
[relay]
listen = ["127.0.0.1:0"]
other_requests = "redirect-https"
[relay.limits]
requests_per_second_per_client = 0
[relay.connections]
max = 4096
max_per_client = 0
request_timeout = "60s"
idle_timeout = "60s"
[challenge]
allow_domains = ["*.bench.test"]
EOF

start_bg "$SERVER_CPU" "$W/acme-srv.log" env RUST_LOG="warn,acme_srv=info" "$BIN" relay --config "$W/acme-srv.toml"
acme_pid=$BENCH_LAST_PID
wait_log "$W/acme-srv.log" "listening for http" 60
acme_port=$(acme_srv_listen "$W/acme-srv.log" http | sed 's/.*://')
start_bg "$SERVER_CPU" "$W/nginx.log" nginx -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log"
nginx_pid=$BENCH_LAST_PID
start_bg "$SERVER_CPU" "$W/haproxy.log" haproxy -db -f "$W/haproxy/haproxy.cfg"
haproxy_pid=$BENCH_LAST_PID
for p in "$acme_port" "$nginx_port" "$haproxy_port"; do wait_port "$p"; done

declare -A PORT=([acme-srv]=$acme_port [nginx]=$nginx_port [haproxy]=$haproxy_port)
declare -A PID=([acme-srv]=$acme_pid [nginx]=$nginx_pid [haproxy]=$haproxy_pid)
for s in acme-srv nginx haproxy; do
    loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: www.bench.test" "http://127.0.0.1:${PORT[$s]}$PATH_Q")
    [ "$loc" = "301 https://www.bench.test$PATH_Q" ] || die "$s answers '$loc', not a 301 to https://www.bench.test$PATH_Q"
done

declare -A RPS P50 P99 CPU
for mode in keepalive fresh; do
    extra=()
    [ "$mode" = fresh ] && extra=(-H "Connection: close")
    for s in acme-srv nginx haproxy; do
        rps=() p50=() p99=() cpu=()
        for rep in $(seq 1 "$REPS"); do
            c0=$(cpu_ticks "${PID[$s]}")
            taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Host: www.bench.test" "${extra[@]}" \
                "http://127.0.0.1:${PORT[$s]}$PATH_Q" >"$W/wrk-$mode-$s-$rep.txt" 2>&1 || die "wrk failed against $s"
            c1=$(cpu_ticks "${PID[$s]}")
            read -r r a b n non serr < <(wrk_summary "$W/wrk-$mode-$s-$rep.txt")
            [ "$n" -gt 0 ] && [ $(( non * 100 )) -le "$n" ] && [ $(( serr * 100 )) -le "$n" ] ||
                { cat "$W/wrk-$mode-$s-$rep.txt" >&2; die "$s: bad answers in $mode run"; }
            rps+=("$r") p50+=("$a") p99+=("$b")
            cpu+=("$(awk -v d=$(( c1 - c0 )) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')")
            say "$mode $s run $rep: $r req/s p50 $a ms p99 $b ms"
        done
        RPS[$mode/$s]=$(median "${rps[@]}") P50[$mode/$s]=$(median "${p50[@]}")
        P99[$mode/$s]=$(median "${p99[@]}") CPU[$mode/$s]=$(median "${cpu[@]}")
    done
done
idle_rss=$(rss_kib "$acme_pid")

# System calls per keep-alive request: strace -c on each server (and its children)
# while wrk runs STRACE_SECONDS, divided by the requests wrk counted. strace slows the
# servers down; only the counts are used.
STRACE_SECONDS=${STRACE_SECONDS:-3}
declare -A SYSCALLS SYSCALLS_TOTAL
for s in acme-srv nginx haproxy; do
    trace="$W/strace-$s.txt"
    # The server and its children (nginx's worker): strace -f follows only new ones.
    pids=("${PID[$s]}" $(pgrep -P "${PID[$s]}" || true))
    targets=()
    for p in "${pids[@]}"; do targets+=(-p "$p"); done
    timeout -k 5 $(( STRACE_SECONDS + 30 )) strace -c -f "${targets[@]}" -o "$trace" 2>/dev/null &
    spid=$!
    # Ready once every traced process names a tracer.
    for _ in $(seq 100); do
        attached=1
        for p in "${pids[@]}"; do
            [ "$(awk '/^TracerPid/ {print $2}' "/proc/$p/status" 2>/dev/null)" != 0 ] || attached=0
        done
        [ "$attached" = 1 ] && break
        sleep 0.1
    done
    [ "$attached" = 1 ] || die "strace did not attach to $s"
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${STRACE_SECONDS}s" -H "Host: www.bench.test" \
        "http://127.0.0.1:${PORT[$s]}$PATH_Q" >"$W/wrk-strace-$s.txt" 2>&1 || die "wrk failed against $s under strace"
    kill -INT "$spid"
    wait "$spid" || true
    n=$(awk '/requests in/ {print $1}' "$W/wrk-strace-$s.txt")
    [ "${n:-0}" -gt 0 ] || die "no requests counted under strace against $s"
    # Rows of `strace -c`: % time, seconds, usecs/call, calls, [errors,] syscall.
    SYSCALLS[$s]=$(awk -v n="$n" '$NF != "total" && $NF != "syscall" && $4 ~ /^[0-9]+$/ && ($4 / n) >= 0.01 {
            printf "%s%s %.2f", sep, $NF, $4 / n; sep = ", " }' "$trace")
    SYSCALLS_TOTAL[$s]=$(awk -v n="$n" '$NF == "total" { printf "%.2f", $4 / n }' "$trace")
done

{
    echo "## Redirect mode (\`tests/bench/redirect.sh\`)"
    echo
    echo "\`other_requests = \"redirect-https\"\` (a 301 to \`https://<host><path>?<query>\`) against nginx"
    echo "\`return 301 https://\$host\$request_uri\` and HAProxy \`http-request redirect scheme https\`:"
    echo "wrk, $CONNS connections, \`GET $PATH_Q\`, medians of $REPS runs of $DURATION s; \"fresh\" sends"
    echo "\`Connection: close\` so every request opens a connection."
    echo
    echo "| connections | server | requests/s | p50 ms | p99 ms | server CPU µs per request | ratio to nginx | ratio to HAProxy |"
    echo "|---|---|---|---|---|---|---|---|"
    for mode in keepalive fresh; do
        for s in acme-srv nginx haproxy; do
            echo "| $mode | $s | ${RPS[$mode/$s]} | ${P50[$mode/$s]} | ${P99[$mode/$s]} | ${CPU[$mode/$s]} | $(ratio "${RPS[$mode/$s]}" "${RPS[$mode/nginx]}") | $(ratio "${RPS[$mode/$s]}" "${RPS[$mode/haproxy]}") |"
        done
    done
    echo
    echo "System calls per keep-alive request (\`strace -c -f\` during $STRACE_SECONDS s of the same load; calls"
    echo "made at least once per 100 requests):"
    echo
    echo "| server | system calls per request | total |"
    echo "|---|---|---|"
    for s in acme-srv nginx haproxy; do
        echo "| $s | ${SYSCALLS[$s]} | ${SYSCALLS_TOTAL[$s]} |"
    done
} >"$OUT_DIR/redirect.md"
for mode in keepalive fresh; do
    for s in acme-srv nginx haproxy; do
        printf 'redirect-%s\t%s\trequests_per_s\t%s\nredirect-%s\t%s\tserver_cpu_us_per_request\t%s\n' \
            "$mode" "$s" "${RPS[$mode/$s]}" "$mode" "$s" "${CPU[$mode/$s]}"
    done
done >"$OUT_DIR/redirect.tsv"
for s in acme-srv nginx haproxy; do
    printf 'redirect-keepalive\t%s\tsyscalls_per_request\t%s\n' "$s" "${SYSCALLS_TOTAL[$s]}"
done >>"$OUT_DIR/redirect.tsv"
say "done: $OUT_DIR/redirect.md (acme-srv RSS after the runs: $idle_rss KiB)"

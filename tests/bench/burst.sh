#!/usr/bin/env bash
# The multi-perspective burst (issue 16, part 1): Let's Encrypt validates each challenge
# from a primary perspective and then from 4 to 6 remote ones at once, each from its own
# address. burst.py plays that (a fresh token per burst, the primary's GET, then five
# remote GETs at once, from 127.0.0.1 to 127.0.0.6, a fresh connection each) against:
#   - acme-srv (relay + its DNS server holding the SRV record) with answer reuse on, the
#     default: the primary's 200 is kept and the remote perspectives get it;
#   - acme-srv with relay.timeouts.answer_reuse = "0s": every GET goes to the target;
#   - nginx with the shipped deploy/nginx snippet, proxying every GET to the target.
# The target is nginx (pinned to LOAD_CPU) answering "<token>.thumbprint" for any token,
# with an access log that counts what reaches it. Reports bursts/s, a burst's p50/p99
# duration, server CPU per burst and target requests per burst, medians of REPS runs.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench BURSTS=3000 REPS=3 tests/bench/burst.sh
#
# Writes $OUT_DIR/burst.md and $OUT_DIR/burst.tsv; every process it starts is stopped.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

: "${BIN:=$ROOT/target/dist/acme-srv}"
: "${OUT_DIR:=/tmp/bench-burst}"
: "${REPS:=3}"
: "${BURSTS:=3000}"
: "${BURST_CONCURRENCY:=8}"
W="$OUT_DIR/burst-work"
rm -rf "$W"
mkdir -p "$W/target" "$W/nginx"
say() { echo "burst.sh: $*" >&2; }
die() { echo "burst.sh: error: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "BIN=$BIN is not an executable"
for tool in nginx python3 taskset; do command -v "$tool" >/dev/null || die "$tool is missing"; done
HOST=www.bench.test

cpu_ticks() {  # PID and its children, user+system clock ticks
    local total=0 p t
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
        total=$(( total + ${t:-0} ))
    done
    echo "$total"
}

target_port=$(free_port) nginx_port=$(free_port) dns_port=$(free_port)
nginx_main() {  # nginx_main DIR
    cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}
nginx_temp() {
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $1/$t;"; done
}
{
    nginx_main "$W/target"
    echo "http {"
    nginx_temp "$W/target"
    cat <<EOF
    log_format bare "\$request_uri";
    access_log $W/target/access.log bare;
    server {
        listen 127.0.0.1:$target_port backlog=4096;
        location ~ ^/\.well-known/acme-challenge/([A-Za-z0-9_-]+)\$ {
            keepalive_timeout 0;
            default_type text/plain;
            return 200 "\$1.thumbprint";
        }
    }
}
EOF
} >"$W/target/nginx.conf"
start_bg "$LOAD_CPU" "$W/target.log" nginx -c "$W/target/nginx.conf" -e "$W/target/error.log"
wait_port "$target_port"

sed "s|proxy_pass http://127.0.0.1:8080;|proxy_pass http://127.0.0.1:$target_port;|" \
    "$ROOT/deploy/nginx/acme-srv.conf" >"$W/nginx/acme-challenge.conf"
grep -q "proxy_pass http://127.0.0.1:$target_port;" "$W/nginx/acme-challenge.conf" ||
    die "deploy/nginx/acme-srv.conf has no 'proxy_pass http://127.0.0.1:8080;' line"
{
    nginx_main "$W/nginx"
    echo "http {"
    nginx_temp "$W/nginx"
    cat <<EOF
    access_log off;
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        include $W/nginx/acme-challenge.conf;
    }
}
EOF
} >"$W/nginx/nginx.conf"

cat >"$W/bench.test.zone" <<ZONE
\$ORIGIN bench.test.
\$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
client A 127.0.0.1
_acme-challenge._tcp.www SRV 10 5 $target_port client
ZONE
acme_conf() {  # acme_conf FILE REUSE
    cat >"$1" <<EOF
[relay]
listen = ["127.0.0.1:0"]
other_requests = "not-found"
[relay.limits]
requests_per_second_per_client = 0
[relay.timeouts]
answer_reuse = "$2"
[challenge]
allow_domains = ["*.bench.test"]
[targets]
allow_networks = ["127.0.0.0/8"]
allow_ports = ["1024-65535"]
[resolver]
servers = ["127.0.0.1:$dns_port"]
[dns]
listen = ["127.0.0.1:$dns_port"]
[[dns.zones]]
origin = "bench.test"
zone_file = "$W/bench.test.zone"
[store]
url = "sqlite://$W/store-$2.sqlite"
EOF
}

declare -A R_BPS R_P50 R_P99 R_CPU R_TGT
# run NAME PORT PID : REPS runs of burst.py; medians into the R_ arrays.
run() {
    local name=$1 port=$2 pid=$3 rep out c0 c1 t0 t1 bps=() p50=() p99=() cpu=() tgt=()
    python3 "$HERE/burst.py" "$port" "$HOST" 20 4 >/dev/null || die "$name: warm-up failed"
    for rep in $(seq 1 "$REPS"); do
        t0=$(wc -l <"$W/target/access.log") c0=$(cpu_ticks "$pid")
        out=$(taskset -c "$LOAD_CPU" python3 "$HERE/burst.py" "$port" "$HOST" "$BURSTS" "$BURST_CONCURRENCY") ||
            die "$name: wrong answers: $out"
        c1=$(cpu_ticks "$pid") t1=$(wc -l <"$W/target/access.log")
        say "$name run $rep: $out"
        bps+=("$(jq_field "$out" bursts_per_s)") p50+=("$(jq_field "$out" p50_ms)") p99+=("$(jq_field "$out" p99_ms)")
        cpu+=("$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$BURSTS" 'BEGIN { printf "%.0f", c / hz * 1e6 / n }')")
        tgt+=("$(awk -v t=$((t1 - t0)) -v n="$BURSTS" 'BEGIN { printf "%.2f", t / n }')")
    done
    R_BPS[$name]=$(median "${bps[@]}") R_P50[$name]=$(median "${p50[@]}") R_P99[$name]=$(median "${p99[@]}")
    R_CPU[$name]=$(median "${cpu[@]}") R_TGT[$name]=$(median "${tgt[@]}")
}
jq_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

for reuse in 5s 0s; do
    name="acme-srv (answer_reuse = \"$reuse\")"
    acme_conf "$W/acme-$reuse.toml" "$reuse"
    start_bg "$SERVER_CPU" "$W/acme-$reuse.log" env RUST_LOG="warn,acme_srv=info" "$BIN" serve --config "$W/acme-$reuse.toml"
    pid=$BENCH_LAST_PID
    wait_log "$W/acme-$reuse.log" "listening for http" 60
    port=$(acme_srv_listen "$W/acme-$reuse.log" http | sed 's/.*://')
    wait_port "$port"
    say "$name on $port"
    run "$name" "$port" "$pid"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
start_bg "$SERVER_CPU" "$W/nginx.log" nginx -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log"
nginx_pid=$BENCH_LAST_PID
wait_port "$nginx_port"
run nginx "$nginx_port" "$nginx_pid"

on='acme-srv (answer_reuse = "5s")' off='acme-srv (answer_reuse = "0s")'
{
    echo "## The multi-perspective burst (\`tests/bench/burst.sh\`)"
    echo
    echo "A CA's validation as Let's Encrypt performs it: per burst a fresh token, the primary"
    echo "perspective's GET, then 5 remote perspectives' GETs at once, each from its own address"
    echo "(127.0.0.1 to 127.0.0.6) on a fresh connection; $BURST_CONCURRENCY bursts at a time, $BURSTS bursts per run,"
    echo "medians of $REPS runs. The target (nginx) answers any token; its access log counts"
    echo "what reaches it. nginx runs the shipped \`deploy/nginx\` snippet proxying to the target."
    echo
    echo "| server | bursts/s | burst p50 ms | burst p99 ms | server CPU µs per burst | target requests per burst |"
    echo "|---|---|---|---|---|---|"
    for name in "$on" "$off" nginx; do
        echo "| $name | ${R_BPS[$name]} | ${R_P50[$name]} | ${R_P99[$name]} | ${R_CPU[$name]} | ${R_TGT[$name]} |"
    done
    echo
    echo "Ratios against nginx: bursts/s $(ratio "${R_BPS[$on]}" "${R_BPS[nginx]}")× with reuse,"
    echo "$(ratio "${R_BPS[$off]}" "${R_BPS[nginx]}")× without; server CPU per burst $(ratio "${R_CPU[$on]}" "${R_CPU[nginx]}")× and"
    echo "$(ratio "${R_CPU[$off]}" "${R_CPU[nginx]}")× of nginx's. The load generator is Python (asyncio) on one core, the"
    echo "same for every server: bursts/s is bounded by it as much as by the server, so the CPU"
    echo "column and the target requests are the figures that tell the servers apart."
} >"$OUT_DIR/burst.md"
for name in "$on" "$off" nginx; do
    printf 'burst\t%s\tbursts_per_s\t%s\nburst\t%s\tserver_cpu_us_per_burst\t%s\nburst\t%s\ttarget_requests_per_burst\t%s\n' \
        "$name" "${R_BPS[$name]}" "$name" "${R_CPU[$name]}" "$name" "${R_TGT[$name]}"
done >"$OUT_DIR/burst.tsv"
say "done: $OUT_DIR/burst.md"

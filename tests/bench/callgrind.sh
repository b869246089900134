#!/usr/bin/env bash
# Instruction counts under valgrind's callgrind: instructions per relayed challenge and
# per DNS answer. Counts are exact for a given binary and input, whatever else the
# machine does, so later changes can be compared to the instruction.
#
# Method: the server runs under callgrind twice per kind of work, once with N1 and once
# with N2 requests; (total(N2) - total(N1)) / (N2 - N1) is the cost of one request, with
# start-up and shutdown cancelled out.
#
# Work that depends on wall time rather than on requests (the metrics upkeep every
# second, the SQLite pool's upkeep, the runtime's timers) would count per request, and
# under valgrind a run of N2 requests lasts many seconds. So the N2 run goes first and
# the N1 run then stays up, idle, until it has lasted as long: the difference holds the
# requests' work alone. Repeated runs agree within a few percent (start-up calibration
# and timer wake-ups still vary a little).
#
# A DNS answer costs a few thousand instructions, less than the run-to-run wobble of
# start-up (the clock calibration of the metrics library varies by some 100k), so DNS
# runs use ten times as many requests (DNS_SCALE).
#
# Environment: BIN, OUT_DIR, N1/N2 (default 200/2200; smoke 5/15), DNS_SCALE (default 10),
# KINDS (default "challenge dns"; smoke only "challenge", to keep it short).
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
: "${N1:=200}" "${N2:=2200}" "${DNS_SCALE:=10}"
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind missing (apt-get install valgrind)" >&2; exit 1; }
mkdir -p "$OUT_DIR/callgrind"
work="$OUT_DIR/callgrind"
token="evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"

# The SRV target: a static file served by python's http.server (its cost is not counted).
mkdir -p "$work/www/.well-known/acme-challenge"
printf '%s.thumbprint' "$token" > "$work/www/.well-known/acme-challenge/$token"
target_port=$(free_port)
start_bg "$LOAD_CPU" "$work/target.log" python3 -m http.server "$target_port" --bind 127.0.0.1 --directory "$work/www"
wait_port "$target_port"

dns_port=$(free_port)
cat > "$work/bench.test.zone" <<ZONE
\$ORIGIN bench.test.
\$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
client A 127.0.0.1
_acme-challenge._tcp.www SRV 10 5 $target_port client
ZONE

# instructions WORK N [LAST_SECONDS] : sets IR to the total instructions of a server run
# that handles N of WORK, and DRIVE_SECONDS to how long handling them took; with
# LAST_SECONDS the server then stays up until that long has passed since the requests
# began. (Not called in $(...): a subshell would lose the PIDs the cleanup trap needs.)
instructions() {
    local work_kind=$1 n=$2 last=${3:-0} conf="$work/acme-srv.toml" log="$work/server.$1.$2.log" out="$work/cg.$1.$2.out"
    cat > "$conf" <<CONF
[relay]
listen = ["127.0.0.1:0"]
other_requests = "not-found"
limits = { requests_per_second_per_client = 0 }
# One token repeated: the relay's exchange is what is counted, not a kept answer.
timeouts = { answer_reuse = "0s" }
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
zone_file = "$work/bench.test.zone"
[store]
url = "sqlite://$work/store-$work_kind-$n.sqlite"
CONF
    start_bg "$SERVER_CPU" "$log" valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" serve --config "$conf"
    local pid=$BENCH_LAST_PID
    wait_log "$log" "acme-srv ready" 120
    local http_port
    http_port=$(acme_srv_listen "$log" http | sed 's/.*://')
    # One warm-up of each kind in both runs, so caches are equally warm.
    python3 "$here/drive.py" http "$http_port" www.bench.test "/.well-known/acme-challenge/$token" 1 "$token.thumbprint"
    python3 "$here/drive.py" dns "$dns_port" _acme-challenge._tcp.www.bench.test 1
    local began ended
    began=$(date +%s.%N)
    case $work_kind in
        challenge) python3 "$here/drive.py" http "$http_port" www.bench.test "/.well-known/acme-challenge/$token" "$n" "$token.thumbprint" ;;
        dns) python3 "$here/drive.py" dns "$dns_port" _acme-challenge._tcp.www.bench.test "$n" ;;
    esac
    ended=$(date +%s.%N)
    DRIVE_SECONDS=$(awk -v a="$began" -v b="$ended" 'BEGIN { printf "%.3f", b - a }')
    local idle
    idle=$(awk -v d="$DRIVE_SECONDS" -v l="$last" 'BEGIN { x = l - d; printf "%.3f", (x > 0 ? x : 0) }')
    sleep "$idle"
    kill -TERM "$pid"
    local deadline=$(( $(date +%s) + 120 ))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "callgrind.sh: server did not stop" >&2; return 1; }
        sleep 0.2
    done
    # callgrind writes "totals: <Ir>" (or "summary:") at the end of its output file.
    IR=$(awk '/^(totals|summary):/ {print $2}' "$out" | tail -1)
    [ -n "$IR" ] || { echo "callgrind.sh: no totals in $out" >&2; return 1; }
}

# ref_instructions SERVER N : sets IR to the total instructions of a reference server run
# under callgrind that handles N of its work: nginx proxying N challenges (the shipped
# deploy/nginx snippet, one process: master_process off), Knot or NSD answering N SRV
# queries over UDP. Every process of the server is traced; their totals are summed.
ref_instructions() {
    local server=$1 n=$2 dir="$work/ref-$1-$2" port pid
    mkdir -p "$dir"
    port=$(free_port)
    case $server in
        nginx)
            sed "s|proxy_pass http://127.0.0.1:8080;|proxy_pass http://127.0.0.1:$target_port;|" \
                "$here/../../deploy/nginx/acme-srv.conf" > "$dir/acme-challenge.conf"
            cat > "$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port;
        include $dir/acme-challenge.conf;
    }
}
CONF
            start_bg "$SERVER_CPU" "$dir/server.log" valgrind --tool=callgrind --trace-children=yes \
                --callgrind-out-file="$dir/cg.%p" nginx -c "$dir/nginx.conf" -e "$dir/error.log" ;;
        knot)
            cat > "$dir/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$port
    rundir: "$dir"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$dir"
zone:
  - domain: bench.test
    file: "$work/bench.test.zone"
    zonefile-sync: -1
    journal-content: none
CONF
            start_bg "$SERVER_CPU" "$dir/server.log" valgrind --tool=callgrind --trace-children=yes \
                --callgrind-out-file="$dir/cg.%p" knotd -c "$dir/knot.conf" ;;
        nsd)
            cat > "$dir/nsd.conf" <<CONF
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
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: bench.test
    zonefile: "$work/bench.test.zone"
CONF
            start_bg "$SERVER_CPU" "$dir/server.log" valgrind --tool=callgrind --trace-children=yes \
                --callgrind-out-file="$dir/cg.%p" nsd -d -c "$dir/nsd.conf" ;;
    esac
    pid=$BENCH_LAST_PID
    # Ready when one request is answered (bounded: a server under valgrind starts slowly).
    local deadline=$(( $(date +%s) + 120 ))
    until case $server in
            nginx) python3 "$here/drive.py" http "$port" www.bench.test "/.well-known/acme-challenge/$token" 1 "$token.thumbprint" ;;
            *) timeout 5 python3 "$here/drive.py" dns "$port" _acme-challenge._tcp.www.bench.test 1 ;;
        esac 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "callgrind.sh: $server did not answer" >&2; tail "$dir/server.log" >&2; return 1; }
        sleep 0.5
    done
    case $server in
        nginx) python3 "$here/drive.py" http "$port" www.bench.test "/.well-known/acme-challenge/$token" "$n" "$token.thumbprint" ;;
        *) python3 "$here/drive.py" dns "$port" _acme-challenge._tcp.www.bench.test "$n" ;;
    esac
    kill -TERM "$pid"
    deadline=$(( $(date +%s) + 120 ))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "callgrind.sh: $server did not stop" >&2; return 1; }
        sleep 0.2
    done
    # Children (NSD's server process) may end just after the parent.
    sleep 1
    IR=$(cat "$dir"/cg.* 2>/dev/null | awk '/^(totals|summary):/ {t += $2} END {printf "%d", t}')
    [ "${IR:-0}" -gt 0 ] || { echo "callgrind.sh: no totals for $server in $dir" >&2; return 1; }
}

{
    echo "## Instruction counts (callgrind)"
    echo
    echo "Server instructions per request, from \`(Ir(N2) - Ir(N1)) / (N2 - N1)\`: two runs that"
    echo "differ only in the number of requests N (fresh connection per challenge, like a CA;"
    echo "SRV answer cached after the warm-up) and last equally long (the N1 run stays up, idle,"
    echo "as long as the N2 run took), so work done per second rather than per request cancels out."
    echo
    echo "| work | N1 | N2 | Ir with N1 | Ir with N2 | instructions per request |"
    echo "|---|---:|---:|---:|---:|---:|"
} > "$OUT_DIR/callgrind.md"
: > "$OUT_DIR/callgrind.tsv"
for kind in ${KINDS:-challenge dns}; do
    scale=$([ "$kind" = dns ] && echo "$DNS_SCALE" || echo 1)
    n1=$(( N1 * scale )) n2=$(( N2 * scale ))
    instructions "$kind" "$n2"
    b=$IR
    instructions "$kind" "$n1" "$DRIVE_SECONDS"
    a=$IR
    per=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%d", (b - a) / (n2 - n1) }')
    label=$([ "$kind" = challenge ] && echo "relayed challenge (relay + its DNS lookups)" || echo "DNS SRV answer (UDP)")
    echo "| $label | $n1 | $n2 | $a | $b | **$per** |" >> "$OUT_DIR/callgrind.md"
    printf 'callgrind\tacme-srv\t%s_instructions_per_request\t%s\n' "$kind" "$per" >> "$OUT_DIR/callgrind.tsv"
done
# The references on the same work, so each wall-clock ratio also exists as a noise-free
# one: nginx per proxied challenge (it does no DNS: its target is fixed), Knot and NSD per
# SRV answer.
declare -A PER
for kind in ${KINDS:-challenge dns}; do
    scale=$([ "$kind" = dns ] && echo "$DNS_SCALE" || echo 1)
    n1=$(( N1 * scale )) n2=$(( N2 * scale ))
    refs=$([ "$kind" = challenge ] && echo "nginx" || echo "knot nsd")
    for ref in $refs; do
        ref_instructions "$ref" "$n1"
        a=$IR
        ref_instructions "$ref" "$n2"
        b=$IR
        PER[$ref]=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%d", (b - a) / (n2 - n1) }')
        label=$([ "$kind" = challenge ] && echo "nginx: proxied challenge (fixed target, no DNS)" || echo "$ref: DNS SRV answer (UDP)")
        echo "| $label | $n1 | $n2 | $a | $b | **${PER[$ref]}** |" >> "$OUT_DIR/callgrind.md"
        printf 'callgrind\t%s\t%s_instructions_per_request\t%s\n' "$ref" "$kind" "${PER[$ref]}" >> "$OUT_DIR/callgrind.tsv"
    done
done
echo >> "$OUT_DIR/callgrind.md"
acme_challenge=$(awk -F'\t' '$2 == "acme-srv" && $3 == "challenge_instructions_per_request" {print $4}' "$OUT_DIR/callgrind.tsv")
acme_dns=$(awk -F'\t' '$2 == "acme-srv" && $3 == "dns_instructions_per_request" {print $4}' "$OUT_DIR/callgrind.tsv")
{
    [ -n "$acme_challenge" ] && [ -n "${PER[nginx]:-}" ] &&
        echo "Instructions per challenge, acme-srv / nginx: $(ratio "$acme_challenge" "${PER[nginx]}") (nginx's ÷ acme-srv's, the speed ratio: $(ratio "${PER[nginx]}" "$acme_challenge")×)."
    [ -n "$acme_dns" ] && [ -n "${PER[knot]:-}" ] &&
        echo "Instructions per SRV answer, acme-srv / Knot: $(ratio "$acme_dns" "${PER[knot]}"), acme-srv / NSD: $(ratio "$acme_dns" "${PER[nsd]}") (speed ratios $(ratio "${PER[knot]}" "$acme_dns")× and $(ratio "${PER[nsd]}" "$acme_dns")×)."
    echo
    echo "callgrind: $(valgrind --version); binary: $BIN"
} >> "$OUT_DIR/callgrind.md"

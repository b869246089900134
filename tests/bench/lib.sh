# Shared helpers for the benchmark scripts (sourced, not run).
#
# Every process a script starts goes through `start_bg`, which records its PID; the
# EXIT trap kills them all, so an interrupted run leaves nothing behind. Every wait is
# bounded (`wait_port`), and every load run has a fixed duration.

set -euo pipefail
shopt -s inherit_errexit

: "${SERVER_CPU:=0}"   # the core servers are pinned to
: "${LOAD_CPU:=1}"     # the core load generators (and targets) are pinned to
BENCH_PIDS=()

cleanup_bench() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        # Give each a moment, then make sure.
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    BENCH_PIDS=()
}
trap cleanup_bench EXIT

# start_bg CPU LOGFILE CMD... : runs CMD pinned to CPU in the background, records its PID
# in BENCH_LAST_PID.
start_bg() {
    local cpu=$1 log=$2
    shift 2
    taskset -c "$cpu" "$@" >"$log" 2>&1 &
    BENCH_LAST_PID=$!
    BENCH_PIDS+=("$BENCH_LAST_PID")
}

# repin PID CPU : pins every thread of PID to CPU (Knot moves its threads at start).
repin() {
    taskset -a -cp "$2" "$1" >/dev/null 2>&1 || true
}

# free_port : a free TCP port on loopback (bound and released).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS] : waits until 127.0.0.1:PORT accepts TCP, at most SECONDS (20).
wait_port() {
    local port=$1 deadline=$(( $(date +%s) + ${2:-20} ))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "bench: nothing listening on 127.0.0.1:$port after ${2:-20}s" >&2
            return 1
        fi
        sleep 0.05
    done
}

# wait_log FILE PATTERN [SECONDS] : waits until FILE contains PATTERN.
wait_log() {
    local file=$1 pattern=$2 deadline=$(( $(date +%s) + ${3:-20} ))
    until grep -q -- "$pattern" "$file" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "bench: '$pattern' not in $file after ${3:-20}s:" >&2
            tail -20 "$file" >&2
            return 1
        fi
        sleep 0.05
    done
}

# rss_kib PID : resident set size of PID in KiB (with all threads).
rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# median VALUES... : the median of numbers.
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'
}

# ratio A B : A/B with two decimals.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# acme_srv_listen LOGFILE KIND : the address acme-srv logged for listener KIND.
acme_srv_listen() {
    grep -o "listening for $2 on [^ \"]*" "$1" | head -1 | awk '{print $5}'
}

# wrk_summary FILE: the figures of one wrk run's output, on one line:
# requests/s, p50 ms, p99 ms (nan without --latency), requests, non-2xx/3xx answers,
# socket errors (connect + read + write + timeout).
wrk_summary() {
    awk '
        function ms(v,   n) { n = v + 0
            if (v ~ /us$/) return n / 1000; if (v ~ /ms$/) return n
            if (v ~ /m$/) return n * 60000; if (v ~ /s$/) return n * 1000; return n }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { reqs = $1 }
        /Non-2xx or 3xx responses:/ { non = $NF }
        /Socket errors:/ { gsub(",", ""); se = $4 + $6 + $8 + $10 }
        END { if (rps == "") rps = 0; if (reqs == "") reqs = 0
              print rps, (p50 == "" ? "nan" : p50), (p99 == "" ? "nan" : p99), reqs, non + 0, se + 0 }' "$1"
}

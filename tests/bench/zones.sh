#!/usr/bin/env bash
# The DNS side joining other DNS: acme-srv taking RFC 2136 UPDATE, serving AXFR and IXFR
# to secondaries and telling them of changes by NOTIFY, against Knot, BIND and NSD doing
# the same, on loopback.
#
#   BIN=target/dist/acme-srv OUT_DIR=/tmp/bench-zones tests/bench/zones.sh
#   BIN=... OUT_DIR=... DURATION=1 REPS=1 RECORDS=1000 SECONDARY_WRITES=3 tests/bench/zones.sh   # smoke
#
# Environment (normally set by tests/bench/run):
#   BIN        the acme-srv binary (required)
#   OUT_DIR    results folder (required); writes zones.md, zones.tsv and zones/ (zone
#              files, update files, configs, logs, per-run figures in zones/runs.tsv)
#   DURATION   seconds per UPDATE run (10)         REPS     repetitions (3)
#   RECORDS    SRV records in the transferred zone (100000)
#   SECONDARY_WRITES  writes timed until the secondaries serve them (20)
#   UPDATE_CLIENTS (4), UPDATE_OUTSTANDING (4): dnsperf's sockets and outstanding updates
#              in the concurrent UPDATE run (a sequential run, one client, comes first)
#   SERVER_CPU / LOAD_CPU  cores (0 / 1)
#
# 1. UPDATE/s with durable answers: each server fresh for every repetition, with a small
#    zone and a TSIG key allowed to update it (acme-srv: made by `acme-srv tsig-keys
#    create`, Knot and BIND: the same name and secret in their configuration); signed
#    updates that add and delete TXT records `_acme-challenge.<run><i>` for DURATION
#    seconds, from LOAD_CPU: one at a time (update.py, below), then with dnsperf -u and
#    UPDATE_CLIENTS x UPDATE_OUTSTANDING. Every answer must be NOERROR. If strace is
#    installed, a separate short run counts the server's fsync-class calls per update.
# 2. AXFR: the RECORDS-record zone file served by each server; dig AXFR timed REPS times
#    (after one untimed transfer whose content is compared with Knot's); then one change
#    (acme-srv: through its API, Knot and BIND: nsupdate) and dig IXFR=<old serial> timed.
# 3. Write to secondary: acme-srv as primary with NOTIFY to a Knot and a BIND secondary;
#    SECONDARY_WRITES writes through the API and as many by nsupdate, each timed from its
#    start until each server answers it (UDP poll every 5 ms, at most 10 s), writes 1 to
#    2 s apart. The same with Knot as primary and BIND as its secondary, writes by
#    nsupdate.
# Every wait is bounded and every process started is stopped (lib.sh's EXIT trap).
source "$(dirname "$0")/lib.sh"
set -E

: "${BIN:?zones.sh: set BIN to the acme-srv binary}"
: "${OUT_DIR:?zones.sh: set OUT_DIR to a results folder}"
: "${DURATION:=10}" "${REPS:=3}" "${RECORDS:=100000}" "${SECONDARY_WRITES:=20}"
: "${UPDATE_CLIENTS:=4}" "${UPDATE_OUTSTANDING:=4}"
UPDATE_SERVERS=(acme-srv knot bind)   # acme-srv first: it makes the key the others share
XFR_SERVERS=(acme-srv knot nsd bind)
UPDATE_NAMES=10000      # distinct TXT owners in the update file (dnsperf loops over it)
UPDATE_LAG=100          # an owner is deleted this many messages after it was added
STRACE_UPDATES=100      # adds (and as many deletes) in the fsync-counting run
LOAD_DEADLINE=120       # seconds a server may take to answer from its zone
XFR_DEADLINE=300        # seconds one transfer may take
VISIBLE_DEADLINE=10     # seconds a write may take to reach a secondary
POLL_MS=5               # how often the secondaries are asked
WRITE_GAP_MS=1000       # writes to a primary are 1 to 2 times this apart (random, fixed seed)
ZONE=bench.test
token="bench-admin-token"
UPD_KEY_NAME="upd.$ZONE"   # the UPDATE key (made by acme-srv, shared with Knot and BIND)
XFR_KEY_NAME="xfr.$ZONE"   # the transfer/NOTIFY key (and Knot's and BIND's update key in 2, 3)

die() { echo "zones.sh: $*" >&2; exit 1; }
say() { echo "zones.sh: $*" >&2; }
trap 'echo "zones.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

[ -x "$BIN" ] || die "BIN=$BIN is not an executable"
case $DURATION$REPS$RECORDS$SECONDARY_WRITES$UPDATE_CLIENTS$UPDATE_OUTSTANDING in
    *[!0-9]*) die "DURATION, REPS, RECORDS, SECONDARY_WRITES, UPDATE_CLIENTS and UPDATE_OUTSTANDING must be whole numbers" ;;
esac
[ "$REPS" -ge 1 ] && [ "$DURATION" -ge 1 ] && [ "$RECORDS" -ge 10 ] && [ "$SECONDARY_WRITES" -ge 1 ] \
    && [ "$UPDATE_CLIENTS" -ge 1 ] && [ "$UPDATE_OUTSTANDING" -ge 1 ] \
    || die "need REPS >= 1, DURATION >= 1, RECORDS >= 10, SECONDARY_WRITES >= 1, UPDATE_CLIENTS and UPDATE_OUTSTANDING >= 1"
for tool in knotd:knot nsd:nsd named:bind9 dnsperf:dnsperf dig:bind9-dnsutils nsupdate:bind9-dnsutils \
    curl:curl python3:python3 taskset:util-linux; do
    command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} not found (apt-get install ${tool#*:})"
done
have_strace=0
command -v strace >/dev/null && have_strace=1
BIN=$(readlink -f "$BIN")
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
work="$OUT_DIR/zones"
rm -rf "$work"
mkdir -p "$work/logs" "$work/configs"
# Server state (stores, journals) lives under /tmp, on the machine's disk unless /tmp is
# a tmpfs (the report says which): an fsync there is a real one.
tmp=$(mktemp -d /tmp/bench-zones.XXXXXX)
trap 'cleanup_bench; rm -rf "$tmp"' EXIT
rm -f "$OUT_DIR/zones.md" "$OUT_DIR/zones.tsv"
: > "$work/runs.tsv"
state_fs=$(df --output=fstype "$tmp" | tail -1)
uptime_before=$(uptime)
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
XFR_SECRET=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

# ---------------------------------------------------------------------------------------
# Zones and input files, generated once.

# The small zone of parts 1 and 3.
small_zone="$work/small.zone"
cat > "$small_zone" <<EOF
\$ORIGIN $ZONE.
\$TTL 3600
@ IN SOA ns1.$ZONE. hostmaster.$ZONE. 1 3600 600 604800 60
@ IN NS ns1.$ZONE.
ns1 IN A 127.0.0.1
EOF

# The large zone of part 2: dns.sh's zone (RECORDS SRV records, a TXT for every 10th
# name, 100 A records, SOA, NS and glue).
zone="$work/large.zone"
awk -v n="$RECORDS" -v z="$ZONE" 'BEGIN {
    print "$ORIGIN " z "."
    print "$TTL 3600"
    print "@ IN SOA ns1." z ". hostmaster." z ". 1 3600 600 604800 60"
    print "@ IN NS ns1." z "."
    print "ns1 IN A 127.0.0.1"
    for (c = 0; c < 100; c++) printf "client%d 300 IN A 10.0.0.%d\n", c, c + 1
    for (i = 0; i < n; i++) {
        printf "_acme-challenge._tcp.n%d." z ". 300 IN SRV 10 5 8080 client%d." z ".\n", i, i % 100
        if (i % 10 == 0) printf "_acme-challenge.n%d." z ". 300 IN TXT \"token-%d\"\n", i, i
    }
}' > "$zone"
zone_rrs=$(( $(grep -c . "$zone") - 2 ))   # every line but $ORIGIN and $TTL is one record
axfr_rrs=$(( zone_rrs + 1 ))                # an AXFR repeats the SOA at its end

# update_file PREFIX N LAG : update messages: owner <PREFIX><i> gets a TXT record (a
# 43-character token, as ACME's); its delete follows LAG messages later, so the zone stays
# small and an add and its delete are never in flight together. dnsperf starts over at
# the end, when every owner has been deleted. Each run has its own PREFIX, so that no
# update of a run finds the state another run left (an add of a record already there
# changes nothing).
update_file() {
    awk -v p="$1" -v n="$2" -v lag="$3" -v z="$ZONE" 'BEGIN {
        for (i = 0; i < n + lag; i++) {
            if (i < n) printf "%s\nadd _acme-challenge.%s%d 60 TXT \"tok%040d\"\nsend\n", z, p, i, i
            if (i >= lag) printf "%s\ndelete _acme-challenge.%s%d TXT \"tok%040d\"\nsend\n", z, p, i - lag, i - lag
        }
    }'
}
update_file s "$UPDATE_NAMES" "$UPDATE_LAG" > "$work/updates.seq.input"
update_file c "$UPDATE_NAMES" "$UPDATE_LAG" > "$work/updates.conc.input"
update_file x "$STRACE_UPDATES" 10 > "$work/updates.strace.input"
update_messages=$(grep -c '^send$' "$work/updates.seq.input")

# wait_answer.py PORT QNAME QTYPE DEADLINE PID : polls 127.0.0.1:PORT over UDP (every 10
# ms, each try waiting at most 20 ms) until QNAME QTYPE gets NOERROR with an answer;
# prints the seconds it took. Bounded by DEADLINE seconds; gives up at once if PID has
# exited.
cat > "$work/wait_answer.py" <<'PY'
import socket, struct, sys, time
port, qname, qtype, deadline, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

def alive():
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

q = b"".join(bytes([len(l)]) + l.encode() for l in qname.rstrip(".").split(".")) + b"\0"
t0 = time.time()
ident = 0
while time.time() < t0 + deadline:
    if not alive():
        sys.exit(2)
    ident = (ident + 1) & 0xFFFF
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.02)
    try:
        s.connect(("127.0.0.1", port))
        s.send(struct.pack(">HHHHHH", ident, 0, 1, 0, 0, 0) + q + struct.pack(">HH", qtype, 1))
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

# probe.py NAME VALUE DEADLINE LABEL=PORT,... POLL_MS -- WRITE-COMMAND... : starts the
# write command and, from the same instant, asks every LABEL's server (127.0.0.1:PORT,
# UDP) for TXT NAME every POLL_MS ms until its answer holds VALUE. Prints one line:
# "ack=MS LABEL=MS ..." (milliseconds since the write started; "ack" when the write
# command exited, "timeout" for a server that did not answer within DEADLINE seconds).
# Exits 1 if the write command failed.
cat > "$work/probe.py" <<'PY'
import socket, struct, subprocess, sys, threading, time
sep = sys.argv.index("--")
name, value, deadline, targets = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3]), sys.argv[4]
poll = float(sys.argv[5]) / 1000
cmd = sys.argv[sep + 1:]
q = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
socks = []
for t in targets.split(","):
    label, port = t.split("=")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", int(port)))
    s.settimeout(0.5)
    socks.append((label, s))
seen, ack, ident, exited = {}, None, 0, []
t0 = time.monotonic()
proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
# The write's own end, timed by a thread waiting for it (not at the poller's ticks).
waiter = threading.Thread(target=lambda: (proc.wait(), exited.append(time.monotonic() - t0)), daemon=True)
waiter.start()
tick = t0
while True:
    if ack is None and exited:
        ack = exited[0]
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.read().decode(errors="replace"))
            print("write-failed rc=%d" % proc.returncode)
            sys.exit(1)
    for label, s in socks:
        if label in seen:
            continue
        ident = (ident + 1) & 0xFFFF
        try:
            s.send(struct.pack(">HHHHHH", ident, 0, 1, 0, 0, 0) + q + struct.pack(">HH", 16, 1))
            while True:
                r = s.recv(4096)
                if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == ident:
                    break
        except OSError:
            continue
        flags, an = struct.unpack(">H", r[2:4])[0], struct.unpack(">H", r[6:8])[0]
        if flags & 0xF == 0 and an >= 1 and value in r:
            seen[label] = time.monotonic() - t0
    now = time.monotonic()
    if ack is not None and len(seen) == len(socks):
        break
    if now - t0 > deadline:
        break
    tick += poll
    if tick > now:
        time.sleep(tick - now)
    else:
        tick = now
if ack is None:
    proc.kill()
fmt = lambda v: "timeout" if v is None else "%.1f" % (v * 1000)
print(" ".join(["ack=" + fmt(ack)] + ["%s=%s" % (label, fmt(seen.get(label))) for label, _ in socks]))
PY

# update.py PORT hmac-sha256:NAME:SECRET FILE SECONDS [MESSAGES] : a sequential RFC 2136
# client: sends the messages of FILE (dnsperf's update format, as written above) one at a
# time over UDP, each signed with TSIG (RFC 8945), and waits for each answer (at most 5
# s) before the next, for SECONDS (starting over at the end of FILE) or until it has sent
# MESSAGES. Prints dnsperf's statistics lines, and latency percentiles. (dnsperf itself
# cannot do this: with -q 1 it waits between sending and noticing the answer, so it
# reaches a few dozen updates/s whatever the server.)
cat > "$work/update.py" <<'PY'
import base64, hashlib, hmac, socket, struct, sys, time
port, key, path, duration = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
limit = int(sys.argv[5]) if len(sys.argv) > 5 else 0
alg, kname, secret = key.split(":", 2)
assert alg == "hmac-sha256", alg
secret = base64.b64decode(secret)

def wire(name):
    labels = [l for l in name.rstrip(".").split(".") if l]
    return b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\0"

messages, zone, ops = [], None, []
for line in open(path):
    line = line.strip()
    if not line:
        continue
    if zone is None:
        zone = line
    elif line == "send":
        messages.append((zone, ops))
        zone, ops = None, []
    else:
        words = line.split()
        name = words[1] if words[1].endswith(".") else words[1] + "." + zone
        txt = words[-1].strip('"').encode()
        ops.append((words[0], name, int(words[2]) if words[0] == "add" else 0, txt))

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}

def message(ident, zone, ops):
    body = wire(zone) + struct.pack(">HH", 6, 1)
    for op, name, ttl, txt in ops:
        rdata = bytes([len(txt)]) + txt
        rclass = 1 if op == "add" else 254   # delete one record: class NONE, TTL 0
        body += wire(name) + struct.pack(">HHIH", 16, rclass, ttl, len(rdata)) + rdata
    unsigned = struct.pack(">HHHHHH", ident, 5 << 11, 1, 0, len(ops), 0) + body
    now = int(time.time())
    signed_at = struct.pack(">HIH", now >> 32, now & 0xFFFFFFFF, 300)
    variables = wire(kname.lower()) + struct.pack(">HI", 255, 0) + wire(alg) + signed_at + struct.pack(">HH", 0, 0)
    mac = hmac.new(secret, unsigned + variables, hashlib.sha256).digest()
    rdata = wire(alg) + signed_at + struct.pack(">H", len(mac)) + mac + struct.pack(">HHH", ident, 0, 0)
    tsig = wire(kname) + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
    return unsigned[:10] + struct.pack(">H", 1) + unsigned[12:] + tsig

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
s.settimeout(5)
sent, lost, codes, latencies = 0, 0, {}, []
start = time.monotonic()
while time.monotonic() - start < duration and (limit == 0 or sent < limit):
    zone, ops = messages[sent % len(messages)]
    ident = sent & 0xFFFF
    packet = message(ident, zone, ops)
    t0 = time.monotonic()
    s.send(packet)
    sent += 1
    try:
        while True:
            r = s.recv(65535)
            if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == ident:
                break
    except socket.timeout:
        lost += 1
        continue
    latencies.append(time.monotonic() - t0)
    code = RCODES.get(r[3] & 0xF, str(r[3] & 0xF))
    codes[code] = codes.get(code, 0) + 1
elapsed = time.monotonic() - start
done = len(latencies)
print("  Updates sent:         %d" % sent)
print("  Updates completed:    %d (%.2f%%)" % (done, 100.0 * done / max(sent, 1)))
print("  Updates lost:         %d (%.2f%%)" % (lost, 100.0 * lost / max(sent, 1)))
print("  Response codes:       " + ", ".join("%s %d (%.2f%%)" % (k, v, 100.0 * v / max(done, 1)) for k, v in sorted(codes.items())))
print("  Run time (s):         %.6f" % elapsed)
print("  Updates per second:   %.6f" % (done / elapsed))
if done:
    latencies.sort()
    mean = sum(latencies) / done
    print("  Average Latency (s):  %.6f (min %.6f, max %.6f)" % (mean, latencies[0], latencies[-1]))
    print("  Latency StdDev (s):   %.6f" % ((sum((l - mean) ** 2 for l in latencies) / done) ** 0.5))
    pick = lambda q: latencies[min(done - 1, int(q * done))] * 1000
    print("Latency percentiles (ms): p50 %.2f p99 %.2f max %.2f of %d answers" % (pick(0.5), pick(0.99), latencies[-1] * 1000, done))
PY

# ---------------------------------------------------------------------------------------
# Process helpers (as in dns.sh).

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

# stop_server PID : SIGTERM, bounded wait, SIGKILL (the process and any child it left).
stop_server() {
    local pid=$1 i p tree
    tree=$(tree_pids "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not stop within 10 s of SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for p in $tree; do
        for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    forget_pid "$pid"
}

# ready NAME PID PORT LOG QNAME QTYPE : waits (LOAD_DEADLINE) until the server answers
# QNAME QTYPE; re-pins Knot's threads; checks the pinning. Prints the seconds it took.
ready() {
    local name=$1 pid=$2 port=$3 log=$4 s rc=0
    s=$(taskset -c "$LOAD_CPU" python3 "$work/wait_answer.py" "$port" "$5" "$6" "$LOAD_DEADLINE" "$pid") || rc=$?
    if [ "$rc" != 0 ]; then
        tail -20 "$log" >&2
        die "$name: no answer to $5 (type $6) on 127.0.0.1:$port within ${LOAD_DEADLINE}s (exit $rc; log: $log)"
    fi
    case $name in knot*)
        # Knot pins its workers to cores of its choosing at start: move every thread
        # back, then check that they stayed.
        repin "$pid" "$SERVER_CPU"
        sleep 0.5 ;;
    esac
    check_pinned "$name" "$pid"
    echo "$s"
}

# soa_serial PORT : the zone's SOA serial at 127.0.0.1:PORT (empty if no answer).
soa_serial() {
    { dig +short +norec +time=2 +tries=2 -p "$1" @127.0.0.1 "$ZONE" SOA || true; } | awk 'NR == 1 {print $3}'
}

# wait_serial PORT SERIAL SECONDS : waits until 127.0.0.1:PORT serves SERIAL.
wait_serial() {
    local deadline=$(( $(date +%s) + $3 ))
    until [ "$(soa_serial "$1")" = "$2" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# api METHOD PATH [BODY] : calls acme-srv's API (API_PORT) as admin; fails on non-2xx.
api() {
    curl -sS --max-time 30 --fail-with-body -X "$1" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$API_PORT$2"
}

# make_update_key : `acme-srv tsig-keys create` through the API (API_PORT); sets UPD_KEY
# (hmac-sha256:NAME:SECRET, as it prints on stderr) and UPD_SECRET.
make_update_key() {
    local err="$work/logs/tsig-keys-create.err"
    timeout 30 "$BIN" tsig-keys --api "http://127.0.0.1:$API_PORT" --token "$token" create \
        --name "$UPD_KEY_NAME" --subtree "$ZONE" --type TXT > "$work/logs/tsig-keys-create.out" 2> "$err" \
        || { cat "$err" >&2; die "acme-srv tsig-keys create failed"; }
    UPD_KEY=$(grep -m1 '^hmac-sha256:' "$err" || true)
    [ -n "$UPD_KEY" ] || { cat "$err" >&2; die "acme-srv tsig-keys create printed no hmac-sha256:NAME:SECRET line"; }
    UPD_SECRET=${UPD_KEY#hmac-sha256:"$UPD_KEY_NAME":}
}

# ---------------------------------------------------------------------------------------
# Configurations. Each start_* writes its configuration into DIR (copied to configs/ as
# NAME.TAG), starts the server pinned to SERVER_CPU with output to LOG, and sets
# SERVER_PID.

# start_acme_srv DIR DNS_PORT API_PORT ZONE_FILE EXTRA LOG TAG : acme-srv with one zone
# from ZONE_FILE, the API, and EXTRA (TOML tables of [dns]).
start_acme_srv() {
    local dir=$1 port=$2 api_port=$3 zone_file=$4 extra=$5 log=$6 tag=$7
    cat > "$dir/acme-srv.toml" <<EOF
[dns]
listen = ["127.0.0.1:$port"]

[[dns.zones]]
origin = "$ZONE"
zone_file = "$zone_file"
$extra
[api]
listen = "127.0.0.1:$api_port"

[store]
url = "sqlite://$dir/acme-srv.sqlite"
EOF
    cp "$dir/acme-srv.toml" "$work/configs/acme-srv.$tag.toml"
    start_bg "$SERVER_CPU" "$log" env -u RUST_LOG ACME_SRV_ADMIN_TOKEN="$token" "$BIN" serve --config "$dir/acme-srv.toml"
    SERVER_PID=$BENCH_LAST_PID
}

# start_knot DIR PORT BODY LOG TAG : knotd with one UDP, TCP and background worker, its
# journal in robust mode (each commit synced to disk; Knot's default, written out), and
# BODY (key, remote, acl, zone sections).
start_knot() {
    local dir=$1 port=$2 body=$3 log=$4 tag=$5
    cat > "$dir/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: "$dir"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

database:
    storage: "$dir"
    journal-db-mode: robust

log:
  - target: stderr
    any: info

$body
EOF
    cp "$dir/knot.conf" "$work/configs/knot.$tag.conf"
    start_bg "$SERVER_CPU" "$log" knotd -c "$dir/knot.conf"
    SERVER_PID=$BENCH_LAST_PID
}

# start_bind DIR PORT BODY LOG TAG : named with one worker thread and BODY (key and zone
# statements); `notify no` unless the zone says otherwise.
start_bind() {
    local dir=$1 port=$2 body=$3 log=$4 tag=$5
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
    check-integrity no;
};
controls { };
$body
EOF
    cp "$dir/named.conf" "$work/configs/named.$tag.conf"
    start_bg "$SERVER_CPU" "$log" named -g -n 1 -c "$dir/named.conf"
    SERVER_PID=$BENCH_LAST_PID
}

# start_nsd DIR PORT LOG TAG : nsd serving the large zone, transfers allowed to loopback.
start_nsd() {
    local dir=$1 port=$2 log=$3 tag=$4
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
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0

remote-control:
    control-enable: no

zone:
    name: $ZONE
    zonefile: "$zone"
    provide-xfr: 127.0.0.1 NOKEY
EOF
    cp "$dir/nsd.conf" "$work/configs/nsd.$tag.conf"
    start_bg "$SERVER_CPU" "$log" nsd -d -c "$dir/nsd.conf"
    SERVER_PID=$BENCH_LAST_PID
}

knot_key() { printf 'key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n' "$1" "$2"; }
bind_key() { printf 'key "%s" { algorithm hmac-sha256; secret "%s"; };\n' "$1" "$2"; }

# ---------------------------------------------------------------------------------------
# 1. UPDATE/s.

# start_update SERVER DIR PORT LOG : SERVER with the small zone, taking updates signed
# with the UPDATE key (acme-srv makes it after its start). Sets SERVER_PID (and API_PORT).
start_update() {
    local server=$1 dir=$2 port=$3 log=$4
    case $server in
        acme-srv)
            API_PORT=$(free_port)
            start_acme_srv "$dir" "$port" "$API_PORT" "$small_zone" "" "$log" update ;;
        knot)
            cp "$small_zone" "$dir/$ZONE.zone"
            # zonefile-sync -1: the journal, not the zone file, holds the changes (the
            # file is not rewritten after each update, as Knot's default 0 would).
            start_knot "$dir" "$port" "$(knot_key "$UPD_KEY_NAME" "$UPD_SECRET")

acl:
  - id: update
    key: $UPD_KEY_NAME
    action: update

zone:
  - domain: $ZONE
    file: \"$dir/$ZONE.zone\"
    journal-content: changes
    zonefile-sync: -1
    acl: update" "$log" update ;;
        bind)
            cp "$small_zone" "$dir/$ZONE.zone"
            start_bind "$dir" "$port" "$(bind_key "$UPD_KEY_NAME" "$UPD_SECRET")
zone \"$ZONE\" {
    type primary;
    file \"$dir/$ZONE.zone\";
    allow-update { key \"$UPD_KEY_NAME\"; };
};" "$log" update ;;
    esac
}

# run_updates SERVER REP LEVEL CLIENTS OUTSTANDING PORT PID : one run, by update.py
# (LEVEL seq) or dnsperf -u (conc); appends its figures to runs.tsv. dnsperf's latency
# percentiles come from its -v lines (one per answer), counted into 10 µs buckets as they
# arrive (nothing per answer is kept).
run_updates() {
    local server=$1 rep=$2 level=$3 clients=$4 outstanding=$5 port=$6 spid=$7
    local log="$work/logs/updates.$server.$level.$rep.log" pid rc=0 b="update_$level"
    local hz s0 s1 l0 l1 w0 w1 serial0 serial1
    hz=$(getconf CLK_TCK)
    serial0=$(soa_serial "$port")
    s0=$(cpu_ticks "$spid") l0=$(core_ticks "$LOAD_CPU") w0=$(date +%s.%N)
    if [ "$level" = seq ]; then
        start_bg "$LOAD_CPU" "$log" timeout -k 5 $(( DURATION + 30 )) \
            python3 "$work/update.py" "$port" "$UPD_KEY" "$work/updates.seq.input" "$DURATION"
    else
    start_bg "$LOAD_CPU" "$log" timeout -k 5 $(( DURATION + 30 )) bash -c '
        set -o pipefail
        dnsperf -u -s 127.0.0.1 -p "$1" -d "$2" -l "$3" -c "$4" -q "$5" -t 5 -y "$6" -v 2>&1 | awk "
            /^> / { if (\$NF ~ /^[0-9.]+\$/) { h[int(\$NF * 100000)]++; n++; if (\$NF + 0 > mx) mx = \$NF + 0 }; next }
            { print }
            END {
                if (n == 0) exit
                c = 0; p50 = \"\"; p99 = \"\"
                for (k = 0; k <= int(mx * 100000); k++) {
                    c += h[k]
                    if (p50 == \"\" && c >= 0.50 * n) p50 = k
                    if (p99 == \"\" && c >= 0.99 * n) p99 = k
                }
                printf \"Latency percentiles (ms): p50 %.2f p99 %.2f max %.2f of %d answers\n\", (p50 + 0.5) / 100, (p99 + 0.5) / 100, mx * 1000, n
            }"' dnsperf-u "$port" "$work/updates.$level.input" "$DURATION" "$clients" "$outstanding" "$UPD_KEY"
    fi
    pid=$BENCH_LAST_PID
    wait "$pid" || rc=$?
    forget_pid "$pid"
    s1=$(cpu_ticks "$spid") l1=$(core_ticks "$LOAD_CPU") w1=$(date +%s.%N)
    serial1=$(soa_serial "$port")
    awk -v b="$b" -v s="$server" -v r="$rep" -v hz="$hz" -v s0="$s0" -v s1="$s1" \
        -v l0="$l0" -v l1="$l1" -v w0="$w0" -v w1="$w1" -v z0="$serial0" -v z1="$serial1" 'BEGIN {
        split(l0, a, " "); split(l1, c, " ")
        printf "%s\t%s\t%s\tserver_cpu_pct\t%.0f\n", b, s, r, 100 * (s1 - s0) / hz / (w1 - w0)
        printf "%s\t%s\t%s\tload_core_busy_pct\t%.0f\n", b, s, r, (c[2] > a[2]) ? 100 * (c[1] - a[1]) / (c[2] - a[2]) : 0
        if (z0 != "" && z1 != "") printf "%s\t%s\t%s\tserial_delta\t%d\n", b, s, r, z1 - z0
    }' >> "$work/runs.tsv"
    [ "$rc" = 0 ] || { tail -20 "$log" >&2; die "$server: the $level UPDATE run exited with status $rc (log: $log)"; }
    awk -v b="$b" -v s="$server" -v r="$rep" '
        function row(m, v) { printf "%s\t%s\t%s\t%s\t%s\n", b, s, r, m, v }
        /Updates sent:/ { row("sent", $3) }
        /Updates completed:/ { row("completed", $3) }
        /Updates lost:/ { row("lost", $3) }
        /Response codes:/ { sub(/.*Response codes: */, ""); gsub(/,/, ""); for (i = 1; i < NF; i += 3) row("rcode_" $i, $(i + 1)) }
        /Updates per second:/ { row("ups", $4) }
        /Average Latency \(s\):/ { row("avg_latency_ms", $4 * 1e3) }
        /Latency percentiles/ { row("p50_ms", $5); row("p99_ms", $7); row("max_ms", $9) }
    ' "$log" >> "$work/runs.tsv"
    grep -q "Updates per second:" "$log" || { tail -20 "$log" >&2; die "$server: no statistics in the $level run's output ($log)"; }
}

# count_syncs SERVER PORT PID : strace on the server (every thread) while dnsperf sends
# STRACE_UPDATES adds and as many deletes, one at a time; appends fsync-class calls per
# update to runs.tsv. Not timed (strace slows the server).
count_syncs() {
    local server=$1 port=$2 spid=$3 out="$work/logs/strace.$1.txt" log="$work/logs/update.$1.strace.log"
    local strace_pid n p t attached=0 targets=()
    for p in $(tree_pids "$spid"); do targets+=(-p "$p"); done
    start_bg "$LOAD_CPU" "$work/logs/strace.$server.log" strace -f -c -o "$out" \
        -e trace=fsync,fdatasync,msync,sync_file_range,sync,syncfs "${targets[@]}"
    strace_pid=$BENCH_LAST_PID
    # strace says "Process N attached with M threads" once per process it has attached
    # to, every thread included.
    for t in $(seq 100); do
        n=$(grep -c "attached" "$work/logs/strace.$server.log" 2>/dev/null || true)
        [ "${n:-0}" -lt $(( ${#targets[@]} / 2 )) ] || { attached=1; break; }
        sleep 0.1
    done
    sleep 0.5
    n=$(grep -c '^send$' "$work/updates.strace.input")
    taskset -c "$LOAD_CPU" timeout -k 5 120 python3 "$work/update.py" "$port" "$UPD_KEY" "$work/updates.strace.input" 100 "$n" \
        > "$log" 2>&1 || true
    sleep 0.5
    kill -INT "$strace_pid" 2>/dev/null || true
    for t in $(seq 50); do kill -0 "$strace_pid" 2>/dev/null || break; sleep 0.1; done
    wait "$strace_pid" 2>/dev/null || true
    forget_pid "$strace_pid"
    if [ "$attached" = 0 ] || ! grep -q "Updates completed:" "$log" || [ ! -s "$out" ]; then
        say "$server: the strace run gave nothing (log: $work/logs/strace.$server.log)"
        return 0
    fi
    awk -v s="$server" -v done_="$(awk '/Updates completed:/ {print $3}' "$log")" '
        $NF ~ /^(fsync|fdatasync|msync|sync_file_range|sync|syncfs)$/ { calls[$NF] = $4 + 0; total += $4 }
        END {
            printf "update_syncs\t%s\t1\tupdates\t%d\n", s, done_
            printf "update_syncs\t%s\t1\tsyncs_per_update\t%.2f\n", s, (done_ > 0) ? total / done_ : 0
            detail = ""
            for (k in calls) detail = detail (detail == "" ? "" : " ") k " " calls[k]
            printf "update_syncs\t%s\t1\tsync_calls\t%s\n", s, (detail == "" ? "none" : detail)
        }' "$out" >> "$work/runs.tsv"
}

say "1. UPDATE/s: $REPS x ${DURATION}s per server and run ($update_messages messages in the update file); servers on CPU $SERVER_CPU, dnsperf on CPU $LOAD_CPU; state on $state_fs"
levels=("seq:1:1" "conc:$UPDATE_CLIENTS:$UPDATE_OUTSTANDING")
for rep in $(seq "$REPS"); do
    for server in "${UPDATE_SERVERS[@]}"; do
        dir="$tmp/update.$server.$rep"
        mkdir -p "$dir"
        port=$(free_port)
        log="$work/logs/$server.update.$rep.log"
        start_update "$server" "$dir" "$port" "$log"
        pid=$SERVER_PID
        ready "$server" "$pid" "$port" "$log" "$ZONE" 6 >/dev/null
        [ "$server" != acme-srv ] || make_update_key
        for level in "${levels[@]}"; do
            IFS=: read -r name clients outstanding <<<"$level"
            run_updates "$server" "$rep" "$name" "$clients" "$outstanding" "$port" "$pid"
            kill -0 "$pid" 2>/dev/null || die "$server: died during the $name UPDATE run (log: $log)"
        done
        check_pinned "$server" "$pid"
        if [ "$rep" = 1 ] && [ "$have_strace" = 1 ]; then count_syncs "$server" "$port" "$pid"; fi
        stop_server "$pid"
        rm -rf "$dir"
        say "  rep $rep $(printf '%-8s' "$server") $(for level in "${levels[@]}"; do n=${level%%:*}
            awk -F'\t' -v b="update_$n" -v s="$server" -v r="$rep" -v n="$n" '$1 == b && $2 == s && $3 == r && $4 ~ /^(ups|p50_ms|p99_ms|rcode_NOERROR|sent)$/ {v[$4] = $5}
                END { printf "%s: %.0f updates/s, p50 %s ms, p99 %s ms, NOERROR %s of %s  ", n, v["ups"], v["p50_ms"], v["p99_ms"], v["rcode_NOERROR"], v["sent"] }' "$work/runs.tsv"; done)"
    done
done

# ---------------------------------------------------------------------------------------
# 2. AXFR and IXFR.

# start_xfr SERVER DIR PORT LOG : SERVER with the large zone, transfers allowed to
# loopback without a key, updates allowed with the transfer key (Knot, BIND; acme-srv
# takes its change through the API). Sets SERVER_PID (and API_PORT for acme-srv).
start_xfr() {
    local server=$1 dir=$2 port=$3 log=$4
    case $server in
        acme-srv)
            API_PORT=$(free_port)
            start_acme_srv "$dir" "$port" "$API_PORT" "$zone" '
[dns.transfers]
allow_networks = ["127.0.0.0/8"]
' "$log" xfr ;;
        knot)
            start_knot "$dir" "$port" "$(knot_key "$XFR_KEY_NAME" "$XFR_SECRET")

acl:
  - id: transfer
    address: 127.0.0.0/8
    action: transfer
  - id: update
    key: $XFR_KEY_NAME
    action: update

zone:
  - domain: $ZONE
    file: \"$zone\"
    journal-content: changes
    zonefile-sync: -1
    acl: [transfer, update]" "$log" xfr ;;
        bind)
            cp "$zone" "$dir/$ZONE.zone"
            start_bind "$dir" "$port" "$(bind_key "$XFR_KEY_NAME" "$XFR_SECRET")
zone \"$ZONE\" {
    type primary;
    file \"$dir/$ZONE.zone\";
    allow-transfer { 127.0.0.1; };
    allow-update { key \"$XFR_KEY_NAME\"; };
};" "$log" xfr ;;
        nsd) start_nsd "$dir" "$port" "$log" xfr ;;
    esac
}

# xfr SERVER KIND PORT SPID QTYPE : one timed transfer (dig, on LOAD_CPU, printing only
# its statistics); sets XFR_S, XFR_RECORDS, XFR_MESSAGES, XFR_BYTES, XFR_CPU_S.
xfr() {
    local server=$1 kind=$2 port=$3 spid=$4 qtype=$5 w0 w1 c0 c1 rc=0 log="$work/logs/dig.$1.$2.log"
    c0=$(cpu_ticks "$spid") w0=$(date +%s.%N)
    taskset -c "$LOAD_CPU" timeout -k 5 "$XFR_DEADLINE" dig +tcp +time=60 +tries=1 -p "$port" @127.0.0.1 \
        "$ZONE" "$qtype" +noall +stats > "$tmp/dig.out" 2>&1 || rc=$?
    w1=$(date +%s.%N) c1=$(cpu_ticks "$spid")
    cat "$tmp/dig.out" >> "$log"
    XFR_S=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.4f", b - a }')
    XFR_CPU_S=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
    XFR_RECORDS="" XFR_MESSAGES="" XFR_BYTES=""
    read -r XFR_RECORDS XFR_MESSAGES XFR_BYTES < <(sed -n 's/.*XFR size: \([0-9]*\) records (messages \([0-9]*\), bytes \([0-9]*\)).*/\1 \2 \3/p' "$tmp/dig.out"; echo) || true
    [ "$rc" = 0 ] && [ -n "$XFR_RECORDS" ] || { tail -5 "$log" >&2; die "$server: $qtype failed (dig exit $rc; log: $log)"; }
}

# axfr_digest PORT : sha256 of the zone's records as dig prints them (owner names in
# lower case, without the SOA, whose serial differs between servers, sorted), and their
# count, one per line. Leaves the records in $tmp/axfr.txt. Not timed.
axfr_digest() {
    taskset -c "$LOAD_CPU" timeout -k 5 "$XFR_DEADLINE" dig +tcp +time=60 +tries=1 -p "$1" @127.0.0.1 "$ZONE" AXFR \
        +nocmd +nocomments +nostats +nottlunits \
        | awk '!/^;/ && NF >= 4 && $4 != "SOA" { $1 = tolower($1); print }' | LC_ALL=C sort > "$tmp/axfr.txt"
    sha256sum < "$tmp/axfr.txt" | awk '{print $1}'
    grep -c . "$tmp/axfr.txt" || true
}

say "2. AXFR of $axfr_rrs records ($RECORDS SRV records), $REPS transfers per server; IXFR of one change"
declare -A DIGEST DIGEST_COUNT
ixfr_kind=""
for server in "${XFR_SERVERS[@]}"; do
    dir="$tmp/xfr.$server"
    mkdir -p "$dir"
    port=$(free_port)
    log="$work/logs/$server.xfr.log"
    start_xfr "$server" "$dir" "$port" "$log"
    pid=$SERVER_PID
    load_s=$(ready "$server" "$pid" "$port" "$log" "_acme-challenge._tcp.n$(( RECORDS - 1 )).$ZONE" 33)
    printf 'xfr_load\t%s\t1\tload_s\t%s\n' "$server" "$load_s" >> "$work/runs.tsv"
    { read -r DIGEST[$server]; read -r DIGEST_COUNT[$server]; } < <(axfr_digest "$port")
    if [ "$server" = knot ]; then
        mv "$tmp/axfr.txt" "$tmp/axfr.knot.txt"
    else
        mv "$tmp/axfr.txt" "$tmp/axfr.$server.txt"
    fi
    for rep in $(seq "$REPS"); do
        xfr "$server" axfr "$port" "$pid" AXFR
        printf 'axfr\t%s\t%s\t%s\t%s\n' "$server" "$rep" seconds "$XFR_S" "$server" "$rep" records "$XFR_RECORDS" \
            "$server" "$rep" messages "$XFR_MESSAGES" "$server" "$rep" bytes "$XFR_BYTES" \
            "$server" "$rep" server_cpu_s "$XFR_CPU_S" >> "$work/runs.tsv"
        say "  $(printf '%-8s' "$server") AXFR $rep: $XFR_S s, $XFR_RECORDS records, $XFR_MESSAGES messages, $XFR_BYTES bytes, server CPU $XFR_CPU_S s"
        kill -0 "$pid" 2>/dev/null || die "$server: died during an AXFR (log: $log)"
    done
    if [ "$server" != nsd ]; then
        # One change, then IXFR from the serial before it.
        serial0=$(soa_serial "$port")
        owner="_acme-challenge.ixfr.$ZONE"
        case $server in
            acme-srv) api POST /v1/records "{\"owner\":\"$owner\",\"type\":\"TXT\",\"value\":\"ixfr-probe\",\"ttl\":60}" >/dev/null ;;
            *) printf 'server 127.0.0.1 %s\nzone %s\nupdate add %s 60 TXT "ixfr-probe"\nsend\n' "$port" "$ZONE" "$owner" \
                | timeout 30 nsupdate -t 10 -y "hmac-sha256:$XFR_KEY_NAME:$XFR_SECRET" \
                || die "$server: nsupdate failed (log: $log)" ;;
        esac
        deadline=$(( $(date +%s) + VISIBLE_DEADLINE ))
        until serial1=$(soa_serial "$port"); [ -n "$serial1" ] && [ "$serial1" != "$serial0" ]; do
            [ "$(date +%s)" -lt "$deadline" ] || die "$server: serial still $serial0 ${VISIBLE_DEADLINE}s after the change"
            sleep 0.02
        done
        for rep in $(seq "$REPS"); do
            xfr "$server" ixfr "$port" "$pid" "IXFR=$serial0"
            printf 'ixfr\t%s\t%s\t%s\t%s\n' "$server" "$rep" seconds "$XFR_S" "$server" "$rep" records "$XFR_RECORDS" \
                "$server" "$rep" messages "$XFR_MESSAGES" "$server" "$rep" bytes "$XFR_BYTES" >> "$work/runs.tsv"
        done
        say "  $(printf '%-8s' "$server") IXFR=$serial0 (now $serial1): $XFR_S s, $XFR_RECORDS records, $XFR_BYTES bytes"
        if [ "$server" = acme-srv ]; then
            ixfr_kind=$({ grep -o 'kind=ixfr[a-z-]*' "$log" || true; } | tail -1 | cut -d= -f2)
        fi
    fi
    check_pinned "$server" "$pid"
    stop_server "$pid"
    rm -rf "$dir"
done
# Content differences from Knot's, kept for reading.
for server in "${XFR_SERVERS[@]}"; do
    [ "$server" != knot ] || continue
    if [ "${DIGEST[$server]}" != "${DIGEST[knot]}" ]; then
        diff "$tmp/axfr.knot.txt" "$tmp/axfr.$server.txt" | head -200 > "$work/axfr-diff.knot-$server.txt" || true
        say "  $server: the AXFR content differs from Knot's (first lines of the difference: $work/axfr-diff.knot-$server.txt)"
    fi
done
rm -f "$tmp"/axfr.*.txt

# ---------------------------------------------------------------------------------------
# 3. Write to secondary.

# probes BENCH WRITER TARGETS PRIMARY_PORT : SECONDARY_WRITES writes (WRITER: api or
# nsupdate, signed with PROBE_KEY) of a new TXT record, each timed until every server in
# TARGETS (LABEL=PORT,...) answers it; appends to runs.tsv as BENCH.
probes() {
    local bench=$1 writer=$2 targets=$3 pport=$4 i owner value out kv cmd=()
    for i in $(seq "$SECONDARY_WRITES"); do
        owner="_acme-challenge.w$i.${bench//_/-}.$ZONE"
        value="write-$bench-$i-$(date +%s%N)"
        case $writer in
            api) cmd=(curl -sS --max-time 10 --fail-with-body -o /dev/null -X POST "http://127.0.0.1:$API_PORT/v1/records"
                        -H "Authorization: Bearer $token" -H 'content-type: application/json'
                        -d "{\"owner\":\"$owner\",\"type\":\"TXT\",\"value\":\"$value\",\"ttl\":60}") ;;
            nsupdate)
                printf 'server 127.0.0.1 %s\nzone %s\nupdate add %s 60 TXT "%s"\nsend\n' "$pport" "$ZONE" "$owner" "$value" > "$tmp/nsupdate.txt"
                cmd=(nsupdate -t 5 -y "$PROBE_KEY" "$tmp/nsupdate.txt") ;;
        esac
        out=$(taskset -c "$LOAD_CPU" timeout -k 5 $(( VISIBLE_DEADLINE + 20 )) python3 "$work/probe.py" "$owner" "$value" \
            "$VISIBLE_DEADLINE" "$targets" "$POLL_MS" -- "${cmd[@]}") || die "$bench: write $i failed: $out"
        echo "$bench $i $out" >> "$work/logs/probes.log"
        for kv in $out; do
            printf '%s\t%s\t%s\tms\t%s\n' "$bench" "${kv%%=*}" "$i" "${kv#*=}" >> "$work/runs.tsv"
        done
        # The next write comes 1 to 2 gaps later, when every server is idle again: BIND
        # as a secondary holds back a refresh that follows the last one within 0.5 s.
        sleep "$(awk -v g="$WRITE_GAP_MS" -v r="$RANDOM" 'BEGIN { printf "%.3f", g * (1 + r / 32768) / 1000 }')"
    done
    say "  $bench: $(awk -F'\t' -v b="$bench" '$1 == b && $4 == "ms" { if ($5 == "timeout") t[$2]++; else { s[$2] += $5; n[$2]++ } }
        END { for (k in n) printf "%s mean %.1f ms%s; ", k, s[k] / n[k], (k in t) ? " (" t[k] " timeouts)" : "" }' "$work/runs.tsv")"
}

knot_secondary_body() { # PRIMARY_PORT DIR
    cat <<EOF
$(knot_key "$XFR_KEY_NAME" "$XFR_SECRET")

remote:
  - id: primary
    address: 127.0.0.1@$1
    key: $XFR_KEY_NAME

acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
    key: $XFR_KEY_NAME

zone:
  - domain: $ZONE
    storage: "$2"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: changes
    master: primary
    acl: notify_from_primary
EOF
}
bind_secondary_body() { # PRIMARY_PORT DIR
    cat <<EOF
$(bind_key "$XFR_KEY_NAME" "$XFR_SECRET")
zone "$ZONE" {
    type secondary;
    primaries port $1 { 127.0.0.1 key "$XFR_KEY_NAME"; };
    file "$2/secondary.db";
};
EOF
}

say "3. write to secondary: $SECONDARY_WRITES writes per writer, on the small zone and on the $RECORDS-record one"
RANDOM=1996   # the gaps between writes: the same sequence on every run
declare -A NOTIFY_NO_SERIAL NOTIFY_ALL IXFR_SERVED SNAPSHOT_MS
for zk in small large; do
    zone_file=$([ "$zk" = small ] && echo "$small_zone" || echo "$zone")
    # acme-srv primary, Knot and BIND secondaries.
    p_port=$(free_port) ks_port=$(free_port) bs_port=$(free_port)
    while [ "$ks_port" = "$p_port" ] || [ "$bs_port" = "$p_port" ] || [ "$bs_port" = "$ks_port" ]; do
        ks_port=$(free_port) bs_port=$(free_port)
    done
    mkdir -p "$tmp/sec.acme-srv" "$tmp/sec.knot" "$tmp/sec.bind"
    API_PORT=$(free_port)
    plog="$work/logs/acme-srv.primary.$zk.log"
    start_acme_srv "$tmp/sec.acme-srv" "$p_port" "$API_PORT" "$zone_file" "
[dns.transfers]
allow_keys = [\"$XFR_KEY_NAME\"]
notify = [\"127.0.0.1:$ks_port\", \"127.0.0.1:$bs_port\"]
notify_key = \"$XFR_KEY_NAME\"

[[dns.tsig_keys]]
name = \"$XFR_KEY_NAME\"
algorithm = \"hmac-sha256\"
secret = \"$XFR_SECRET\"
" "$plog" "primary.$zk"
    primary_pid=$SERVER_PID
    ready acme-srv "$primary_pid" "$p_port" "$plog" "$ZONE" 6 >/dev/null
    make_update_key
    serial=$(soa_serial "$p_port")
    start_knot "$tmp/sec.knot" "$ks_port" "$(knot_secondary_body "$p_port" "$tmp/sec.knot")" "$work/logs/knot.secondary.$zk.log" "secondary.$zk"
    knot_pid=$SERVER_PID
    start_bind "$tmp/sec.bind" "$bs_port" "$(bind_secondary_body "$p_port" "$tmp/sec.bind")" "$work/logs/bind.secondary.$zk.log" "secondary.$zk"
    bind_pid=$SERVER_PID
    ready knot-secondary "$knot_pid" "$ks_port" "$work/logs/knot.secondary.$zk.log" "$ZONE" 6 >/dev/null
    ready bind-secondary "$bind_pid" "$bs_port" "$work/logs/bind.secondary.$zk.log" "$ZONE" 6 >/dev/null
    wait_serial "$ks_port" "$serial" 60 || die "the Knot secondary did not reach serial $serial (log: $work/logs/knot.secondary.$zk.log)"
    wait_serial "$bs_port" "$serial" 60 || die "the BIND secondary did not reach serial $serial (log: $work/logs/bind.secondary.$zk.log)"
    sleep 2   # the NOTIFY and refresh of the start-up are over before the first write
    PROBE_KEY=$UPD_KEY
    probes "acme_api_$zk" api "primary=$p_port,knot=$ks_port,bind=$bs_port" "$p_port"
    probes "acme_rfc2136_$zk" nsupdate "primary=$p_port,knot=$ks_port,bind=$bs_port" "$p_port"
    for p in "$primary_pid:acme-srv" "$knot_pid:knot-secondary" "$bind_pid:bind-secondary"; do
        kill -0 "${p%%:*}" 2>/dev/null || die "${p#*:} died during the writes"
        check_pinned "${p#*:}" "${p%%:*}"
    done
    IXFR_SERVED[$zk]=$(grep -c 'kind=ixfr-incremental' "$plog" || true)
    # How long acme-srv took to rebuild its snapshot after a write (its log's took_ms).
    SNAPSHOT_MS[$zk]=$(median $(grep 'DNS snapshot built.*changed_owners' "$plog" | grep -o 'took_ms=[0-9]*' | cut -d= -f2; echo))
    # Whether the NOTIFY messages carried the new SOA serial (RFC 1996 lets a primary leave
    # it out; the secondary then asks the primary for the SOA before it transfers).
    NOTIFY_NO_SERIAL[$zk]=$(grep -c 'notify from .*: no serial' "$work/logs/bind.secondary.$zk.log" || true)
    NOTIFY_ALL[$zk]=$(grep -c 'notify from ' "$work/logs/bind.secondary.$zk.log" || true)
    stop_server "$bind_pid"; stop_server "$knot_pid"; stop_server "$primary_pid"
    rm -rf "$tmp/sec.acme-srv" "$tmp/sec.knot" "$tmp/sec.bind"

    # Knot primary (its journal holds the changes; the zone file is only read), BIND
    # secondary.
    kp_port=$(free_port) bs_port=$(free_port)
    while [ "$bs_port" = "$kp_port" ]; do bs_port=$(free_port); done
    mkdir -p "$tmp/sec.knotp" "$tmp/sec.bind2"
    start_knot "$tmp/sec.knotp" "$kp_port" "$(knot_key "$XFR_KEY_NAME" "$XFR_SECRET")

remote:
  - id: bind_secondary
    address: 127.0.0.1@$bs_port
    key: $XFR_KEY_NAME

acl:
  - id: transfer_update
    key: $XFR_KEY_NAME
    action: [transfer, update]

zone:
  - domain: $ZONE
    file: \"$zone_file\"
    journal-content: changes
    zonefile-sync: -1
    notify: bind_secondary
    acl: transfer_update" "$work/logs/knot.primary.$zk.log" "primary.$zk"
    knotp_pid=$SERVER_PID
    ready knot-primary "$knotp_pid" "$kp_port" "$work/logs/knot.primary.$zk.log" "$ZONE" 6 >/dev/null
    serial=$(soa_serial "$kp_port")
    start_bind "$tmp/sec.bind2" "$bs_port" "$(bind_secondary_body "$kp_port" "$tmp/sec.bind2")" "$work/logs/bind.secondary-of-knot.$zk.log" "secondary-of-knot.$zk"
    bind_pid=$SERVER_PID
    ready bind-secondary "$bind_pid" "$bs_port" "$work/logs/bind.secondary-of-knot.$zk.log" "$ZONE" 6 >/dev/null
    wait_serial "$bs_port" "$serial" 60 || die "the BIND secondary of Knot did not reach serial $serial"
    sleep 2
    PROBE_KEY="hmac-sha256:$XFR_KEY_NAME:$XFR_SECRET"
    probes "knot_rfc2136_$zk" nsupdate "primary=$kp_port,bind=$bs_port" "$kp_port"
    for p in "$knotp_pid:knot-primary" "$bind_pid:bind-secondary"; do
        kill -0 "${p%%:*}" 2>/dev/null || die "${p#*:} died during the writes"
        check_pinned "${p#*:}" "${p%%:*}"
    done
    stop_server "$bind_pid"; stop_server "$knotp_pid"
    rm -rf "$tmp/sec.knotp" "$tmp/sec.bind2"
done
uptime_after=$(uptime)
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# Medians, ratios, report.

# med BENCH SERVER METRIC : the median over the repetitions (0 when absent, e.g. an
# rcode; "timeout" values left out).
med() {
    local vals
    vals=$(awk -F'\t' -v b="$1" -v s="$2" -v m="$3" '$1 == b && $2 == s && $4 == m && $5 != "timeout" {print $5}' "$work/runs.tsv")
    if [ -z "$vals" ]; then echo 0; else median $vals; fi
}
# maxv BENCH SERVER METRIC : the largest value (timeouts left out).
maxv() {
    awk -F'\t' -v b="$1" -v s="$2" -v m="$3" '$1 == b && $2 == s && $4 == m && $5 != "timeout" { if (n++ == 0 || $5 + 0 > x) x = $5 + 0 } END { print n ? x : 0 }' "$work/runs.tsv"
}
# count BENCH SERVER METRIC VALUE : how many rows have VALUE.
count() {
    awk -F'\t' -v b="$1" -v s="$2" -v m="$3" -v v="$4" '$1 == b && $2 == s && $4 == m && $5 == v { n++ } END { print n + 0 }' "$work/runs.tsv"
}
# all BENCH SERVER METRIC FORMAT : every repetition's value, comma-separated.
all() {
    awk -F'\t' -v b="$1" -v s="$2" -v m="$3" -v f="$4" '$1 == b && $2 == s && $4 == m {printf "%s%s", (n++ ? ", " : ""), ($5 == "timeout" ? $5 : sprintf(f, $5))}' "$work/runs.tsv"
}
# sum BENCH SERVER METRIC : the sum over the repetitions.
sum() {
    awk -F'\t' -v b="$1" -v s="$2" -v m="$3" '$1 == b && $2 == s && $4 == m { t += $5 } END { print t + 0 }' "$work/runs.tsv"
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }

declare -A M ERRS NAME=([acme-srv]=acme-srv [knot]=Knot [nsd]=NSD [bind]=BIND)
: > "$OUT_DIR/zones.tsv"
tsv() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$OUT_DIR/zones.tsv"; }

# UPDATE: a run is clean when every update sent got NOERROR; a server with any unclean
# run reports its errors instead of a rate.
for level in seq conc; do
    b="update_$level"
    for s in "${UPDATE_SERVERS[@]}"; do
        for m in ups p50_ms p99_ms max_ms avg_latency_ms server_cpu_pct load_core_busy_pct serial_delta sent lost rcode_NOERROR; do
            M[$b,$s,$m]=$(med "$b" "$s" "$m")
        done
        not_ok=$(( $(sum "$b" "$s" sent) - $(sum "$b" "$s" rcode_NOERROR) ))
        ERRS[$b,$s]=""
        if [ "$not_ok" -gt 0 ]; then
            ERRS[$b,$s]="$not_ok of $(sum "$b" "$s" sent) not NOERROR ($(awk -F'\t' -v b="$b" -v s="$s" '
                $1 == b && $2 == s && $4 ~ /^rcode_/ && $4 != "rcode_NOERROR" { t[substr($4, 7)] += $5 }
                $1 == b && $2 == s && $4 == "lost" { t["lost"] += $5 }
                END { for (k in t) if (t[k] > 0) printf "%s%s %d", (n++ ? ", " : ""), k, t[k] }' "$work/runs.tsv"))"
            tsv "$b" "$s" errors "$not_ok"
        else
            for m in ups p50_ms p99_ms max_ms server_cpu_pct serial_delta; do tsv "$b" "$s" "$m" "${M[$b,$s,$m]}"; done
        fi
    done
    for ref in knot bind; do
        if [ -z "${ERRS[$b,acme-srv]}${ERRS[$b,$ref]}" ]; then
            tsv "$b" "acme-srv/$ref" ups_ratio "$(ratio "${M[$b,acme-srv,ups]}" "${M[$b,$ref,ups]}")"
            tsv "$b" "acme-srv/$ref" p50_ms_ratio "$(ratio "${M[$b,acme-srv,p50_ms]}" "${M[$b,$ref,p50_ms]}")"
        fi
    done
done
for s in "${UPDATE_SERVERS[@]}"; do
    v=$(awk -F'\t' -v s="$s" '$1 == "update_syncs" && $2 == s && $4 == "syncs_per_update" {print $5}' "$work/runs.tsv")
    [ -z "$v" ] || tsv update_syncs "$s" syncs_per_update "$v"
done
ups_cell() { # LEVEL SERVER
    if [ -n "${ERRS[update_$1,$2]}" ]; then echo "**errors**: ${ERRS[update_$1,$2]}"; else fmt "${M[update_$1,$2,ups]}" %.0f; fi
}
ratio_cell() { # LEVEL REF METRIC
    if [ -n "${ERRS[update_$1,acme-srv]}${ERRS[update_$1,$2]}" ]; then echo "n/a (errors)"; else ratio "${M[update_$1,acme-srv,$3]}" "${M[update_$1,$2,$3]}"; fi
}

# AXFR, IXFR.
for s in "${XFR_SERVERS[@]}"; do
    for m in seconds records messages bytes server_cpu_s; do M[axfr,$s,$m]=$(med axfr "$s" "$m"); done
    M[axfr,$s,records_per_s]=$(awk -v r="${M[axfr,$s,records]}" -v t="${M[axfr,$s,seconds]}" 'BEGIN { printf "%.0f", (t > 0) ? r / t : 0 }')
    M[xfr_load,$s,load_s]=$(med xfr_load "$s" load_s)
    for m in seconds records_per_s records messages bytes server_cpu_s; do tsv axfr "$s" "$m" "${M[axfr,$s,$m]}"; done
    if [ "$s" != nsd ]; then
        for m in seconds records messages bytes; do M[ixfr,$s,$m]=$(med ixfr "$s" "$m"); tsv ixfr "$s" "$m" "${M[ixfr,$s,$m]}"; done
    fi
done
for ref in knot bind nsd; do
    tsv axfr "acme-srv/$ref" seconds_ratio "$(ratio "${M[axfr,acme-srv,seconds]}" "${M[axfr,$ref,seconds]}")"
    tsv axfr "acme-srv/$ref" bytes_ratio "$(ratio "${M[axfr,acme-srv,bytes]}" "${M[axfr,$ref,bytes]}")"
done
for ref in knot bind; do
    tsv ixfr "acme-srv/$ref" bytes_ratio "$(ratio "${M[ixfr,acme-srv,bytes]}" "${M[ixfr,$ref,bytes]}")"
done
content_cell() { # SERVER
    if [ "$1" = knot ]; then echo "(reference)"
    elif [ "${DIGEST[$1]}" = "${DIGEST[knot]}" ]; then echo "same as Knot's"
    else echo "**differs** (${DIGEST_COUNT[$1]} vs ${DIGEST_COUNT[knot]} records; \`zones/axfr-diff.knot-$1.txt\`)"; fi
}

# Write to secondary.
SEC_ROWS=("acme_api:primary:acme-srv:API (curl):acme-srv itself"
          "acme_api:knot:acme-srv:API (curl):Knot secondary"
          "acme_api:bind:acme-srv:API (curl):BIND secondary"
          "acme_rfc2136:primary:acme-srv:RFC 2136 (nsupdate):acme-srv itself"
          "acme_rfc2136:knot:acme-srv:RFC 2136 (nsupdate):Knot secondary"
          "acme_rfc2136:bind:acme-srv:RFC 2136 (nsupdate):BIND secondary"
          "knot_rfc2136:primary:Knot:RFC 2136 (nsupdate):Knot itself"
          "knot_rfc2136:bind:Knot:RFC 2136 (nsupdate):BIND secondary")
for zk in small large; do
    for row in "${SEC_ROWS[@]}"; do
        IFS=: read -r b t _ _ _ <<<"$row"
        b=${b}_$zk
        M[$b,$t,med]=$(med "$b" "$t" ms) M[$b,$t,max]=$(maxv "$b" "$t" ms) M[$b,$t,timeouts]=$(count "$b" "$t" ms timeout)
        tsv "secondary_$b" "$t" median_ms "${M[$b,$t,med]}"
        tsv "secondary_$b" "$t" max_ms "${M[$b,$t,max]}"
        tsv "secondary_$b" "$t" timeouts "${M[$b,$t,timeouts]}"
    done
    for b in acme_api acme_rfc2136 knot_rfc2136; do
        b=${b}_$zk
        M[$b,ack,med]=$(med "$b" ack ms)
        tsv "secondary_$b" ack median_ms "${M[$b,ack,med]}"
    done
    tsv "secondary_rfc2136_$zk" "acme-srv/knot" bind_median_ms_ratio "$(ratio "${M[acme_rfc2136_$zk,bind,med]}" "${M[knot_rfc2136_$zk,bind,med]}")"
    tsv "secondary_$zk" acme-srv snapshot_rebuild_ms "${SNAPSHOT_MS[$zk]}"
done

first_line() { { "$@" 2>&1 || true; } | awk 'NR == 1'; }
versions="$(first_line "$BIN" --version); $(first_line knotd -V); $(first_line nsd -v); $(first_line named -v); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2; exit}'); $(first_line dig -v)"
{
    echo "## DNS side joining other DNS (tests/bench/zones.sh)"
    echo
    echo "acme-srv as a server that clients update (RFC 2136), that secondaries copy (AXFR, IXFR)"
    echo "and that tells them of changes (NOTIFY), against Knot, BIND and NSD doing the same, on"
    echo "loopback. Servers are pinned to core $SERVER_CPU (Knot's threads re-pinned after start, every"
    echo "thread checked), dnsperf, dig, nsupdate, curl and the pollers to core $LOAD_CPU. Server state"
    echo "(SQLite store, journals) is on a \`$state_fs\` file system, so an fsync is a real one (unless it says \`tmpfs\`)."
    echo "The machine has $(nproc) cores and may be shared with other work: \`uptime\` before:"
    echo "\`${uptime_before# }\`; after: \`${uptime_after# }\`. Figures are medians of $REPS repetitions."
    echo
    echo "### RFC 2136 UPDATE, each answered once durable"
    echo
    echo "Each server starts afresh per repetition with the small zone \`$ZONE\` (SOA, NS, glue) and"
    echo "a TSIG key \`$UPD_KEY_NAME\` (hmac-sha256) allowed to update it: acme-srv's made with"
    echo "\`acme-srv tsig-keys create --name $UPD_KEY_NAME --subtree $ZONE --type TXT\` through its"
    echo "API, Knot and BIND given the same name and secret. Signed updates come from a file of"
    echo "$update_messages messages in dnsperf's format (started over at the end): each adds one TXT"
    echo "\`_acme-challenge.s<i>.$ZONE\` (\`c<i>\` in the concurrent run; a 43-character value, as ACME's) or deletes the one added"
    echo "$UPDATE_LAG messages earlier, so the zone stays near $UPDATE_LAG records and a run is half adds,"
    echo "half deletes, each message one change. Two runs of $DURATION s per repetition:"
    echo
    echo "- **sequential**: one client sending the next update when the answer to the last one has"
    echo "  come, as an ACME client does: \`zones/update.py\` (Python, standard library: builds each"
    echo "  UPDATE, signs it with TSIG, sends it over UDP, waits at most 5 s). Not dnsperf: with"
    echo "  \`-c 1 -q 1\` dnsperf 2.10.0 idles between an answer and the next update (when this script was"
    echo "  written, on a 2-core machine: about 60 updates/s at 1.6 ms per update against acme-srv, about"
    echo "  4,000 queries/s at 34 µs against a plain query load), so it measures itself. Exact percentiles."
    echo "- **concurrent**: dnsperf \`-u -c $UPDATE_CLIENTS -q $UPDATE_OUTSTANDING\` ($UPDATE_CLIENTS sockets, at most $UPDATE_OUTSTANDING updates outstanding; kept"
    echo "  modest because every server applies the updates to one zone one after another anyway)."
    echo "  **in flight** is updates/s × mean latency, the concurrency dnsperf really kept up."
    echo "  Percentiles from dnsperf's \`-v\` line per answer, in 10 µs buckets."
    echo
    echo "A run where any update was lost or not answered NOERROR is reported as errors, not as a rate. The serial"
    echo "column shows how many SOA serial increments 100 updates made (a server that applies"
    echo "several queued updates as one change makes fewer)."
    echo
    echo "Durability, as configured:"
    echo
    echo "- **acme-srv**: each UPDATE is one SQLite transaction (WAL, \`synchronous = FULL\`), committed"
    echo "  before the answer is sent."
    echo "- **Knot**: updates go to its journal (LMDB) with \`journal-db-mode: robust\` (its default,"
    echo "  written out in the configuration: each journal transaction is synced to disk);"
    echo "  \`zonefile-sync: -1\`, so the zone file is not rewritten after each update (Knot's default"
    echo "  \`0\` would; the journal is what makes the change durable). Knot applies the updates"
    echo "  waiting in its queue together, as one change and one journal commit."
    echo "- **BIND**: each update is written to the zone's journal (\`$ZONE.zone.jnl\`) before the"
    echo "  answer; 9.18 syncs the journal when it commits a transaction."
    if grep -q $'^update_syncs\t' "$work/runs.tsv"; then
        echo "- Measured: \`strace -f -c\` on the server during a separate sequential run of"
        echo "  $(( STRACE_UPDATES * 2 )) updates (not timed) counts the calls that force data to disk:"
        for s in "${UPDATE_SERVERS[@]}"; do
            v=$(awk -F'\t' -v s="$s" '$1 == "update_syncs" && $2 == s && $4 == "syncs_per_update" {print $5}' "$work/runs.tsv")
            d=$(awk -F'\t' -v s="$s" '$1 == "update_syncs" && $2 == s && $4 == "sync_calls" {print $5}' "$work/runs.tsv")
            u=$(awk -F'\t' -v s="$s" '$1 == "update_syncs" && $2 == s && $4 == "updates" {print $5}' "$work/runs.tsv")
            [ -z "$v" ] || echo "  ${NAME[$s]} **$v per update** ($d, over $u updates);"
        done
    fi
    echo
    echo "| server | run | updates/s | p50 ms | p99 ms | max ms | mean ms | in flight | serial increments per 100 updates | server CPU % | server CPU µs per update | load core busy % |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for level in seq conc; do
        label=$([ "$level" = seq ] && echo "sequential" || echo "concurrent ($UPDATE_CLIENTS × $UPDATE_OUTSTANDING)")
        b="update_$level"
        for s in "${UPDATE_SERVERS[@]}"; do
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$s]}" "$label" "$(ups_cell "$level" "$s")" \
                "$(fmt "${M[$b,$s,p50_ms]}" %.2f)" "$(fmt "${M[$b,$s,p99_ms]}" %.2f)" "$(fmt "${M[$b,$s,max_ms]}" %.1f)" \
                "$(fmt "${M[$b,$s,avg_latency_ms]}" %.2f)" \
                "$(awk -v u="${M[$b,$s,ups]}" -v l="${M[$b,$s,avg_latency_ms]}" 'BEGIN { printf "%.2f", u * l / 1000 }')" \
                "$(awk -v d="${M[$b,$s,serial_delta]}" -v n="${M[$b,$s,sent]}" 'BEGIN { printf "%.0f", (n > 0) ? 100 * d / n : 0 }')" \
                "${M[$b,$s,server_cpu_pct]}" \
                "$(awk -v c="${M[$b,$s,server_cpu_pct]}" -v u="${M[$b,$s,ups]}" 'BEGIN { printf "%.0f", (u > 0) ? c * 10000 / u : 0 }')" \
                "${M[$b,$s,load_core_busy_pct]}"
        done
    done
    echo
    knot_batches=$(cat "$work"/logs/knot.update.*.log | awk '
        /DDNS, processing [0-9]+ updates/ { for (i = 1; i < NF; i++) if ($i == "processing") { u += $(i + 1); n++ } }
        /DDNS, finished, serial/ { d[$(NF - 1)]++; m++ }
        END { if (n == 0) exit; c = 0; for (k = 0; k <= 10; k += 0.01) { c += d[sprintf("%.2f", k)]; if (c >= m / 2) { med = k; break } }
              printf "%d batches, %.2f updates per batch, median %.2f s per batch", n, u / n, med }')
    [ -z "$knot_batches" ] || { echo "Knot's own log (\"DDNS, processing N updates\", \"DDNS, finished, … X seconds\", 10 ms resolution), all runs: $knot_batches."; echo; }
    echo "Ratios, acme-srv / reference (updates/s: higher is better for acme-srv; p50: lower is better):"
    echo
    echo "| ratio | sequential updates/s | sequential p50 | concurrent updates/s | concurrent p50 |"
    echo "|---|---:|---:|---:|---:|"
    for ref in knot bind; do
        echo "| acme-srv / ${NAME[$ref]} | $(ratio_cell seq "$ref" ups) | $(ratio_cell seq "$ref" p50_ms) | $(ratio_cell conc "$ref" ups) | $(ratio_cell conc "$ref" p50_ms) |"
    done
    echo
    echo "Every run (updates/s, sequential | concurrent):"
    echo
    for s in "${UPDATE_SERVERS[@]}"; do
        echo "- ${NAME[$s]}: $(all update_seq "$s" ups %.0f) | $(all update_conc "$s" ups %.0f)"
    done
    echo
    echo "### AXFR of $axfr_rrs records, IXFR of one change"
    echo
    echo "dns.sh's zone file (\`$ZONE\` with $RECORDS SRV records, a TXT for every 10th name, 100 A"
    echo "records, SOA, NS and glue: $zone_rrs records) served by each server, started once, transfers"
    echo "allowed from loopback without a key (acme-srv: \`zone_file\` of a \`[[dns.zones]]\`,"
    echo "\`[dns.transfers] allow_networks = [\"127.0.0.0/8\"]\`; Knot: an \`action: transfer\` ACL; BIND:"
    echo "\`allow-transfer\`; NSD: \`provide-xfr: 127.0.0.1 NOKEY\`). One untimed transfer first: its records,"
    echo "SOA left out (the serials differ), sorted, are compared with Knot's. Then dig transfers the"
    echo "zone $REPS times over TCP, printing only its statistics (\`+noall +stats\`: dig parses every"
    echo "message but formats nothing); **seconds** is dig's run from start to exit, **server CPU** the"
    echo "server's CPU time meanwhile, **load s** the time from start until it answered the zone's last"
    echo "SRV record. **records** counts the SOA twice, as an AXFR sends it."
    echo
    echo "| server | load s | seconds | records/s | records | messages | bytes | bytes/record | server CPU s | content |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for s in "${XFR_SERVERS[@]}"; do
        printf '| %s | %s | %s | %s | %s%s | %s | %s | %s | %s | %s |\n' "${NAME[$s]}" "$(fmt "${M[xfr_load,$s,load_s]}" %.2f)" \
            "$(fmt "${M[axfr,$s,seconds]}" %.3f)" "${M[axfr,$s,records_per_s]}" "${M[axfr,$s,records]}" \
            "$([ "${M[axfr,$s,records]}" = "$axfr_rrs" ] || echo " (**expected $axfr_rrs**)")" "${M[axfr,$s,messages]}" \
            "${M[axfr,$s,bytes]}" "$(awk -v b="${M[axfr,$s,bytes]}" -v r="${M[axfr,$s,records]}" 'BEGIN { printf "%.1f", (r > 0) ? b / r : 0 }')" \
            "${M[axfr,$s,server_cpu_s]}" "$(content_cell "$s")"
    done
    echo
    echo "| ratio | AXFR seconds | AXFR bytes |"
    echo "|---|---:|---:|"
    for ref in knot bind nsd; do
        echo "| acme-srv / ${NAME[$ref]} | $(ratio "${M[axfr,acme-srv,seconds]}" "${M[axfr,$ref,seconds]}") | $(ratio "${M[axfr,acme-srv,bytes]}" "${M[axfr,$ref,bytes]}") |"
    done
    echo
    echo "Every AXFR (seconds):"
    echo
    for s in "${XFR_SERVERS[@]}"; do echo "- ${NAME[$s]}: $(all axfr "$s" seconds %.3f)"; done
    echo
    echo "IXFR: after the transfers, one TXT record added (acme-srv: \`POST /v1/records\`; Knot and"
    echo "BIND: nsupdate, signed), then \`dig IXFR=<serial before>\` $REPS times. An incremental answer is"
    echo "5 records (new SOA, old SOA, new SOA, the added record, new SOA); a server that cannot"
    echo "answer incrementally sends the whole zone. NSD takes no updates: not measured."
    echo "acme-srv logged its answer as \`kind=${ixfr_kind:-unknown}\`."
    echo
    echo "| server | ms | records | messages | bytes |"
    echo "|---|---:|---:|---:|---:|"
    for s in acme-srv knot bind; do
        printf '| %s | %s | %s | %s | %s |\n' "${NAME[$s]}" "$(awk -v v="${M[ixfr,$s,seconds]}" 'BEGIN { printf "%.1f", v * 1000 }')" \
            "${M[ixfr,$s,records]}" "${M[ixfr,$s,messages]}" "${M[ixfr,$s,bytes]}"
    done
    echo
    echo "### Write to secondary"
    echo
    echo "acme-srv as primary with \`[dns.transfers] allow_keys\`, \`notify\` to a Knot and"
    echo "a BIND secondary and \`notify_key\` (TSIG \`$XFR_KEY_NAME\`, in \`[[dns.tsig_keys]]\`); the"
    echo "secondaries configured as in docs/dns.md (Knot: \`master\`, a notify ACL with the key; BIND:"
    echo "\`type secondary\`, \`primaries\` with the key). For comparison, Knot as primary (\`notify:\` the"
    echo "BIND secondary, one ACL for transfer and update with the key) and BIND as its secondary. Each"
    echo "twice: with the small zone of the UPDATE runs, and with the $zone_rrs-record zone of the transfers"
    echo "as the primary's zone file (acme-srv: \`zone_file\`, the written records in its store). All"
    echo "servers on core $SERVER_CPU. $SECONDARY_WRITES writes per writer, one after another, $(( WRITE_GAP_MS / 1000 )) to $(( 2 * WRITE_GAP_MS / 1000 )) s apart (uniformly random, a fixed"
    echo "seed), so that every server is idle again when the next write comes (when this script was written,"
    echo "writes less than 0.5 s apart made BIND as a secondary hold some refreshes back until 0.5 s after"
    echo "the previous one), each a new TXT record, by \`curl -X POST /v1/records\` (acme-srv's API) or by \`nsupdate -y\` (RFC 2136, signed)."
    echo "Each is timed from the moment the write command starts until the server answers it: a poller on"
    echo "core $LOAD_CPU asks every server for the name over UDP every $POLL_MS ms (at most ${VISIBLE_DEADLINE} s), so"
    echo "answers are seen up to $POLL_MS ms late (at the poller's ticks). **ack** is when the write command"
    echo "exited (timed exactly: the durable answer, plus starting curl or nsupdate)."
    echo
    echo "| zone | primary | write by | answered by | ack ms (median) | median ms | max ms | timeouts |"
    echo "|---|---|---|---|---:|---:|---:|---:|"
    for zk in small large; do
        label=$([ "$zk" = small ] && echo "small" || echo "$zone_rrs records")
        for row in "${SEC_ROWS[@]}"; do
            IFS=: read -r b t primary writer who <<<"$row"
            b=${b}_$zk
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$primary" "$writer" "$who" "$(fmt "${M[$b,ack,med]}" %.1f)" \
                "$(fmt "${M[$b,$t,med]}" %.1f)" "$(fmt "${M[$b,$t,max]}" %.1f)" "${M[$b,$t,timeouts]}"
        done
    done
    echo
    for zk in small large; do
        label=$([ "$zk" = small ] && echo "Small zone" || echo "Zone of $zone_rrs records")
        echo "$label: same writer (nsupdate), same secondary (BIND), median acme-srv → BIND / Knot → BIND ="
        echo "$(ratio "${M[acme_rfc2136_$zk,bind,med]}" "${M[knot_rfc2136_$zk,bind,med]}"). acme-srv rebuilt its snapshot in a median ${SNAPSHOT_MS[$zk]} ms after a write (its log's"
        echo "\`took_ms\`), served ${IXFR_SERVED[$zk]} incremental IXFRs to its secondaries during its $(( 2 * SECONDARY_WRITES )) writes, and BIND logged"
        echo "\"notify from …: no serial\" for ${NOTIFY_NO_SERIAL[$zk]} of the ${NOTIFY_ALL[$zk]} NOTIFYs from acme-srv, for"
        echo "$(grep -c 'notify from .*: no serial' "$work/logs/bind.secondary-of-knot.$zk.log" || true) of the $(grep -c 'notify from ' "$work/logs/bind.secondary-of-knot.$zk.log" || true) from Knot. The Knot secondary's own log gives a median"
        echo "$(median $(grep -o 'zone updated, [0-9.]* seconds' "$work/logs/knot.secondary.$zk.log" | awk '{print $3}'; echo)) s per refresh (\"refresh, … zone updated, X seconds\")."
        echo
    done
    echo "acme-srv's NOTIFY carries no SOA record (RFC 1996 allows that): the secondary then asks the"
    echo "primary for its SOA before it transfers; Knot's carries the new serial. Knot sends its NOTIFY"
    echo "a second after an update (its DDNS code schedules it with a 1 s delay), which the Knot → BIND rows show."
    echo
    echo "Every write, ms until the BIND secondary answered (acme-srv API | acme-srv nsupdate | Knot nsupdate):"
    echo
    for zk in small large; do
        echo "- $([ "$zk" = small ] && echo "small zone" || echo "$zone_rrs records"): $(all "acme_api_$zk" bind ms %.0f) | $(all "acme_rfc2136_$zk" bind ms %.0f) | $(all "knot_rfc2136_$zk" bind ms %.0f)"
    done
    echo
    echo "Commands (configurations in \`$work/configs\`, logs in \`$work/logs\`):"
    echo
    echo '```sh'
    echo "taskset -c $SERVER_CPU acme-srv serve --config acme-srv.update.toml     # ACME_SRV_ADMIN_TOKEN set"
    echo "acme-srv tsig-keys --api http://127.0.0.1:API --token TOKEN create --name $UPD_KEY_NAME --subtree $ZONE --type TXT"
    echo "taskset -c $SERVER_CPU knotd -c knot.update.conf    # then: taskset -a -cp $SERVER_CPU PID"
    echo "taskset -c $SERVER_CPU named -g -n 1 -c named.update.conf"
    echo "taskset -c $LOAD_CPU python3 update.py PORT hmac-sha256:$UPD_KEY_NAME:SECRET updates.seq.input $DURATION"
    echo "taskset -c $LOAD_CPU dnsperf -u -s 127.0.0.1 -p PORT -d updates.conc.input -l $DURATION -c $UPDATE_CLIENTS -q $UPDATE_OUTSTANDING -t 5 -y hmac-sha256:$UPD_KEY_NAME:SECRET -v"
    [ "$have_strace" = 0 ] || echo "strace -f -c -e trace=fsync,fdatasync,msync,sync_file_range,sync,syncfs -p PID   # during: python3 update.py PORT KEY updates.strace.input 100 $(( STRACE_UPDATES * 2 ))"
    echo "taskset -c $SERVER_CPU acme-srv serve --config acme-srv.xfr.toml   # and knotd -c knot.xfr.conf, named -g -n 1 -c named.xfr.conf, nsd -d -c nsd.xfr.conf"
    echo "taskset -c $LOAD_CPU dig +tcp +time=60 +tries=1 -p PORT @127.0.0.1 $ZONE AXFR +noall +stats"
    echo "taskset -c $LOAD_CPU dig +tcp +time=60 +tries=1 -p PORT @127.0.0.1 $ZONE IXFR=SERIAL +noall +stats"
    echo "taskset -c $SERVER_CPU acme-srv serve --config acme-srv.primary.small.toml   # with knotd -c knot.secondary.small.conf, named -g -n 1 -c named.secondary.small.conf (and .large)"
    echo "taskset -c $SERVER_CPU knotd -c knot.primary.small.conf   # with named -g -n 1 -c named.secondary-of-knot.small.conf (and .large)"
    echo "taskset -c $LOAD_CPU python3 probe.py NAME VALUE $VISIBLE_DEADLINE primary=PORT,knot=PORT,bind=PORT $POLL_MS -- curl -X POST http://127.0.0.1:API/v1/records -H 'Authorization: Bearer TOKEN' -H 'content-type: application/json' -d '{\"owner\":NAME,\"type\":\"TXT\",\"value\":VALUE,\"ttl\":60}'"
    echo "taskset -c $LOAD_CPU python3 probe.py NAME VALUE $VISIBLE_DEADLINE primary=PORT,bind=PORT $POLL_MS -- nsupdate -t 5 -y hmac-sha256:KEY:SECRET nsupdate.txt"
    echo '```'
    echo
    echo "Versions: $versions."
    echo "Load average before / after: $loadavg_before / $loadavg_after."
} > "$OUT_DIR/zones.md"

say "wrote $OUT_DIR/zones.md and $OUT_DIR/zones.tsv"

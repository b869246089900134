#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test run (Debian's `postgresql` package, no
# system service): data and Unix sockets in DIR, owned by `nobody` when run as root
# (initdb and postgres refuse root), listening on 127.0.0.1 on a free port, fsync on,
# trust authentication for the superuser `acme` (loopback only, thrown away after).
#
#   tests/postgres-cluster.sh start DIR   prints the maintenance database's URL,
#                                         postgres://acme@127.0.0.1:PORT/postgres
#   tests/postgres-cluster.sh stop DIR    stops the server and removes DIR
#
# The tests create a fresh database per test in it (ACME_SRV_TEST_POSTGRES_URL, read by
# crates/test-support/src/programs/postgres.rs).
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "postgres-cluster.sh: PostgreSQL not found in /usr/lib/postgresql/*/bin: apt-get install -y postgresql" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import random, socket
for _ in range(200):
    port = random.randrange(10000, 30000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break'
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody: "$dir"
    as_owner "$bin/initdb" --pgdata "$dir/data" --username acme --auth=trust \
        --encoding=UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" start --pgdata "$dir/data" --log "$dir/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=on -c max_connections=300 -c shared_buffers=32MB" \
            >/dev/null; then
            "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30
            echo "postgres://acme@127.0.0.1:$port/postgres"
            exit 0
        fi
    done
    echo "postgres-cluster.sh: the server did not start; its log:" >&2
    cat "$dir/server.log" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" stop --pgdata "$dir/data" -m immediate -w >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac

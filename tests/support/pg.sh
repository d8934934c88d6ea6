#!/usr/bin/env bash
# A throw-away PostgreSQL cluster in a folder of its own.
#
#   pg.sh start DIR [PORT]   initdb (when new) and start; prints the DSN
#   pg.sh stop DIR           stop it (the folder stays)
#   pg.sh kill DIR           stop it as a crash would (immediate: no checkpoint)
#   pg.sh dsn DIR            print the DSN of a started cluster
#   pg.sh replica SRC DIR    a streaming replica of the started cluster SRC
#                            (pg_basebackup -R), started; prints its DSN
#   pg.sh promote DIR        promote a replica to primary (pg_ctl promote)
#
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop|dsn DIR [PORT]}
dir=${2:?usage: pg.sh start|stop|dsn DIR [PORT]}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir/data" -U yardstick --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=${3:-$(free_port)}
    echo "$port" >"$dir/port"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    echo "host=127.0.0.1 port=$port user=yardstick dbname=postgres"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  kill)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    ;;
  replica)
    src=$dir
    dir=${3:?usage: pg.sh replica SRC DIR}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bindir/pg_basebackup" -h 127.0.0.1 -p "$(cat "$src/port")" -U yardstick \
      -D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
      { cat "$dir/basebackup.log" >&2; exit 1; }
    rm -f "$dir/data/postmaster.pid"
    port=$(free_port)
    echo "$port" >"$dir/port"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    echo "host=127.0.0.1 port=$port user=yardstick dbname=postgres"
    ;;
  promote)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null
    ;;
  dsn)
    echo "host=127.0.0.1 port=$(cat "$dir/port") user=yardstick dbname=postgres"
    ;;
  *)
    echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac

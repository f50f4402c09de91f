#!/usr/bin/env bash
# A throwaway PostgreSQL server for Orleans ADO.NET clustering and grain storage in development
# and tests.
#   deploy/postgres/postgres.sh start DIR PORT   new cluster in DIR, listening on 127.0.0.1:PORT,
#                                                database "orleans" with membership.sql, then
#                                                storage.sql applied; prints the connection
#                                                string as the last line
#   deploy/postgres/postgres.sh stop DIR         fast shutdown (DIR is left for the caller)
# Uses Debian's PostgreSQL 15 (installed if missing). Not for real data: no password, trust
# authentication on loopback, fsync off. As root the server runs as the "postgres" OS user.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=/usr/lib/postgresql/15/bin
ready_timeout=${PG_READY_TIMEOUT:-30}   # seconds to wait for the server to accept connections

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# Run a PostgreSQL binary as the server's owner: postgres refuses to run as root.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

ensure_installed() {
  [ -x "$bin/postgres" ] && return 0
  echo "installing postgresql (Debian package)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  [ -x "$bin/postgres" ] || { echo "no $bin/postgres after installing postgresql" >&2; exit 1; }
  # The package starts a system-wide cluster; this script does not need it.
}

start() {
  local dir=$1 port=$2
  [[ $port =~ ^[0-9]+$ ]] || { echo "PORT must be a number: $port" >&2; exit 2; }
  ensure_installed
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local data=$dir/data
  if [ -e "$dir/postmaster.pid" ] || [ -e "$data/postmaster.pid" ]; then
    echo "a server seems to be running in $dir; stop it first" >&2; exit 1
  fi
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"

  if [ ! -s "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # Only unix sockets (in DIR) and IPv4 loopback may connect, and they are trusted.
    as_owner tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# type  database  user  address        method
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
  fi

  # Refuse a port where some PostgreSQL already answers: the checks below would talk to it.
  local state=0
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 || state=$?
  if [ "$state" -le 1 ]; then echo "port $port is already used by another PostgreSQL server" >&2; exit 1; fi

  # Settings on the command line win over postgresql.conf. Durability is traded for speed.
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -s -o "\
    -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=100 -c shared_buffers=32MB" -W start   # 100 connections: four silos at Silo:StoreConnections 20

  # Poll until the server accepts connections, with a deadline.
  # Give up early if the server process has gone away (bad port, port in use, ...).
  local started=$SECONDS deadline=$(( SECONDS + ready_timeout ))
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; do
    if (( SECONDS >= deadline )); then
      echo "postgres on 127.0.0.1:$port not ready after ${ready_timeout}s; log:" >&2
      tail -20 "$dir/server.log" >&2; exit 1
    fi
    if (( SECONDS - started >= 2 )) && ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      echo "postgres exited during start-up; log:" >&2
      tail -20 "$dir/server.log" >&2; exit 1
    fi
    sleep 0.1
  done

  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
  # Make sure the server answering is the one just started in DIR.
  if [ "$("${psql[@]}" -d postgres -tAc "SHOW data_directory")" != "$data" ]; then
    echo "the server on 127.0.0.1:$port is not the one in $data" >&2; exit 1
  fi
  if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'orleans'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE orleans"
  fi
  "${psql[@]}" -d orleans -f "$here/membership.sql"
  "${psql[@]}" -d orleans -f "$here/storage.sql"
  echo "Host=127.0.0.1;Port=$port;Database=orleans;Username=postgres"
}

stop() {
  local dir=$1 data=$1/data
  [ -e "$data/postmaster.pid" ] || { echo "no server running in $dir" >&2; return 0; }
  as_owner "$bin/pg_ctl" -D "$data" -s -m fast -w -t 30 stop
}

case "${1:-}" in
  start) [ $# -eq 3 ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A local multi-process cluster on loopback: a membership store (Redis, or PostgreSQL with
# STORE=postgres), the embedded Kafka in a process of its own, and N silo processes (silo 0 also
# runs the demo traffic).
#   deploy/local/cluster.sh start [N]   start (default 3 silos) and report where each is
#   deploy/local/cluster.sh status      the partition grains, through silo 0's gateway
#   deploy/local/cluster.sh restart I   a graceful restart of silo I (SIGTERM, then started again)
#   deploy/local/cluster.sh stop        stop everything this script started
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
run=${ORLEANS_KAFKA_RUN_DIR:-$root/deploy/local/.run}
redis_port=${REDIS_PORT:-6391}
postgres_port=${POSTGRES_PORT:-6392}
store=${STORE:-redis}
silo_dll=$root/src/Silo/bin/Release/net10.0/OrleansKafka.Silo.dll

wait_for() { # file pattern seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1:"; tail -20 "$1"; return 1
}

start() {
  local n=${1:-3}
  [ -e "$run/kafka.pid" ] && { echo "already running (see $run); stop it first"; exit 1; }
  mkdir -p "$run"
  dotnet build -c Release "$root/src/Silo" -v q -nologo >/dev/null
  local clustering
  if [ "$store" = postgres ]; then
    # A fresh database each start: the script's server lives in $run/postgres.
    rm -rf "$run/postgres"
    connection=$("$root/deploy/postgres/postgres.sh" start "$run/postgres" "$postgres_port" | tail -1)
    clustering=(Silo__Clustering=Postgres "Silo__Postgres=$connection")
    store_line="postgres: $connection (membership)"
  else
    if ! command -v redis-server >/dev/null; then
      echo "installing redis-server (Debian package)"; apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize yes --pidfile "$run/redis.pid" --logfile "$run/redis.log"
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$redis_port" flushall >/dev/null
    clustering=(Silo__Clustering=Redis "Silo__Redis=127.0.0.1:$redis_port")
    store_line="redis:  127.0.0.1:$redis_port (membership)"
  fi

  dotnet "$silo_dll" kafka > "$run/kafka.log" 2>&1 & echo $! > "$run/kafka.pid"
  wait_for "$run/kafka.log" "bootstrap servers" 20
  bootstrap=$(sed -n 's/.*bootstrap servers: \([^;]*\);.*/\1/p' "$run/kafka.log")
  echo "kafka:  bootstrap servers $bootstrap (pid $(cat "$run/kafka.pid"))"

  # What every silo is started with, also when it is restarted.
  printf '%s\n' "${clustering[@]}" "Kafka__BootstrapServers=$bootstrap" > "$run/silo.env"
  for i in $(seq 0 $(( n - 1 ))); do start_silo "$i"; done
  for i in $(seq 0 $(( n - 1 ))); do
    wait_for "$run/silo-$i.log" "Application started" 60
    describe_silo "$i"
  done
  echo "$store_line; stop all with: $0 stop"
}

start_silo() { # i
  local settings
  mapfile -t settings < "$run/silo.env"
  env "${settings[@]}" \
    Silo__SiloPort=$(( 11111 + $1 )) Silo__GatewayPort=$(( 30000 + $1 )) \
    Dashboard__Urls="http://127.0.0.1:$(( 8080 + $1 ))" \
    Demo__Enabled=$([ "$1" -eq 0 ] && echo true || echo false) \
    dotnet "$silo_dll" > "$run/silo-$1.log" 2>&1 &
  echo $! > "$run/silo-$1.pid"
}

describe_silo() { # i
  echo "silo $1: pid $(cat "$run/silo-$1.pid"), silo 127.0.0.1:$(( 11111 + $1 )), gateway 127.0.0.1:$(( 30000 + $1 )), kafka page http://127.0.0.1:$(( 8080 + $1 ))/kafka, log $run/silo-$1.log"
}

restart() { # i: SIGTERM (the silo drains, commits and hands its partitions over), then the same silo again
  [[ "${1:-}" =~ ^[0-9]+$ ]] || { echo "usage: $0 restart I (a silo's number, as start printed it)"; exit 2; }
  [ -e "$run/silo-$1.pid" ] || { echo "silo $1 is not running (see $run)"; exit 1; }
  stop_pid "$run/silo-$1.pid" 30
  echo "silo $1: stopped"
  start_silo "$1"
  wait_for "$run/silo-$1.log" "Application started" 60
  describe_silo "$1"
}

status() {
  dotnet run --project "$root/src/Client" -- status --gateway 127.0.0.1:30000
}

stop_pid() { # pidfile seconds: SIGTERM (graceful: drain, commit, release), SIGKILL if it does not end in time
  [ -e "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 $(( $2 * 10 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

stop() {
  # Silos first, while Kafka is still there for their final commits; then Kafka, then Redis.
  for pidfile in "$run"/silo-*.pid; do stop_pid "$pidfile" 30 & done
  wait
  stop_pid "$run/kafka.pid" 10
  if [ -d "$run/postgres" ]; then
    "$root/deploy/postgres/postgres.sh" stop "$run/postgres" >/dev/null 2>&1 || true
    rm -rf "$run/postgres"
  fi
  [ -e "$run/redis.pid" ] && { redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -f "$run/redis.pid"; }
  rm -f "$run/silo.env"
  echo "stopped"
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  status) status ;;
  restart) restart "${2:-}" ;;
  stop) stop ;;
  *) echo "usage: $0 start [N] | status | restart I | stop"; exit 2 ;;
esac

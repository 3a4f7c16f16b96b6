#!/usr/bin/env bash
# Makes sure RabbitMQ, Redis and PostgreSQL answer on 127.0.0.1; starts any that do not, and
# fails loudly if one cannot be started.
set -uo pipefail

answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    answers "$port" && { echo "services: $name answers on $port"; return 0; }
    sleep 1
  done
  echo "services: FATAL: $name does not answer on 127.0.0.1:$port" >&2
  exit 1
}

if ! answers 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! answers 6379; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if ! answers 5672; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached || true
fi
wait_for PostgreSQL 5432
wait_for Redis 6379
wait_for RabbitMQ 5672
if command -v rabbitmqctl >/dev/null; then
  timeout 120 rabbitmqctl await_startup >/dev/null 2>&1 || { echo "services: FATAL: RabbitMQ did not finish starting" >&2; exit 1; }
fi
psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1 || {
  psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1 || true
}
psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null || { echo "services: FATAL: database test unreachable" >&2; exit 1; }

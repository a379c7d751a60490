#!/usr/bin/env bash
# The test suite needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
# Start them when they are installed but stopped; fail with one clear line otherwise.
set -euo pipefail

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! postgres_up; then
    if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
        for _ in $(seq 1 30); do postgres_up && break; sleep 0.5; done
    fi
    postgres_up || { echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started: apt-get install postgresql (trust auth for user postgres)"; exit 1; }
fi

if ! redis_up; then
    if command -v redis-server >/dev/null; then
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log
        for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
    fi
    redis_up || { echo "Redis is not running on 127.0.0.1:6379 and could not be started: apt-get install redis-server"; exit 1; }
fi

#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:${DOCKET_TEST_REDIS_PORT:-6379} for the tests, starting a
# private, non-persistent one if none does.
set -euo pipefail
port="${DOCKET_TEST_REDIS_PORT:-6379}"
if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    exit 0
fi
dir="${TMPDIR:-/tmp}/docket-test-redis"
mkdir -p "$dir"
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log"
for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && exit 0
    sleep 0.1
done
echo "redis did not start on port $port (see $dir/redis.log)" >&2
exit 1

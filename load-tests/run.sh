#!/usr/bin/env bash
# Runs the channel benchmarks against a release build of Docket on this machine and prints the
# figures recorded in load-tests/README.md. Needs Postgres on 127.0.0.1:5432 (user postgres, no
# password) and Redis on 127.0.0.1:6379, as `make test` provides.
#
#   load-tests/run.sh [scenario...]     scenarios: ceiling idle fanout matters rooms postgres sends
#                                       saturation (default: all)
#
# DOCKET_BENCH_BIN=dir runs the `docket` and `docket-load` binaries in dir instead of building
# them: for a before/after comparison in one sitting (copy each build's binaries aside first).
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true
PG=postgres://postgres@127.0.0.1:5432
DB=docket_bench
DIR=.docket-bench
PORT=${DOCKET_BENCH_PORT:-18080}
URL=http://127.0.0.1:$PORT
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ceiling idle fanout matters rooms postgres sends saturation)

if [ -n "${DOCKET_BENCH_BIN:-}" ]; then
    BIN=$DOCKET_BENCH_BIN
else
    cargo build --release -q -p docket-server -p docket-load
    BIN=${CARGO_TARGET_DIR:-target}/release
fi

server_pid=""
stop_server() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
trap stop_server EXIT

start_server() {
    stop_server
    psql "$PG/postgres" -qc "drop database if exists $DB with (force)" -c "create database $DB"
    rm -rf "$DIR"
    ulimit -n 20000
    DATABASE_URL="postgres://docket_app@127.0.0.1:5432/$DB" \
    DOCKET_MIGRATION_DATABASE_URL="$PG/$DB" REDIS_URL=redis://127.0.0.1:6379 \
    DOCKET_REDIS_PREFIX="bench:$$:" DOCKET_LISTEN=127.0.0.1:$PORT \
    DOCKET_WS_MAX_PER_USER=100000 DOCKET_WS_MAX_PER_ADDRESS=100000 \
    DOCKET_SEND_RATE=1000000 DOCKET_SEND_BURST=1000000 DOCKET_WS_OUTBOUND_QUEUE=1024 \
    DOCKET_WS_RECHECK_SECONDS=${DOCKET_WS_RECHECK_SECONDS:-30} \
    RUST_LOG=warn "$BIN/docket" demo --dir "$DIR" >"$DIR.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf "$URL/readyz" >/dev/null 2>&1 && [ -f "$DIR/demo-logins.txt" ] && return 0
        sleep 0.2
    done
    echo "server did not start; see $DIR.log" >&2
    exit 1
}

# The local Postgres's postmaster: its CPU (with every backend's) is reported per stored message.
postmaster=$(head -1 "$(psql "$PG/postgres" -XAtc 'show data_directory')/postmaster.pid" 2>/dev/null || true)

load() {
    echo "\$ docket-load $*"
    "$BIN/docket-load" --url "$URL" --logins "$DIR/demo-logins.txt" --server-pid "$server_pid" \
        ${postmaster:+--postgres-pid "$postmaster"} "$@"
}

for scenario in "${scenarios[@]}"; do
    case "$scenario" in
    ceiling)
        psql "$PG/postgres" -qc "drop database if exists docket_pgbench" -c "create database docket_pgbench"
        psql "$PG/docket_pgbench" -q -f load-tests/pgbench/setup.sql
        echo "\$ pgbench -n -c 8 -j 2 -T 15 -f load-tests/pgbench/insert-50.sql"
        pgbench -n -c 8 -j 2 -T 15 -f load-tests/pgbench/insert-50.sql "$PG/docket_pgbench" | grep -E "^tps|latency average"
        echo "\$ pgbench -n -c 8 -j 2 -T 15 -f load-tests/pgbench/insert-1.sql"
        pgbench -n -c 8 -j 2 -T 15 -f load-tests/pgbench/insert-1.sql "$PG/docket_pgbench" | grep -E "^tps|latency average"
        ;;
    idle)
        # Memory per socket and time to open; then 10k sockets subscribed across the demo's
        # matters, held for 65 s (two re-check intervals) to see what they cost Postgres.
        for n in ${DOCKET_BENCH_IDLE_SOCKETS:-1000 5000 10000 19500}; do
            start_server
            load --processes 2 idle --sockets "$n"
        done
        start_server
        load --processes 2 idle --sockets 10000 --matters 200 --hold-seconds 65
        ;;
    fanout)
        start_server
        load --processes 2 fanout --subscribers 100 --rate 20 --seconds 20
        load --processes 2 fanout --subscribers 1000 --rate 20 --seconds 20
        load --processes 2 fanout --subscribers 1000 --rate 50 --seconds 20
        ;;
    matters)
        start_server
        load --processes 2 matters --matters 2000 --per-matter 5 --rate 200 --seconds 20
        ;;
    rooms)
        # The shared harness's rooms-2000x5: one publishing socket, 2,000 matters of 5, 2,000 msg/s.
        start_server
        load --processes 1 matters --matters 2000 --per-matter 5 --rate 2000 --seconds 15
        ;;
    postgres)
        # Postgres CPU per stored message when messages do not arrive in batches: 200 msg/s on one
        # matter, then spread over 2,000 matters, then on a matter already holding 1,000,000 events.
        start_server
        load --processes 1 fanout --subscribers 10 --rate 200 --seconds 15
        load --processes 2 matters --matters 2000 --per-matter 1 --rate 200 --seconds 15
        echo "(seeding 1,000,000 events into CP-1001, not analysed)"
        psql "$PG/$DB" -q -v ON_ERROR_STOP=1 <<'SQL'
with m as (select matter_id, responsible_fee_earner_id as author from matter where reference = 'CP-1001'),
     head as (select last_seq from channel_head join m using (matter_id))
insert into channel_event (matter_id, seq, kind, scope, author_id, body, created_at)
select m.matter_id, head.last_seq + g, 'message', 'messages', m.author,
       jsonb_build_object('text', 'seeded message ' || g), now()
from m, head, generate_series(1, 1000000) g;
update channel_head h set last_seq = (select max(seq) from channel_event e where e.matter_id = h.matter_id)
where matter_id = (select matter_id from matter where reference = 'CP-1001');
SQL
        load --processes 1 fanout --subscribers 10 --rate 200 --seconds 15
        ;;
    sends)
        start_server
        # One busy matter (every sender also receives every message: 10-way fan-out included).
        load --processes 2 sends --senders 10 --rate 1000 --matters 1 --seconds 20
        load --processes 2 sends --senders 10 --rate 2000 --matters 1 --seconds 20
        # Spread over many matters (each sender follows one and writes ten, in turn).
        load --processes 2 sends --senders 200 --rate 2000 --matters 2000 --seconds 20
        ;;
    saturation)
        # Durable many-matter throughput: open-loop far above what is taken (sends past 128
        # unacknowledged on a socket are refused); compare with the `ceiling` scenario's 50-row rate.
        start_server
        load --processes 2 sends --senders 200 --rate ${DOCKET_BENCH_SATURATION_RATE:-40000} --matters 2000 --seconds 15
        ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
    esac
done

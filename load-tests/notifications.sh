#!/usr/bin/env bash
# Notifications at scale through the whole server: N notices are committed at a steady rate (each
# its own transaction through `notification_enqueue`, as a change raises them), and the server's
# dispatchers deliver each one by Web Push (encrypted, VAPID-signed) to a fake push service and by
# e-mail over SMTP to a sink (aiosmtpd). Reports the hand-off rate and, per transport, the time
# from a notice's commit to the moment the push service or the relay has it.
# Release build, the demo firm on a fresh database; needs Postgres on 127.0.0.1:5432 (user
# postgres, no password) and Redis, as `make test` provides; Python packages aiosmtpd, psycopg and
# cryptography (installed into ~/.cache/docket-venv if missing).
#
#   load-tests/notifications.sh [notices, default 10000] [per second, default 200] [workers, default 12]
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true
NOTICES=${1:-10000}
RATE=${2:-200}
WORKERS=${3:-12}
PG=postgres://postgres@127.0.0.1:5432
DB=docket_bench_notify
DIR=.docket-bench-notify
PORT=${DOCKET_BENCH_PORT:-18083}
PUSH_PORT=$((PORT + 1))
SMTP_PORT=$((PORT + 2))
URL=http://127.0.0.1:$PORT
VENV="$HOME/.cache/docket-venv"

./scripts/ensure-pymodule.sh aiosmtpd 'aiosmtpd>=1.4,<2'
./scripts/ensure-pymodule.sh psycopg 'psycopg[binary]>=3.1,<4'
./scripts/ensure-pymodule.sh cryptography 'cryptography>=42'
cargo build --release -q -p docket-server
BIN=${CARGO_TARGET_DIR:-target}/release

pids=()
cleanup() {
    # TERM: background jobs of a script ignore INT.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# The receivers: every push (its Topic and arrival time) and every mail (its subject and arrival).
"$VENV/bin/python" - "$PUSH_PORT" "$SMTP_PORT" "$DIR.received" <<'PY' &
import http.server, json, sys, threading, time
from aiosmtpd.controller import Controller

push_port, smtp_port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
log = open(out, "w", buffering=1)

def record(kind, key):
    with lock:
        log.write(json.dumps([kind, key, time.time()]) + "\n")

class Push(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        record("push", self.headers["topic"])
        self.send_response(201)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

class Sink:
    async def handle_DATA(self, server, session, envelope):
        for line in envelope.original_content.split(b"\r\n"):
            if line.lower().startswith(b"subject:"):
                record("mail", line.split(b"from ", 1)[-1].decode().strip())
                break
        return "250 OK"

Controller(Sink(), hostname="127.0.0.1", port=smtp_port).start()
http.server.ThreadingHTTPServer(("127.0.0.1", push_port), Push).serve_forever()
PY
pids+=($!)

if curl -sf "$URL/readyz" >/dev/null 2>&1; then
    echo "something already serves $URL (an earlier run?): stop it first" >&2
    exit 1
fi
psql "$PG/postgres" -qc "drop database if exists $DB with (force)" -c "create database $DB"
rm -rf "$DIR" && mkdir -p "$DIR"
DATABASE_URL="postgres://docket_app@127.0.0.1:5432/$DB" DOCKET_MIGRATION_DATABASE_URL="$PG/$DB" \
DOCKET_LISTEN=127.0.0.1:$PORT DOCKET_PUBLIC_URL=$URL DOCKET_REDIS_PREFIX="bench-notify-$$:" \
DOCKET_PUSH_SERVICES="http://127.0.0.1:$PUSH_PORT" DOCKET_SMTP_URL="${BENCH_SMTP_URL-smtp://127.0.0.1:$SMTP_PORT}" \
DOCKET_NOTIFY_WORKERS=$WORKERS RUST_LOG=warn \
    "$BIN/docket" demo --dir "$DIR" >"$DIR.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
    curl -sf "$URL/readyz" >/dev/null 2>&1 && [ -f "$DIR/demo-logins.txt" ] && break
    sleep 0.2
done

"$VENV/bin/python" - "$PG/$DB" "$PUSH_PORT" "$DIR.received" "$NOTICES" "$RATE" "$WORKERS" <<'PY'
import base64, hashlib, json, os, sys, time, uuid
import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

db, push_port, received, notices, rate, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
conn = psycopg.connect(db, autocommit=True)
# Every active person of the demo firm gets a device with a push subscription (a real P-256 key).
public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
users = [r[0] for r in conn.execute("select user_id from user_account where status = 'active' and kind <> 'service'")]
for u in users:
    device = uuid.uuid4()
    conn.execute("insert into device (device_id, user_id, token_hash, label, first_seen_at, last_seen_at) "
                 "values (%s, %s, %s, 'bench', now(), now())", (device, u, os.urandom(32)))
    conn.execute("insert into push_subscription (device_id, user_id, endpoint, p256dh, auth) values (%s, %s, %s, %s, %s)",
                 (device, u, f"http://127.0.0.1:{push_port}/u/{u}", public, os.urandom(16)))

def topic(notification_id):
    return base64.urlsafe_b64encode(hashlib.sha256(str(notification_id).encode()).digest()[:18]).rstrip(b"=").decode()

# Security-class notices (never folded, no hold): each goes by push and by e-mail at once. The
# label makes each one's mail recognisable; the Topic (a hash of its id) each one's push.
committed, by_topic = {}, {}
start = time.time()
for i in range(notices):
    due = start + i / rate
    now = time.time()
    if due > now:
        time.sleep(due - now)
    nid, label = uuid.uuid4(), f"bench-{i}"
    conn.execute("select notification_enqueue(%s, %s, %s, null, 'security', %s, 1, false, 0, 0, null)",
                 (nid, uuid.uuid4(), users[i % len(users)], json.dumps({"device_label": label})))
    committed[label] = time.time()
    by_topic[topic(nid)] = label
enqueue = time.time() - start

def read_rows():
    rows = []
    for line in open(received):
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass  # the last line, still being written
    return rows

deadline = time.time() + 120
while time.time() < deadline:
    rows = read_rows()
    if sum(r[0] == "push" for r in rows) >= notices and sum(r[0] == "mail" for r in rows) >= notices:
        break
    time.sleep(0.5)
rows = read_rows()

def report(kind, key_of):
    lat, seen, last = [], set(), 0.0
    for k, key, at in rows:
        if k != kind:
            continue
        label = key_of(key)
        if label in committed and label not in seen:
            seen.add(label)
            lat.append((at - committed[label]) * 1000)
            last = max(last, at)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]
    # Beyond one per notice: a second delivery of one (a retry after a failure), or notices the
    # demo raised itself (its people's first sign-ins).
    extra = sum(1 for r in rows if r[0] == kind) - len(seen)
    print(f"{kind}: {len(seen)}/{notices} handed off at {len(seen) / (last - start):.0f}/s; "
          f"commit to hand-off p50 {q(0.5):.0f} ms, p95 {q(0.95):.0f} ms, p99 {q(0.99):.0f} ms, "
          f"max {lat[-1]:.0f} ms; {extra} other deliveries")

print(f"{notices} notices committed in {enqueue:.1f} s ({notices / enqueue:.0f}/s offered), "
      f"{len(users)} recipients, {workers} notification workers")
report("push", lambda t: by_topic.get(t))
report("mail", lambda s: s)
PY

#!/usr/bin/env bash
# Billing at scale through the whole server: the billing system issues 1,000 invoices over the
# API; a finance user's statement of account across them is generated as JSON, CSV and PDF; and
# card payments go through Docket's fake Stripe, whose signed webhooks Docket applies (payment row,
# balance, card, alert, audit, outbox) — the handling time of each is read from the server's log.
# Release build, the demo firm on a fresh database; needs Postgres on 127.0.0.1:5432 (user
# postgres, no password) and Redis, as `make test` provides, plus curl and python3.
#
#   load-tests/billing.sh [invoices, default 1000] [card payments, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true
INVOICES=${1:-1000}
PAYMENTS=${2:-200}
PG=postgres://postgres@127.0.0.1:5432
DB=docket_bench_billing
DIR=.docket-bench-billing
PORT=${DOCKET_BENCH_PORT:-18082}
URL=http://127.0.0.1:$PORT

cargo build --release -q -p docket-server
BIN=${CARGO_TARGET_DIR:-target}/release

server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

psql "$PG/postgres" -qc "drop database if exists $DB with (force)" -c "create database $DB"
rm -rf "$DIR" && mkdir -p "$DIR"
DATABASE_URL="postgres://docket_app@127.0.0.1:5432/$DB" DOCKET_MIGRATION_DATABASE_URL="$PG/$DB" \
DOCKET_LISTEN=127.0.0.1:$PORT DOCKET_PUBLIC_URL=$URL DOCKET_REDIS_PREFIX="bench-billing-$$:" \
RUST_LOG=warn,docket_server::billing::webhook=info \
    "$BIN/docket" demo --dir "$DIR" >"$DIR.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
    curl -sf "$URL/readyz" >/dev/null 2>&1 && [ -f "$DIR/demo-logins.txt" ] && break
    sleep 0.2
done

python3 - "$URL" "$DIR" "$INVOICES" "$PAYMENTS" <<'PY'
import base64, hashlib, hmac, json, statistics, struct, sys, time, urllib.parse, urllib.request

url, folder, invoices, payments = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
logins = open(f"{folder}/demo-logins.txt").read()
billing_token = next(l.split()[-1] for l in open(f"{folder}/demo-service-tokens.txt") if l.startswith("Billing system"))

def call(method, path, body=None, token=None, raw=False, form=None, base=url):
    headers = {"content-type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    if form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        data = urllib.parse.urlencode(form).encode()
    if token:
        headers["authorization"] = f"Bearer {token}"
    with urllib.request.urlopen(urllib.request.Request(base + path, data, headers, method=method)) as r:
        payload = r.read()
        return payload if raw else json.loads(payload or b"null")

def totp(secret):
    key = base64.b32decode(secret)
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)

def sign_in(email):
    secret = next(l for l in logins.splitlines() if l.startswith(email)).split()[-1]
    token = call("POST", "/api/v1/auth/sign-in", {"email": email, "password": "docket-demo-password", "token_delivery": "bearer"})["token"]
    return call("POST", "/api/v1/auth/mfa/verify", {"code": totp(secret)}, token)["token"]

gc = sign_in("gc@manufacturing.docket-demo.test")
matters = [m for m in call("GET", "/api/v1/matters", token=gc)]
client = matters[0]["client_id"]

t0 = time.perf_counter()
for i in range(invoices):
    matter = matters[i % len(matters)]["matter_id"]
    call("PUT", f"/api/v1/billing/invoices/BENCH-{i:05d}", {
        "matter_id": matter, "kind": "bill", "issued_on": "2026-10-01", "due_on": "2026-10-31",
        "lines": [{"kind": "fee", "description": f"Work in October, part {i}", "amount_minor": 10000 + i},
                  {"kind": "vat", "description": "VAT", "amount_minor": 2000}]}, billing_token)
issue = time.perf_counter() - t0
print(f"issued {invoices} invoices over the API in {issue:.1f} s = {invoices / issue:.0f}/s (each one transaction with its card, audit row and outbox row)")

finance = sign_in("finance@manufacturing.docket-demo.test")
for fmt in ("json", "csv", "pdf"):
    times = []
    for _ in range(5):
        t = time.perf_counter()
        body = call("GET", f"/api/v1/clients/{client}/statement?format={fmt}", token=finance, raw=True)
        times.append((time.perf_counter() - t) * 1000)
    print(f"statement of {invoices}+ invoices as {fmt}: median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms, {len(body) / 1024:.0f} KiB")

confirm = []
# Pay distinct outstanding invoices: each press, then the stand-in's confirm (which sends the
# signed webhook and waits for Docket's answer).
summary = call("GET", f"/api/v1/clients/{client}/billing", token=gc)
payable = [inv for inv in summary["invoices"] if inv["payable"]][:payments]
for inv in payable:
    sheet = call("POST", f"/api/v1/invoices/{inv['invoice_id']}/pay", {}, gc)
    t = time.perf_counter()
    call("POST", f"v1/payment_intents/{sheet['payment_intent_id']}/confirm", base=sheet["stand_in"],
         form={"client_secret": sheet["client_secret"], "payment_method": "pm_card_visa"})
    confirm.append((time.perf_counter() - t) * 1000)
confirm.sort()
print(f"{len(confirm)} card payments: confirm to webhook applied, median {statistics.median(confirm):.1f} ms, p95 {confirm[int(len(confirm) * 0.95)]:.1f} ms")
PY

python3 - "$DIR.log" <<'PY'
import re, statistics, sys
log = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1]).read())
us = sorted(int(m.group(1)) for m in re.finditer(r"Stripe event .*elapsed_us=(\d+)", log))
if us:
    p = lambda q: us[min(len(us) - 1, int(len(us) * q))] / 1000
    print(f"webhook handling in the server ({len(us)} events): median {p(0.5):.2f} ms, p95 {p(0.95):.2f} ms, p99 {p(0.99):.2f} ms")
PY

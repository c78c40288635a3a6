#!/usr/bin/env bash
# Document throughput through the whole server (HTTP, type check, encryption, local blob store):
# one upload and one download of a large PDF, and 1 MiB range reads from its middle. Release
# build, the demo firm on a fresh database; needs Postgres on 127.0.0.1:5432 (user postgres, no
# password), as `make test` provides, plus curl and python3.
#
#   load-tests/documents.sh [size in MiB, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true
SIZE_MIB=${1:-200}
PG=postgres://postgres@127.0.0.1:5432
DB=docket_bench_docs
DIR=.docket-bench-docs
PORT=${DOCKET_BENCH_PORT:-18081}
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d)

cargo build --release -q -p docket-server
BIN=${CARGO_TARGET_DIR:-target}/release

server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

psql "$PG/postgres" -qc "drop database if exists $DB with (force)" -c "create database $DB"
rm -rf "$DIR"
DATABASE_URL="postgres://docket_app@127.0.0.1:5432/$DB" DOCKET_MIGRATION_DATABASE_URL="$PG/$DB" \
DOCKET_LISTEN=127.0.0.1:$PORT DOCKET_MAX_UPLOAD_MB=$((SIZE_MIB + 1)) RUST_LOG=warn \
    "$BIN/docket" demo --dir "$DIR" >"$DIR.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -sf "$URL/readyz" >/dev/null 2>&1 && [ -f "$DIR/demo-logins.txt" ] && break
    sleep 0.2
done

# Sign in as the demo fee earner (bearer), computing the TOTP code as an authenticator app does.
email=fee.earner.a@firm.docket-demo.test
secret=$(grep "^$email" "$DIR/demo-logins.txt" | grep -o '[A-Z2-7]\{32\}')
totp() {
    python3 - "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1])
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -sf "$URL/api/v1/auth/sign-in" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"docket-demo-password\",\"token_delivery\":\"bearer\"}" | json "['token']")
token=$(curl -sf "$URL/api/v1/auth/mfa/verify" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"code\":\"$(totp "$secret")\"}" | json "['token']")
auth=(-H "authorization: Bearer $token")
matter=$(curl -sf "${auth[@]}" "$URL/api/v1/matters" | json "[0]['matter_id']")

{ printf '%%PDF-1.7\n'; head -c $((SIZE_MIB * 1024 * 1024 - 9)) /dev/urandom; } >"$WORK/big.pdf"
bytes=$(stat -c %s "$WORK/big.pdf")

echo "\$ upload ${SIZE_MIB} MiB"
read -r up_status up_time < <(curl -s "${auth[@]}" -o "$WORK/doc.json" -w '%{http_code} %{time_total}\n' \
    --data-binary @"$WORK/big.pdf" -H 'content-type: application/octet-stream' \
    "$URL/api/v1/matters/$matter/documents?filename=big.pdf&category=other")
[ "$up_status" = 201 ] || { echo "upload failed: $up_status $(cat "$WORK/doc.json")" >&2; exit 1; }
doc=$(json "['document_id']" <"$WORK/doc.json")
content="$URL/api/v1/documents/$doc/versions/1/content"

echo "\$ download ${SIZE_MIB} MiB"
down_time=$(curl -sf "${auth[@]}" -o "$WORK/back.pdf" -w '%{time_total}' "$content")
cmp -s "$WORK/big.pdf" "$WORK/back.pdf" || { echo "download differs" >&2; exit 1; }

echo "\$ 50 range reads of 1 MiB from the middle"
mid=$((bytes / 2))
ranges=()
for _ in $(seq 1 50); do
    ranges+=("$(curl -sf "${auth[@]}" -o /dev/null -w '%{time_total}' -H "range: bytes=$mid-$((mid + 1048575))" "$content")")
done

python3 - "$bytes" "$up_time" "$down_time" "${ranges[@]}" <<'PY'
import statistics, sys
size, up, down, *ranges = sys.argv[1:]
mib = int(size) / 2**20
ms = sorted(float(r) * 1000 for r in ranges)
print(f"upload   {mib:.0f} MiB in {float(up):.2f} s = {mib / float(up):.0f} MiB/s (type check, encryption, write)")
print(f"download {mib:.0f} MiB in {float(down):.2f} s = {mib / float(down):.0f} MiB/s (read, decryption)")
print(f"1 MiB range read: median {statistics.median(ms):.1f} ms, worst {ms[-1]:.1f} ms over {len(ms)}")
PY

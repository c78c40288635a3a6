#!/usr/bin/env bash
# API conformance: runs schemathesis against a real `docket demo` (its own private PostgreSQL, the
# machine's Redis, a free loopback port), signed in once as a firm user and once as a client user,
# and once more as the billing system's service account on its own endpoints, with exactly these
# checks: not_a_server_error, status_code_conformance, content_type_conformance,
# response_schema_conformance. Fails when any check fails. See docs/decisions/0017-api-conformance.md.
#
# Environment: DOCKET_BIN (the server binary; default target/debug/docket), DOCKET_API_EXAMPLES
# (test cases per operation and phase, default 40), DOCKET_API_SEED (default fixed, so a run is
# repeatable; `random` for a new one each time), DOCKET_TEST_REDIS_URL.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${HOME}/.cache/docket-venv"
bin="${DOCKET_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/docket}"
examples="${DOCKET_API_EXAMPLES:-40}"
seed="${DOCKET_API_SEED:-20261130}"

"$repo/scripts/ensure-pytool.sh" schemathesis 'schemathesis>=4.32,<5' --version
[ -x "$bin" ] || { echo "api-conformance: no server binary at $bin (cargo build -p docket-server --bin docket)" >&2; exit 1; }

free_port() { "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work="$(mktemp -d "${TMPDIR:-/tmp}/docket-api-conformance.XXXXXX")"
# Run as root, the private PostgreSQL runs as the postgres user and must reach the folder.
chmod 755 "$work"
port="$(free_port)"
pg_port="$(free_port)"
url="http://127.0.0.1:$port"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        # SIGTERM: the demo stops its server and then its private PostgreSQL.
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

DOCKET_LISTEN="127.0.0.1:$port" DOCKET_PUBLIC_URL="$url" DOCKET_DATA_DIR="$work" \
    DOCKET_WEB_DIR="$repo/clients/web/dist" \
    REDIS_URL="${DOCKET_TEST_REDIS_URL:-redis://127.0.0.1:6379}" DOCKET_REDIS_PREFIX="api-conformance-$$:" \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$bin" demo --dir "$work" --postgres-port "$pg_port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 240); do
    grep -q "Docket demo is running at $url" "$work/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.5
done
grep -q "Docket demo is running at $url" "$work/server.log" || { echo "api-conformance: the demo did not start" >&2; cat "$work/server.log" >&2; exit 1; }

# Signs in as $1 (password, then a TOTP code computed from the demo's seeded secret; cookie
# delivery) and writes $2, a schemathesis config with the session cookie, the CSRF header and
# real ids this user can see, so cases reach the handlers' logic rather than stopping at a 404.
sign_in() {
    "$venv/bin/python" - "$url" "$work/demo-logins.txt" "$1" "$2" <<'PY'
import base64, hmac, http.cookiejar, json, re, struct, sys, time, urllib.request

url, logins, email, config = sys.argv[1:5]
text = open(logins).read()
secret = re.search(re.escape(email) + r".*TOTP secret ([A-Z2-7]+)", text).group(1)
password = re.search(r"password: (\S+)", text).group(1)

def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
    offset = mac[-1] & 0xF
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)

jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
csrf = None

def call(method, path, body=None, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data, headers, method=method)
    with opener.open(request) as response:
        return json.load(response)

grant = call("POST", "/api/v1/auth/sign-in", {"email": email, "password": password, "token_delivery": "cookie"})
assert grant["stage"] == "mfa_required", grant
csrf = grant["csrf_token"]
grant = call("POST", "/api/v1/auth/mfa/verify", {"code": totp(secret)})
assert grant["stage"] == "active", grant
csrf = grant["csrf_token"]

user = call("GET", "/api/v1/auth/session")["user"]
first = call("GET", "/api/v1/matters")[0]
matter = first["matter_id"]
ids = {"path.matter_id": matter, "path.client_id": first["client_id"]}
if user["kind"] == "firm":
    members = [u for u in call("GET", f"/api/v1/clients/{first['client_id']}/users") if u.get("client_role") == "member"]
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Title (conformance) >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
    document = call("POST", f"/api/v1/matters/{matter}/documents?filename=a.pdf&category=other", pdf,
                    "application/octet-stream")["document_id"]
    ids.update({"path.document_id": document, "path.number": 1,
                "path.practice_area_id": call("GET", "/api/v1/practice-areas")[0]["practice_area_id"]})
    if members:
        ids["path.user_id"] = members[0]["user_id"]
else:
    documents = call("GET", f"/api/v1/matters/{matter}/documents")
    if documents:
        ids.update({"path.document_id": documents[0]["document_id"], "path.number": 1})
milestones = call("GET", f"/api/v1/matters/{matter}/milestones")["milestones"]
if milestones:
    ids["path.milestone_id"] = milestones[-1]["milestone_id"]

cookies = "; ".join(f"{c.name}={c.value}" for c in jar if c.name in ("docket_session", "docket_csrf"))
with open(config, "w") as out:
    out.write("[headers]\n")
    out.write(f"Cookie = {json.dumps(cookies)}\nX-CSRF-Token = {json.dumps(csrf)}\n")
    out.write("\n[parameters]\n")
    for key, value in ids.items():
        out.write(f"{json.dumps(key)} = {json.dumps(value)}\n")
PY
}

# Both sign in before any fuzzing: fuzzing the sign-in operation trips the per-address throttle.
# The firm user also uploads a document, so its run has one to read, review and download.
sign_in partner@firm.docket-demo.test "$work/firm.toml"
sign_in gc@manufacturing.docket-demo.test "$work/client.toml"

# The billing system: its service account's token (the demo keeps it), on its own endpoints,
# with the numbers of real invoices and payments so cases reach the record's logic.
billing_token="$(awk '/^Billing system/ {print $NF}' "$work/demo-service-tokens.txt")"
[ -n "$billing_token" ] || { echo "api-conformance: the demo wrote no billing token" >&2; exit 1; }
cat >"$work/billing.toml" <<TOML
[headers]
Authorization = "Bearer $billing_token"

[parameters]
"path.number" = "INV-1001"
"path.external_id" = "BANK-20451"
TOML

# Left out: only the operations that end the session under test, which would turn every later
# case into a 401. Signing out ends it; revoking a session or a device can name the current one;
# an MFA reset (once re-authenticated) moves the session back to enrolment.
session_enders='^(sign_out|revoke_session|revoke_device|reset)$'

run() {
    local who="$1" label="$2"
    shift 2
    echo "== schemathesis as the $who $label"
    # Run in the work folder, so schemathesis and Hypothesis leave nothing in the repository.
    (cd "$work" && "$venv/bin/schemathesis" --config-file "$work/$who.toml" run "$url/api/v1/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "$examples" \
        $([ "$seed" = random ] || echo "--seed $seed") \
        --phases examples,coverage,fuzzing \
        --workers 1 \
        --request-timeout 30 \
        --suppress-health-check too_slow,filter_too_much \
        --exclude-operation-id-regex "$session_enders" \
        --report junit,har --report-dir "${DOCKET_API_REPORT_DIR:-$work}/report-$who" "$@")
}

status=0
run firm "user" || status=1
run client "user" || status=1
run billing "system (its service account)" --include-path-regex '^/api/v1/billing/' || status=1
if [ "$status" -ne 0 ]; then
    echo "api-conformance: schemathesis found failures (server log: below)" >&2
    grep -E 'ERROR|panicked' "$work/server.log" | tail -n 40 >&2 || true
fi
exit "$status"

#!/usr/bin/env bash
# WebSocket conformance: builds `docket-ws-echo` (an echo server opening sockets exactly as the
# channel socket does), starts it on a free loopback port, and runs the Autobahn TestSuite's
# cases against it through kosoku (scripts/ws_conformance.py). Fails on any case that is not
# OK, NON-STRICT or INFORMATIONAL. See docs/decisions/0016-websocket-conformance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/ensure-pytool.sh kosoku kosoku --help
cargo="${CARGO:-cargo}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
"$cargo" build -q -p docket-server --bin docket-ws-echo

coproc ECHO { exec "$target/debug/docket-ws-echo" 127.0.0.1:0; }
echo_pid=$ECHO_PID
trap 'kill "$echo_pid" 2>/dev/null && wait "$echo_pid" 2>/dev/null || true' EXIT
# The server prints its address once bound: no guessing at ports, no polling.
read -r -t 30 line <&"${ECHO[0]}" || { echo "ws-conformance: the echo server did not start" >&2; exit 1; }
addr="${line#listening on }"

"${HOME}/.cache/docket-venv/bin/python" scripts/ws_conformance.py "ws://$addr"

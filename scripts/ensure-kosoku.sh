#!/usr/bin/env bash
# Makes sure `kosoku` (from PyPI: a WebSocket conformance runner driving the Autobahn TestSuite's
# case files) is installed, for `make ws-conformance`. Idempotent and needs no sudo: uses the venv
# in ~/.cache/docket-venv, installing kosoku into it when missing. Prints nothing when present.
set -euo pipefail
venv="${HOME}/.cache/docket-venv"

works() { "$1" --help >/dev/null 2>&1; }

if [ -x "$venv/bin/kosoku" ] && works "$venv/bin/kosoku"; then
    exit 0
fi
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
    echo "ensure-kosoku: python3 is needed to install kosoku (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
"$venv/bin/python" -m pip install --quiet kosoku
works "$venv/bin/kosoku" && exit 0
echo "ensure-kosoku: kosoku did not install into $venv" >&2
exit 1

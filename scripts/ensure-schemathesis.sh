#!/usr/bin/env bash
# Makes sure schemathesis (PyPI) is installed, for `make api-conformance`. Idempotent and needs no
# sudo: installs it into the venv in ~/.cache/docket-venv (created if missing). Pinned to the 4.x
# command line, which scripts/api-conformance.sh is written against.
set -euo pipefail
venv="${HOME}/.cache/docket-venv"
spec='schemathesis>=4.32,<5'

works() { "$venv/bin/schemathesis" --version >/dev/null 2>&1; }

if [ -x "$venv/bin/schemathesis" ] && works; then
    exit 0
fi
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
    echo "ensure-schemathesis: python3 is needed (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$spec"
if works; then
    exit 0
fi
echo "ensure-schemathesis: schemathesis did not install into $venv" >&2
exit 1

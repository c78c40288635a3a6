#!/usr/bin/env bash
# Makes sure a Python module from PyPI is importable in the project's venv (~/.cache/docket-venv,
# created if missing), for the tests that use it. Idempotent, needs no sudo, prints nothing when
# the module is already there.
#
#   ensure-pymodule.sh MODULE PIP-SPEC...
#   e.g. ensure-pymodule.sh http_ece 'http-ece>=1.2,<2' 'cryptography>=42'
set -euo pipefail
module="$1"
shift
venv="${HOME}/.cache/docket-venv"

works() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $module" >/dev/null 2>&1; }

works && exit 0
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
    echo "ensure-pymodule: python3 is needed to install $module (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$@"
works && exit 0
echo "ensure-pymodule: $module did not install into $venv" >&2
exit 1

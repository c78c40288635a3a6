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
"$(dirname "$0")/venv-install.sh" "ensure-pymodule: $module" "$@"
works && exit 0
echo "ensure-pymodule: $module did not install into $venv" >&2
exit 1

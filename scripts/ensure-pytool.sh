#!/usr/bin/env bash
# Makes sure a command-line tool from PyPI is installed in the project's venv (~/.cache/docket-venv,
# created if missing), for the checks `make test` runs. Idempotent, needs no sudo, prints nothing
# when the tool already answers.
#
#   ensure-pytool.sh COMMAND PIP-SPEC [CHECK-ARG]
#   e.g. ensure-pytool.sh schemathesis 'schemathesis>=4.32,<5' --version
set -euo pipefail
command_name="$1"
spec="$2"
check="${3:---help}"
venv="${HOME}/.cache/docket-venv"
tool="$venv/bin/$command_name"

works() { [ -x "$tool" ] && "$tool" "$check" >/dev/null 2>&1; }

works && exit 0
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
    echo "ensure-pytool: python3 is needed to install $command_name (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$spec"
works && exit 0
echo "ensure-pytool: $command_name did not install into $venv" >&2
exit 1

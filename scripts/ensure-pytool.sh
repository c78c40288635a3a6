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
"$(dirname "$0")/venv-install.sh" "ensure-pytool: $command_name" "$spec"
works && exit 0
echo "ensure-pytool: $command_name did not install into $venv" >&2
exit 1

#!/usr/bin/env bash
# Installs PyPI packages into the project's venv (~/.cache/docket-venv), creating it if missing.
# Shared by ensure-pytool.sh and ensure-pymodule.sh, which first check whether it is needed.
#
#   venv-install.sh WHAT PIP-SPEC...     (WHAT names it in the error message)
set -euo pipefail
what="$1"
shift
venv="${HOME}/.cache/docket-venv"
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
    echo "$what needs python3 to install (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$@"

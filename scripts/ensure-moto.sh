#!/usr/bin/env bash
# Makes sure moto's S3-compatible test server (`moto_server`, from PyPI) is installed, for the
# vault's S3 tests. Idempotent and needs no sudo: uses a moto_server already on PATH, else the venv
# in ~/.cache/docket-venv, else installs moto[server] into that venv (or, failing that, with
# pip --user). The tests look in the same places (or at $DOCKET_MOTO_SERVER).
set -euo pipefail
venv="${HOME}/.cache/docket-venv"

works() { "$1" --help >/dev/null 2>&1; }

if command -v moto_server >/dev/null 2>&1 && works moto_server; then
    exit 0
fi
if [ -x "$venv/bin/moto_server" ] && works "$venv/bin/moto_server"; then
    exit 0
fi
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
    echo "ensure-moto: python3 is needed to install moto (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if "$python" -m venv "$venv" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet 'moto[server]'
    works "$venv/bin/moto_server" && exit 0
fi
# No venv module (Debian without python3-venv): a per-user install instead.
"$python" -m pip install --quiet --user 'moto[server]'
user_bin="$("$python" -m site --user-base)/bin"
if works "$user_bin/moto_server"; then
    echo "ensure-moto: installed moto_server in $user_bin; add it to PATH or set DOCKET_MOTO_SERVER" >&2
    exit 0
fi
echo "ensure-moto: moto_server did not install" >&2
exit 1

#!/usr/bin/env bash
# Installs what Docket needs beyond Rust, Node and Python, from Debian's packages, if missing:
# the PostgreSQL server binaries (run privately by `docket demo` and the tests), Redis, and
# python3-venv where Python lacks it; with `--browser`, also Chromium for the web client's
# end-to-end tests; with `--clamd`, ClamAV's daemon
# for the malware-scanning tests (they run it privately with a signature they generate, so this
# never runs freshclam and never starts the system's clamav services); with `--pdf`, poppler's
# pdftotext, the independent reader the statement and receipt tests check Docket's PDFs with.
# Idempotent: installs nothing when everything is present.
set -euo pipefail

missing=()
for option in "$@"; do
    case "$option" in
        --browser) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
        --clamd) command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || missing+=(clamav-daemon) ;;
        --pdf) command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils) ;;
        *) echo "ensure-deps: unknown option $option" >&2; exit 2 ;;
    esac
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# The test tools from PyPI (moto, kosoku, schemathesis) live in a venv: Debian's Python needs
# python3-venv for that (a Python from elsewhere usually has it built in).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "Installing from apt: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the packages from starting system services we do not use.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

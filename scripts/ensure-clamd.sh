#!/usr/bin/env bash
# Installs ClamAV's daemon from Debian's packages, if missing, for the malware-scanning tests.
# The tests run clamd privately with a signature database they generate themselves (the EICAR test
# string), so this never runs freshclam and never starts the system's clamav services.
# Idempotent: installs nothing when clamd is present.
set -euo pipefail

if command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]; then
    exit 0
fi

echo "Installing from apt: clamav-daemon"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install clamav-daemon" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# --no-install-recommends leaves out clamav-freshclam's downloads; policy-rc.d (where present)
# keeps the package from starting system services we do not use.
$sudo apt-get install -y -qq --no-install-recommends clamav-daemon

#!/usr/bin/env bash
# Builds the web client into clients/web/dist (served by `docket serve`/`docket demo`).
# Installs its npm packages first when they are missing or the lock file changed.
set -euo pipefail
cd "$(dirname "$0")/../clients/web"
command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are needed to build the web client" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

#!/usr/bin/env bash
# Makes sure `cargo fuzz` can run, for `make fuzz` (never for `make test`). Idempotent, no sudo:
# needs a nightly toolchain (libFuzzer's sanitizer flags are nightly-only) and installs
# cargo-fuzz from crates.io into ~/.cargo/bin when it is missing.
set -euo pipefail

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "ensure-cargo-fuzz: a nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 1
fi
if cargo fuzz --version >/dev/null 2>&1; then
    exit 0
fi
cargo install --locked cargo-fuzz
cargo fuzz --version >/dev/null

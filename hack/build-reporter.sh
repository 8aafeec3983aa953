#!/usr/bin/env bash
# Builds the reporter as the image ships it: release profile (Cargo.toml), statically linked
# (crt-static), stripped, for this machine's target. Prints the binary's path on stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -p axon-telemetry --bin axon-telemetry --target "$target" >&2
echo "${CARGO_TARGET_DIR:-target}/$target/release/axon-telemetry"

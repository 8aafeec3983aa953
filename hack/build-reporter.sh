#!/usr/bin/env bash
# Builds the reporter as the image ships it: release profile (Cargo.toml), glibc linked
# statically (crt-static), stripped. Prints the binary's path on stdout.
#
#   hack/build-reporter.sh           # for this machine (amd64 or arm64)
#   hack/build-reporter.sh arm64     # cross-built with Debian's gcc-aarch64-linux-gnu
#                                    # (.cargo/config.toml; hack/install-test-deps.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/arch.sh
target=$(rust_target "${1:-$(host_arch)}")
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -p axon-telemetry --bin axon-telemetry --target "$target" >&2
echo "${CARGO_TARGET_DIR:-target}/$target/release/axon-telemetry"

#!/usr/bin/env bash
# Runs the reporter's unit tests built for arm64 under qemu's user-mode emulator (on an
# arm64 machine: built for amd64, under qemu-x86_64): the page reader's SIMD path (NEON on
# arm64, SSE2 on amd64), objects, collect, identity, send. Statically linked like the
# image's binary, so that the emulator needs no sysroot. hack/check-image.sh runs a whole
# dry run of each architecture's image and compares the reports byte for byte.
# Needs what hack/install-image-deps.sh installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/arch.sh

other=$([[ $(host_arch) == amd64 ]] && echo arm64 || echo amd64)
target=$(rust_target "$other")
runner=$(runner_for "$other")
command -v "$runner" >/dev/null \
  || { echo "error: $runner is missing (hack/install-image-deps.sh installs it)" >&2; exit 1; }
env "CARGO_TARGET_$(tr a-z- A-Z_ <<<"$target")_RUNNER=$runner" \
  RUSTFLAGS="-C target-feature=+crt-static" \
  cargo test --locked --target "$target" -p axon-telemetry --lib

#!/usr/bin/env bash
# What building and checking the two architectures and the image needs, from Debian's
# packages and rustup (the release workflow runs it too); installs only what is missing
# (needs root, or sudo, when something is):
# - Rust's aarch64-unknown-linux-gnu target, Debian's cross gcc and arm64 glibc (linked
#   statically), and qemu's user-mode emulator to run arm64 binaries on amd64;
# - buildah builds the image without a Docker daemon; skopeo and umoci read it back; jq
#   and file read what they print.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/apt.sh
apt_ensure \
  "gcc-aarch64-linux-gnu:command -v aarch64-linux-gnu-gcc" \
  "libc6-dev-arm64-cross:test -e /usr/aarch64-linux-gnu/lib/libc.a" \
  "qemu-user-static:command -v qemu-aarch64-static && command -v qemu-x86_64-static" \
  "buildah:command -v buildah" \
  "skopeo:command -v skopeo" \
  "umoci:command -v umoci" \
  "jq:command -v jq" \
  "file:command -v file"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu
echo "$(buildah --version); $(skopeo --version); $(umoci --version); $(qemu-aarch64-static --version | head -1)"

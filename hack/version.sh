#!/usr/bin/env bash
# The release version, from its one place: `[workspace.package] version` in Cargo.toml. The
# chart's version and appVersion, the image tag and the release tag (v<version>) follow it
# (tests/release.rs checks that they agree).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo metadata --locked --no-deps --format-version 1 \
  | jq -er '.packages[] | select(.name == "axon-telemetry") | .version'

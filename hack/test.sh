#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh clone: formatting, lints, the dependency
# policy, the pinned Helm 3 and 4 the chart tests need, PostgreSQL and Chromium for the
# collector's tests, and every unit and integration test (tests fail, never skip, when a
# tool is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

step "dependency policy: rustls on ring only, no OpenSSL, no second crypto provider"
for crate in openssl-sys aws-lc-rs aws-lc-sys; do
  if cargo tree --locked -e all -i "$crate" >/dev/null 2>&1; then
    echo "error: $crate is in the dependency tree (cargo tree -e all -i $crate shows why)" >&2
    exit 1
  fi
done
echo "ok"

step "pinned Helm 4 and Helm 3 (hack/install-helm.sh)"
hack/install-helm.sh

step "PostgreSQL and Chromium (hack/install-test-deps.sh)"
hack/install-test-deps.sh

step "cargo test"
cargo test --locked

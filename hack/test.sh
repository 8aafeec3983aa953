#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh clone: formatting, lints, the dependency
# policy, the reporter's binary size, the pinned Helm 3 and 4 the chart tests need,
# PostgreSQL and Chromium for the collector's tests, every unit and integration test of the
# workspace, the arm64 unit tests under qemu, the release's image, chart and install.yaml
# built and checked, and the release workflow linted (tests fail, never skip, when a tool is
# missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }
fail() { echo "error: $*" >&2; exit 1; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "each crate builds on its own (as its image does: features not unified with the others')"
for crate in axon-telemetry-report axon-telemetry-collector axon-telemetry axon-telemetry-testkit; do
  cargo check --locked -p "$crate" --bins --lib
done

step "dependency policy"
# `cargo tree` lists a package once per line as `name vX.Y.Z [features]`.
tree() { cargo tree --locked --prefix none --format '{p} [{f}]' "$@" 2>/dev/null; }
workspace=$(tree --workspace -e all)
for crate in openssl-sys aws-lc-rs aws-lc-sys; do
  ! grep -q "^$crate " <<<"$workspace" \
    || fail "$crate is in the dependency tree: rustls on ring only (cargo tree -e all -i $crate shows why)"
done
reporter=$(tree -p axon-telemetry -e normal)
for crate in axon-telemetry-collector rusqlite libsqlite3-sys tokio-postgres postgres-protocol; do
  ! grep -q "^$crate " <<<"$reporter" \
    || fail "the reporter links $crate, which is the collector's (cargo tree -p axon-telemetry -e normal -i $crate shows why)"
done
! grep -qE '^hyper(-util)? v[^ ]+ \[[^]]*\bserver\b' <<<"$reporter" \
  || fail "the reporter links hyper's server (cargo tree -p axon-telemetry -e normal,features -i hyper shows why)"
collector=$(tree -p axon-telemetry-collector -e normal)
for crate in kube kube-client k8s-openapi; do
  ! grep -q "^$crate " <<<"$collector" \
    || fail "the collector links $crate, a Kubernetes client it does not need"
done
echo "ok: one TLS provider; the reporter links no collector code; the collector links no Kubernetes client"

step "the reporter's static, stripped release binary is at most 8 MB (hack/build-reporter.sh)"
size=$(stat -c %s "$(hack/build-reporter.sh)")
echo "$size bytes"
(( size <= 8000000 )) || fail "the reporter is $size bytes, over 8000000 (BENCHMARKS.md, \"Binary size\")"

step "pinned Helm 4 and Helm 3 (hack/install-helm.sh)"
hack/install-helm.sh

step "PostgreSQL, Chromium, the arm64 toolchain, qemu, the image tools, the workflow linters (hack/install-test-deps.sh)"
hack/install-test-deps.sh

step "cargo test"
cargo test --workspace --locked

step "the reporter's unit tests built for arm64, under qemu (hack/test-arm64.sh)"
hack/test-arm64.sh

step "a release: both architectures' image, checked and run; the chart and install.yaml pinned to its digest (hack/release.sh)"
hack/release.sh

step "the release workflow: actionlint and zizmor (hack/lint-workflows.sh)"
hack/lint-workflows.sh

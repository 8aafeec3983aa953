#!/usr/bin/env bash
# A dry-run report against a fake Kubernetes API with sample Kelos v0.52.0 objects (--axon:
# Axon v0.12.0 ones): no cluster needed.
# Prints the exact report JSON on stdout and the reporter's log on stderr.
# With --send URL the report goes to a collector instead, e.g.
#   hack/demo.sh --send http://localhost:8080/v1/report
# Other arguments go to the reporter, e.g. hack/demo.sh --log-level debug
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --locked --quiet --bin axon-telemetry --example demo
exec "${CARGO_TARGET_DIR:-target}/debug/examples/demo" "$@"

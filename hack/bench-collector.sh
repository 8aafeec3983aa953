#!/usr/bin/env bash
# The collector load benchmark (see BENCHMARKS.md): builds in release mode, starts the
# collector on loopback over SQLite and over a durable PostgreSQL server it starts itself,
# sends it reports at a fixed concurrency, checks none was lost or double counted, and
# prints latency, throughput and peak RSS.
# Arguments go to the benchmark, e.g.: hack/bench-collector.sh --reports 20000 --installations 5000 --concurrency 64
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/install-test-deps.sh
exec cargo bench --locked -p axon-telemetry-collector --bench collector -- "$@"

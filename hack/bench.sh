#!/usr/bin/env bash
# The scale benchmark (see BENCHMARKS.md): builds in release mode, serves a generated cluster
# from a fake API server on loopback, and measures the reporter against the I/O floor and
# the unpaginated baseline, checking every report against the generator's ground truth.
# Arguments go to the benchmark, e.g.: hack/bench.sh --sizes 10k,100k --repeat 3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo bench --locked --bench scale -- "$@"

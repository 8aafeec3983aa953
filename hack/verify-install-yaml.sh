#!/usr/bin/env bash
# Fails, showing the difference, when install.yaml is not what the chart renders now.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
"$root/hack/update-install-yaml.sh" "$fresh"
if ! diff -u --label install.yaml --label "fresh render" "$root/install.yaml" "$fresh"; then
  echo "error: install.yaml is stale: run hack/update-install-yaml.sh and commit the result" >&2
  exit 1
fi
echo "install.yaml matches the chart"

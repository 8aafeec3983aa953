#!/usr/bin/env bash
# What the collector's tests run against, from Debian's packages: a PostgreSQL server (the
# tests start their own on a free port) and Chromium (the dashboard test). Installs only
# what is missing; needs root (or sudo) when something is.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "postgresql and chromium are installed"
  exit 0
fi

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ls /usr/lib/postgresql/*/bin/postgres >/dev/null
/usr/bin/chromium --version

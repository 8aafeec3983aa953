# Sourced by the install scripts. apt_ensure "package:check" ...: installs, from Debian's
# packages, each package whose check (a shell command) fails, then fails unless every
# check passes. Needs root, or sudo, only when something is missing.
apt_ensure() {
  local spec missing=()
  for spec in "$@"; do
    bash -c "${spec#*:}" >/dev/null 2>&1 || missing+=("${spec%%:*}")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for spec in "$@"; do
    bash -c "${spec#*:}" >/dev/null 2>&1 || { echo "error: ${spec%%:*} did not install" >&2; return 1; }
  done
}

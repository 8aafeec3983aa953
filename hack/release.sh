#!/usr/bin/env bash
# Builds everything a release publishes, into target/release-artifacts/, and pushes nothing (the
# release workflow, .github/workflows/release.yaml, pushes what this builds):
#
#   axon-telemetry-<version>.tgz                the chart, its image.digest set to the index
#   install.yaml                                the flat manifest, pinned to the same digest
#   axon-telemetry-<version>-linux-<arch>.tar   the image archives (kind load, docker load)
#   image-digest                                the multi-arch index's digest
#   SHA256SUMS                                  the checksums of all of the above
#
# and target/image/oci, the OCI layout to push (hack/build-image.sh).
#
#   hack/release.sh [--registry ghcr.io/OWNER] [--source URL]
#
# <version> is hack/version.sh's; the chart's version and appVersion must be the same.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail() { echo "error: $*" >&2; exit 1; }

registry=ghcr.io/kelos-dev
source_url=https://github.com/kelos-dev/axon-telemetry
while (($#)); do
  case "$1" in
    --registry) registry=$2; shift 2 ;;
    --source) source_url=$2; shift 2 ;;
    *) echo "usage: hack/release.sh [--registry ghcr.io/OWNER] [--source URL]" >&2; exit 2 ;;
  esac
done
repository=$registry/axon-telemetry
[[ $repository =~ ^[a-z0-9][a-z0-9._/-]*$ ]] || fail "'$repository' is not a valid image name (lower case only)"

version=$(hack/version.sh)
chart=charts/axon-telemetry
for field in version appVersion; do
  found=$(sed -nE "s/^$field: *\"?([^\"]*)\"?$/\1/p" "$chart/Chart.yaml")
  [[ $found == "$version" ]] || fail "$chart/Chart.yaml $field is '$found', Cargo.toml's version is '$version'"
done

hack/build-image.sh --repository "$repository" --source "$source_url"
hack/check-image.sh "$repository"
digest=$(cat target/image/digest)

out=${CARGO_TARGET_DIR:-target}/release-artifacts
rm -rf "$out"
mkdir -p "$out/chart"
cp -r "$chart" "$out/chart/"
values=$out/chart/axon-telemetry/values.yaml
# The two lines the release pins; each must be there exactly once.
for line in '  repository: ghcr.io/kelos-dev/axon-telemetry' '  digest: ""'; do
  [[ $(grep -cxF "$line" "$values") == 1 ]] || fail "$chart/values.yaml no longer has the line '$line'"
done
sed -i -e "s|^  repository: ghcr.io/kelos-dev/axon-telemetry\$|  repository: $repository|" \
  -e "s|^  digest: \"\"\$|  digest: \"$digest\"|" "$values"

hack/install-helm.sh >/dev/null
helm_home=$(mktemp -d)
trap 'rm -rf "$helm_home"' EXIT
helm() { HOME="$helm_home" XDG_CONFIG_HOME="$helm_home" XDG_CACHE_HOME="$helm_home" XDG_DATA_HOME="$helm_home" .tools/helm4/helm "$@"; }
helm lint --strict "$out/chart/axon-telemetry" >/dev/null
helm package "$out/chart/axon-telemetry" --destination "$out" >/dev/null
hack/update-install-yaml.sh "$out/install.yaml" "$out/chart/axon-telemetry"
[[ $(grep -c "image: \"$repository@$digest\"" "$out/install.yaml") == 1 ]] \
  || fail "install.yaml does not run $repository@$digest"
rm -rf "$out/chart"

cp target/image/axon-telemetry-"$version"-linux-*.tar "$out/"
echo "$digest" >"$out/image-digest"
(cd "$out" && sha256sum -- * >SHA256SUMS)
echo "release $version in $out: $repository:$version@$digest" >&2

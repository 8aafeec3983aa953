#!/usr/bin/env bash
# Builds the reporter's image for linux/amd64 and linux/arm64 without a Docker daemon, with
# buildah (Debian's package; run as root, storage in target/image/storage) and skopeo:
#
#   target/image/oci/                                 an OCI layout; tag <version> is the
#                                                     multi-arch image index
#   target/image/axon-telemetry-<version>-linux-<arch>.tar
#                                                     one image per architecture, as
#                                                     `docker save` writes it: for
#                                                     `kind load image-archive` and `docker load`
#
# Each image is the static binary of hack/build-reporter.sh on an empty base, as the
# Dockerfile builds it: /axon-telemetry, owned by root and not writable, run as 65532:65532,
# `report` by default. Timestamps come from SOURCE_DATE_EPOCH (default: the last commit's
# time), so the same commit builds the same digests.
#
#   hack/build-image.sh [--repository NAME] [--source URL]
#
# --repository names the images in the archives (default: the chart's image.repository,
# so that a chart installed with its defaults finds a loaded archive); --source is the
# org.opencontainers.image.source label. hack/check-image.sh checks what this builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/arch.sh

repository=ghcr.io/kelos-dev/axon-telemetry
source_url=https://github.com/kelos-dev/axon-telemetry
while (($#)); do
  case "$1" in
    --repository) repository=$2; shift 2 ;;
    --source) source_url=$2; shift 2 ;;
    *) echo "usage: hack/build-image.sh [--repository NAME] [--source URL]" >&2; exit 2 ;;
  esac
done

version=$(hack/version.sh)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
license=$(cargo metadata --locked --no-deps --format-version 1 \
  | jq -er '.packages[] | select(.name == "axon-telemetry") | .license')
out=${CARGO_TARGET_DIR:-target}/image
rm -rf "$out"
mkdir -p "$out"
buildah=(buildah --storage-driver vfs --root "$PWD/$out/storage/root" --runroot "$PWD/$out/storage/run")
list="localhost/axon-telemetry-index:$version"

"${buildah[@]}" manifest create "$list" >/dev/null
for arch in "${ARCHES[@]}"; do
  binary=$(hack/build-reporter.sh "$arch")
  container=$("${buildah[@]}" from --arch "$arch" --os linux scratch)
  "${buildah[@]}" copy --quiet --chown 0:0 --chmod 0555 "$container" "$binary" /axon-telemetry
  "${buildah[@]}" config --arch "$arch" --os linux \
    --user 65532:65532 --entrypoint '["/axon-telemetry"]' --cmd '["report"]' \
    --created-by "hack/build-image.sh: COPY axon-telemetry ($arch)" \
    --label "org.opencontainers.image.title=axon-telemetry" \
    --label "org.opencontainers.image.description=Anonymous usage telemetry for the Axon (Kelos) operator: the reporter" \
    --label "org.opencontainers.image.source=$source_url" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.licenses=$license" \
    "$container"
  image="localhost/axon-telemetry-$arch:$version"
  "${buildah[@]}" commit --quiet --format oci --timestamp "$epoch" --identity-label=false \
    --rm --manifest "$list" "$container" "$image" >/dev/null
done
"${buildah[@]}" manifest push --quiet --all --format oci "$list" "oci:$out/oci:$version"
rm -rf "$out/storage"
# The archives, from the index just written (skopeo picks each architecture's image).
for arch in "${ARCHES[@]}"; do
  skopeo copy --quiet --override-arch "$arch" "oci:$out/oci:$version" \
    "docker-archive:$out/axon-telemetry-$version-linux-$arch.tar:$repository:$version"
done
digest=$(jq -er --arg v "$version" \
  '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $v) | .digest' \
  "$out/oci/index.json")
echo "$digest" >"$out/digest"
echo "built $repository:$version@$digest (${ARCHES[*]}) in $out" >&2

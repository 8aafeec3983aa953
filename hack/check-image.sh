#!/usr/bin/env bash
# Checks what hack/build-image.sh built, with tools other than the one that built it
# (skopeo and umoci read the OCI layout; jq reads the JSON):
# - the layout's tag <version> is an image index of exactly linux/amd64 and linux/arm64;
# - each architecture's image: its config (architecture, user 65532:65532, entrypoint, cmd,
#   labels source/version/licenses), and, unpacked, a root filesystem holding the binary and
#   nothing else (no shell, no libraries), owned by root and not writable by the user;
# - each unpacked binary (the other architecture under qemu): `--version`, and a dry run
#   against the demo's fake API; the reports are byte for byte the same but for their
#   timestamps;
# - each archive: what `docker load` and `kind load image-archive` read (`docker save`'s
#   manifest.json), one image of its architecture, tagged <repository>:<version>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/arch.sh
fail() { echo "error: $*" >&2; exit 1; }
expect() { [[ $2 == "$3" ]] || fail "$1: expected '$3', found '$2'"; }

repository=${1:-ghcr.io/kelos-dev/axon-telemetry}
version=$(hack/version.sh)
license=$(cargo metadata --locked --no-deps --format-version 1 \
  | jq -er '.packages[] | select(.name == "axon-telemetry") | .license')
image=${CARGO_TARGET_DIR:-target}/image
layout="oci:$image/oci:$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

index=$(skopeo inspect --raw "$layout")
expect "the index's media type" "$(jq -r .mediaType <<<"$index")" application/vnd.oci.image.index.v1+json
expect "the index's platforms" \
  "$(jq -c '[.manifests[].platform | "\(.os)/\(.architecture)"] | sort' <<<"$index")" \
  '["linux/amd64","linux/arm64"]'
expect "the layout's digest file" "$(cat "$image/digest")" \
  "sha256:$(skopeo inspect --raw "$layout" | sha256sum | cut -d' ' -f1)"

cargo build --locked --quiet --example demo
demo="${CARGO_TARGET_DIR:-target}/debug/examples/demo"
for arch in "${ARCHES[@]}"; do
  echo "== linux/$arch"
  config=$(skopeo inspect --override-arch "$arch" --config "$layout")
  expect "$arch architecture" "$(jq -r '"\(.os)/\(.architecture)"' <<<"$config")" "linux/$arch"
  expect "$arch user" "$(jq -r .config.User <<<"$config")" 65532:65532
  expect "$arch entrypoint" "$(jq -c .config.Entrypoint <<<"$config")" '["/axon-telemetry"]'
  expect "$arch cmd" "$(jq -c .config.Cmd <<<"$config")" '["report"]'
  for label in source version licenses; do
    jq -e --arg l "org.opencontainers.image.$label" '.config.Labels[$l] | strings | length > 0' \
      <<<"$config" >/dev/null || fail "$arch: no org.opencontainers.image.$label label"
  done
  expect "$arch version label" "$(jq -r '.config.Labels["org.opencontainers.image.version"]' <<<"$config")" "$version"
  expect "$arch licenses label" "$(jq -r '.config.Labels["org.opencontainers.image.licenses"]' <<<"$config")" "$license"

  skopeo copy --quiet --override-arch "$arch" "$layout" "oci:$work/$arch:image"
  umoci unpack --rootless --image "$work/$arch:image" "$work/$arch-bundle" >/dev/null
  rootfs=$work/$arch-bundle/rootfs
  expect "$arch root filesystem" "$(cd "$rootfs" && find . -mindepth 1 | sort | tr '\n' ' ')" "./axon-telemetry "
  layers=$(skopeo inspect --raw "oci:$work/$arch:image" | jq -r '.layers[].digest')
  expect "$arch layers" "$(wc -l <<<"$layers")" 1
  expect "$arch binary in the layer (mode, owner, path)" \
    "$(tar -tvzf "$work/$arch/blobs/sha256/${layers#sha256:}" | awk '{print $1, $2, $6}')" \
    "-r-xr-xr-x 0/0 axon-telemetry"
  expect "$arch process user" "$(jq -c '.process.user | [.uid, .gid]' "$work/$arch-bundle/config.json")" '[65532,65532]'
  file -b "$rootfs/axon-telemetry" | grep -Eq 'static(ally|-pie) linked' \
    || fail "$arch: the binary is not statically linked: $(file -b "$rootfs/axon-telemetry")"

  runner=$(runner_for "$arch")
  expect "$arch --version" "$(${runner:+"$runner"} "$rootfs/axon-telemetry" --version)" "axon-telemetry $version"
  "$demo" --reporter "$rootfs/axon-telemetry" ${runner:+--runner "$runner"} >"$work/$arch.json" 2>"$work/$arch.log" \
    || { cat "$work/$arch.log" >&2; fail "the $arch dry run failed"; }
  # The one field that differs between two runs.
  sed -E 's/^  "timestamp": "[0-9TZ:-]+",$/  "timestamp": "(run time)",/' "$work/$arch.json" >"$work/$arch.report"
  grep -q '"timestamp": "(run time)"' "$work/$arch.report" || fail "no timestamp in the $arch report"

  archive=$image/axon-telemetry-$version-linux-$arch.tar
  tar -xOf "$archive" manifest.json >"$work/$arch-manifest.json" \
    || fail "$archive has no manifest.json: docker load would refuse it"
  expect "$arch archive tags" "$(jq -c '[.[].RepoTags[]]' "$work/$arch-manifest.json")" "[\"$repository:$version\"]"
  expect "$arch archive architecture" \
    "$(skopeo inspect --config "docker-archive:$archive" | jq -r '"\(.os)/\(.architecture)"')" "linux/$arch"
done
diff -u "$work/amd64.report" "$work/arm64.report" || fail "the arm64 image's report differs from the amd64 one's"
echo "ok: $repository:$version@$(cat "$image/digest"): linux/amd64 and linux/arm64 images, archives, and the same report from both"

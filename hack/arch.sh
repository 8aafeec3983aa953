# Sourced by the build scripts: the architectures the image is built for, by their OCI
# names, and the Rust target of each (glibc, linked statically, on both).
ARCHES=(amd64 arm64)

rust_target() {
  case "$1" in
    amd64) echo x86_64-unknown-linux-gnu ;;
    arm64) echo aarch64-unknown-linux-gnu ;;
    *) echo "error: unknown architecture '$1' (amd64 or arm64)" >&2; return 2 ;;
  esac
}

host_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) echo "error: no image is built for $(uname -m) (amd64 or arm64)" >&2; return 2 ;;
  esac
}

# What runs a binary built for $1 on this machine: nothing for its own architecture, else
# qemu's user-mode emulator (Debian's qemu-user-static; static binaries need no sysroot).
runner_for() {
  [[ $1 == "$(host_arch)" ]] && return 0
  case "$1" in
    amd64) echo qemu-x86_64-static ;;
    arm64) echo qemu-aarch64-static ;;
    *) rust_target "$1" >/dev/null ;;
  esac
}

# The reporter's image: one static binary on an empty base, run as the non-root UID the
# chart sets (65532). No shell, no package manager, no CA bundle: the reporter bundles its
# roots and reads extra ones from --ca-file / SSL_CERT_FILE. It holds only the reporter; the
# collector has an image of its own (Dockerfile.collector).
#
#   docker build -t axon-telemetry:dev .
#   docker build --platform linux/arm64 -t axon-telemetry:dev-arm64 .
#
# One architecture per build: the build stage runs on the target platform (under QEMU when
# it is not the host's) and builds for its own architecture. The released multi-arch index
# is built without Docker, by hack/build-image.sh, into the same layout: this binary, these
# labels, this user.
#
# The build stage links glibc statically (crt-static); glibc 2.34+ resolves DNS without
# loading NSS modules, so the binary needs nothing from the image. The release profile
# (Cargo.toml) is the one measured for size and speed in BENCHMARKS.md.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cp "$(hack/build-reporter.sh)" /axon-telemetry

FROM scratch
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title=axon-telemetry \
      org.opencontainers.image.source=https://github.com/kelos-dev/axon-telemetry \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.licenses=Apache-2.0
COPY --from=build --chmod=0555 /axon-telemetry /axon-telemetry
USER 65532:65532
ENTRYPOINT ["/axon-telemetry"]
CMD ["report"]

# The reporter's image: one static binary on an empty base, run as the non-root UID the
# chart sets (65532). No shell, no package manager, no CA bundle: the reporter bundles its
# roots and reads extra ones from --ca-file / SSL_CERT_FILE. It holds only the reporter; the
# collector has an image of its own (Dockerfile.collector).
#
#   docker build -t axon-telemetry:dev .
#
# The build stage links glibc statically (crt-static); glibc 2.34+ resolves DNS without
# loading NSS modules, so the binary needs nothing from the image. The release profile
# (Cargo.toml) is the one measured for size and speed in BENCHMARKS.md.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cp "$(hack/build-reporter.sh)" /axon-telemetry

FROM scratch
COPY --from=build /axon-telemetry /axon-telemetry
USER 65532:65532
ENTRYPOINT ["/axon-telemetry"]
CMD ["report"]

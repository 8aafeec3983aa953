# The image: one static binary on an empty base, run as the non-root UID the chart sets
# (65532). No shell, no package manager, no CA bundle: the reporter bundles its roots and
# reads extra ones from --ca-file / SSL_CERT_FILE. The default command is the reporter; the
# collector is the same image with `serve` (give SQLite a writable volume, COLLECTOR.md):
#
#   docker build -t axon-telemetry:dev .
#   docker run -p 8080:8080 -v reports:/data axon-telemetry:dev serve --database sqlite:/data/reports.db --read-token "$TOKEN"
#
# The build stage links glibc statically (crt-static); glibc 2.34+ resolves DNS without
# loading NSS modules, so the binary needs nothing from the image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --bin axon-telemetry --target x86_64-unknown-linux-gnu \
 && cp target/x86_64-unknown-linux-gnu/release/axon-telemetry /axon-telemetry \
 && mkdir /data

FROM scratch
COPY --from=build /axon-telemetry /axon-telemetry
# Where the collector's SQLite file goes: a volume mounted here starts owned by the user.
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
ENTRYPOINT ["/axon-telemetry"]
CMD ["report"]

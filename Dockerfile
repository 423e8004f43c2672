# The paylater server image: built with the project's Rust toolchain, run from a
# distroless image as a non-root user. The web pages (playground, checkout page) are
# compiled into the binary, so the binary is all the image carries.
#
#   docker build -t paylater .
#   docker run --rm -p 8080:8080 paylater        # development: SQLite inside the container
#
# See docs/deploy.md for configuration, compose and AWS.

# The toolchain CI uses (rustc 1.95; Cargo.toml's rust-version is the minimum). Bookworm,
# so that the binary's glibc matches the runtime image's (Debian 12).
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The dependency recipe: manifests and lock only, so that the layer below it is rebuilt
# when dependencies change, not when the code does.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json --bin paylater

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin paylater
COPY . .
RUN cargo build --release --locked --bin paylater

# glibc, libgcc and the CA certificates that outbound HTTPS (Stripe, webhooks) verifies
# against; no shell.
FROM ${RUNTIME_IMAGE}
COPY --from=builder /src/target/release/paylater /usr/local/bin/paylater
# The image's nonroot user (65532), whose home is writable for the SQLite file of a
# development run.
USER 65532:65532
WORKDIR /home/nonroot
# Listen on every address of the container; JSON log lines for the log collector.
ENV PAYLATER_LISTEN=0.0.0.0:8080 \
    PAYLATER_LOG_FORMAT=json
EXPOSE 8080
# The image has no curl: the binary probes its own /healthz (at PAYLATER_LISTEN, over
# loopback) and exits 0 or 1.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/paylater", "healthcheck", "--timeout-seconds", "3"]
# On SIGTERM the server lets requests in flight finish (each ends within 30 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/paylater"]
CMD ["serve"]

# reconcile in a container, for pipelines that run steps in images:
#
#   docker build -t reconcile .
#   docker run --rm -e CLOUDFLARE_API_TOKEN -v "$PWD:/work" reconcile plan -f desired/users.yaml
#
# The build stage compiles a static musl binary (the official rust Alpine image targets musl,
# which links statically); the final image is that binary alone, run as a non-root user. TLS
# roots are compiled into the binary (rustls with webpki-roots), so the image needs no CA bundle.
# For a reproducible build, pin the base image by digest (rust:1.95.0-alpine@sha256:…).

FROM rust:1.95.0-alpine AS build
# The C toolchain that ring (TLS) compiles with. Not pinned by version: Alpine keeps a package
# version only for the life of one release, so a pin would break the build; the digest pin of the
# base image (above) is what fixes them.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && ./target/release/reconcile --version \
    && install -D -m 0755 target/release/reconcile /out/reconcile

FROM scratch
COPY --from=build /out/reconcile /usr/local/bin/reconcile
ENV PATH=/usr/local/bin
# The desired-state files are mounted here (`-v "$PWD:/work"`).
WORKDIR /work
# An unprivileged uid/gid with no entry in /etc/passwd (there is none): the binary needs none.
USER 65532:65532
ENTRYPOINT ["reconcile"]

# Multi-stage build of feishu-sync. The query macros check against the committed .sqlx
# data, so the build needs no database. The service is built without the default
# `simulator` feature: the image has no `demo`/`bench` and no simulator code, unless
# built with `--build-arg FEATURES=simulator` (compose's `demo` profile does). The
# workspace's other crates are copied because Cargo reads every member's manifest.
#
# Base images are named by tag, not pinned by digest: a digest pinned here could not be
# checked when this file was written (no registry access), and a wrong one breaks every
# build. To pin, resolve the digests you trust and append them, e.g.
#   docker buildx imagetools inspect rust:1-bookworm        -> FROM rust:1-bookworm@sha256:…
#   docker buildx imagetools inspect debian:bookworm-slim   -> FROM debian:bookworm-slim@sha256:…
# and let your dependency bot (Renovate, Dependabot) move them.
FROM rust:1-bookworm AS build
ARG FEATURES=""
WORKDIR /src
ENV SQLX_OFFLINE=true

# Dependency layer (what cargo-chef does, by hand): the manifests and the lock file with
# empty crates, built once; it is rebuilt only when Cargo.toml or Cargo.lock change, not
# on every source change.
COPY Cargo.toml Cargo.lock build.rs ./
COPY endpoints/Cargo.toml endpoints/
COPY simulator/Cargo.toml simulator/
RUN mkdir -p src endpoints/src simulator/src migrations \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs endpoints/src/lib.rs simulator/src/lib.rs \
 && echo 'fn main() {}' > simulator/src/main.rs \
 && cargo build --release --locked -p feishu-sync --no-default-features ${FEATURES:+--features $FEATURES} \
 && rm -rf src endpoints/src simulator/src migrations

# The sources: only the workspace's own crates compile in this layer.
COPY .sqlx .sqlx
COPY migrations migrations
COPY src src
COPY endpoints endpoints
COPY simulator simulator
# New mtimes, so Cargo rebuilds the crates the empty layer stood in for.
RUN touch src/main.rs src/lib.rs endpoints/src/lib.rs simulator/src/lib.rs simulator/src/main.rs build.rs \
 && cargo build --release --locked -p feishu-sync --no-default-features ${FEATURES:+--features $FEATURES} \
 && strip target/release/feishu-sync

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /app feishu-sync
COPY --from=build /src/target/release/feishu-sync /usr/local/bin/feishu-sync
WORKDIR /app
USER feishu-sync
EXPOSE 9187
ENTRYPOINT ["feishu-sync"]
CMD ["run"]

# Multi-stage build of feishu-sync. The query macros check against the committed .sqlx
# data, so the build needs no database. The service is built without the default
# `simulator` feature: the image has no `demo`/`bench` and no simulator code, unless
# built with `--build-arg FEATURES=simulator` (compose's `demo` profile does). The
# workspace's other crates are copied because Cargo reads every member's manifest.
FROM rust:1-bookworm AS build
ARG FEATURES=""
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY .sqlx .sqlx
COPY migrations migrations
COPY src src
COPY endpoints endpoints
COPY simulator simulator
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked -p feishu-sync --no-default-features ${FEATURES:+--features $FEATURES} \
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

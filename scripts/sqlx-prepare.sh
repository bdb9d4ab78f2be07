#!/usr/bin/env bash
# Regenerates the committed `.sqlx` query data that lets `cargo build` check every
# `query!` without a database. Run it after changing a query or a migration.
#   PG_ADMIN_URL   a superuser URL (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# A name of its own per run, so two checkouts can prepare at once.
db=feishu_sync_prepare_$$
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
url="${admin%/*}/$db"
for f in migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 "$url" -f "$f"; done
rm -rf .sqlx && mkdir .sqlx
# Touch the sources so every query macro expands again and writes its data.
find src tests -name '*.rs' -exec touch {} +
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="$url" cargo check --workspace --all-targets --quiet
psql -q "$admin" -c "DROP DATABASE $db"
echo "wrote $(ls .sqlx | wc -l) query files to .sqlx"

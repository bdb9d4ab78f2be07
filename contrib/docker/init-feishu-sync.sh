#!/bin/sh
# Runs once, when the PostgreSQL container initialises an empty data directory
# (/docker-entrypoint-initdb.d). Creates the role feishu-sync connects as: a plain login
# role, not a superuser, owning its two databases and nothing else.
set -eu
: "${FEISHU_SYNC_DB_PASSWORD:?set FEISHU_SYNC_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     --set=password="$FEISHU_SYNC_DB_PASSWORD" <<'SQL'
CREATE ROLE feishu_sync LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'password';
CREATE DATABASE feishu_sync OWNER feishu_sync;
CREATE DATABASE feishu_demo OWNER feishu_sync;
REVOKE ALL ON DATABASE feishu_sync, feishu_demo FROM PUBLIC;
GRANT CONNECT ON DATABASE feishu_sync, feishu_demo TO feishu_sync;
SQL

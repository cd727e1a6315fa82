#!/bin/sh
# The ledger's own database and role, beside Temporal's (run once, on an empty data volume). The password comes from
# LEDGER_DB_PASSWORD (docker-compose.yml); our migrations run at worker/starter start-up.
set -eu
: "${LEDGER_DB_PASSWORD:?LEDGER_DB_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 -v password="$LEDGER_DB_PASSWORD" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE ledger LOGIN PASSWORD :'password';
CREATE DATABASE ledger OWNER ledger;
SQL

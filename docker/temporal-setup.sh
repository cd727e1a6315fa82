#!/bin/sh
# The one-shot jobs of docker-compose.yml, in temporalio/admin-tools. Both are idempotent (they run at every `up`).
#   schema     creates Temporal's databases and applies their schema versions (before the server starts)
#   namespace  creates the namespace and our search attributes (once the server answers)
set -eu

schema() {
  : "${DB:?}" "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
  export SQL_PASSWORD="$POSTGRES_PWD"
  for db in temporal:temporal temporal_visibility:visibility; do
    name=${db%%:*}
    set -- --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" --db "$name"
    # An existing database is fine; any other problem fails setup-schema just below.
    temporal-sql-tool "$@" create || echo "database $name exists"
    # setup-schema leaves a database already past version 0.0 alone; update-schema applies only newer versions.
    temporal-sql-tool "$@" setup-schema -v 0.0
    temporal-sql-tool "$@" update-schema -d "/etc/temporal/schema/postgresql/v12/${db#*:}/versioned"
  done
  echo 'Temporal schema is up to date'
}

namespace() {
  : "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}"
  until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
  temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1 ||
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --retention 720h
  # src/domain/search-attributes.ts (test/deploy/compose.test.ts checks this list against it).
  for attribute in EnrichmentStatus=Keyword IcpScore=Int IcpTier=Keyword CompanyDomain=Keyword SignupAt=Datetime; do
    name=${attribute%%=*}
    if temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" | grep -qw "$name"; then
      continue
    fi
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
      --name "$name" --type "${attribute#*=}"
  done
  echo "namespace $NAMESPACE and its search attributes are ready"
}

case "${1:-}" in
  schema) schema ;;
  namespace) namespace ;;
  *)
    echo 'usage: temporal-setup.sh schema|namespace' >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Restore a backup made by backup.sh into a new, empty database. docs/deployment.md, "Restore".
#
#   createdb -h db -U chat chat_restored
#   deploy/scripts/restore.sh FILE postgres://chat:secret@db:5432/chat_restored
#
# It refuses a database that already has tables, so it never writes over a live one. The
# restored objects belong to the target URL's user (the dump's owners and grants are not
# replayed), so that user can be the app's. All or nothing: one transaction, unless
# RESTORE_JOBS=N asks for N parallel jobs (faster on a large database; a failure then leaves a
# partial database to drop). Planner statistics are not in a dump: it runs ANALYZE after.
set -euo pipefail

usage="usage: restore.sh FILE TARGET_DATABASE_URL"
file="${1:?$usage}"
target="${2:?$usage}"

pg_restore --list "$file" >/dev/null

tables=$(psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$target" --command \
  "SELECT count(*) FROM pg_catalog.pg_tables
   WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [ "$tables" != "0" ]; then
  echo "restore.sh: the target database already has $tables tables; restore into a new, empty one" >&2
  exit 1
fi

if [ -n "${RESTORE_JOBS:-}" ]; then
  mode=(--jobs="$RESTORE_JOBS")
else
  mode=(--single-transaction)
fi
pg_restore --exit-on-error --no-owner --no-privileges "${mode[@]}" --dbname="$target" "$file"
vacuumdb --analyze-only --quiet --dbname="$target"
echo "restored $file"

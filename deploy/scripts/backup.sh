#!/usr/bin/env bash
# Back up the chat database: one pg_dump in PostgreSQL's custom format (compressed; pg_restore
# restores it whole or in part, in parallel if asked). docs/deployment.md, "Backups".
#
#   DATABASE_URL=postgres://chat:secret@db:5432/chat deploy/scripts/backup.sh [FILE]
#
# DATABASE_URL is the app's own (a postgres:// or postgresql:// URL; libpq reads it as it is).
# FILE defaults to chat-<UTC time>.dump in BACKUP_DIR (default: the current directory). The dump
# is written under a temporary name and renamed once complete and readable, so FILE is either a
# whole backup or absent. Prints FILE.
#
# pg_dump takes one consistent snapshot and blocks no writer: run it on the live database (or a
# replica). Its major version must be at least the server's.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL names the database to back up}"
file="${1:-${BACKUP_DIR:-.}/chat-$(date -u +%Y%m%dT%H%M%SZ).dump}"
partial="$file.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --dbname="$DATABASE_URL" --file="$partial"
# A dump that pg_restore cannot list is no backup.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$file"
trap - EXIT
echo "$file"

#!/bin/sh
# Creates the application's database role, portal_app, beside the owner
# (POSTGRES_USER, `portal`), who owns every table and runs the migrations.
# The postgres image runs this once, when its data volume is first created.
# For a volume made before, run it by hand (safe to repeat; it also sets a new
# password when POSTGRES_APP_PASSWORD changed):
#   docker-compose --env-file .env.production exec postgres sh /docker-entrypoint-initdb.d/10-app-role.sh
# Privileges come later, from `python manage.py grant_app_role portal_app`,
# which the migrate job runs after every migration.
set -eu
: "${POSTGRES_APP_PASSWORD:?POSTGRES_APP_PASSWORD is required}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  --set app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE portal_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portal_app')
\gexec
ALTER ROLE portal_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
SQL

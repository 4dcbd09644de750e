#!/usr/bin/env bash
# Runs the pgTAP suite (supabase/tests/*.sql) with pg_prove against $DATABASE_URL.
#
# DATABASE_URL must be a superuser URL of a database built from the
# migrations (`supabase db push`), e.g. the one `scripts/stack.py run` exports.
# The pgtap extension is installed first when missing, in schema
# `extensions` as on Supabase. Arguments are pg_prove options and test files
# (e.g. `scripts/db-tests.sh --verbose supabase/tests/02_rls_isolation.sql`).
# Prints pg_prove's summary; exits non-zero when a test fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -z "${DATABASE_URL:-}" ]]; then
  echo "db-tests: DATABASE_URL is not set (run through: .local/venv/bin/python scripts/stack.py run --no-worker -- scripts/db-tests.sh)" >&2
  exit 2
fi
for tool in psql pg_prove; do
  if ! command -v "$tool" >/dev/null; then
    echo "db-tests: $tool not found (apt-get install -y postgresql-client-15 postgresql-15-pgtap pgtap)" >&2
    exit 2
  fi
done

# The schema pgtap lives in; created (with the API roles' usage, as the
# platform grants it) when the extension is missing. The tests switch to the
# API roles and still call pgTAP's functions, so those roles need usage.
tap_schema="$(psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -At <<'SQL'
do $$
begin
  if not exists (select 1 from pg_extension where extname = 'pgtap') then
    create schema if not exists extensions;
    create extension pgtap schema extensions;
  end if;
end
$$;
select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pgtap';
SQL
)"
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 \
  -c "grant usage on schema \"$tap_schema\" to anon, authenticated, service_role"

# search_path for every test session: the schema under test, then pgTAP.
export PGOPTIONS="${PGOPTIONS:-} -c search_path=public,$tap_schema"

# Arguments ending in .sql choose the test files (default: all of them); the
# others are pg_prove options.
shopt -s nullglob
tests=()
options=()
for arg in "$@"; do
  if [[ "$arg" == *.sql ]]; then tests+=("$arg"); else options+=("$arg"); fi
done
if (( ${#tests[@]} == 0 )); then
  tests=("$root"/supabase/tests/*.sql)
fi
if (( ${#tests[@]} == 0 )); then
  echo "db-tests: no tests in supabase/tests" >&2
  exit 1
fi

# pg_prove passes --dbname on as `dbname=<value>` and cuts the value at its
# first '=', so the URL goes without its query string, whose parameters
# (e.g. sslmode=disable) travel as libpq environment variables instead.
base_url="${DATABASE_URL%%\?*}"
if [[ "$base_url" != "$DATABASE_URL" ]]; then
  IFS='&' read -r -a params <<<"${DATABASE_URL#*\?}"
  for param in "${params[@]}"; do
    case "${param%%=*}" in
      sslmode) export PGSSLMODE="${param#*=}" ;;
      connect_timeout) export PGCONNECT_TIMEOUT="${param#*=}" ;;
      *) echo "db-tests: ignoring URL parameter ${param%%=*}" >&2 ;;
    esac
  done
fi
if [[ "$base_url" == *=* ]]; then
  echo "db-tests: the database URL must not contain '=' outside its query string" >&2
  exit 2
fi

exec pg_prove --dbname "$base_url" --ext .sql --failures --comments "${options[@]}" "${tests[@]}"

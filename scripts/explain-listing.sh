#!/usr/bin/env bash
# Prints EXPLAIN ANALYZE of the workflow listing as one user, with 10,000
# workflows of 100 other users in the table; everything is rolled back.
#
# Usage: DATABASE_URL=postgresql://postgres@127.0.0.1:PORT/postgres scripts/explain-listing.sh
# (a superuser URL of a migrated database; `scripts/stack.py run --no-worker --
# scripts/explain-listing.sh` provides one). OTHER_ROWS overrides the 10,000.
set -euo pipefail

if [[ -z "${DATABASE_URL:-}" ]]; then
  echo "explain-listing: DATABASE_URL is not set" >&2
  exit 2
fi
other_rows="${OTHER_ROWS:-10000}"
if ! [[ "$other_rows" =~ ^[0-9]+$ ]]; then
  echo "explain-listing: OTHER_ROWS must be a number" >&2
  exit 2
fi

psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v other_rows="$other_rows" <<'SQL'
begin;
-- User A and 100 others, as Supabase Auth would have created them.
insert into auth.users (id, email) values ('00000000-0000-4000-8000-00000000000a', 'a@example.test');
insert into auth.users (id, email)
  select md5('other ' || g)::uuid, 'other' || g || '@example.test' from generate_series(1, 100) g;
insert into public.workflows (user_id, name, nodes, updated_at)
  select md5('other ' || (g % 100 + 1))::uuid, 'other ' || g,
         '[{"id": "trigger-1", "type": "trigger", "data": {"triggerType": "manual"}}]', now() - make_interval(secs => g)
  from generate_series(1, :other_rows) g;
insert into public.workflows (user_id, name, updated_at)
  select '00000000-0000-4000-8000-00000000000a', 'mine ' || g, now() - make_interval(mins => g)
  from generate_series(1, 5) g;
analyze public.workflows;

\echo
\echo 'Rows in public.workflows:'
select count(*) as total, count(*) filter (where user_id = '00000000-0000-4000-8000-00000000000a') as user_a
  from public.workflows;

-- A request of user A, as PostgREST runs it: the API role plus the JWT claims.
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true) is not null as claims_set \gset

\echo 'GET /rest/v1/workflows?select=*&order=updated_at.desc&limit=50 as user A:'
explain (analyze, buffers, costs, timing, settings)
  select * from public.workflows order by updated_at desc limit 50 offset 0;
reset role;
rollback;
SQL

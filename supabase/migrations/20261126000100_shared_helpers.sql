-- Shared helpers used by every table migration: the one `updated_at` trigger
-- function.

-- Keeps `updated_at` truthful whatever the client sends: PostgREST PATCH
-- bodies may carry a stale `updated_at` copied from an earlier read, and the
-- workflow listing sorts on this column. now() (transaction time) matches
-- `created_at`'s default, so a row inserted and updated in one transaction
-- keeps created_at = updated_at.
create function public.set_updated_at()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

comment on function public.set_updated_at() is
  'BEFORE UPDATE trigger shared by every table with an updated_at column: stamps the row with the transaction time.';

-- The platform's default privileges grant EXECUTE on new functions to the API
-- roles (and PostgreSQL grants it to PUBLIC). A trigger function is never
-- meant to be called through the API, and triggers fire without EXECUTE.
revoke execute on function public.set_updated_at() from public, anon, authenticated, service_role;

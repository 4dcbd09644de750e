-- Local stand-in for what the hosted Supabase platform provides before any
-- project migration runs. Applied once to a fresh local cluster by
-- scripts/stack.py, never to a real Supabase project (which already has all
-- of this). Keep it faithful: migrations in supabase/migrations must behave
-- here exactly as they do on the platform.

-- API roles, as on the platform. PostgREST logs in as `authenticator` and
-- switches to the role named in the JWT's `role` claim.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- The auth schema: the parts of Supabase Auth that SQL (policies, foreign
-- keys) relies on.
create schema if not exists auth;

create table if not exists auth.users (
  id uuid primary key,
  aud text default 'authenticated',
  role text default 'authenticated',
  email text unique,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Same definitions as the platform's: the claims come from the
-- `request.jwt.claims` setting that PostgREST sets per transaction (the
-- older per-claim settings are still honoured).
create or replace function auth.uid() returns uuid
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant usage on schema auth to anon, authenticated, service_role;

-- Extension namespacing, as on the platform: uuid-ossp and pgcrypto (whose
-- gen_random_bytes() generates the webhook signing secrets) live in schema
-- `extensions`, which the API roles may use.
create schema if not exists extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;
grant all on auth.users to service_role;

-- The platform's default privileges: everything created in `public` by the
-- migration role is granted to the API roles, so Row Level Security alone
-- decides what a request may touch.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;

-- Realtime's publication, as the platform creates it for every project:
-- empty (migrations add their tables), publishing inserts, updates, deletes
-- and truncates, owned by postgres. Created only once, so bootstrapping an
-- existing cluster again keeps the tables already in it.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

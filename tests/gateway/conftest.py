"""Fixtures for the gateway suite: its own tables and functions (independent of the project's migrations),
two users, and a small HTTP client that speaks to /rest/v1 like supabase-js and the worker do."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

SCHEMA = """
drop table if exists public.gw_notes, public.gw_items, public.gw_locked cascade;
drop function if exists public.gw_add(int, int), public.gw_items_min(int), public.gw_echo(jsonb, text[]),
  public.gw_whoami(), public.gw_noop(), public.gw_header(text), public.gw_setting(text),
  public.gw_first_item(), public.gw_item_totals(jsonb);

create table public.gw_items (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null,
  qty int,
  done boolean not null default false,
  sku text unique,
  tags text[],
  meta jsonb,
  created_at timestamptz not null default now()
);
alter table public.gw_items enable row level security;
create policy gw_items_owner on public.gw_items for all to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

-- No RLS: only the foreign key decides (23503).
create table public.gw_notes (
  id bigint generated always as identity primary key,
  item_id uuid not null references public.gw_items (id) on delete cascade,
  body text
);

-- Privileges revoked: 42501 "permission denied".
create table public.gw_locked (id int primary key);
revoke all on public.gw_locked from anon, authenticated;

create function public.gw_add(a int, b int) returns int language sql immutable as $$ select a + b $$;
create function public.gw_items_min(min_qty int default 0) returns setof public.gw_items
  language sql stable as $$ select * from public.gw_items where qty >= min_qty order by qty $$;
create function public.gw_echo(payload jsonb, labels text[]) returns jsonb language sql immutable as
  $$ select jsonb_build_object('payload', payload, 'labels', to_jsonb(labels), 'n', cardinality(labels)) $$;
create function public.gw_whoami() returns json language sql stable as
  $$ select json_build_object('uid', auth.uid(), 'role', current_user, 'jwt_role', auth.role(),
                              'method', current_setting('request.method', true),
                              'path', current_setting('request.path', true)) $$;
create function public.gw_header(name text) returns text language sql stable as
  $$ select current_setting('request.headers', true)::json ->> name $$;
create function public.gw_setting(name text) returns json language sql stable as
  $$ select nullif(current_setting(name, true), '')::json $$;
create function public.gw_noop() returns void language sql as $$ select $$;
create function public.gw_first_item() returns public.gw_items language sql stable as
  $$ select * from public.gw_items order by qty limit 1 $$;
-- RETURNS TABLE (OUT columns, result type record) with a jsonb argument; plpgsql like the project's run calls.
create function public.gw_item_totals(names jsonb) returns table (name text, total bigint)
  language plpgsql stable as $$
begin
  return query select i.name, sum(i.qty)::bigint from public.gw_items i
    where i.name in (select jsonb_array_elements_text(names)) group by i.name order by i.name;
end $$;
"""

TEARDOWN = """
drop table if exists public.gw_notes, public.gw_items, public.gw_locked cascade;
drop function if exists public.gw_add(int, int), public.gw_items_min(int), public.gw_echo(jsonb, text[]),
  public.gw_whoami(), public.gw_noop(), public.gw_header(text), public.gw_setting(text),
  public.gw_first_item(), public.gw_item_totals(jsonb);
"""


@dataclass
class Rest:
    """Requests to $SUPABASE_URL/rest/v1 with the anon key as ``apikey`` unless told otherwise."""

    base: str
    anon_key: str

    def __call__(self, method: str, path: str, *, token: str | None = None, apikey: str | None = "anon",
                 headers: dict | None = None, **kwargs) -> requests.Response:
        hdrs = {}
        if apikey is not None:
            hdrs["apikey"] = self.anon_key if apikey == "anon" else apikey
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        return requests.request(method, f"{self.base}/{path.lstrip('/')}", headers=hdrs, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def rest(stack_env) -> Rest:
    return Rest(stack_env.rest_url, stack_env.anon_key)


@pytest.fixture(scope="session")
def schema(db):
    db.execute(SCHEMA)
    yield
    db.execute(TEARDOWN)


@dataclass(frozen=True)
class User:
    id: str
    token: str


@pytest.fixture(scope="session")
def alice(schema, make_user, mint) -> User:
    uid = make_user()
    return User(uid, mint(uid))


@pytest.fixture(scope="session")
def bob(schema, make_user, mint) -> User:
    uid = make_user()
    return User(uid, mint(uid))


@pytest.fixture
def items(db, alice, bob):
    """A known data set per test: alice owns four rows, bob two. Returns {name: id}."""
    db.execute("delete from public.gw_items")
    rows = [
        (alice.id, "apple", 3, False, "sku-apple", ["red", "fruit"], '{"kind": "fruit"}'),
        (alice.id, "banana", 7, True, "sku-banana", ["yellow", "fruit"], '{"kind": "fruit"}'),
        (alice.id, "carrot", None, False, None, ["orange"], None),
        (alice.id, "Date, dried", 12, True, "sku-date", [], '{"kind": "snack"}'),
        (bob.id, "bob-secret", 5, False, "sku-bob", ["private"], None),
        (bob.id, "bob-other", 9, True, None, None, None),
    ]
    ids = {}
    for row in rows:
        cur = db.execute("insert into public.gw_items (user_id, name, qty, done, sku, tags, meta)"
                         " values (%s, %s, %s, %s, %s, %s, %s) returning id", list(row))
        ids[row[1]] = str(cur.fetchone()[0])
    yield ids
    db.execute("delete from public.gw_items")


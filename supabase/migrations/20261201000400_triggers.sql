-- Triggers that start runs by themselves (contract section 9): the public
-- form hook, and contact_update / deal_won events from the outbox.
--
-- * The form hook: hook_target(p_trigger_key) finds the active form_submit
--   workflow behind /api/hooks/{trigger_key}; rotate_trigger_key() gives a
--   workflow a fresh key, so a leaked hook URL can be retired.
-- * Dispatch records: workflow_event_dispatches holds one row per event and
--   workflow it starts (unique), so an event starts each matching workflow
--   once, however often the dispatcher retries or runs concurrently.
-- * Chains: an event written by a run (the worker sends the run's id in the
--   `x-edgeflow-execution` request header) records that run and its chain
--   depth. The run's own workflow is never started by it again (the loop
--   guard), and an event at depth 5 or more starts nothing (max_chain_depth in
--   claim_event_dispatches()): a run started by a person, a form or a plain
--   API call is at depth 0, a run started by an event its write caused at
--   depth 1, and so on, so a chain of runs started by runs holds at most five
--   runs (depths 0 to 4).
-- * Functions, all with an empty search_path:
--     hook_target(p_trigger_key)                                   service_role only
--     rotate_trigger_key(p_workflow_id)                            authenticated
--     claim_event_dispatches(p_limit)                              service_role only
--     finish_event_dispatch(p_dispatch_id, p_status, p_execution_id, p_error)
--                                                                  service_role only
--   The service role only finds and claims work; the worker then reads the
--   workflow and runs it as its owner, with the owner's token.
--
-- Life of a dispatch: claim_event_dispatches() turns pending events into
-- dispatches (pending, or skipped by the loop guard or the depth limit) and
-- hands out due pending ones under a 60-second lease (attempts + 1); the
-- worker reports the outcome with finish_event_dispatch(): started (with the
-- run), skipped (the trigger's filter was false, the workflow is no longer
-- active), retry (back to pending after 2^attempts minutes, capped at 64) or
-- failed. The fifth attempt is the last: a retry then, or a lease that runs
-- out for the fifth time, leaves the dispatch failed.

-- ---------------------------------------------------------------------------
-- The trigger type of a workflow document
-- ---------------------------------------------------------------------------
-- Saved documents are only checked for well-formedness (and PostgREST lets
-- a client write nodes directly), so a stored document may have no trigger
-- node or several: then it has no trigger type and nothing starts it.
create function public.workflow_trigger_type(p_nodes jsonb)
returns text
language sql
immutable
parallel safe
security invoker
set search_path = ''
as $$
  select case when count(*) = 1 then min(n.node -> 'data' ->> 'triggerType') end
    from jsonb_array_elements(case when jsonb_typeof(p_nodes) = 'array' then p_nodes else '[]'::jsonb end) n(node)
   where n.node ->> 'type' = 'trigger';
$$;

comment on function public.workflow_trigger_type(jsonb) is
  'The data.triggerType of the one node whose type is trigger in a workflow''s nodes (form_submit, contact_update, deal_won, manual); null when there is no trigger node, more than one, or p_nodes is not an array. Used by hook_target() and claim_event_dispatches().';

revoke execute on function public.workflow_trigger_type(jsonb) from public, anon, authenticated;
grant execute on function public.workflow_trigger_type(jsonb) to service_role;

-- ---------------------------------------------------------------------------
-- The form hook: hook_target(), rotate_trigger_key()
-- ---------------------------------------------------------------------------
-- Security invoker like claim_workflow_events(): the service role bypasses
-- row level security and finds any user's workflow; nobody else may call it.
-- workflows_trigger_key_key makes the lookup one index probe.
create function public.hook_target(p_trigger_key text)
returns table (workflow_id uuid, user_id uuid)
language sql
stable
security invoker
set search_path = ''
as $$
  select w.id, w.user_id
    from public.workflows w
   where w.trigger_key = p_trigger_key
     and w.is_active
     and public.workflow_trigger_type(w.nodes) = 'form_submit';
$$;

comment on function public.hook_target(text) is
  'Form hook lookup, service_role only: the workflow (workflow_id, user_id) whose trigger_key is p_trigger_key, when it is active and its trigger is form_submit. No row otherwise (unknown key, inactive, another trigger type), with no hint which: the API answers 404 alike. The worker then reads and runs the workflow as its owner.';

revoke execute on function public.hook_target(text) from public, anon, authenticated;
grant execute on function public.hook_target(text) to service_role;

create function public.rotate_trigger_key(p_workflow_id uuid)
returns setof public.workflows
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  uid constant uuid := auth.uid();
begin
  if uid is null then
    raise exception 'rotate_trigger_key() needs a signed-in user' using errcode = '42501';
  end if;

  -- DEFAULT is the column's own generator, so a rotated key is made exactly
  -- like a first one. Under the update policy another user's workflow
  -- matches no row.
  return query
    update public.workflows w
       set trigger_key = default
     where w.id = p_workflow_id and w.user_id = uid
    returning w.*;
end;
$$;

comment on function public.rotate_trigger_key(uuid) is
  'Gives the caller''s workflow a fresh trigger_key, generated by the column default (64 hex characters from two random UUIDs), and returns the row; the old hook URL stops working at once. No row when the workflow is missing or not the caller''s. Signed-in users only.';

revoke execute on function public.rotate_trigger_key(uuid) from public, anon, service_role;
grant execute on function public.rotate_trigger_key(uuid) to authenticated;

-- ---------------------------------------------------------------------------
-- Chains of runs: workflow_executions.parent_execution_id, chain_depth
-- ---------------------------------------------------------------------------
alter table public.workflow_executions
  add column parent_execution_id uuid,
  add column chain_depth integer not null default 0
    constraint workflow_executions_chain_depth_check check (chain_depth >= 0),
  -- Composite, so a run's parent is a run of the same owner; deleting the
  -- parent (pruning old runs) keeps the child and forgets the link.
  add constraint workflow_executions_parent_owner_fkey
    foreign key (parent_execution_id, user_id) references public.workflow_executions (id, user_id)
    on delete set null (parent_execution_id);

comment on column public.workflow_executions.parent_execution_id is
  'Chain (parent_execution_id, chain_depth): the run whose write caused the event that started this run (workflow_events.caused_by_execution); null for a run started by a person, a form or the API. Must belong to the same user.';
comment on column public.workflow_executions.chain_depth is
  'How many runs precede this one in its chain: 0 without a parent, else the parent''s depth + 1, set by public.set_execution_chain_depth() on insert whatever a client sends. Events written by this run are at chain_depth + 1.';
comment on constraint workflow_executions_chain_depth_check on public.workflow_executions is
  'A chain depth is never negative.';

-- Backs the foreign key's ON DELETE action. Partial: most runs have no parent.
create index workflow_executions_parent_execution_id_idx
  on public.workflow_executions (parent_execution_id)
  where parent_execution_id is not null;

create function public.set_execution_chain_depth()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  -- Read as the inserting role, under its policies: a parent the caller
  -- cannot see gives depth 0, and the foreign key then refuses the row.
  new.chain_depth := coalesce(
    (select p.chain_depth + 1 from public.workflow_executions p
      where p.id = new.parent_execution_id and p.user_id = new.user_id),
    0);
  return new;
end;
$$;

comment on function public.set_execution_chain_depth() is
  'BEFORE INSERT trigger on workflow_executions: chain_depth := the parent run''s chain_depth + 1, or 0 without a parent. The depth a client sends is ignored, so the worker names only the parent.';

revoke execute on function public.set_execution_chain_depth() from public, anon, authenticated, service_role;

create trigger workflow_executions_set_chain_depth
  before insert on public.workflow_executions
  for each row execute function public.set_execution_chain_depth();

-- ---------------------------------------------------------------------------
-- Chains of events: workflow_events.caused_by_execution, chain_depth
-- ---------------------------------------------------------------------------
alter table public.workflow_events
  add column caused_by_execution uuid,
  add column chain_depth integer not null default 0
    constraint workflow_events_chain_depth_check check (chain_depth >= 0),
  -- Composite: only a run of the row's owner can cause its event (the
  -- triggers below never record anything else). Pruning the run keeps the
  -- event and forgets the link.
  add constraint workflow_events_caused_by_execution_owner_fkey
    foreign key (caused_by_execution, user_id) references public.workflow_executions (id, user_id)
    on delete set null (caused_by_execution);

comment on column public.workflow_events.caused_by_execution is
  'Chain (caused_by_execution, chain_depth): the run of the owner whose write caused this event, named by the request header x-edgeflow-execution; null for a change made outside a run (or naming no run of the owner). The loop guard never dispatches this run''s own workflow.';
comment on column public.workflow_events.chain_depth is
  'The causing run''s chain_depth + 1, or 0 without one. An event at depth 5 or more starts no workflow.';
comment on constraint workflow_events_chain_depth_check on public.workflow_events is
  'A chain depth is never negative.';

-- Backs the foreign key's ON DELETE action. Partial: most events have no cause.
create index workflow_events_caused_by_execution_idx
  on public.workflow_events (caused_by_execution)
  where caused_by_execution is not null;

-- The run that causes a write, as PostgREST passes the request on:
-- request.headers is the request's headers as a JSON object with lower-case
-- names, set for the transaction. The header is the caller's word, so it
-- only counts when it names a run of the changed row's owner; it can then
-- only keep the owner's own workflows from starting, never start one.
create function public.causing_execution(p_user_id uuid, out execution_id uuid, out chain_depth integer)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  -- Empty (not null) once a transaction-local setting has been reset.
  headers constant text := nullif(current_setting('request.headers', true), '');
  named text;
begin
  chain_depth := 0;
  named := headers::json ->> 'x-edgeflow-execution';
  -- Only a UUID in its canonical form (the worker's); anything else is ignored.
  if named is null or named !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return;
  end if;
  select e.id, e.chain_depth + 1 into execution_id, chain_depth
    from public.workflow_executions e
   where e.id = named::uuid and e.user_id = p_user_id;
  chain_depth := coalesce(chain_depth, 0);
end;
$$;

comment on function public.causing_execution(uuid) is
  'For the outbox triggers: the run named by the request header x-edgeflow-execution (request.headers, as PostgREST sets it) when it is a canonical UUID of a run of p_user_id, and that run''s chain_depth + 1; (null, 0) otherwise, outside PostgREST included.';

-- Called only from the security definer trigger functions, as their owner.
revoke execute on function public.causing_execution(uuid) from public, anon, authenticated, service_role;

-- The outbox triggers of 20261126000400_workflow_events.sql, now recording
-- the causing run. Still security definer (the changing user may not write
-- events, nor read runs by id here) with an empty search_path.
create or replace function public.record_contact_update_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  cause record;
begin
  -- An update that changes nothing but the timestamp (e.g. an idempotent
  -- upsert) is not an event: it must not start workflows.
  if (to_jsonb(new) - 'updated_at') is not distinct from (to_jsonb(old) - 'updated_at') then
    return null;
  end if;
  select * into cause from public.causing_execution(new.user_id);
  insert into public.workflow_events
    (user_id, event_type, table_name, record_id, new_record, old_record, caused_by_execution, chain_depth)
  values
    (new.user_id, 'contact_update', tg_table_name, new.id, to_jsonb(new), to_jsonb(old),
     cause.execution_id, cause.chain_depth);
  return null;
end;
$$;

comment on function public.record_contact_update_event() is
  'AFTER UPDATE trigger on contacts: writes one contact_update event with the new and old row, and the run that caused the change with its chain depth (public.causing_execution()).';

create or replace function public.record_deal_won_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  cause record;
begin
  select * into cause from public.causing_execution(new.user_id);
  insert into public.workflow_events
    (user_id, event_type, table_name, record_id, new_record, old_record, caused_by_execution, chain_depth)
  values (
    new.user_id, 'deal_won', tg_table_name, new.id, to_jsonb(new),
    case when tg_op = 'UPDATE' then to_jsonb(old) end,
    cause.execution_id, cause.chain_depth
  );
  return null;
end;
$$;

comment on function public.record_deal_won_event() is
  'AFTER INSERT/UPDATE trigger on deals: writes one deal_won event when a deal enters stage won, with the run that caused the change and its chain depth (public.causing_execution()).';

-- CREATE OR REPLACE keeps the privileges; restated so this file reads whole.
revoke execute on function public.record_contact_update_event(), public.record_deal_won_event()
  from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- workflow_event_dispatches
-- ---------------------------------------------------------------------------
create table public.workflow_event_dispatches (
  id              bigint generated always as identity primary key,
  event_id        bigint not null references public.workflow_events (id) on delete cascade,
  workflow_id     uuid not null,
  user_id         uuid not null references auth.users (id) on delete cascade,
  execution_id    uuid,
  status          text not null default 'pending'
                  constraint workflow_event_dispatches_status_check
                  check (status in ('pending', 'started', 'skipped', 'failed')),
  attempts        integer not null default 0
                  constraint workflow_event_dispatches_attempts_check check (attempts >= 0),
  last_error      text,
  next_attempt_at timestamptz not null default now(),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  -- Exactly one dispatch per event and workflow: the conflict target of
  -- claim_event_dispatches(). Its leading column backs the event's key.
  constraint workflow_event_dispatches_event_id_workflow_id_key unique (event_id, workflow_id),
  -- Composite, so a dispatch belongs to the workflow's owner, for every role.
  constraint workflow_event_dispatches_workflow_owner_fkey
    foreign key (workflow_id, user_id) references public.workflows (id, user_id) on delete cascade,
  -- The run it started, a run of the same owner; pruning the run keeps the
  -- record and forgets the link.
  constraint workflow_event_dispatches_execution_owner_fkey
    foreign key (execution_id, user_id) references public.workflow_executions (id, user_id)
    on delete set null (execution_id)
);

comment on table public.workflow_event_dispatches is
  'One row per outbox event and workflow it starts: written by claim_event_dispatches() for every active workflow of the event''s owner whose trigger is the event''s type, handed to the dispatcher under a lease, settled by finish_event_dispatch(). Unique per (event, workflow), so an event starts a workflow at most once. The owner may read their own rows; only the service role writes.';
comment on column public.workflow_event_dispatches.event_id is 'What starts what (event_id, workflow_id, user_id): the workflow_events row that triggers the workflow.';
comment on column public.workflow_event_dispatches.workflow_id is 'The workflow to start; must belong to user_id.';
comment on column public.workflow_event_dispatches.user_id is 'Owner of the workflow and of the event, as whom the run executes; row level security compares it with auth.uid().';
comment on column public.workflow_event_dispatches.execution_id is 'The run this dispatch started (set by finish_event_dispatch() with status started); null before, for a skipped or failed dispatch, and once the run is deleted.';
comment on column public.workflow_event_dispatches.status is 'Outcome (status, attempts, last_error, next_attempt_at): pending (due at next_attempt_at, or leased until then), started, skipped (the loop guard, the depth limit, or the trigger''s filter) or failed (gave up after 5 attempts, or a permanent error).';
comment on column public.workflow_event_dispatches.attempts is 'How many times claim_event_dispatches() handed the dispatch out; at most 5.';
comment on column public.workflow_event_dispatches.last_error is 'The last error reported for the dispatch, or why it was skipped (e.g. ''loop guard: caused by a run of this workflow'').';
comment on column public.workflow_event_dispatches.next_attempt_at is 'A pending dispatch is handed out from this time on: now() when created, the lease''s end (60 seconds) once handed out, the retry''s backoff after finish_event_dispatch(''retry'').';

-- The owner's dispatches, newest first; leading column serves the policy
-- (and the cascade from auth.users).
create index workflow_event_dispatches_user_id_created_at_idx
  on public.workflow_event_dispatches (user_id, created_at desc);
-- The claim: pending dispatches that are due.
create index workflow_event_dispatches_status_next_attempt_at_idx
  on public.workflow_event_dispatches (status, next_attempt_at);
-- A workflow's dispatches; backs the cascade from workflows.
create index workflow_event_dispatches_workflow_id_created_at_idx
  on public.workflow_event_dispatches (workflow_id, created_at desc);
-- Backs the ON DELETE action from workflow_executions.
create index workflow_event_dispatches_execution_id_idx
  on public.workflow_event_dispatches (execution_id)
  where execution_id is not null;

create trigger workflow_event_dispatches_set_updated_at
  before update on public.workflow_event_dispatches
  for each row execute function public.set_updated_at();

alter table public.workflow_event_dispatches enable row level security;

create policy workflow_event_dispatches_select_own on public.workflow_event_dispatches
  for select to authenticated using ((select auth.uid()) = user_id);
comment on policy workflow_event_dispatches_select_own on public.workflow_event_dispatches is
  'A user reads only the dispatches of their own workflows. No insert, update or delete policy: only the dispatcher (service role) writes them.';

-- Start from nothing (the platform's default privileges grant ALL).
revoke all on table public.workflow_event_dispatches from public, anon, authenticated, service_role;
grant select on table public.workflow_event_dispatches to authenticated;
grant select, insert, update, delete on table public.workflow_event_dispatches to service_role;
revoke all on sequence public.workflow_event_dispatches_id_seq from public, anon, authenticated, service_role;
grant usage, select on sequence public.workflow_event_dispatches_id_seq to service_role;

-- ---------------------------------------------------------------------------
-- Dispatch: claim_event_dispatches(), for the scheduled handler (service role)
-- ---------------------------------------------------------------------------
create function public.claim_event_dispatches(p_limit integer)
returns table (
  dispatch_id         bigint,
  event_id            bigint,
  workflow_id         uuid,
  user_id             uuid,
  event_type          text,
  table_name          text,
  new_record          jsonb,
  old_record          jsonb,
  caused_by_execution uuid,
  chain_depth         integer,
  attempts            integer
)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  -- Runs started by runs stop here: an event at this depth starts nothing.
  max_chain_depth constant integer := 5;
  -- A dispatch is handed out at most this often (finish_event_dispatch() too).
  max_attempts constant integer := 5;
  -- Long enough to read the workflow and record its run; a dispatch whose
  -- worker died is handed out again once it has passed.
  lease constant interval := interval '60 seconds';
  claimed_events bigint[];
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000' using errcode = '22023';
  end if;

  -- 1. Pending events become dispatches. claim_workflow_events() locks them
  -- (skip locked: concurrent ticks take different events); within this
  -- transaction they are then done, so they never wait in processing.
  select coalesce(array_agg(c.id), '{}') into claimed_events
    from public.claim_workflow_events(p_limit) c;

  -- One row per active workflow of the event's owner with that trigger
  -- type. The loop guard and the depth limit record their pairs as skipped,
  -- so the owner can see why a workflow did not start.
  insert into public.workflow_event_dispatches (event_id, workflow_id, user_id, status, last_error)
  select e.id, w.id, w.user_id,
         case when e.chain_depth >= max_chain_depth or w.id = cause.workflow_id then 'skipped' else 'pending' end,
         case when e.chain_depth >= max_chain_depth
                then format('chain depth limit: the event is at depth %s, runs started by runs stop at depth %s',
                            e.chain_depth, max_chain_depth)
              when w.id = cause.workflow_id
                then 'loop guard: caused by a run of this workflow' end
    from public.workflow_events e
    join public.workflows w
      on w.user_id = e.user_id and w.is_active and public.workflow_trigger_type(w.nodes) = e.event_type
    left join public.workflow_executions cause on cause.id = e.caused_by_execution
   where e.id = any (claimed_events)
   order by e.created_at, e.id, w.id
  on conflict on constraint workflow_event_dispatches_event_id_workflow_id_key do nothing;

  update public.workflow_events e
     set status = 'done',
         processed_at = now()
   where e.id = any (claimed_events);

  -- 2. A lease that ran out max_attempts times means the worker keeps dying
  -- on this dispatch: fail it instead of handing it out forever.
  with exhausted as (
    select d.id
      from public.workflow_event_dispatches d
     where d.status = 'pending' and d.next_attempt_at <= now() and d.attempts >= max_attempts
     for update skip locked
  )
  update public.workflow_event_dispatches d
     set status = 'failed',
         last_error = coalesce(d.last_error || '; ', '') || 'lease expired after ' || d.attempts || ' attempts'
    from exhausted x
   where d.id = x.id;

  -- 3. Due pending dispatches, oldest due first, each under a lease. skip
  -- locked: concurrent ticks pass over each other's rows instead of waiting,
  -- and the re-check of the WHERE clause on a row committed by a concurrent
  -- claim (its lease now in the future) excludes it, so no dispatch is
  -- handed out twice per lease.
  return query
  with due as (
    select d.id
      from public.workflow_event_dispatches d
     where d.status = 'pending' and d.next_attempt_at <= now() and d.attempts < max_attempts
     order by d.next_attempt_at, d.id
     limit p_limit
     for update skip locked
  ),
  taken as (
    update public.workflow_event_dispatches d
       set attempts = d.attempts + 1,
           next_attempt_at = now() + lease
      from due
     where d.id = due.id
    returning d.id, d.event_id, d.workflow_id, d.user_id, d.attempts
  )
  select t.id, t.event_id, t.workflow_id, t.user_id, e.event_type, e.table_name, e.new_record, e.old_record,
         e.caused_by_execution, e.chain_depth, t.attempts
    from taken t
    join public.workflow_events e on e.id = t.event_id
   order by e.created_at, e.id, t.id;
end;
$$;

comment on function public.claim_event_dispatches(integer) is
  'Dispatcher only (service_role). First claims up to p_limit pending events (claim_workflow_events()) and writes one dispatch per active workflow of the event''s owner whose trigger node''s triggerType is the event type (on conflict do nothing), then marks those events done; a pair is written as skipped instead, with the reason in last_error, when the event was caused by a run of that workflow (loop guard) or its chain_depth is 5 or more (depth limit). Then fails pending dispatches whose lease ran out for the fifth time, and hands out up to p_limit due pending dispatches (next_attempt_at <= now(), skip locked): attempts + 1, next_attempt_at = now() + 60 seconds (the lease). Returns each with its event (type, table, row images, causing run, chain depth) and attempt count, oldest event first.';

revoke execute on function public.claim_event_dispatches(integer) from public, anon, authenticated;
grant execute on function public.claim_event_dispatches(integer) to service_role;

create function public.finish_event_dispatch(p_dispatch_id bigint, p_status text, p_execution_id uuid, p_error text)
returns setof public.workflow_event_dispatches
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  -- The same bound as claim_event_dispatches(): the fifth attempt is the last.
  max_attempts constant integer := 5;
begin
  if p_status is null or p_status not in ('started', 'skipped', 'retry', 'failed') then
    raise exception 'p_status must be started, skipped, retry or failed' using errcode = '22023';
  end if;
  if p_status = 'started' and p_execution_id is null then
    raise exception 'a started dispatch names its run in p_execution_id' using errcode = '22023';
  end if;

  -- Only a pending dispatch changes: a repeated or late report about a
  -- settled one finds no row.
  return query
    update public.workflow_event_dispatches d
       set status = case when p_status <> 'retry' then p_status
                         when d.attempts >= max_attempts then 'failed'
                         else 'pending' end,
           execution_id = coalesce(p_execution_id, d.execution_id),
           last_error = case when p_status = 'retry' and d.attempts >= max_attempts
                               then coalesce(p_error || '; ', '') || 'gave up after ' || d.attempts || ' attempts'
                             else coalesce(p_error, d.last_error) end,
           next_attempt_at = case when p_status = 'retry' and d.attempts < max_attempts
                                    then now() + interval '1 minute' * least(2 ^ d.attempts, 64)
                                  else d.next_attempt_at end
     where d.id = p_dispatch_id and d.status = 'pending'
    returning d.*;
end;
$$;

comment on function public.finish_event_dispatch(bigint, text, uuid, text) is
  'Dispatcher only (service_role): settles a pending dispatch it was handed. p_status started (p_execution_id, the run it started, is required), skipped (p_error says why, e.g. the trigger''s filter was false) or failed (a permanent error in p_error) set that status; retry puts it back to pending with next_attempt_at = now() + least(2^attempts, 64) minutes and last_error = p_error, or, once attempts >= 5, fails it (last_error p_error; gave up after <n> attempts). p_execution_id, when given, is recorded whatever the status. Returns the updated row; no row when the dispatch is unknown or already settled.';

revoke execute on function public.finish_event_dispatch(bigint, text, uuid, text) from public, anon, authenticated;
grant execute on function public.finish_event_dispatch(bigint, text, uuid, text) to service_role;

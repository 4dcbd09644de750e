-- The transactional outbox: triggers on contacts and deals record
-- contact_update / deal_won events in the same transaction as the change, and
-- a claim function hands them to the dispatcher exactly once per lease.

create table public.workflow_events (
  id           bigint generated always as identity primary key,
  user_id      uuid not null references auth.users (id) on delete cascade,
  event_type   text not null check (event_type in ('contact_update', 'deal_won')),
  table_name   text not null,
  record_id    uuid not null,
  new_record   jsonb,
  old_record   jsonb,
  status       text not null default 'pending' check (status in ('pending', 'processing', 'done', 'failed')),
  attempts     integer not null default 0 check (attempts >= 0),
  claimed_at   timestamptz,
  processed_at timestamptz,
  last_error   text,
  created_at   timestamptz not null default now()
);

comment on table public.workflow_events is
  'Transactional outbox of CRM changes that trigger workflows. Written only by triggers on contacts and deals, claimed by the dispatcher through claim_workflow_events(); users may read their own events.';
comment on column public.workflow_events.id is 'Monotonic id; events are claimed in (created_at, id) order.';
comment on column public.workflow_events.user_id is 'Owner of the changed row, whose active workflows the event may start.';
comment on column public.workflow_events.event_type is 'What happened (event_type, table_name, record_id): contact_update or deal_won, on which table and row.';
comment on column public.workflow_events.table_name is 'Source table: contacts or deals.';
comment on column public.workflow_events.record_id is 'Id of the changed row.';
comment on column public.workflow_events.new_record is 'Row images (new_record, old_record) as JSON: the row after and before the change; old_record is null for an inserted deal.';
comment on column public.workflow_events.old_record is 'The row before the change.';
comment on column public.workflow_events.status is 'Dispatch state (status, attempts, claimed_at, processed_at, last_error): pending, processing (claimed, lease running), done or failed.';
comment on column public.workflow_events.attempts is 'How many times the event was claimed.';
comment on column public.workflow_events.claimed_at is 'Start of the current lease; a processing event whose lease expired can be claimed again.';
comment on column public.workflow_events.processed_at is 'When the dispatcher finished with the event (done or failed).';
comment on column public.workflow_events.last_error is 'Last dispatch error.';
comment on column public.workflow_events.created_at is 'Time of the change (its transaction).';

-- Claim order; the claim filters on status.
create index workflow_events_status_created_at_idx on public.workflow_events (status, created_at, id);
create index workflow_events_user_id_created_at_idx on public.workflow_events (user_id, created_at desc);

alter table public.workflow_events enable row level security;

create policy workflow_events_select_own on public.workflow_events
  for select to authenticated using ((select auth.uid()) = user_id);
comment on policy workflow_events_select_own on public.workflow_events is
  'A user reads only events about their own rows. No insert, update or delete policy: only the triggers (security definer) and the dispatcher (service role) write events.';

revoke all on table public.workflow_events from public, anon, authenticated, service_role;
grant select on table public.workflow_events to authenticated;
grant select, insert, update, delete on table public.workflow_events to service_role;
revoke all on sequence public.workflow_events_id_seq from public, anon, authenticated, service_role;
grant usage, select on sequence public.workflow_events_id_seq to service_role;

-- ---------------------------------------------------------------------------
-- Event triggers
-- ---------------------------------------------------------------------------
-- Security definer because the changing user has no right to write events;
-- an empty search_path so nothing the caller puts on theirs is resolved.
create function public.record_contact_update_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- An update that changes nothing but the timestamp (e.g. an idempotent
  -- upsert) is not an event: it must not start workflows.
  if (to_jsonb(new) - 'updated_at') is not distinct from (to_jsonb(old) - 'updated_at') then
    return null;
  end if;
  insert into public.workflow_events (user_id, event_type, table_name, record_id, new_record, old_record)
  values (new.user_id, 'contact_update', tg_table_name, new.id, to_jsonb(new), to_jsonb(old));
  return null;
end;
$$;

comment on function public.record_contact_update_event() is
  'AFTER UPDATE trigger on contacts: writes one contact_update event with the new and old row.';

create function public.record_deal_won_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.workflow_events (user_id, event_type, table_name, record_id, new_record, old_record)
  values (
    new.user_id, 'deal_won', tg_table_name, new.id, to_jsonb(new),
    case when tg_op = 'UPDATE' then to_jsonb(old) end
  );
  return null;
end;
$$;

comment on function public.record_deal_won_event() is
  'AFTER INSERT/UPDATE trigger on deals: writes one deal_won event when a deal enters stage won.';

create trigger contacts_record_update_event
  after update on public.contacts
  for each row execute function public.record_contact_update_event();

-- Entering 'won' only: a won deal edited again is not won a second time.
create trigger deals_record_won_event_on_insert
  after insert on public.deals
  for each row when (new.stage = 'won')
  execute function public.record_deal_won_event();
create trigger deals_record_won_event_on_update
  after update of stage on public.deals
  for each row when (new.stage = 'won' and old.stage is distinct from 'won')
  execute function public.record_deal_won_event();

revoke execute on function public.record_contact_update_event(), public.record_deal_won_event()
  from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Claim
-- ---------------------------------------------------------------------------
create function public.claim_workflow_events(
  p_limit         integer default 10,
  p_lease_seconds integer default 300,
  p_max_attempts  integer default 5
)
returns setof public.workflow_events
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000' using errcode = '22023';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 1 then
    raise exception 'p_lease_seconds must be positive' using errcode = '22023';
  end if;
  if p_max_attempts is null or p_max_attempts < 1 then
    raise exception 'p_max_attempts must be positive' using errcode = '22023';
  end if;

  -- A lease that expired p_max_attempts times means the dispatcher keeps
  -- dying on this event: park it as failed instead of retrying forever.
  update public.workflow_events e
     set status = 'failed',
         processed_at = now(),
         last_error = coalesce(e.last_error || '; ', '') || 'lease expired after ' || e.attempts || ' attempts'
   where e.status = 'processing'
     and e.claimed_at < now() - make_interval(secs => p_lease_seconds)
     and e.attempts >= p_max_attempts;

  -- skip locked: concurrent claimers pass over each other's rows instead of
  -- waiting, and the re-check of the WHERE clause on a row committed by a
  -- concurrent claim (now processing with a fresh lease) excludes it, so no
  -- event is handed out twice.
  return query
  with claimable as (
    select e.id
      from public.workflow_events e
     where e.status = 'pending'
        or (e.status = 'processing'
            and e.claimed_at < now() - make_interval(secs => p_lease_seconds)
            and e.attempts < p_max_attempts)
     order by e.created_at, e.id
     limit p_limit
     for update skip locked
  ),
  claimed as (
    update public.workflow_events e
       set status = 'processing',
           claimed_at = now(),
           attempts = e.attempts + 1
      from claimable c
     where e.id = c.id
    returning e.*
  )
  select * from claimed order by claimed.created_at, claimed.id;
end;
$$;

comment on function public.claim_workflow_events(integer, integer, integer) is
  'Dispatcher only (service_role): atomically claims up to p_limit pending events, and processing events whose lease of p_lease_seconds expired, oldest first (and returns them in that order); marks them processing, stamps claimed_at, counts the attempt. Events whose lease expired p_max_attempts times are marked failed. The dispatcher then sets status done or failed (and processed_at, last_error).';

revoke execute on function public.claim_workflow_events(integer, integer, integer) from public, anon, authenticated;
grant execute on function public.claim_workflow_events(integer, integer, integer) to service_role;

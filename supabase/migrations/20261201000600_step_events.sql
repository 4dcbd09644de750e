-- Step events: every write of a journal row gets a new place in the event
-- order of its run, so the live stream (GET /api/executions/{id}/events)
-- sends a step when it starts and again when it settles, and resumes from
-- Last-Event-ID without duplicates and without losses.
--
-- * workflow_step_runs.seq: an identity value, drawn again each time
--   journal_steps() writes the row: a step journaled as running, its running
--   row updated to the settled result (or to a newer running report), a
--   step journaled settled at once. A settled row is never written again, so
--   its seq stays. One sequence serves every run: values are unique and
--   increase, with gaps (a batch element that changes nothing still draws a
--   value). The stream sends each row whose seq is above the last one sent,
--   with `id: <seq>`.
-- * journal_steps() (same signature, same semantics) first locks the run's
--   row, as the caller and under the tables' policies, so two writes of one
--   run never overlap: within a run, seq order is commit order. A reader
--   that has seen seq n of a run will never see a write of that run commit
--   later with a smaller number, so "everything above n" loses nothing.
--
-- The worker writes the journal only through journal_steps(). A row written
-- directly through the table API (allowed to its owner by the policies)
-- takes a seq when inserted and keeps it when updated, and is not ordered
-- by the run lock.

-- ---------------------------------------------------------------------------
-- workflow_step_runs.seq
-- ---------------------------------------------------------------------------
-- Added as a plain column and numbered in journal order (created_at, id),
-- the order the stream used before, so the rows of an existing run keep
-- their order; then the identity takes over from the highest value. The
-- backfill is not a change of the steps: updated_at is left as it was.
alter table public.workflow_step_runs add column seq bigint;

alter table public.workflow_step_runs disable trigger workflow_step_runs_set_updated_at;
update public.workflow_step_runs s
   set seq = n.seq
  from (select r.id, row_number() over (order by r.created_at, r.id) as seq
          from public.workflow_step_runs r) n
 where s.id = n.id;
alter table public.workflow_step_runs enable trigger workflow_step_runs_set_updated_at;

alter table public.workflow_step_runs alter column seq set not null;
alter table public.workflow_step_runs alter column seq add generated always as identity;

-- The identity continues after the backfilled numbers (setval with false:
-- the next value is exactly this one).
select setval(pg_catalog.pg_get_serial_sequence('public.workflow_step_runs', 'seq'),
              coalesce((select max(seq) from public.workflow_step_runs), 0) + 1, false);

-- An identity value is drawn without any privilege on its sequence (unlike
-- nextval()), so no API role needs one; generated always, so no caller
-- chooses a value (an update may only ask for the next one, SET seq = DEFAULT).
revoke all on sequence public.workflow_step_runs_seq_seq from public, anon, authenticated, service_role;

comment on column public.workflow_step_runs.seq is
  'Event order: drawn from one identity sequence each time journal_steps() inserts the row or updates it (running, then settled), so it increases with every change; within a run, seq order is commit order (journal_steps() locks the run). The live stream''s step event id. Unique, with gaps.';

-- The stream's read: the rows of one run above the last seq it sent, in
-- seq order.
create index workflow_step_runs_execution_id_seq_idx
  on public.workflow_step_runs (execution_id, seq);

-- ---------------------------------------------------------------------------
-- RPC: POST /rest/v1/rpc/journal_steps (replaced: the run lock and seq)
-- ---------------------------------------------------------------------------
create or replace function public.journal_steps(p_execution_id uuid, p_steps jsonb, p_lease_ms integer)
returns table (status text, lease_until timestamptz)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  uid constant uuid := auth.uid();
begin
  if uid is null then
    raise exception 'journal_steps() needs a signed-in user' using errcode = '42501';
  end if;
  if p_steps is null or jsonb_typeof(p_steps) <> 'array' then
    raise exception 'p_steps must be a JSON array' using errcode = '22023';
  end if;
  if exists (select 1 from jsonb_array_elements(p_steps) s(step) where jsonb_typeof(s.step) <> 'object') then
    raise exception 'every element of p_steps must be a JSON object' using errcode = '22023';
  end if;
  if p_lease_ms is null or p_lease_ms < 1 then
    raise exception 'p_lease_ms must be positive' using errcode = '22023';
  end if;

  -- Writes of one run one at a time, until this transaction ends: a second
  -- call for the run waits here, and draws its seq values after the first
  -- has committed. FOR NO KEY UPDATE is the lock the lease update below
  -- takes anyway; unlike FOR UPDATE it lets other transactions insert rows
  -- that reference the run (their foreign key check takes FOR KEY SHARE).
  -- Under the policies: another user's run is not found and not locked.
  perform 1 from public.workflow_executions e
   where e.id = p_execution_id and e.user_id = uid
     for no key update;

  -- The run is read under its select policy: another user's id matches no
  -- row, so nothing is inserted. One row per step key: ON CONFLICT cannot
  -- touch a row twice in one statement, so when a batch names a step twice a
  -- settled element wins over a running one, then the later one. An
  -- inserted row draws its seq by default, an updated one by SET DEFAULT; a
  -- settled row is left as it is, seq included. Rows are written in batch
  -- order, so the seq order within a batch is the caller's order (the
  -- worker's: what settled, then what started).
  insert into public.workflow_step_runs as r
    (execution_id, user_id, node_id, item_index, status, attempts, output, error, result, started_at, finished_at)
  select e.id, e.user_id, s.node_id, s.item_index, s.status, s.attempts, s.output, s.error, s.result,
         s.started_at, s.finished_at
    from public.workflow_executions e
    cross join lateral (
      select distinct on (v.step ->> 'node_id', coalesce((v.step ->> 'item_index')::integer, -1))
             v.step ->> 'node_id' as node_id,
             coalesce((v.step ->> 'item_index')::integer, -1) as item_index,
             v.step ->> 'status' as status,
             coalesce((v.step ->> 'attempts')::integer, 0) as attempts,
             nullif(v.step -> 'output', 'null'::jsonb) as output,
             v.step ->> 'error' as error,
             nullif(v.step -> 'result', 'null'::jsonb) as result,
             (v.step ->> 'started_at')::timestamptz as started_at,
             (v.step ->> 'finished_at')::timestamptz as finished_at,
             v.ord
        from jsonb_array_elements(p_steps) with ordinality as v(step, ord)
       order by v.step ->> 'node_id', coalesce((v.step ->> 'item_index')::integer, -1),
                (v.step ->> 'status') = 'running', v.ord desc
    ) s
   where e.id = p_execution_id and e.user_id = uid
   order by s.ord
  on conflict on constraint workflow_step_runs_execution_id_node_id_item_index_key do update
     set status = excluded.status,
         attempts = excluded.attempts,
         output = excluded.output,
         error = excluded.error,
         result = excluded.result,
         started_at = coalesce(excluded.started_at, r.started_at),
         finished_at = excluded.finished_at,
         seq = default
   where r.status = 'running';

  -- A heartbeat for the live invocation; a run that is no longer running
  -- (cancelled, say) keeps its state, and the caller learns it below.
  update public.workflow_executions e
     set lease_until = now() + make_interval(secs => p_lease_ms / 1000.0)
   where e.id = p_execution_id and e.user_id = uid and e.status = 'running';

  return query
    select e.status, e.lease_until from public.workflow_executions e
     where e.id = p_execution_id and e.user_id = uid;
end;
$$;

comment on function public.journal_steps(uuid, jsonb, integer) is
  'Journals steps of the caller''s run and renews its lease. p_steps is a JSON array of {node_id, item_index?, status, attempts, output?, error?, result, started_at?, finished_at?}: a new step is inserted; an existing running step takes the new values; a settled step (succeeded, failed, skipped) is never changed. Every row inserted or changed draws a new seq; calls for one run are serialized by a lock on the run''s row, so their seq values follow their commit order. Then, only while the run is running, lease_until := now() + p_lease_ms milliseconds. Returns one row (status, lease_until) with the run''s current state, so the caller learns of a cancel; no row when the run is not the caller''s. Signed-in users only.';

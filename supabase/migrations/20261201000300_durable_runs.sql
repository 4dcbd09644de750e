-- Durable runs: a run outlives the invocation that started it.
--
-- * workflow_executions gains the queued / waiting / cancelled states, a
--   lease (lease_until) owned by the live invocation, an invocation counter
--   (attempt) and the workflow document as it was when the run started.
-- * workflow_step_runs is the step journal: one row per step (and loop item)
--   of a run. A settled step (succeeded, failed, skipped) is never rewritten,
--   so a resumed run never executes it again and feeds its output to the
--   remaining templates.
-- * deals, notifications and email_outbox carry the step key
--   `<execution_id>:<node_id>` of the action that wrote them, unique per
--   user, so a retried or resumed action finds its first row.
-- * Functions, all with an empty search_path:
--     journal_steps(p_execution_id, p_steps, p_lease_ms)        authenticated
--     take_run(p_execution_id, p_expected_attempt, p_lease_ms)  authenticated
--     cancel_run(p_execution_id)                                authenticated
--     claim_runs(p_limit, p_lease_ms, p_max_attempts)           service_role only
--   The first three run as the caller, under the tables' policies; a run of
--   another user is invisible to them.
--
-- Life of a run: queued (Prefer: respond-async) or running (in the request)
-- -> take_run() by the invocation that works on it (attempt + 1, lease) ->
-- journal_steps() as steps settle (extends the lease while running) ->
-- waiting (resume_at) or succeeded / failed, or cancelled by cancel_run().
-- claim_runs() (the scheduled recovery) hands out runs whose lease expired,
-- queued runs whose message was lost and waiting runs that are due.

-- ---------------------------------------------------------------------------
-- workflow_executions: states, lease, attempt, snapshot
-- ---------------------------------------------------------------------------
alter table public.workflow_executions
  drop constraint workflow_executions_status_check,
  add constraint workflow_executions_status_check
    check (status in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  add column stop_reason text,
  add column resume_at timestamptz,
  add column attempt integer not null default 0
    constraint workflow_executions_attempt_check check (attempt >= 0),
  add column lease_until timestamptz,
  add column recoveries integer not null default 0
    constraint workflow_executions_recoveries_check check (recoveries >= 0),
  add column workflow_snapshot jsonb
    constraint workflow_executions_workflow_snapshot_check
      check (workflow_snapshot is null or jsonb_typeof(workflow_snapshot) = 'object'),
  add column workflow_version integer
    constraint workflow_executions_workflow_version_check check (workflow_version >= 1);

comment on constraint workflow_executions_status_check on public.workflow_executions is
  'A run is queued, running, waiting, succeeded, failed or cancelled; the last three are final.';
comment on constraint workflow_executions_workflow_snapshot_check on public.workflow_executions is
  'The snapshot, when stored, is a JSON object ({"nodes": [...], "edges": [...]}).';

comment on column public.workflow_executions.status is
  'Lifecycle: queued (accepted, waiting for its queue message) or running, waiting (paused until resume_at), then succeeded, failed or cancelled. Defaults to running (a run executed in the request).';
comment on column public.workflow_executions.stop_reason is
  'Why the run stopped early (the onError: stop node that failed), failed as a whole (e.g. gave up after being recovered too often) or was cancelled; null otherwise.';
comment on column public.workflow_executions.resume_at is
  'When a waiting run continues; claim_runs() hands it out from then on. Cleared by take_run().';
comment on column public.workflow_executions.attempt is
  'Recovery state (attempt, lease_until): how many invocations have taken the run (take_run() adds one). A caller must name the current value to take the run, so a redelivered message finds it already taken.';
comment on column public.workflow_executions.recoveries is
  'How often claim_runs() handed the run out again after its invocation was gone (lease expired, message lost); past the worker''s limit the run is failed. Planned continuations (a due waiting run, a budget yield) do not count.';
comment on column public.workflow_executions.lease_until is
  'While in the future, a live invocation owns the run (journal_steps() extends it); once past, claim_runs() may hand the run to another. Null before the first invocation and once the run is final.';
comment on column public.workflow_executions.workflow_snapshot is
  'The workflow document the run executes, as it was when the run started: {"nodes": [...], "edges": [...]}. Editing the workflow never changes a run already started.';
comment on column public.workflow_executions.workflow_version is
  'workflows.version when the run started (null for an unsaved document).';

-- Recovery's two scans: runs whose lease may have expired, and waiting runs
-- that are due. Partial, so finished runs (nearly all rows) are not indexed.
create index workflow_executions_lease_until_idx
  on public.workflow_executions (lease_until)
  where status in ('queued', 'running');
create index workflow_executions_resume_at_idx
  on public.workflow_executions (resume_at)
  where status = 'waiting';

-- ---------------------------------------------------------------------------
-- workflows.version
-- ---------------------------------------------------------------------------
alter table public.workflows
  add column version integer not null default 1
    constraint workflows_version_check check (version >= 1);

comment on column public.workflows.version is
  'Version of the document: 1 when created, one more each time nodes or edges change. Kept by public.bump_workflow_version(), whatever a client sends; a run records the version it started from.';

create function public.bump_workflow_version()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.version := 1;
  elsif new.nodes is distinct from old.nodes or new.edges is distinct from old.edges then
    new.version := old.version + 1;
  else
    new.version := old.version;
  end if;
  return new;
end;
$$;

comment on function public.bump_workflow_version() is
  'BEFORE INSERT/UPDATE trigger on workflows: a new workflow is version 1; an update that changes nodes or edges (as JSON values) adds one to the old version, any other update keeps it. The version a client sends is ignored.';

revoke execute on function public.bump_workflow_version() from public, anon, authenticated, service_role;

create trigger workflows_bump_version
  before insert or update on public.workflows
  for each row execute function public.bump_workflow_version();

-- ---------------------------------------------------------------------------
-- workflow_step_runs: the step journal
-- ---------------------------------------------------------------------------
create table public.workflow_step_runs (
  id           uuid primary key default gen_random_uuid(),
  execution_id uuid not null,
  user_id      uuid not null default auth.uid() references auth.users (id) on delete cascade,
  node_id      text not null check (char_length(node_id) between 1 and 200),
  item_index   integer not null default -1 check (item_index >= -1),
  status       text not null check (status in ('running', 'succeeded', 'failed', 'skipped')),
  attempts     integer not null default 0 check (attempts >= 0),
  output       jsonb,
  error        text,
  result       jsonb not null check (jsonb_typeof(result) = 'object'),
  started_at   timestamptz,
  finished_at  timestamptz,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  -- Composite, so a step can only be filed under its run's owner, for every
  -- role; the steps go with their run.
  constraint workflow_step_runs_execution_owner_fkey
    foreign key (execution_id, user_id) references public.workflow_executions (id, user_id) on delete cascade,
  -- One row per step of a run; the conflict target of journal_steps(). Its
  -- leading column also backs the foreign key.
  constraint workflow_step_runs_execution_id_node_id_item_index_key
    unique (execution_id, node_id, item_index)
);

comment on table public.workflow_step_runs is
  'The step journal of durable runs: one row per node (and loop item) of a run, written by journal_steps() as steps start and settle. A settled step is never executed again for the same run; a resumed run rebuilds its results from here. Owner-only; deleted with its run.';
comment on column public.workflow_step_runs.execution_id is 'The run (workflow_executions.id) this step belongs to; must belong to user_id.';
comment on column public.workflow_step_runs.user_id is 'Owner: the run''s owner, who alone can read the journal. Defaults to the caller''s JWT subject.';
comment on column public.workflow_step_runs.node_id is 'Step identity (node_id, item_index): the node''s id in the run''s workflow_snapshot, 1 to 200 characters.';
comment on column public.workflow_step_runs.item_index is 'The 0-based loop item this row is for; -1 when the step is not a loop iteration.';
comment on column public.workflow_step_runs.status is 'Outcome (status, attempts, output, error): running while in flight, then succeeded, failed or skipped (settled, never changed again by journal_steps()).';
comment on column public.workflow_step_runs.attempts is 'How many times the action was tried (retries included).';
comment on column public.workflow_step_runs.output is 'The step''s output, which later templates read; null when it has none.';
comment on column public.workflow_step_runs.error is 'The error of a failed step.';
comment on column public.workflow_step_runs.result is 'The full NodeResult object exactly as the API shows it in an execution''s results, so the worker can rebuild them.';
comment on column public.workflow_step_runs.started_at is 'Timing (started_at, finished_at): when the step started and settled.';
comment on column public.workflow_step_runs.finished_at is 'When the step settled; null while running.';

-- Serves every policy (and the cascade from auth.users).
create index workflow_step_runs_user_id_idx on public.workflow_step_runs (user_id);

create trigger workflow_step_runs_set_updated_at
  before update on public.workflow_step_runs
  for each row execute function public.set_updated_at();

alter table public.workflow_step_runs enable row level security;

create policy workflow_step_runs_select_own on public.workflow_step_runs
  for select to authenticated using ((select auth.uid()) = user_id);
create policy workflow_step_runs_insert_own on public.workflow_step_runs
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy workflow_step_runs_update_own on public.workflow_step_runs
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

comment on policy workflow_step_runs_select_own on public.workflow_step_runs is 'A user reads only the steps of their own runs.';
comment on policy workflow_step_runs_insert_own on public.workflow_step_runs is 'A user journals steps only for themselves (the foreign key keeps them within their own runs).';
comment on policy workflow_step_runs_update_own on public.workflow_step_runs is 'A user updates only their own steps and cannot give one away. No delete policy: steps go with their run.';

-- Start from nothing (the platform's default privileges grant ALL); no
-- DELETE for anyone, anon nothing.
revoke all on table public.workflow_step_runs from public, anon, authenticated, service_role;
grant select, insert, update on table public.workflow_step_runs to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Step keys: exactly-once side effects of the embedded actions
-- ---------------------------------------------------------------------------
-- The worker writes `<execution_id>:<node_id>` (plus the loop item) into
-- step_key. A retried or resumed action's insert hits the unique index
-- (23505, HTTP 409 through PostgREST) and the worker reads the first row
-- instead of writing a second. Partial: rows written outside a run (the
-- builder, a direct client) have no key and are not limited.
alter table public.deals
  add column step_key text
    constraint deals_step_key_length check (step_key is null or char_length(step_key) between 1 and 300);
alter table public.notifications
  add column step_key text
    constraint notifications_step_key_length check (step_key is null or char_length(step_key) between 1 and 300);
alter table public.email_outbox
  add column step_key text
    constraint email_outbox_step_key_length check (step_key is null or char_length(step_key) between 1 and 300);

comment on column public.deals.step_key is
  'The step of a run that created the deal (<execution_id>:<node_id>), unique per user; a retried or resumed create_deal finds this row instead of creating a second. Null for deals made outside a run.';
comment on column public.notifications.step_key is
  'The step of a run that sent the notification (<execution_id>:<node_id>), unique per user; a retried or resumed send_notification finds this row instead of notifying twice. Null outside a run.';
comment on column public.email_outbox.step_key is
  'The step of a run that queued the mail (<execution_id>:<node_id>), unique per user; a retried or resumed send_email finds this row instead of queueing the mail twice. Null outside a run.';
comment on constraint deals_step_key_length on public.deals is 'A step key, when set, is 1 to 300 characters.';
comment on constraint notifications_step_key_length on public.notifications is 'A step key, when set, is 1 to 300 characters.';
comment on constraint email_outbox_step_key_length on public.email_outbox is 'A step key, when set, is 1 to 300 characters.';

create unique index deals_user_id_step_key_idx
  on public.deals (user_id, step_key) where step_key is not null;
create unique index notifications_user_id_step_key_idx
  on public.notifications (user_id, step_key) where step_key is not null;
create unique index email_outbox_user_id_step_key_idx
  on public.email_outbox (user_id, step_key) where step_key is not null;

-- ---------------------------------------------------------------------------
-- RPC: POST /rest/v1/rpc/journal_steps
-- ---------------------------------------------------------------------------
create function public.journal_steps(p_execution_id uuid, p_steps jsonb, p_lease_ms integer)
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

  -- The run is read under its select policy: another user's id matches no
  -- row, so nothing is inserted. One row per step key: ON CONFLICT cannot
  -- touch a row twice in one statement, so when a batch names a step twice a
  -- settled element wins over a running one, then the later one.
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
             (v.step ->> 'finished_at')::timestamptz as finished_at
        from jsonb_array_elements(p_steps) with ordinality as v(step, ord)
       order by v.step ->> 'node_id', coalesce((v.step ->> 'item_index')::integer, -1),
                (v.step ->> 'status') = 'running', v.ord desc
    ) s
   where e.id = p_execution_id and e.user_id = uid
  on conflict on constraint workflow_step_runs_execution_id_node_id_item_index_key do update
     set status = excluded.status,
         attempts = excluded.attempts,
         output = excluded.output,
         error = excluded.error,
         result = excluded.result,
         started_at = coalesce(excluded.started_at, r.started_at),
         finished_at = excluded.finished_at
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
  'Journals steps of the caller''s run and renews its lease. p_steps is a JSON array of {node_id, item_index?, status, attempts, output?, error?, result, started_at?, finished_at?}: a new step is inserted; an existing running step takes the new values; a settled step (succeeded, failed, skipped) is never changed. Then, only while the run is running, lease_until := now() + p_lease_ms milliseconds. Returns one row (status, lease_until) with the run''s current state, so the caller learns of a cancel; no row when the run is not the caller''s. Signed-in users only.';

-- ---------------------------------------------------------------------------
-- RPC: POST /rest/v1/rpc/take_run
-- ---------------------------------------------------------------------------
create function public.take_run(p_execution_id uuid, p_expected_attempt integer, p_lease_ms integer)
returns setof public.workflow_executions
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  uid constant uuid := auth.uid();
begin
  if uid is null then
    raise exception 'take_run() needs a signed-in user' using errcode = '42501';
  end if;
  if p_expected_attempt is null or p_expected_attempt < 0 then
    raise exception 'p_expected_attempt must be zero or more' using errcode = '22023';
  end if;
  if p_lease_ms is null or p_lease_ms < 1 then
    raise exception 'p_lease_ms must be positive' using errcode = '22023';
  end if;

  -- Optimistic concurrency: of two invocations naming the same attempt, the
  -- second waits for the first's row lock, re-checks the condition against
  -- the committed row (attempt has moved on) and updates nothing.
  return query
    update public.workflow_executions e
       set attempt = e.attempt + 1,
           status = 'running',
           lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
           resume_at = null
     where e.id = p_execution_id and e.user_id = uid
       and e.status in ('queued', 'running', 'waiting')
       and e.attempt = p_expected_attempt
    returning e.*;
end;
$$;

comment on function public.take_run(uuid, integer, integer) is
  'Claims the caller''s run for one invocation: when it is queued, running or waiting and its attempt equals p_expected_attempt, sets attempt = attempt + 1, status = running, lease_until = now() + p_lease_ms milliseconds, resume_at = null and returns the row. Otherwise returns nothing: another invocation took it, it is final, or it is not the caller''s. Makes a redelivered queue message harmless. Signed-in users only.';

-- ---------------------------------------------------------------------------
-- RPC: POST /rest/v1/rpc/cancel_run
-- ---------------------------------------------------------------------------
create function public.cancel_run(p_execution_id uuid)
returns setof public.workflow_executions
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  uid constant uuid := auth.uid();
begin
  if uid is null then
    raise exception 'cancel_run() needs a signed-in user' using errcode = '42501';
  end if;

  -- Steps in flight may still journal their results; with the lease gone
  -- and the status final, nothing new starts and recovery leaves the run be.
  return query
    update public.workflow_executions e
       set status = 'cancelled',
           stop_reason = 'cancelled by the user',
           finished_at = now(),
           lease_until = null,
           success = false
     where e.id = p_execution_id and e.user_id = uid
       and e.status in ('queued', 'running', 'waiting')
    returning e.*;
end;
$$;

comment on function public.cancel_run(uuid) is
  'Cancels the caller''s run when it is queued, running or waiting: status = cancelled, stop_reason = ''cancelled by the user'', finished_at = now(), lease_until = null, success = false; returns the row. Returns nothing for a final run or one that is not the caller''s (the API tells 409 from 404 by reading the run). Signed-in users only.';

revoke execute on function
  public.journal_steps(uuid, jsonb, integer),
  public.take_run(uuid, integer, integer),
  public.cancel_run(uuid)
  from public, anon, service_role;
grant execute on function
  public.journal_steps(uuid, jsonb, integer),
  public.take_run(uuid, integer, integer),
  public.cancel_run(uuid)
  to authenticated;

-- ---------------------------------------------------------------------------
-- Recovery: claim_runs(), for the scheduled handler (service role)
-- ---------------------------------------------------------------------------
-- Security invoker like claim_workflow_events(): the service role bypasses
-- row level security and sees every user's runs; nobody else may call it.
create function public.claim_runs(p_limit integer, p_lease_ms integer, p_max_recoveries integer)
returns table (id uuid, user_id uuid, attempt integer, action text)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000' using errcode = '22023';
  end if;
  if p_lease_ms is null or p_lease_ms < 1 then
    raise exception 'p_lease_ms must be positive' using errcode = '22023';
  end if;
  if p_max_recoveries is null or p_max_recoveries < 0 then
    raise exception 'p_max_recoveries must not be negative' using errcode = '22023';
  end if;

  -- skip locked: concurrent ticks pass over each other's rows (and over a
  -- run that take_run() or cancel_run() is changing) instead of waiting; the
  -- re-check of the WHERE clause on a row committed meanwhile (fresh lease,
  -- final status) excludes it, so no run is handed out twice per lease.
  return query
  with due as (
    select e.id, (e.status <> 'waiting' and e.recoveries >= p_max_recoveries) as give_up
      from public.workflow_executions e
     where (e.status = 'running' and (e.lease_until is null or e.lease_until <= now()))
        -- A queued run without a lease is given 30 seconds for its queue
        -- message to arrive before it counts as lost.
        or (e.status = 'queued'
            and (e.lease_until <= now()
                 or (e.lease_until is null and e.executed_at < now() - interval '30 seconds')))
        or (e.status = 'waiting' and e.resume_at <= now()
            and (e.lease_until is null or e.lease_until <= now()))
     order by e.executed_at, e.id
     limit p_limit
     for update skip locked
  ),
  claimed as (
    update public.workflow_executions e
       -- A due waiting run is a planned continuation, not a recovery: it
       -- is never given up and does not count.
       set status      = case when d.give_up then 'failed' else e.status end,
           stop_reason = case when d.give_up
                              then 'gave up after being recovered ' || e.recoveries || ' times' else e.stop_reason end,
           finished_at = case when d.give_up then now() else e.finished_at end,
           success     = case when d.give_up then false else e.success end,
           recoveries  = case when d.give_up or e.status = 'waiting' then e.recoveries else e.recoveries + 1 end,
           lease_until = case when d.give_up
                              then null else now() + make_interval(secs => p_lease_ms / 1000.0) end
      from due d
     where e.id = d.id
    returning e.id, e.user_id, e.attempt, e.executed_at,
              case when e.status = 'failed' then 'failed' else 'resume' end as action
  )
  select c.id, c.user_id, c.attempt, c.action from claimed c order by c.executed_at, c.id;
end;
$$;

comment on function public.claim_runs(integer, integer, integer) is
  'Recovery only (service_role): picks, oldest first, up to p_limit runs of any user that need an invocation: running or queued runs whose lease expired (or running without one), queued runs without a lease older than 30 seconds (their message was lost), and waiting runs whose resume_at has come. A running or queued run already recovered p_max_recoveries times is failed (stop_reason ''gave up after being recovered <n> times'', finished_at, success false, no lease) with action ''failed''; any other gets lease_until = now() + p_lease_ms milliseconds (so the next tick skips it while its message is in flight) and action ''resume'' with its current attempt, for the consumer''s take_run(); a running or queued one also counts one more recovery (a due waiting run is a planned continuation and counts none).';

revoke execute on function public.claim_runs(integer, integer, integer) from public, anon, authenticated;
grant execute on function public.claim_runs(integer, integer, integer) to service_role;

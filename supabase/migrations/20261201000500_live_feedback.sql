-- Live feedback and monitoring (contract section 10).
--
-- * Realtime: the runs (workflow_executions) and their step journal
--   (workflow_step_runs) join the `supabase_realtime` publication, so a
--   canvas using supabase-js can follow its own runs; Realtime applies each
--   subscriber's row level security.
-- * Statistics, computed in the database under the caller's RLS:
--     workflow_stats(p_workflow_id, p_days)    authenticated
--     all_workflow_stats(p_days)               authenticated
-- * Retention:
--     prune_executions(p_days, p_limit)        service_role only
--
-- The statistics read only indexes that already exist: runs of one workflow
-- by (workflow_id, executed_at desc), runs of a user by (user_id,
-- executed_at desc), journal rows of a run by the leading execution_id of
-- workflow_step_runs_execution_id_node_id_item_index_key. Retention gets its
-- own partial index below.

-- ---------------------------------------------------------------------------
-- Realtime publication
-- ---------------------------------------------------------------------------
-- The platform creates `supabase_realtime` (empty) for every project, and the
-- local bootstrap does the same; it is created here only where it is missing
-- (a plain Postgres), the platform's way. A table is added only when it is
-- not published yet: the dashboard may already have switched Realtime on for
-- it, or the publication may cover all tables, and ADD TABLE would fail on
-- either.
--
-- Replica identity stays DEFAULT (the primary key). Realtime evaluates a
-- subscriber's policies against the new row of an INSERT or UPDATE, which
-- the WAL always carries whatever the identity. FULL would only add the old
-- row, which Realtime cuts down to the primary key on tables with RLS anyway,
-- while every lease renewal and journal write would log the whole old row
-- (results, workflow_snapshot). A DELETE (retention, a cascade) reaches
-- subscribers as the primary key alone, unfiltered by RLS: a uuid, nothing
-- more.
do $$
declare
  t text;
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  foreach t in array array['workflow_executions', 'workflow_step_runs'] loop
    if not exists (select 1 from pg_catalog.pg_publication_tables
                    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end
$$;

-- ---------------------------------------------------------------------------
-- RPC: POST /rest/v1/rpc/workflow_stats
-- ---------------------------------------------------------------------------
-- Percentiles are percentile_disc: the value of an actual run (the smallest
-- whose cumulative share reaches p), so they stay integers and a p95 is a
-- duration that really happened, never an interpolation between two runs.
-- TimeZone is pinned to UTC so last_run_at renders as +00:00 whatever the
-- session's setting; days are UTC days.
create function public.workflow_stats(p_workflow_id uuid, p_days integer default 30)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set timezone = 'UTC'
as $$
declare
  since timestamptz;
  stats jsonb;
begin
  if auth.uid() is null then
    raise exception 'workflow_stats() needs a signed-in user' using errcode = '42501';
  end if;
  if p_days is null or p_days < 1 or p_days > 365 then
    raise exception 'p_days must be between 1 and 365' using errcode = '22023';
  end if;
  since := now() - make_interval(days => p_days);

  -- Everything is read under the caller's policies: another user's workflow
  -- is not found (null, the API's 404), and neither are their runs or steps.
  with wf as (
    select w.id from public.workflows w where w.id = p_workflow_id
  ),
  runs as (
    select e.id, e.workflow_id, e.status, e.execution_time_ms, e.executed_at,
           e.status in ('succeeded', 'failed', 'cancelled') as finished
      from public.workflow_executions e
      join wf on wf.id = e.workflow_id
     where e.executed_at >= since
  ),
  totals as (
    select r.workflow_id,
           count(*) as runs,
           count(*) filter (where r.status = 'succeeded') as succeeded,
           count(*) filter (where r.status = 'failed') as failed,
           percentile_disc(0.5) within group (order by r.execution_time_ms) filter (where r.finished) as p50,
           percentile_disc(0.95) within group (order by r.execution_time_ms) filter (where r.finished) as p95,
           max(r.execution_time_ms) filter (where r.finished) as max,
           max(r.executed_at) as last_run_at
      from runs r
     group by r.workflow_id
  ),
  days as (
    select d.workflow_id,
           jsonb_agg(jsonb_build_object('day', d.day, 'runs', d.runs, 'failed', d.failed) order by d.day) as by_day
      from (select r.workflow_id, to_char(r.executed_at at time zone 'UTC', 'YYYY-MM-DD') as day,
                   count(*) as runs, count(*) filter (where r.status = 'failed') as failed
              from runs r
             group by 1, 2) d
     group by d.workflow_id
  ),
  -- One row per node and run: a node failed in a run when any of its rows
  -- (loop items) failed, was skipped when all of them were, and took the sum
  -- of their settled durations (null when none has both timestamps).
  steps as (
    select s.node_id, s.execution_id,
           bool_or(s.status = 'failed') as failed,
           bool_and(s.status = 'skipped') as skipped,
           sum(round(extract(epoch from s.finished_at - s.started_at) * 1000))::bigint as ms
      from public.workflow_step_runs s
      join runs r on r.id = s.execution_id
     group by s.node_id, s.execution_id
  ),
  nodes as (
    select coalesce(jsonb_agg(jsonb_build_object('nodeId', n.node_id, 'runs', n.runs, 'failed', n.failed,
                                                 'skipped', n.skipped, 'p50_ms', n.p50_ms)
                              order by n.node_id collate "C"), '[]'::jsonb) as by_node
      from (select st.node_id, count(*) as runs, count(*) filter (where st.failed) as failed,
                   count(*) filter (where st.skipped) as skipped,
                   percentile_disc(0.5) within group (order by st.ms) as p50_ms
              from steps st
             group by st.node_id) n
  )
  select jsonb_build_object(
           'runs', coalesce(t.runs, 0),
           'succeeded', coalesce(t.succeeded, 0),
           'failed', coalesce(t.failed, 0),
           'success_rate', t.succeeded::double precision / nullif(t.runs, 0),
           'duration_ms', jsonb_build_object('p50', t.p50, 'p95', t.p95, 'max', t.max),
           'last_run_at', t.last_run_at,
           'by_node', nodes.by_node,
           'by_day', coalesce(d.by_day, '[]'::jsonb))
    into stats
    from wf
    left join totals t on t.workflow_id = wf.id
    left join days d on d.workflow_id = wf.id
    cross join nodes;

  return stats;
end;
$$;

comment on function public.workflow_stats(uuid, integer) is
  'Statistics of one of the caller''s workflows over the runs started in the last p_days days (1 to 365, else 22023; default 30), as a JSON object: {runs, succeeded, failed, success_rate (succeeded / runs as a number 0..1, null without runs), duration_ms: {p50, p95, max} (integers over the execution_time_ms of finished runs, succeeded, failed or cancelled; percentile_disc; null without any), last_run_at (latest executed_at, UTC, null without runs), by_node: [{nodeId, runs, failed, skipped, p50_ms}] (from the step journal of those runs, one entry per node ordered by nodeId in byte order; runs = runs with a row for the node, failed = runs where a row failed, skipped = runs where every row was skipped, p50_ms = percentile_disc median of the node''s settled duration per run), by_day: [{day, runs, failed}] (each UTC day, YYYY-MM-DD, that had runs, ascending)}. Null for a workflow that does not exist or is not the caller''s. Reads under the caller''s policies; signed-in users only.';

-- ---------------------------------------------------------------------------
-- RPC: POST /rest/v1/rpc/all_workflow_stats
-- ---------------------------------------------------------------------------
-- The same summary as workflow_stats() without by_node (so the journal is not
-- read), for every workflow of the caller in one statement: the caller's runs
-- in the window come from (user_id, executed_at desc), which row level
-- security's owner filter selects. 15_live_feedback.sql checks that each
-- entry equals workflow_stats() minus by_node.
create function public.all_workflow_stats(p_days integer default 30)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set timezone = 'UTC'
as $$
declare
  since timestamptz;
  stats jsonb;
begin
  if auth.uid() is null then
    raise exception 'all_workflow_stats() needs a signed-in user' using errcode = '42501';
  end if;
  if p_days is null or p_days < 1 or p_days > 365 then
    raise exception 'p_days must be between 1 and 365' using errcode = '22023';
  end if;
  since := now() - make_interval(days => p_days);

  with wf as (
    select w.id, w.name from public.workflows w
  ),
  runs as (
    select e.id, e.workflow_id, e.status, e.execution_time_ms, e.executed_at,
           e.status in ('succeeded', 'failed', 'cancelled') as finished
      from public.workflow_executions e
     where e.executed_at >= since and e.workflow_id is not null
  ),
  totals as (
    select r.workflow_id,
           count(*) as runs,
           count(*) filter (where r.status = 'succeeded') as succeeded,
           count(*) filter (where r.status = 'failed') as failed,
           percentile_disc(0.5) within group (order by r.execution_time_ms) filter (where r.finished) as p50,
           percentile_disc(0.95) within group (order by r.execution_time_ms) filter (where r.finished) as p95,
           max(r.execution_time_ms) filter (where r.finished) as max,
           max(r.executed_at) as last_run_at
      from runs r
     group by r.workflow_id
  ),
  days as (
    select d.workflow_id,
           jsonb_agg(jsonb_build_object('day', d.day, 'runs', d.runs, 'failed', d.failed) order by d.day) as by_day
      from (select r.workflow_id, to_char(r.executed_at at time zone 'UTC', 'YYYY-MM-DD') as day,
                   count(*) as runs, count(*) filter (where r.status = 'failed') as failed
              from runs r
             group by 1, 2) d
     group by d.workflow_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'workflowId', wf.id,
           'name', wf.name,
           'runs', coalesce(t.runs, 0),
           'succeeded', coalesce(t.succeeded, 0),
           'failed', coalesce(t.failed, 0),
           'success_rate', t.succeeded::double precision / nullif(t.runs, 0),
           'duration_ms', jsonb_build_object('p50', t.p50, 'p95', t.p95, 'max', t.max),
           'last_run_at', t.last_run_at,
           'by_day', coalesce(d.by_day, '[]'::jsonb))
         order by wf.name, wf.id), '[]'::jsonb)
    into stats
    from wf
    left join totals t on t.workflow_id = wf.id
    left join days d on d.workflow_id = wf.id;

  return stats;
end;
$$;

comment on function public.all_workflow_stats(integer) is
  'One summary per workflow of the caller, as a JSON array ordered by name (then id), workflows without runs in the window included: [{workflowId, name, runs, succeeded, failed, success_rate, duration_ms: {p50, p95, max}, last_run_at, by_day}], each field as in workflow_stats() over the runs started in the last p_days days (1 to 365, else 22023; default 30); [] when the caller has no workflow. Reads under the caller''s policies; signed-in users only.';

revoke execute on function
  public.workflow_stats(uuid, integer),
  public.all_workflow_stats(integer)
  from public, anon, service_role;
grant execute on function
  public.workflow_stats(uuid, integer),
  public.all_workflow_stats(integer)
  to authenticated;

-- ---------------------------------------------------------------------------
-- Retention: prune_executions(), for a scheduled job (service role)
-- ---------------------------------------------------------------------------
-- Finished runs in the order prune_executions() deletes them. Partial, so
-- the runs still in flight (the few that matter to recovery) are not in it,
-- and each batch reads only the rows it deletes.
create index workflow_executions_prune_idx
  on public.workflow_executions ((coalesce(finished_at, executed_at)), id)
  where status in ('succeeded', 'failed', 'cancelled');

-- Security invoker like claim_runs(): the service role bypasses row level
-- security and sees every user's runs; nobody else may call it.
create function public.prune_executions(p_days integer, p_limit integer)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  deleted integer;
begin
  if p_days is null or p_days < 0 or p_days > 36500 then
    raise exception 'p_days must be between 0 and 36500' using errcode = '22023';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    raise exception 'p_limit must be between 1 and 10000' using errcode = '22023';
  end if;
  if p_days = 0 then
    return 0;
  end if;

  -- The batch is read in deletion order from workflow_executions_prune_idx
  -- and deleted by id (an array, so each row is found through an index
  -- rather than by a join that may scan the table). skip locked: a run being
  -- changed right now (or taken by a concurrent prune) is left for the next
  -- batch rather than waited for. The journal goes by the cascade of
  -- workflow_step_runs_execution_owner_fkey; every other row that names the
  -- run (queued mail, a run it started, an event it caused, a dispatch)
  -- stays and loses the link.
  delete from public.workflow_executions e
   where e.id = any (array(
     select d.id
       from public.workflow_executions d
      where d.status in ('succeeded', 'failed', 'cancelled')
        and coalesce(d.finished_at, d.executed_at) < now() - make_interval(days => p_days)
      order by coalesce(d.finished_at, d.executed_at), d.id
      limit p_limit
      for update skip locked));
  get diagnostics deleted = row_count;
  return deleted;
end;
$$;

comment on function public.prune_executions(integer, integer) is
  'Retention only (service_role): deletes, oldest first, up to p_limit (1 to 10000) finished runs of any user (succeeded, failed or cancelled) that ended (finished_at, else executed_at) more than p_days days ago (0 to 36500; 0 deletes nothing), with their step journal; queued, running and waiting runs are never touched. Returns how many runs it deleted; call again until it returns less than p_limit.';

revoke execute on function public.prune_executions(integer, integer) from public, anon, authenticated;
grant execute on function public.prune_executions(integer, integer) to service_role;

-- Live feedback: the Realtime publication, workflow_stats() and
-- all_workflow_stats() over a known history (every field against values
-- worked out by hand below, and against an independent query), RLS between
-- users A and B, the index plans the statistics and retention rely on, and
-- prune_executions(). That a publication that already holds a table (or
-- covers all tables) does not break the migration is proved on scratch
-- databases in tests/schema/test_realtime_publication.py.
begin;
\ir _helpers.psql
select plan(82);

-- Days and timestamps are UTC whatever the session says: run everything
-- fourteen hours east of it.
set local timezone = 'Pacific/Kiritimati';

-- Midnight (UTC) n days before today's, so the days below are fixed days.
create function tests.day(p_days_ago integer) returns timestamptz
language sql stable as $$
  select (date_trunc('day', now() at time zone 'UTC') - make_interval(days => p_days_ago)) at time zone 'UTC'
$$;
create function tests.day_text(p_days_ago integer) returns text
language sql stable as $$ select to_char(tests.day(p_days_ago) at time zone 'UTC', 'YYYY-MM-DD') $$;

-- Realtime publication --------------------------------------------------------------------------------
select results_eq($$ select puballtables, pubinsert, pubupdate, pubdelete, pubtruncate
                       from pg_catalog.pg_publication where pubname = 'supabase_realtime' $$,
  $$ values (false, true, true, true, true) $$,
  'supabase_realtime exists as the platform makes it: chosen tables, every kind of change');
select results_eq($$ select (schemaname || '.' || tablename) collate "default" from pg_catalog.pg_publication_tables
                      where pubname = 'supabase_realtime' order by 1 $$,
  $$ values ('public.workflow_executions'), ('public.workflow_step_runs') $$,
  'the runs and their step journal are published');
select is_empty($$
  select t.tablename from pg_catalog.pg_publication_tables t
   where t.pubname = 'supabase_realtime'
     and (t.rowfilter is not null
          or cardinality(t.attnames) <> (select count(*) from pg_attribute a
                                          where a.attrelid = ('public.' || t.tablename)::regclass
                                            and a.attnum > 0 and not a.attisdropped))
$$, 'whole rows are published: no row filter, no column list');
select results_eq($$ select relname::text collate "default", relreplident::text from pg_class
                      where oid in ('public.workflow_executions'::regclass, 'public.workflow_step_runs'::regclass)
                      order by 1 $$,
  $$ values ('workflow_executions', 'd'), ('workflow_step_runs', 'd') $$,
  'replica identity stays the primary key (Realtime checks policies on the new row)');
select ok(has_table_privilege('authenticated', 'public.workflow_executions', 'SELECT')
          and has_table_privilege('authenticated', 'public.workflow_step_runs', 'SELECT'),
  'subscribers (authenticated) may read both tables, so Realtime can apply their policies');

-- Function privileges -------------------------------------------------------------------------------
select ok(has_function_privilege('authenticated', 'public.workflow_stats(uuid, integer)', 'EXECUTE')
          and has_function_privilege('authenticated', 'public.all_workflow_stats(integer)', 'EXECUTE'),
  'signed-in users may execute the statistics');
select ok(not has_function_privilege('anon', 'public.workflow_stats(uuid, integer)', 'EXECUTE')
          and not has_function_privilege('anon', 'public.all_workflow_stats(integer)', 'EXECUTE')
          and not has_function_privilege('service_role', 'public.workflow_stats(uuid, integer)', 'EXECUTE')
          and not has_function_privilege('service_role', 'public.all_workflow_stats(integer)', 'EXECUTE'),
  'anon and the service role may not');
select ok(has_function_privilege('service_role', 'public.prune_executions(integer, integer)', 'EXECUTE')
          and not has_function_privilege('authenticated', 'public.prune_executions(integer, integer)', 'EXECUTE')
          and not has_function_privilege('anon', 'public.prune_executions(integer, integer)', 'EXECUTE'),
  'only the service role may execute prune_executions');
select results_eq($$ select proname::text collate "default", provolatile::text, prosecdef from pg_proc
                      where oid in ('public.workflow_stats(uuid, integer)'::regprocedure,
                                    'public.all_workflow_stats(integer)'::regprocedure,
                                    'public.prune_executions(integer, integer)'::regprocedure)
                      order by 1 $$,
  $$ values ('all_workflow_stats', 's', false), ('prune_executions', 'v', false), ('workflow_stats', 's', false) $$,
  'the statistics are stable, prune is volatile, all three security invoker');

-- A known history (as the owner) --------------------------------------------------------------------
-- Alpha, 10 runs in the window over three UTC days, days ago / hour / status / execution_time_ms:
--   3 01:00 succeeded 100   3 05:00 succeeded 200   3 09:00 failed 300
--   2 02:00 succeeded 400   2 12:00 failed    500   2 23:00 cancelled 600
--   1 03:00 succeeded 700   1 08:00 succeeded 800   1 15:00 running 99999   1 20:00 waiting 50000
-- plus one run 40 days ago (succeeded, 5000 ms) outside the default window.
--   runs 10, succeeded 5, failed 2, success_rate 0.5
--   finished (succeeded, failed, cancelled): 100..800, eight values; the running and
--   waiting runs' durations do not count. percentile_disc(p) is the value at position
--   ceil(p * 8): p50 = 4th = 400 (percentile_cont would say 450), p95 = 8th = 800, max 800.
--   by_day: day 3: 3 runs, 1 failed; day 2: 3 runs, 1 failed; day 1: 4 runs, 0 failed.
--   last_run_at: day 1 at 20:00.
-- Journal of those runs (node, item, status, milliseconds):
--   trigger  r1..r8 succeeded 1..8 ms, r9 still running; the old run: failed (out of the window)
--   mail     r1 succeeded 50, r2 succeeded 70, r3 failed 90, r4 skipped, r5 failed 30
--   Notify   r6 item 0 succeeded 15; r7 item 0 succeeded 20, item 1 failed 40; r8 items 0 and 1 skipped
--   by node, in byte order (Notify < mail < trigger):
--   Notify   runs 3 (r6, r7, r8), failed 1 (r7), skipped 1 (r8), p50 of {15, 60} = 15
--   mail     runs 5, failed 2, skipped 1, p50 of {30, 50, 70, 90} = 50
--   trigger  runs 9, failed 0, skipped 0, p50 of {1..8} = 4
-- Gamma: 20 succeeded runs of 10, 20, .. 200 ms on day 1: p50 = 10th = 100 (cont 105),
--   p95 = 19th = 190 (cont 190.5), max 200.
-- Beta: one run, 40 days ago. A's test run of an unsaved document counts nowhere.
-- B: "B flow", 2 runs (failed 10 ms, succeeded 20 ms), journal trigger failed.
insert into public.workflows (id, user_id, name) values
  (tests.id('alpha'), tests.user_a(), 'Alpha'),
  (tests.id('beta'), tests.user_a(), 'Beta'),
  (tests.id('gamma'), tests.user_a(), 'Gamma'),
  (tests.id('b flow'), tests.user_b(), 'B flow');

insert into public.workflow_executions (id, workflow_id, user_id, status, execution_time_ms, executed_at, finished_at)
select tests.id(v.name), tests.id(v.wf), v.owner, v.status, v.ms, v.at,
       case when v.status in ('succeeded', 'failed', 'cancelled') then v.at + make_interval(secs => v.ms / 1000.0) end
  from (values
    ('r1', 'alpha', tests.user_a(), 'succeeded', 100, tests.day(3) + interval '01:00'),
    ('r2', 'alpha', tests.user_a(), 'succeeded', 200, tests.day(3) + interval '05:00'),
    ('r3', 'alpha', tests.user_a(), 'failed', 300, tests.day(3) + interval '09:00'),
    ('r4', 'alpha', tests.user_a(), 'succeeded', 400, tests.day(2) + interval '02:00'),
    ('r5', 'alpha', tests.user_a(), 'failed', 500, tests.day(2) + interval '12:00'),
    ('r6', 'alpha', tests.user_a(), 'cancelled', 600, tests.day(2) + interval '23:00'),
    ('r7', 'alpha', tests.user_a(), 'succeeded', 700, tests.day(1) + interval '03:00'),
    ('r8', 'alpha', tests.user_a(), 'succeeded', 800, tests.day(1) + interval '08:00'),
    ('r9', 'alpha', tests.user_a(), 'running', 99999, tests.day(1) + interval '15:00'),
    ('r10', 'alpha', tests.user_a(), 'waiting', 50000, tests.day(1) + interval '20:00'),
    ('r0', 'alpha', tests.user_a(), 'succeeded', 5000, now() - interval '40 days'),
    ('beta old', 'beta', tests.user_a(), 'succeeded', 70, now() - interval '40 days'),
    ('b1', 'b flow', tests.user_b(), 'failed', 10, tests.day(1) + interval '04:00'),
    ('b2', 'b flow', tests.user_b(), 'succeeded', 20, tests.day(2) + interval '04:00')
  ) v(name, wf, owner, status, ms, at);
insert into public.workflow_executions (id, workflow_id, user_id, status, execution_time_ms, executed_at, finished_at)
select tests.id('g' || g), tests.id('gamma'), tests.user_a(), 'succeeded', 10 * g,
       tests.day(1) + make_interval(mins => g), tests.day(1) + make_interval(mins => g, secs => g / 100.0)
  from generate_series(1, 20) g;
insert into public.workflow_executions (id, workflow_id, user_id, status, execution_time_ms, executed_at, finished_at)
  values (tests.id('unsaved'), null, tests.user_a(), 'succeeded', 1, now() - interval '1 hour', now() - interval '1 hour');

insert into public.workflow_step_runs (execution_id, user_id, node_id, item_index, status, result, started_at, finished_at)
select e.id, e.user_id, v.node, v.item, v.status, jsonb_build_object('nodeId', v.node),
       case when v.status <> 'skipped' then e.executed_at end,
       case when v.ms is not null then e.executed_at + make_interval(secs => v.ms / 1000.0) end
  from (values
    ('r1', 'trigger', -1, 'succeeded', 1), ('r2', 'trigger', -1, 'succeeded', 2), ('r3', 'trigger', -1, 'succeeded', 3),
    ('r4', 'trigger', -1, 'succeeded', 4), ('r5', 'trigger', -1, 'succeeded', 5), ('r6', 'trigger', -1, 'succeeded', 6),
    ('r7', 'trigger', -1, 'succeeded', 7), ('r8', 'trigger', -1, 'succeeded', 8), ('r9', 'trigger', -1, 'running', null),
    ('r0', 'trigger', -1, 'failed', 9),
    ('r1', 'mail', -1, 'succeeded', 50), ('r2', 'mail', -1, 'succeeded', 70), ('r3', 'mail', -1, 'failed', 90),
    ('r4', 'mail', -1, 'skipped', null), ('r5', 'mail', -1, 'failed', 30),
    ('r6', 'Notify', 0, 'succeeded', 15), ('r7', 'Notify', 0, 'succeeded', 20), ('r7', 'Notify', 1, 'failed', 40),
    ('r8', 'Notify', 0, 'skipped', null), ('r8', 'Notify', 1, 'skipped', null),
    ('b1', 'trigger', -1, 'failed', 5)
  ) v(run, node, item, status, ms)
  join public.workflow_executions e on e.id = tests.id(v.run);

-- The statistics recomputed from the tables another way (positions instead
-- of percentile functions, subqueries instead of filters), as the owner.
-- Timestamps in the fixtures are whole seconds, hence no fraction in last_run_at.
create function tests.stats_by_hand(p_workflow_id uuid, p_days integer) returns jsonb
language sql stable security definer set search_path = '' as $$
  with r as (
    select * from public.workflow_executions e
     where e.workflow_id = p_workflow_id and e.executed_at >= now() - p_days * interval '24 hours'
  ),
  f as (select r.execution_time_ms as ms from r where r.status in ('succeeded', 'failed', 'cancelled')),
  per_run as (
    select s.node_id, s.execution_id,
           case when 'failed' = any(array_agg(s.status)) then 1 else 0 end as failed,
           case when array_agg(distinct s.status) = array['skipped'] then 1 else 0 end as skipped,
           sum((extract(epoch from s.finished_at) - extract(epoch from s.started_at)) * 1000)::bigint as ms
      from public.workflow_step_runs s where s.execution_id in (select r.id from r)
     group by 1, 2
  ),
  node_ms as (
    select p.node_id, p.ms, row_number() over (partition by p.node_id order by p.ms) as pos,
           count(*) over (partition by p.node_id) as n
      from per_run p where p.ms is not null
  )
  select jsonb_build_object(
    'runs', (select count(*) from r),
    'succeeded', (select count(*) from r where r.status = 'succeeded'),
    'failed', (select count(*) from r where r.status = 'failed'),
    'success_rate', (select case when count(*) = 0 then null
                                 else sum(case when r.status = 'succeeded' then 1 else 0 end)::float8 / count(*) end from r),
    'duration_ms', jsonb_build_object(
      'p50', (select f.ms from f order by f.ms offset greatest(ceil(0.5 * (select count(*) from f)) - 1, 0)::bigint limit 1),
      'p95', (select f.ms from f order by f.ms offset greatest(ceil(0.95 * (select count(*) from f)) - 1, 0)::bigint limit 1),
      'max', (select f.ms from f order by f.ms desc limit 1)),
    'last_run_at', (select to_char(max(r.executed_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00' from r),
    'by_node', coalesce((
      select jsonb_agg(jsonb_build_object(
               'nodeId', x.node_id, 'runs', x.runs, 'failed', x.failed, 'skipped', x.skipped,
               'p50_ms', (select m.ms from node_ms m where m.node_id = x.node_id and m.pos = ceil(0.5 * m.n)))
             order by convert_to(x.node_id, 'UTF8'))
        from (select p.node_id, count(*) as runs, sum(p.failed) as failed, sum(p.skipped) as skipped
                from per_run p group by 1) x), '[]'),
    'by_day', coalesce((
      select jsonb_agg(jsonb_build_object('day', y.day::text, 'runs', y.runs, 'failed', y.failed) order by y.day)
        from (select date(r.executed_at at time zone 'UTC') as day, count(*) as runs,
                     count(*) - count(nullif(r.status, 'failed')) as failed
                from r group by 1) y), '[]'))
  where exists (select 1 from public.workflows w where w.id = p_workflow_id)
$$;

-- workflow_stats: every field ---------------------------------------------------------------------
select tests.act_as(tests.user_a());
select is(public.workflow_stats(tests.id('alpha')),
  format($$ {"runs": 10, "succeeded": 5, "failed": 2, "success_rate": 0.5,
             "duration_ms": {"p50": 400, "p95": 800, "max": 800},
             "last_run_at": "%sT20:00:00+00:00",
             "by_node": [{"nodeId": "Notify", "runs": 3, "failed": 1, "skipped": 1, "p50_ms": 15},
                         {"nodeId": "mail", "runs": 5, "failed": 2, "skipped": 1, "p50_ms": 50},
                         {"nodeId": "trigger", "runs": 9, "failed": 0, "skipped": 0, "p50_ms": 4}],
             "by_day": [{"day": "%s", "runs": 3, "failed": 1}, {"day": "%s", "runs": 3, "failed": 1},
                        {"day": "%s", "runs": 4, "failed": 0}]} $$,
         tests.day_text(1), tests.day_text(3), tests.day_text(2), tests.day_text(1))::jsonb,
  'Alpha''s statistics are the ones worked out by hand');
select is(public.workflow_stats(tests.id('alpha')), tests.stats_by_hand(tests.id('alpha'), 30),
  'and the independent query''s');
select is(public.workflow_stats(tests.id('alpha')), public.workflow_stats(tests.id('alpha'), 30),
  'the window defaults to 30 days');
select is(public.workflow_stats(tests.id('gamma')) -> 'duration_ms', '{"p50": 100, "p95": 190, "max": 200}'::jsonb,
  'Gamma''s percentiles are observed durations: p50 the 10th of 20, p95 the 19th (percentile_disc)');
select is(public.workflow_stats(tests.id('gamma')), tests.stats_by_hand(tests.id('gamma'), 30),
  'Gamma matches the independent query');
select is(jsonb_typeof(public.workflow_stats(tests.id('alpha')) -> 'duration_ms' -> 'p50'), 'number',
  'durations are JSON numbers');
select ok(public.workflow_stats(tests.id('alpha')) -> 'duration_ms' ->> 'p95' ~ '^[0-9]+$',
  'and integers');
select is((public.workflow_stats(tests.id('alpha')) ->> 'last_run_at')::timestamptz, tests.day(1) + interval '20:00',
  'last_run_at is the latest start, as a timestamp with offset');
select is((public.workflow_stats(tests.id('gamma')) ->> 'success_rate')::float8, 1::float8,
  'a workflow whose runs all succeeded has success_rate 1');

-- The window
select is(public.workflow_stats(tests.id('alpha'), 45) -> 'runs', '11'::jsonb,
  'a 45-day window takes in the run from 40 days ago');
select is(public.workflow_stats(tests.id('alpha'), 45) -> 'duration_ms', '{"p50": 500, "p95": 5000, "max": 5000}'::jsonb,
  'and its duration (nine finished: 5th = 500, 9th = 5000)');
select is(public.workflow_stats(tests.id('alpha'), 45) -> 'by_node' -> 2,
  '{"nodeId": "trigger", "runs": 10, "failed": 1, "skipped": 0, "p50_ms": 5}'::jsonb,
  'and its journal (the trigger that failed 40 days ago)');
select is(public.workflow_stats(tests.id('alpha'), 45), tests.stats_by_hand(tests.id('alpha'), 45),
  'the 45-day window matches the independent query');
select is(public.workflow_stats(tests.id('alpha'), 1) -> 'runs',
  to_jsonb((select count(*) from public.workflow_executions
             where workflow_id = tests.id('alpha') and executed_at >= now() - interval '1 day')),
  'a one-day window counts the runs of the last 24 hours');

-- A workflow without runs in the window
select is(public.workflow_stats(tests.id('beta')),
  '{"runs": 0, "succeeded": 0, "failed": 0, "success_rate": null, "duration_ms": {"p50": null, "p95": null, "max": null},
    "last_run_at": null, "by_node": [], "by_day": []}'::jsonb,
  'a workflow without runs in the window: zeros, nulls and empty lists');
select is(public.workflow_stats(tests.id('beta'), 45) -> 'runs', '1'::jsonb, 'Beta''s run is 40 days old');
select is(public.workflow_stats(tests.id('no such workflow')), null::jsonb, 'a missing workflow is null (404)');
select is(public.workflow_stats(null), null::jsonb, 'so is no workflow at all');

-- p_days bounds
select throws_ok($$ select public.workflow_stats(tests.id('alpha'), 0) $$, '22023', 'p_days must be between 1 and 365',
  'p_days 0 is refused');
select throws_ok($$ select public.workflow_stats(tests.id('alpha'), 366) $$, '22023', null, 'p_days 366 is refused');
select throws_ok($$ select public.workflow_stats(tests.id('alpha'), -1) $$, '22023', null, 'a negative p_days is refused');
select throws_ok($$ select public.workflow_stats(tests.id('alpha'), null) $$, '22023', null, 'a null p_days is refused');
select throws_ok($$ select public.workflow_stats(tests.id('no such workflow'), 0) $$, '22023', null,
  'bounds are checked before the workflow is looked up');
select lives_ok($$ select public.workflow_stats(tests.id('alpha'), 1), public.workflow_stats(tests.id('alpha'), 365) $$,
  'p_days 1 and 365 are accepted');
select throws_ok($$ select public.all_workflow_stats(0) $$, '22023', 'p_days must be between 1 and 365',
  'all_workflow_stats refuses p_days 0');
select throws_ok($$ select public.all_workflow_stats(366) $$, '22023', null, 'and 366');
select throws_ok($$ select public.all_workflow_stats(null) $$, '22023', null, 'and null');
select lives_ok($$ select public.all_workflow_stats(1), public.all_workflow_stats(365) $$,
  'and accepts 1 and 365');

-- all_workflow_stats
select is(jsonb_path_query_array(public.all_workflow_stats(), '$[*].name'), '["Alpha", "Beta", "Gamma"]'::jsonb,
  'one summary per workflow of A, ordered by name, the one without runs included');
select is(jsonb_path_query_array(public.all_workflow_stats(), '$[*].workflowId'),
  jsonb_build_array(tests.id('alpha'), tests.id('beta'), tests.id('gamma')), 'named by workflowId');
select is_empty($$
  select s.value ->> 'name' from jsonb_array_elements(public.all_workflow_stats()) s
   where s.value is distinct from (public.workflow_stats((s.value ->> 'workflowId')::uuid) - 'by_node')
                                  || jsonb_build_object('workflowId', s.value -> 'workflowId', 'name', s.value -> 'name')
$$, 'each summary is workflow_stats() without by_node, plus workflowId and name');
select is_empty($$
  select s.value ->> 'name' from jsonb_array_elements(public.all_workflow_stats(45)) s
   where s.value is distinct from (public.workflow_stats((s.value ->> 'workflowId')::uuid, 45) - 'by_node')
                                  || jsonb_build_object('workflowId', s.value -> 'workflowId', 'name', s.value -> 'name')
$$, 'for any window');
select is(public.all_workflow_stats() -> 1,
  jsonb_build_object('workflowId', tests.id('beta'), 'name', 'Beta', 'runs', 0, 'succeeded', 0, 'failed', 0,
                     'success_rate', null, 'duration_ms', '{"p50": null, "p95": null, "max": null}'::jsonb,
                     'last_run_at', null, 'by_day', '[]'::jsonb),
  'Beta''s summary has zero runs in the default window');
select is(public.all_workflow_stats(45) -> 1 -> 'runs', '1'::jsonb, 'and one in a 45-day window');

-- B sees nothing of A's
select tests.act_as(tests.user_b());
select is(public.workflow_stats(tests.id('alpha')), null::jsonb, 'B gets null for A''s workflow');
select is(public.workflow_stats(tests.id('alpha'), 365), null::jsonb, 'whatever the window');
select is(jsonb_path_query_array(public.all_workflow_stats(365), '$[*].workflowId'),
  jsonb_build_array(tests.id('b flow')), 'B''s summaries are B''s workflow alone');
select is(public.workflow_stats(tests.id('b flow')),
  format($$ {"runs": 2, "succeeded": 1, "failed": 1, "success_rate": 0.5,
             "duration_ms": {"p50": 10, "p95": 20, "max": 20}, "last_run_at": "%sT04:00:00+00:00",
             "by_node": [{"nodeId": "trigger", "runs": 1, "failed": 1, "skipped": 0, "p50_ms": 5}],
             "by_day": [{"day": "%s", "runs": 1, "failed": 0}, {"day": "%s", "runs": 1, "failed": 1}]} $$,
         tests.day_text(1), tests.day_text(2), tests.day_text(1))::jsonb,
  'B''s own statistics count only B''s runs and journal');
select tests.act_as(tests.user_a());
select is(jsonb_path_query_array(public.all_workflow_stats(365), '$[*].name'), '["Alpha", "Beta", "Gamma"]'::jsonb,
  'and A''s never include B''s');

-- Who may call
select tests.act_as_anon();
select throws_ok($$ select public.workflow_stats(tests.id('alpha')) $$, '42501', null, 'anon cannot call workflow_stats');
select throws_ok($$ select public.all_workflow_stats() $$, '42501', null, 'nor all_workflow_stats');
select tests.act_as_service();
select throws_ok($$ select public.workflow_stats(tests.id('alpha')) $$, '42501', null,
  'the service role cannot call workflow_stats (it would see every user''s runs)');
select throws_ok($$ select public.all_workflow_stats() $$, '42501', null, 'nor all_workflow_stats');
select tests.act_as_owner();
select throws_ok($$ select public.workflow_stats(tests.id('alpha')) $$, '42501',
  'workflow_stats() needs a signed-in user', 'a session without a user gets nothing');

-- Plans, with 5,000 runs and 10,000 steps of 100 other users ---------------------------------------
insert into auth.users (id, email)
  select tests.id('other ' || u), 'other' || u || '@example.test' from generate_series(1, 100) u;
insert into public.workflows (id, user_id, name)
  select tests.id('other wf ' || u), tests.id('other ' || u), 'other ' || u from generate_series(1, 100) u;
insert into public.workflow_executions (id, workflow_id, user_id, status, execution_time_ms, executed_at, finished_at)
  select tests.id('other run ' || g), tests.id('other wf ' || (g % 100 + 1)), tests.id('other ' || (g % 100 + 1)),
         'succeeded', g % 1000, now() - make_interval(secs => g), now() - make_interval(secs => g) + interval '1 second'
    from generate_series(1, 5000) g;
insert into public.workflow_step_runs (execution_id, user_id, node_id, status, result, started_at, finished_at)
  select e.id, e.user_id, n.node, 'succeeded', '{}', e.executed_at, e.finished_at
    from public.workflow_executions e cross join (values ('trigger'), ('mail')) n(node)
   where e.id in (select tests.id('other run ' || g) from generate_series(1, 5000) g);
analyze public.workflows, public.workflow_executions, public.workflow_step_runs;

create function tests.plan_of(p_query text) returns text
language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || p_query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end;
$$;

select tests.act_as(tests.user_a());
select tests.plan_of(format($$
  select e.id, e.status, e.execution_time_ms from public.workflow_executions e
   where e.workflow_id = %L and e.executed_at >= now() - make_interval(days => 30) $$, tests.id('alpha')))
  as one_plan \gset
select ok(:'one_plan'::text ~ 'workflow_executions_workflow_id_executed_at_idx' and :'one_plan'::text !~ 'Seq Scan',
  'one workflow''s runs in the window come from (workflow_id, executed_at desc)');
select tests.plan_of(format($$
  select s.node_id, s.status from public.workflow_step_runs s
    join public.workflow_executions e on e.id = s.execution_id
   where e.workflow_id = %L and e.executed_at >= now() - make_interval(days => 30) $$, tests.id('alpha')))
  as journal_plan \gset
select ok(:'journal_plan'::text ~ 'workflow_step_runs_execution_id_(node_id_item_index_key|seq_idx)'
          and :'journal_plan'::text !~ 'Seq Scan',
  'their journal comes from the index led by execution_id');
select tests.plan_of($$
  select e.workflow_id, e.status from public.workflow_executions e
   where e.executed_at >= now() - make_interval(days => 30) and e.workflow_id is not null $$)
  as all_plan \gset
select ok(:'all_plan'::text ~ 'workflow_executions_user_id_executed_at_idx' and :'all_plan'::text !~ 'Seq Scan',
  'all of the caller''s runs in the window come from (user_id, executed_at desc) under RLS');
select tests.act_as_service();
select tests.plan_of($$
  select e.id from public.workflow_executions e
   where e.status in ('succeeded', 'failed', 'cancelled')
     and coalesce(e.finished_at, e.executed_at) < now() - make_interval(days => 30)
   order by coalesce(e.finished_at, e.executed_at), e.id
   limit 100 $$)
  as prune_plan \gset
select ok(:'prune_plan'::text ~ 'Index Scan using workflow_executions_prune_idx' and :'prune_plan'::text !~ 'Sort'
          and :'prune_plan'::text !~ 'Seq Scan',
  'retention reads finished runs in deletion order from workflow_executions_prune_idx, without a sort');
select tests.plan_of($$
  delete from public.workflow_executions e
   where e.id = any (array(
     select d.id from public.workflow_executions d
      where d.status in ('succeeded', 'failed', 'cancelled')
        and coalesce(d.finished_at, d.executed_at) < now() - make_interval(days => 30)
      order by coalesce(d.finished_at, d.executed_at), d.id
      limit 100
      for update skip locked)) $$)
  as delete_plan \gset
select ok(:'delete_plan'::text ~ 'Index Cond: \(id = ANY' and :'delete_plan'::text !~ 'Seq Scan',
  'and deletes the batch by id, through an index');
select tests.act_as_owner();
select is(pg_get_indexdef('public.workflow_executions_prune_idx'::regclass),
  'CREATE INDEX workflow_executions_prune_idx ON public.workflow_executions USING btree (COALESCE(finished_at, executed_at), id) WHERE (status = ANY (ARRAY[''succeeded''::text, ''failed''::text, ''cancelled''::text]))',
  'the retention index: finished runs by end time');

-- prune_executions ---------------------------------------------------------------------------------
-- Old finished runs, in deletion order (end = finished_at, else executed_at):
--   old cancelled (A, never finished_at, started 50 days ago), beta old (40 days + 70 ms),
--   r0 (40 days + 5 s), b old (B, ended 35 days ago).
-- Kept: late finish (started 40 days ago, ended 10 days ago), and every queued, waiting or
-- running run however old.
insert into public.workflow_executions (id, workflow_id, user_id, status, executed_at, finished_at, resume_at) values
  (tests.id('old cancelled'), tests.id('alpha'), tests.user_a(), 'cancelled', now() - interval '50 days', null, null),
  (tests.id('b old'), tests.id('b flow'), tests.user_b(), 'failed', now() - interval '36 days', now() - interval '35 days', null),
  (tests.id('late finish'), tests.id('alpha'), tests.user_a(), 'succeeded', now() - interval '40 days', now() - interval '10 days', null),
  (tests.id('old queued'), tests.id('alpha'), tests.user_a(), 'queued', now() - interval '60 days', null, null),
  (tests.id('old waiting'), tests.id('alpha'), tests.user_a(), 'waiting', now() - interval '60 days', null, now() - interval '59 days'),
  (tests.id('old running'), tests.id('alpha'), tests.user_a(), 'running', now() - interval '60 days', now() - interval '60 days', null);
insert into public.workflow_step_runs (execution_id, user_id, node_id, status, result)
  select tests.id(r), tests.user_a(), 'trigger', 'succeeded', '{}'
    from unnest(array['old cancelled', 'old queued', 'old waiting', 'old running', 'late finish']) r;
insert into public.email_outbox (id, user_id, workflow_id, execution_id, recipient, subject, body) values
  (tests.id('mail of r0'), tests.user_a(), tests.id('alpha'), tests.id('r0'), 'lead@acme.example', 'Hello', 'text');
-- A run r0's write started (recent, so kept), and the event that write recorded.
insert into public.workflow_executions (id, workflow_id, user_id, status, parent_execution_id) values
  (tests.id('child of r0'), tests.id('alpha'), tests.user_a(), 'running', tests.id('r0'));
insert into public.workflow_events (id, user_id, event_type, table_name, record_id, caused_by_execution)
  overriding system value values (-15, tests.user_a(), 'deal_won', 'deals', tests.id('deal'), tests.id('r0'));

create function tests.run_count() returns bigint language sql as $$ select count(*) from public.workflow_executions $$;
create function tests.unfinished() returns uuid[] language sql as $$
  select array_agg(id order by id) from public.workflow_executions where status in ('queued', 'running', 'waiting')
$$;
select tests.run_count() as runs_before \gset
select tests.unfinished()::text as unfinished_before \gset

select tests.act_as(tests.user_a());
select throws_ok($$ select public.prune_executions(30, 100) $$, '42501', null, 'a signed-in user cannot prune');
select tests.act_as_anon();
select throws_ok($$ select public.prune_executions(30, 100) $$, '42501', null, 'nor can anon');

select tests.act_as_service();
select throws_ok($$ select public.prune_executions(-1, 100) $$, '22023', 'p_days must be between 0 and 36500',
  'a negative p_days is refused');
select throws_ok($$ select public.prune_executions(null, 100) $$, '22023', null, 'a null p_days is refused');
select throws_ok($$ select public.prune_executions(30, 0) $$, '22023', 'p_limit must be between 1 and 10000',
  'p_limit 0 is refused');
select throws_ok($$ select public.prune_executions(30, 10001) $$, '22023', null, 'p_limit above 10000 is refused');
select is(public.prune_executions(0, 10000), 0, 'p_days 0 deletes nothing');
select is(tests.run_count(), :runs_before::bigint, 'and nothing is gone');

select is(public.prune_executions(30, 2), 2, 'a batch of two deletes two runs');
select results_eq($$ select id from public.workflow_executions
                      where id in (tests.id('old cancelled'), tests.id('beta old'), tests.id('r0'), tests.id('b old'))
                      order by id $$,
  $$ select id from (values (tests.id('r0')), (tests.id('b old'))) v(id) order by id $$,
  'the two that ended first: the cancelled run without finished_at (by its start) and Beta''s');
select is(public.prune_executions(30, 2), 2, 'the next batch deletes two more');
select is_empty($$ select id from public.workflow_executions
                    where id in (tests.id('old cancelled'), tests.id('beta old'), tests.id('r0'), tests.id('b old')) $$,
  'r0 and B''s old run: every user''s runs are pruned');
select is(public.prune_executions(30, 2), 0, 'then there is nothing left to prune');
select is(tests.run_count(), :runs_before::bigint - 4, 'four runs were deleted in all');
select is_empty($$ select id from public.workflow_step_runs
                    where execution_id in (tests.id('old cancelled'), tests.id('r0')) $$,
  'their journal went with them');
select is((select count(*)::int from public.workflow_step_runs where execution_id = tests.id('r1')), 2,
  'the journal of runs kept is intact');
select results_eq($$ select execution_id, workflow_id from public.email_outbox where id = tests.id('mail of r0') $$,
  $$ values (null::uuid, tests.id('alpha')) $$,
  'mail queued by a pruned run stays, without its execution_id');
select results_eq($$ select (select parent_execution_id from public.workflow_executions where id = tests.id('child of r0')),
                            (select caused_by_execution from public.workflow_events where id = -15) $$,
  $$ values (null::uuid, null::uuid) $$,
  'the run it started and the event its write caused stay, without the link');
select ok(exists (select 1 from public.workflow_executions where id = tests.id('late finish')),
  'a run that started long ago but ended recently is kept');

select is(public.prune_executions(1, 10000) > 0, true, 'pruning everything older than a day deletes more');
select is(tests.unfinished()::text, :'unfinished_before', 'queued, waiting and running runs are never touched, however old');
select is((select count(*)::int from public.workflow_step_runs
            where execution_id in (tests.id('old queued'), tests.id('old waiting'), tests.id('old running'), tests.id('r9'))), 4,
  'nor is their journal');
select is_empty($$ select id from public.workflow_executions
                    where status in ('succeeded', 'failed', 'cancelled')
                      and coalesce(finished_at, executed_at) < now() - interval '1 day' $$,
  'no finished run that ended more than a day ago is left');
select tests.act_as_owner();

select * from finish();
rollback;

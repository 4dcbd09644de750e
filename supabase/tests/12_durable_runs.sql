-- Durable runs: the new run states and recovery columns, the owner-only step
-- journal and journal_steps(), take_run()'s optimistic claim, cancel_run(),
-- claim_runs() for the recovery tick (service role only), workflows.version
-- and the step keys that make the embedded actions exactly-once.
-- Functions are called the way PostgREST does (role and claims per
-- transaction). That claim_runs() skips rows locked by another session is
-- proved with two sessions in tests/schema/test_claim_concurrency.py.
begin;
\ir _helpers.psql
select plan(107);

-- Fixtures (as the owner) --------------------------------------------------------------------------
insert into public.workflows (id, user_id, name) values
  (tests.id('wf a'), tests.user_a(), 'A''s workflow'),
  (tests.id('wf b'), tests.user_b(), 'B''s workflow');
insert into public.workflow_executions (id, workflow_id, user_id, status, attempt, lease_until) values
  (tests.id('run a'), tests.id('wf a'), tests.user_a(), 'running', 1, now() + interval '1 minute'),
  (tests.id('run b'), tests.id('wf b'), tests.user_b(), 'running', 1, now() + interval '1 minute');

-- Structure ------------------------------------------------------------------------------------------
select columns_are('public', 'workflow_step_runs',
  array['id', 'execution_id', 'user_id', 'node_id', 'item_index', 'status', 'attempts', 'output', 'error', 'result',
        'started_at', 'finished_at', 'created_at', 'updated_at', 'seq']);
select policies_are('public', 'workflow_step_runs',
  array['workflow_step_runs_select_own', 'workflow_step_runs_insert_own', 'workflow_step_runs_update_own'],
  'the journal has select, insert and update policies, no delete policy');
select table_privs_are('public', 'workflow_step_runs', 'authenticated', array['SELECT', 'INSERT', 'UPDATE'],
  'authenticated may read, insert and update the journal, not delete from it');
select table_privs_are('public', 'workflow_step_runs', 'anon', array[]::text[], 'anon holds nothing on the journal');
select col_default_is('public', 'workflow_step_runs', 'item_index', '-1', 'a step is not a loop item by default');
select fk_ok('public', 'workflow_step_runs', array['execution_id', 'user_id'],
             'public', 'workflow_executions', array['id', 'user_id'],
  'a step points at a run of the same owner');
select is(pg_get_indexdef('public.workflow_executions_lease_until_idx'::regclass),
  'CREATE INDEX workflow_executions_lease_until_idx ON public.workflow_executions USING btree (lease_until) WHERE (status = ANY (ARRAY[''queued''::text, ''running''::text]))',
  'queued and running runs are indexed by lease for recovery');
select is(pg_get_indexdef('public.workflow_executions_resume_at_idx'::regclass),
  'CREATE INDEX workflow_executions_resume_at_idx ON public.workflow_executions USING btree (resume_at) WHERE (status = ''waiting''::text)',
  'waiting runs are indexed by resume time');
select col_default_is('public', 'workflow_executions', 'status', 'running'::text, 'a run is running by default');
select col_default_is('public', 'workflow_executions', 'attempt', '0', 'a run starts with no invocation');

select tests.act_as(tests.user_a());
select lives_ok($$
  insert into public.workflow_executions (user_id, status) values
    (auth.uid(), 'queued'), (auth.uid(), 'waiting'), (auth.uid(), 'cancelled')
$$, 'queued, waiting and cancelled are run states');
select throws_ok($$ insert into public.workflow_executions (user_id, status) values (auth.uid(), 'paused') $$,
  '23514', 'new row for relation "workflow_executions" violates check constraint "workflow_executions_status_check"',
  'any other state is refused');
select throws_ok($$ insert into public.workflow_executions (user_id, attempt) values (auth.uid(), -1) $$,
  '23514', null, 'attempt is never negative');
select throws_ok($$ insert into public.workflow_executions (user_id, workflow_snapshot) values (auth.uid(), '[]') $$,
  '23514', null, 'the snapshot is a JSON object');
select lives_ok($$ insert into public.workflow_executions (user_id, workflow_snapshot, workflow_version)
                   values (auth.uid(), '{"nodes": [], "edges": []}', 1) $$,
  'a run stores its snapshot and version');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, status, result)
                          values (%L, 'n', 'done', '{}') $$, tests.id('run a')),
  '23514', null, 'a step is running, succeeded, failed or skipped');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, status, result)
                          values (%L, '', 'running', '{}') $$, tests.id('run a')),
  '23514', null, 'a node id is not empty');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, status, result)
                          values (%L, 'n', 'running', '[]') $$, tests.id('run a')),
  '23514', null, 'the result is a NodeResult object');

-- Function privileges ----------------------------------------------------------------------------------
select ok(not has_function_privilege('service_role', 'public.journal_steps(uuid, jsonb, integer)', 'EXECUTE')
          and not has_function_privilege('service_role', 'public.take_run(uuid, integer, integer)', 'EXECUTE')
          and not has_function_privilege('service_role', 'public.cancel_run(uuid)', 'EXECUTE'),
  'the run calls are the owner''s: the service role may not execute them');
select ok(has_function_privilege('service_role', 'public.claim_runs(integer, integer, integer)', 'EXECUTE')
          and not has_function_privilege('authenticated', 'public.claim_runs(integer, integer, integer)', 'EXECUTE')
          and not has_function_privilege('anon', 'public.claim_runs(integer, integer, integer)', 'EXECUTE'),
  'only the service role may execute claim_runs');

-- The journal is the owner's -------------------------------------------------------------------------
select tests.act_as(tests.user_a());
select results_eq(format($$ select status, lease_until from public.journal_steps(%L, '[
    {"node_id": "trigger", "status": "succeeded", "attempts": 1, "output": {"email": "x@acme.example"},
     "result": {"nodeId": "trigger", "status": "succeeded"}, "started_at": "2026-12-01T10:00:00Z",
     "finished_at": "2026-12-01T10:00:01Z"},
    {"node_id": "mail", "status": "running", "attempts": 1, "result": {"nodeId": "mail", "status": "running"}}
  ]', 30000) $$, tests.id('run a')),
  $$ values ('running'::text, now() + interval '30 seconds') $$,
  'journal_steps() journals the caller''s steps and answers the run''s status with a lease renewed by 30 s');
select results_eq($$ select node_id, item_index, status, attempts, output, error, result, user_id
                       from public.workflow_step_runs order by node_id $$,
  format($$ values
    ('mail'::text, -1, 'running'::text, 1, null::jsonb, null::text, '{"nodeId": "mail", "status": "running"}'::jsonb, %1$L::uuid),
    ('trigger', -1, 'succeeded', 1, '{"email": "x@acme.example"}', null, '{"nodeId": "trigger", "status": "succeeded"}', %1$L)
  $$, tests.user_a()),
  'the steps are stored for the caller, one row each, item index -1 when not a loop item');
select is((select started_at from public.workflow_step_runs where node_id = 'trigger'), '2026-12-01T10:00:00Z'::timestamptz,
  'timestamps are taken from the step');

select tests.act_as(tests.user_b());
select is_empty($$ select * from public.workflow_step_runs $$, 'user B sees none of A''s steps');
select is_empty(format($$ select * from public.journal_steps(%L, '[{"node_id": "evil", "status": "succeeded",
                            "attempts": 1, "result": {}}]', 30000) $$, tests.id('run a')),
  'journal_steps() on A''s run, called by B, returns no row');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, status, result)
                          values (%L, 'evil', 'succeeded', '{}') $$, tests.id('run a')),
  '23503', null, 'B cannot file a step under A''s run as B (the composite key)');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, user_id, node_id, status, result)
                          values (%L, %L, 'evil', 'succeeded', '{}') $$, tests.id('run a'), tests.user_a()),
  '42501', null, 'nor as A (the insert policy)');
select is_empty($$ update public.workflow_step_runs set status = 'failed' returning 1 $$,
  'B''s update of the journal matches none of A''s steps');
select is_empty($$ select * from public.take_run(tests.id('run a'), 1, 1000) $$, 'B cannot take A''s run');
select is_empty($$ select * from public.cancel_run(tests.id('run a')) $$, 'B cannot cancel A''s run');

select tests.act_as_anon();
select throws_ok($$ select * from public.workflow_step_runs $$, '42501', null, 'anon cannot read the journal');
select throws_ok(format($$ select * from public.journal_steps(%L, '[]', 1000) $$, tests.id('run a')), '42501', null,
  'anon cannot call journal_steps()');
select throws_ok(format($$ select * from public.take_run(%L, 1, 1000) $$, tests.id('run a')), '42501', null,
  'anon cannot call take_run()');
select throws_ok(format($$ select * from public.cancel_run(%L) $$, tests.id('run a')), '42501', null,
  'anon cannot call cancel_run()');

select tests.act_as_owner();
select results_eq($$ select node_id from public.workflow_step_runs order by node_id $$, array['mail', 'trigger'],
  'B''s attempts left A''s journal as it was');
select results_eq(format($$ select status, attempt, lease_until from public.workflow_executions where id = %L $$, tests.id('run a')),
  $$ values ('running'::text, 1, now() + interval '30 seconds') $$, 'and A''s run too');

-- journal_steps() is idempotent; settled steps never change -------------------------------------------
select tests.act_as(tests.user_a());
create temporary table trigger_before on commit drop as
  select * from public.workflow_step_runs where node_id = 'trigger';
select results_eq(format($$ select status from public.journal_steps(%L, '[
    {"node_id": "trigger", "status": "failed", "attempts": 9, "output": null, "error": "late", "result": {"late": true}}
  ]', 30000) $$, tests.id('run a')), array['running'], 'a second journal call for a settled step is accepted');
select results_eq($$ select id, status, attempts, output, error, result, started_at, finished_at from public.workflow_step_runs where node_id = 'trigger' $$,
  $$ select id, status, attempts, output, error, result, started_at, finished_at from trigger_before $$,
  'and changes nothing: a settled step is never rewritten');
select results_eq(format($$ select status from public.journal_steps(%L, '[
    {"node_id": "trigger", "status": "running", "attempts": 2, "result": {"nodeId": "trigger", "status": "running"}}
  ]', 30000) $$, tests.id('run a')), array['running'], 'a stale running report for a settled step');
select results_eq($$ select status, attempts, result from public.workflow_step_runs where node_id = 'trigger' $$,
  $$ select status, attempts, result from trigger_before $$, 'does not downgrade it');

select results_eq(format($$ select status from public.journal_steps(%L, '[
    {"node_id": "mail", "status": "succeeded", "attempts": 2, "output": {"id": "m-1"},
     "result": {"nodeId": "mail", "status": "succeeded"}, "finished_at": "2026-12-01T10:00:05Z"}
  ]', 30000) $$, tests.id('run a')), array['running'], 'a running step settles');
select results_eq($$ select status, attempts, output, result, finished_at from public.workflow_step_runs where node_id = 'mail' $$,
  $$ values ('succeeded'::text, 2, '{"id": "m-1"}'::jsonb, '{"nodeId": "mail", "status": "succeeded"}'::jsonb,
            '2026-12-01T10:00:05Z'::timestamptz) $$,
  'its running row is upgraded to the new values');
select is((select count(*)::int from public.workflow_step_runs where node_id = 'mail'), 1, 'still one row for the step');
select is((select updated_at from public.workflow_step_runs where node_id = 'mail'), now(), 'updated_at is kept by the shared trigger');

-- Loop items, and a batch naming one step twice.
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "loop", "item_index": 0, "status": "succeeded", "attempts": 1, "result": {"i": 0}},
    {"node_id": "loop", "item_index": 1, "status": "running", "attempts": 1, "result": {"i": 1}},
    {"node_id": "twice", "status": "succeeded", "attempts": 1, "result": {"v": "settled"}},
    {"node_id": "twice", "status": "running", "attempts": 2, "result": {"v": "later, running"}}
  ]', 30000) $$, tests.id('run a')), 'one call may journal loop items and name a step twice');
select results_eq($$ select node_id, item_index, status, result from public.workflow_step_runs
                     where node_id in ('loop', 'twice') order by node_id, item_index $$,
  $$ values ('loop'::text, 0, 'succeeded'::text, '{"i": 0}'::jsonb), ('loop', 1, 'running', '{"i": 1}'),
            ('twice', -1, 'succeeded', '{"v": "settled"}') $$,
  'each loop item has its own row; of two reports for one step in a batch the settled one wins');
select lives_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, item_index, status, result)
                         values (%L, 'mail', 0, 'running', '{}') $$, tests.id('run a')),
  'the same node may have a row per loop item');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, status, result)
                          values (%L, 'mail', 'running', '{}') $$, tests.id('run a')),
  '23505', null, 'but one row per run, node and item');

-- Argument checks.
select throws_ok(format($$ select * from public.journal_steps(%L, '{"node_id": "x"}', 1000) $$, tests.id('run a')),
  '22023', 'p_steps must be a JSON array', 'p_steps is an array');
select throws_ok(format($$ select * from public.journal_steps(%L, '[1]', 1000) $$, tests.id('run a')),
  '22023', 'every element of p_steps must be a JSON object', 'of objects');
select throws_ok(format($$ select * from public.journal_steps(%L, '[]', 0) $$, tests.id('run a')),
  '22023', 'p_lease_ms must be positive', 'the lease is positive');
select throws_ok(format($$ select * from public.journal_steps(%L, '[{"node_id": "x", "status": "succeeded"}]', 1000) $$,
    tests.id('run a')),
  '23502', null, 'a step without a result is refused');

-- The lease is renewed only while the run is running.
select tests.act_as_owner();
update public.workflow_executions set lease_until = now() - interval '5 seconds' where id = tests.id('run a');
select tests.act_as(tests.user_a());
select results_eq(format($$ select status, lease_until from public.journal_steps(%L, '[]', 45000) $$, tests.id('run a')),
  $$ values ('running'::text, now() + interval '45 seconds') $$,
  'an empty batch is a heartbeat: it renews an expired lease of a running run');
select tests.act_as_owner();
update public.workflow_executions set status = 'waiting', lease_until = now() - interval '5 seconds',
                                      resume_at = now() + interval '1 hour' where id = tests.id('run a');
select tests.act_as(tests.user_a());
select results_eq(format($$ select status, lease_until from public.journal_steps(%L, '[]', 45000) $$, tests.id('run a')),
  $$ values ('waiting'::text, now() - interval '5 seconds') $$,
  'a waiting run''s lease is not renewed');
select tests.act_as_owner();
update public.workflow_executions set status = 'running', lease_until = now() + interval '1 minute', resume_at = null
  where id = tests.id('run a');
select tests.act_as(tests.user_a());
select results_eq(format($$ select status from public.cancel_run(%L) $$, tests.id('run a')), array['cancelled'],
  'A cancels the run');
select results_eq(format($$ select status, lease_until from public.journal_steps(%L, '[
    {"node_id": "loop", "item_index": 1, "status": "succeeded", "attempts": 1, "result": {"i": 1, "done": true}}
  ]', 45000) $$, tests.id('run a')),
  $$ values ('cancelled'::text, null::timestamptz) $$,
  'a step still in flight journals after the cancel, and learns the run is cancelled (no lease renewed)');
select is((select status from public.workflow_step_runs where node_id = 'loop' and item_index = 1), 'succeeded',
  'its result is kept');

-- take_run(): once per attempt value ------------------------------------------------------------------
select tests.act_as_owner();
insert into public.workflow_executions (id, workflow_id, user_id, status, attempt, resume_at) values
  (tests.id('take queued'), tests.id('wf a'), tests.user_a(), 'queued', 0, null),
  (tests.id('take waiting'), tests.id('wf a'), tests.user_a(), 'waiting', 2, now() + interval '1 minute'),
  (tests.id('take done'), tests.id('wf a'), tests.user_a(), 'succeeded', 1, null);
select tests.act_as(tests.user_a());
select results_eq(format($$ select id, status, attempt, lease_until, resume_at from public.take_run(%L, 0, 60000) $$,
    tests.id('take queued')),
  format($$ values (%L::uuid, 'running'::text, 1, now() + interval '60 seconds', null::timestamptz) $$, tests.id('take queued')),
  'take_run() claims a queued run: running, attempt 1, leased for 60 s');
select is_empty(format($$ select * from public.take_run(%L, 0, 60000) $$, tests.id('take queued')),
  'a second take_run() naming the same attempt gets nothing (a redelivered message)');
select results_eq(format($$ select attempt from public.take_run(%L, 1, 60000) $$, tests.id('take queued')), array[2],
  'the next invocation names attempt 1 and takes the run as attempt 2');
select is_empty(format($$ select * from public.take_run(%L, 5, 60000) $$, tests.id('take queued')),
  'an attempt from the future takes nothing');
select results_eq(format($$ select status, attempt, resume_at from public.take_run(%L, 2, 60000) $$, tests.id('take waiting')),
  $$ values ('running'::text, 3, null::timestamptz) $$, 'a waiting run is taken, its resume time cleared');
select is_empty(format($$ select * from public.take_run(%L, 1, 60000) $$, tests.id('take done')), 'a finished run is not taken');
select results_eq(format($$ select status, attempt from public.workflow_executions where id = %L $$, tests.id('take done')),
  $$ values ('succeeded'::text, 1) $$, 'and stays as it was');
select is_empty(format($$ select * from public.take_run(%L, 1, 60000) $$, tests.id('run a')), 'nor is a cancelled run');
select throws_ok(format($$ select * from public.take_run(%L, -1, 60000) $$, tests.id('take queued')),
  '22023', null, 'the expected attempt is not negative');
select throws_ok(format($$ select * from public.take_run(%L, 0, 0) $$, tests.id('take queued')),
  '22023', null, 'the lease is positive');

-- cancel_run() for each state ---------------------------------------------------------------------------
select tests.act_as_owner();
insert into public.workflow_executions (id, workflow_id, user_id, status, success, lease_until, finished_at, stop_reason) values
  (tests.id('cancel queued'), tests.id('wf a'), tests.user_a(), 'queued', false, null, null, null),
  (tests.id('cancel running'), tests.id('wf a'), tests.user_a(), 'running', false, now() + interval '1 minute', null, null),
  (tests.id('cancel waiting'), tests.id('wf a'), tests.user_a(), 'waiting', false, null, null, null),
  (tests.id('cancel succeeded'), tests.id('wf a'), tests.user_a(), 'succeeded', true, null, now() - interval '1 hour', null),
  (tests.id('cancel failed'), tests.id('wf a'), tests.user_a(), 'failed', false, null, now() - interval '1 hour', 'node x failed'),
  (tests.id('cancel cancelled'), tests.id('wf a'), tests.user_a(), 'cancelled', false, null, now() - interval '1 hour', 'earlier');
create temporary table finished_before on commit drop as
  select * from public.workflow_executions where status in ('succeeded', 'failed', 'cancelled');
select tests.act_as(tests.user_a());
select results_eq(
  format($$ select c.status, c.stop_reason, c.finished_at, c.lease_until, c.success
              from unnest(array[%L, %L, %L]::uuid[]) r(id), lateral public.cancel_run(r.id) c $$,
         tests.id('cancel queued'), tests.id('cancel running'), tests.id('cancel waiting')),
  $$ values ('cancelled'::text, 'cancelled by the user'::text, now(), null::timestamptz, false),
            ('cancelled', 'cancelled by the user', now(), null, false),
            ('cancelled', 'cancelled by the user', now(), null, false) $$,
  'a queued, running or waiting run is cancelled: reason, end time, no lease, not a success');
select is_empty($$ select * from public.cancel_run(tests.id('cancel succeeded')) $$, 'a succeeded run is not cancelled');
select is_empty($$ select * from public.cancel_run(tests.id('cancel failed')) $$, 'nor a failed one');
select is_empty($$ select * from public.cancel_run(tests.id('cancel cancelled')) $$, 'nor one cancelled already');
select tests.act_as_owner();
select set_eq(
  $$ select e.* from public.workflow_executions e where e.id in (select id from finished_before) $$,
  $$ select * from finished_before $$,
  'finished runs are untouched');
select tests.act_as(tests.user_a());
select is_empty(format($$ select * from public.cancel_run(%L) $$, tests.id('no such run')), 'an unknown run cancels nothing');

-- claim_runs(): recovery for the service role -----------------------------------------------------------
select tests.act_as(tests.user_a());
select throws_ok($$ select * from public.claim_runs(10, 60000, 3) $$, '42501', null, 'users cannot call claim_runs()');
select tests.act_as_owner();
delete from public.workflow_executions;
insert into public.workflow_executions (id, workflow_id, user_id, status, attempt, lease_until, resume_at, executed_at) values
  (tests.id('c expired'),     tests.id('wf a'), tests.user_a(), 'running',   1, now() - interval '1 second',  null,                         now() - interval '20 minutes'),
  (tests.id('c no lease'),    tests.id('wf b'), tests.user_b(), 'running',   1, null,                         null,                         now() - interval '19 minutes'),
  (tests.id('c live'),        tests.id('wf a'), tests.user_a(), 'running',   1, now() + interval '1 minute',  null,                         now() - interval '18 minutes'),
  (tests.id('c lost'),        tests.id('wf a'), tests.user_a(), 'queued',    0, null,                         null,                         now() - interval '31 seconds'),
  (tests.id('c fresh'),       tests.id('wf a'), tests.user_a(), 'queued',    0, null,                         null,                         now() - interval '10 seconds'),
  (tests.id('c lost again'),  tests.id('wf b'), tests.user_b(), 'queued',    0, now() - interval '1 second',  null,                         now() - interval '17 minutes'),
  (tests.id('c in flight'),   tests.id('wf b'), tests.user_b(), 'queued',    0, now() + interval '1 minute',  null,                         now() - interval '16 minutes'),
  (tests.id('c due'),         tests.id('wf a'), tests.user_a(), 'waiting',   2, null,                         now() - interval '1 second',  now() - interval '15 minutes'),
  (tests.id('c later'),       tests.id('wf a'), tests.user_a(), 'waiting',   2, null,                         now() + interval '1 hour',    now() - interval '14 minutes'),
  (tests.id('c exhausted'),   tests.id('wf b'), tests.user_b(), 'running',   3, now() - interval '1 second',  null,                         now() - interval '13 minutes'),
  (tests.id('c succeeded'),   tests.id('wf a'), tests.user_a(), 'succeeded', 1, null,                         null,                         now() - interval '30 minutes'),
  (tests.id('c failed'),      tests.id('wf a'), tests.user_a(), 'failed',    1, now() - interval '1 second',  null,                         now() - interval '30 minutes'),
  (tests.id('c cancelled'),   tests.id('wf a'), tests.user_a(), 'cancelled', 1, null,                         now() - interval '1 second',  now() - interval '30 minutes');
update public.workflow_executions set recoveries = 3 where id = tests.id('c exhausted');
-- A due waiting run never counts as a recovery, however often it waited.
update public.workflow_executions set recoveries = 3 where id = tests.id('c due');
select tests.act_as_service();
select results_eq($$ select id, user_id, attempt, action from public.claim_runs(100, 60000, 3) $$,
  $$ values (tests.id('c expired'), tests.user_a(), 1, 'resume'::text),
            (tests.id('c no lease'), tests.user_b(), 1, 'resume'),
            (tests.id('c lost again'), tests.user_b(), 0, 'resume'),
            (tests.id('c due'), tests.user_a(), 2, 'resume'),
            (tests.id('c exhausted'), tests.user_b(), 3, 'failed'),
            (tests.id('c lost'), tests.user_a(), 0, 'resume') $$,
  'claim_runs() picks, oldest first and of every user, expired and missing leases, lost queued runs and due waiting runs; a run recovered 3 times is given up');
select results_eq(
  $$ select id, recoveries from public.workflow_executions
      where id in (tests.id('c expired'), tests.id('c lost'), tests.id('c due'), tests.id('c exhausted')) order by executed_at $$,
  $$ values (tests.id('c expired'), 1), (tests.id('c due'), 3), (tests.id('c exhausted'), 3), (tests.id('c lost'), 1) $$,
  'a recovered running or queued run counts one more recovery; a due waiting run and a given-up run do not');
select results_eq(
  $$ select status, lease_until from public.workflow_executions
      where id in (tests.id('c expired'), tests.id('c no lease'), tests.id('c lost again'), tests.id('c due'), tests.id('c lost'))
      order by executed_at $$,
  $$ values ('running'::text, now() + interval '60 seconds'), ('running', now() + interval '60 seconds'),
            ('queued', now() + interval '60 seconds'), ('waiting', now() + interval '60 seconds'),
            ('queued', now() + interval '60 seconds') $$,
  'runs handed out keep their state and are leased for p_lease_ms while their message is in flight');
select results_eq(
  $$ select status, stop_reason, finished_at, lease_until, success from public.workflow_executions where id = tests.id('c exhausted') $$,
  $$ values ('failed'::text, 'gave up after being recovered 3 times'::text, now(), null::timestamptz, false) $$,
  'the given-up run is failed with the reason, an end time and no lease');
select results_eq(
  $$ select id, status, lease_until from public.workflow_executions
      where id in (tests.id('c live'), tests.id('c fresh'), tests.id('c in flight'), tests.id('c later'),
                   tests.id('c succeeded'), tests.id('c failed'), tests.id('c cancelled'))
      order by executed_at, id $$,
  $$ select id, status, lease_until from (values
       (tests.id('c succeeded'), 'succeeded'::text, null::timestamptz, now() - interval '30 minutes'),
       (tests.id('c failed'), 'failed', now() - interval '1 second', now() - interval '30 minutes'),
       (tests.id('c cancelled'), 'cancelled', null, now() - interval '30 minutes'),
       (tests.id('c live'), 'running', now() + interval '1 minute', now() - interval '18 minutes'),
       (tests.id('c in flight'), 'queued', now() + interval '1 minute', now() - interval '16 minutes'),
       (tests.id('c later'), 'waiting', null, now() - interval '14 minutes'),
       (tests.id('c fresh'), 'queued', null, now() - interval '10 seconds')) v(id, status, lease_until, executed_at)
     order by executed_at, id $$,
  'live leases, fresh queued runs, waiting runs not yet due and final runs are left alone');
select is_empty($$ select * from public.claim_runs(100, 60000, 3) $$,
  'the next tick picks nothing: every run handed out is leased');

-- The consumer takes a run with the attempt it was handed.
select tests.act_as(tests.user_a());
select results_eq($$ select status, attempt, resume_at from public.take_run(tests.id('c due'), 2, 60000) $$,
  $$ values ('running'::text, 3, null::timestamptz) $$, 'take_run() with the handed-out attempt takes the due waiting run');

-- Limit, and the default of max attempts reached at the first look.
select tests.act_as_owner();
update public.workflow_executions set lease_until = now() - interval '1 second'
  where id in (tests.id('c expired'), tests.id('c no lease'));
select tests.act_as_service();
select results_eq($$ select id from public.claim_runs(1, 60000, 3) $$, array[tests.id('c expired')],
  'p_limit caps the runs handed out, oldest first');
select results_eq($$ select id, action from public.claim_runs(1, 60000, 1) $$,
  $$ values (tests.id('c no lease'), 'failed'::text) $$, 'with p_max_recoveries 1 a run already recovered once is given up');
select is((select stop_reason from public.workflow_executions where id = tests.id('c no lease')), 'gave up after being recovered 1 times',
  'the reason counts its recoveries');

select throws_ok($$ select * from public.claim_runs(0, 60000, 3) $$, '22023', null, 'p_limit is at least 1');
select throws_ok($$ select * from public.claim_runs(1001, 60000, 3) $$, '22023', null, 'p_limit is at most 1000');
select throws_ok($$ select * from public.claim_runs(10, 0, 3) $$, '22023', null, 'p_lease_ms is positive');
select throws_ok($$ select * from public.claim_runs(10, 60000, -1) $$, '22023', null, 'p_max_recoveries is not negative');

-- Steps go with their run ---------------------------------------------------------------------------------
select tests.act_as_owner();
insert into public.workflow_executions (id, workflow_id, user_id, status) values
  (tests.id('run with steps'), tests.id('wf a'), tests.user_a(), 'running');
select tests.act_as(tests.user_a());
select lives_ok($$ select * from public.journal_steps(tests.id('run with steps'),
                     '[{"node_id": "n", "status": "succeeded", "attempts": 1, "result": {}}]', 1000) $$,
  'A journals a step');
select throws_ok($$ delete from public.workflow_step_runs $$, '42501', null, 'a user cannot delete steps');
delete from public.workflow_executions where id = tests.id('run with steps');
select tests.act_as_owner();
select is((select count(*)::int from public.workflow_step_runs where execution_id = tests.id('run with steps')), 0,
  'deleting the run deletes its steps');

-- workflows.version ---------------------------------------------------------------------------------------
select tests.act_as(tests.user_a());
insert into public.workflows (id, name, version) values (tests.id('wf v'), 'versioned', 7);
select is((select version from public.workflows where id = tests.id('wf v')), 1, 'a new workflow is version 1, whatever is sent');
update public.workflows set name = 'renamed', is_active = true, description = 'x' where id = tests.id('wf v');
select is((select version from public.workflows where id = tests.id('wf v')), 1, 'renaming or activating keeps the version');
update public.workflows set nodes = '[{"id": "t", "type": "trigger"}]' where id = tests.id('wf v');
select is((select version from public.workflows where id = tests.id('wf v')), 2, 'changing nodes bumps it');
update public.workflows set edges = '[{"id": "e", "source": "t", "target": "t"}]' where id = tests.id('wf v');
select is((select version from public.workflows where id = tests.id('wf v')), 3, 'changing edges bumps it');
update public.workflows set nodes = '[{"type": "trigger", "id": "t"}]' where id = tests.id('wf v');
select is((select version from public.workflows where id = tests.id('wf v')), 3, 'the same document, keys reordered, is no change');
update public.workflows set version = 100 where id = tests.id('wf v');
select is((select version from public.workflows where id = tests.id('wf v')), 3, 'a client cannot set the version');
update public.workflows set nodes = '[]', version = 1 where id = tests.id('wf v');
select is((select version from public.workflows where id = tests.id('wf v')), 4, 'nor send one with a change');

-- Step keys: one row per step of a run and user -----------------------------------------------------------
select lives_ok($$
  insert into public.deals (title, step_key) values ('Deal', 'run-1:deal');
  insert into public.notifications (title, step_key) values ('Hi', 'run-1:notify');
  insert into public.email_outbox (recipient, subject, body, step_key) values ('a@acme.example', 'S', 'B', 'run-1:mail')
$$, 'an action''s row carries its step key');
select throws_ok($$ insert into public.deals (title, step_key) values ('Deal again', 'run-1:deal') $$,
  '23505', null, 'a second deal for the same step is refused');
select throws_ok($$ insert into public.notifications (title, step_key) values ('Hi again', 'run-1:notify') $$,
  '23505', null, 'a second notification for the same step is refused');
select throws_ok($$ insert into public.email_outbox (recipient, subject, body, step_key)
                    values ('a@acme.example', 'S', 'B', 'run-1:mail') $$,
  '23505', null, 'a second mail for the same step is refused');
select lives_ok($$
  insert into public.deals (title) values ('d1'), ('d2');
  insert into public.notifications (title) values ('n1'), ('n2');
  insert into public.email_outbox (recipient, subject, body) values ('a@acme.example', 's1', 'b'), ('a@acme.example', 's2', 'b')
$$, 'rows without a step key are not limited');
select throws_ok($$ insert into public.deals (title, step_key) values ('Deal', '') $$, '23514', null,
  'an empty step key is refused');
select throws_ok(format($$ insert into public.email_outbox (recipient, subject, body, step_key)
                          values ('a@acme.example', 'S', 'B', %L) $$, repeat('k', 301)), '23514', null,
  'a step key is at most 300 characters');
select tests.act_as(tests.user_b());
select lives_ok($$
  insert into public.deals (title, step_key) values ('Deal', 'run-1:deal');
  insert into public.notifications (title, step_key) values ('Hi', 'run-1:notify');
  insert into public.email_outbox (recipient, subject, body, step_key) values ('b@acme.example', 'S', 'B', 'run-1:mail')
$$, 'another user may use the same step keys');
select tests.act_as_owner();
select is((select count(*)::int from public.deals where step_key = 'run-1:deal'), 2, 'one deal per user for the key');

select * from finish();
rollback;

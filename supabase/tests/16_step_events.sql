-- Step events: workflow_step_runs.seq, drawn anew by journal_steps() each
-- time it writes a row (a step journaled running, then settled; a step
-- journaled settled at once), never by a write that changes nothing, never
-- chosen by a caller; batch order within a call; RLS between users A and B.
-- That calls for one run are serialized (the second waits for the first's
-- commit and numbers after it) and the backfill of existing rows are proved
-- with separate sessions and a scratch database in
-- tests/schema/test_step_events.py.
begin;
\ir _helpers.psql
select plan(29);

-- A step's current seq, whoever asks (the owner reads past RLS).
create function tests.seq(p_run uuid, p_node text, p_item integer default -1) returns bigint
language sql stable security definer set search_path = '' as $$
  select s.seq from public.workflow_step_runs s
   where s.execution_id = p_run and s.node_id = p_node and s.item_index = p_item
$$;
create function tests.max_seq() returns bigint
language sql stable security definer set search_path = '' as $$
  select max(s.seq) from public.workflow_step_runs s
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

insert into public.workflows (id, user_id, name) values
  (tests.id('wf a'), tests.user_a(), 'A''s workflow'),
  (tests.id('wf b'), tests.user_b(), 'B''s workflow');
insert into public.workflow_executions (id, workflow_id, user_id, status, attempt, lease_until) values
  (tests.id('run a'), tests.id('wf a'), tests.user_a(), 'running', 1, now() + interval '1 minute'),
  (tests.id('run b'), tests.id('wf b'), tests.user_b(), 'running', 1, now() + interval '1 minute');

-- Structure ------------------------------------------------------------------------------------------
select has_column('public', 'workflow_step_runs', 'seq', 'the journal has an event order');
select col_not_null('public', 'workflow_step_runs', 'seq', 'every row has its place in it');
select col_type_is('public', 'workflow_step_runs', 'seq', 'bigint', 'a bigint');
select is((select attidentity from pg_attribute
            where attrelid = 'public.workflow_step_runs'::regclass and attname = 'seq'), 'a'::"char",
  'an identity column generated always: no caller chooses the value');
select is(pg_get_indexdef('public.workflow_step_runs_execution_id_seq_idx'::regclass),
  'CREATE INDEX workflow_step_runs_execution_id_seq_idx ON public.workflow_step_runs USING btree (execution_id, seq)',
  'the rows of a run are indexed in seq order (the stream reads those above its last id)');
select is_empty($$
  select r.rolname || ':' || p.priv from (values ('anon'), ('authenticated'), ('service_role')) r(rolname),
    unnest(array['SELECT', 'UPDATE', 'USAGE']) p(priv)
  where has_sequence_privilege(r.rolname, pg_get_serial_sequence('public.workflow_step_runs', 'seq'), p.priv)
$$, 'no API role holds a privilege on the sequence: identity values need none');

-- Running, then settled ------------------------------------------------------------------------------
select tests.act_as(tests.user_a());
create temporary table seen (label text primary key, seq bigint not null) on commit drop;
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "trigger", "status": "succeeded", "attempts": 1, "result": {"nodeId": "trigger", "status": "succeeded"}},
    {"node_id": "a", "status": "running", "attempts": 0, "result": {"nodeId": "a", "status": "running"},
     "started_at": "2026-12-01T10:00:00Z"}
  ]', 30000) $$, tests.id('run a')), 'A journals the trigger and the start of step a in one call');
insert into seen values ('trigger', tests.seq(tests.id('run a'), 'trigger')), ('a running', tests.seq(tests.id('run a'), 'a'));
select ok((select seq from seen where label = 'trigger') < (select seq from seen where label = 'a running'),
  'a batch is numbered in its own order (the trigger first, though "a" sorts before "trigger")');
select results_eq($$ select seq from public.workflow_step_runs order by seq $$,
  $$ select seq from seen order by seq $$, 'A reads the seq of her own steps');

select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "a", "status": "succeeded", "attempts": 1, "output": {"ok": true},
     "result": {"nodeId": "a", "status": "succeeded"}, "finished_at": "2026-12-01T10:00:01Z"}
  ]', 30000) $$, tests.id('run a')), 'a settles');
insert into seen values ('a settled', tests.seq(tests.id('run a'), 'a'));
select ok((select seq from seen where label = 'a settled') > (select max(seq) from seen where label <> 'a settled'),
  'running -> succeeded draws a new seq, above every earlier one');
select results_eq($$ select count(*)::int, min(status), min(started_at) from public.workflow_step_runs where node_id = 'a' $$,
  $$ values (1, 'succeeded'::text, '2026-12-01T10:00:00Z'::timestamptz) $$,
  'still one row for the step, settled, its start kept');

-- A settled row is not written again: its seq stays -------------------------------------------------
create temporary table a_before on commit drop as select * from public.workflow_step_runs where node_id = 'a';
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "a", "status": "running", "attempts": 2, "result": {"nodeId": "a", "status": "running"}}
  ]', 30000) $$, tests.id('run a')), 'a stale running report for the settled step');
select is(tests.seq(tests.id('run a'), 'a'), (select seq from seen where label = 'a settled'),
  'leaves its seq as it was');
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "a", "status": "failed", "attempts": 3, "error": "late", "result": {"nodeId": "a", "status": "failed"}}
  ]', 30000) $$, tests.id('run a')), 'so does a second settled report');
select results_eq($$ select id, seq, status, attempts, result, updated_at from public.workflow_step_runs where node_id = 'a' $$,
  $$ select id, seq, status, attempts, result, updated_at from a_before $$,
  'the settled row is exactly as it was, seq included');

-- Settled at once, a newer running report, direct writes ---------------------------------------------
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "b", "status": "skipped", "attempts": 0, "result": {"nodeId": "b", "status": "skipped"}},
    {"node_id": "c", "status": "running", "attempts": 0, "result": {"nodeId": "c", "status": "running", "try": 1}}
  ]', 30000) $$, tests.id('run a')), 'a step journaled settled at once, and another started');
insert into seen values ('b', tests.seq(tests.id('run a'), 'b')), ('c running', tests.seq(tests.id('run a'), 'c'));
select ok((select seq from seen where label = 'b') > (select seq from seen where label = 'a settled')
          and (select seq from seen where label = 'c running') > (select seq from seen where label = 'b'),
  'each takes a seq above the ones before, in batch order');
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "c", "status": "running", "attempts": 0, "result": {"nodeId": "c", "status": "running", "try": 2}}
  ]', 30000) $$, tests.id('run a')), 'a newer running report (the step started again, say after a resume)');
select ok(tests.seq(tests.id('run a'), 'c') > (select seq from seen where label = 'c running'),
  'changes the running row, so it draws a new seq too');
select throws_ok(format($$ insert into public.workflow_step_runs (execution_id, node_id, status, result, seq)
                          values (%L, 'd', 'running', '{}', 1) $$, tests.id('run a')),
  '428C9', null, 'a caller cannot choose the seq of a new row');
select throws_ok($$ update public.workflow_step_runs set seq = 1 where node_id = 'b' $$,
  '428C9', null, 'nor set one');
select is((select count(distinct seq)::int from public.workflow_step_runs), (select count(*)::int from public.workflow_step_runs),
  'seq values are unique');

-- Another user ---------------------------------------------------------------------------------------
select tests.act_as_owner();
create temporary table a_steps on commit drop as select * from public.workflow_step_runs;
select tests.act_as(tests.user_b());
select is_empty($$ select seq from public.workflow_step_runs $$, 'B sees no seq of A''s steps');
select is_empty(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "c", "status": "succeeded", "attempts": 1, "result": {"nodeId": "c", "status": "succeeded"}},
    {"node_id": "evil", "status": "running", "attempts": 0, "result": {}}
  ]', 30000) $$, tests.id('run a')),
  'journal_steps() on A''s run, called by B, returns no row');
select is_empty($$ update public.workflow_step_runs set seq = default returning 1 $$,
  'B''s update asking for new seq values matches none of A''s steps');
select lives_ok(format($$ select * from public.journal_steps(%L, '[
    {"node_id": "b-step", "status": "running", "attempts": 0, "result": {"nodeId": "b-step", "status": "running"}}
  ]', 30000) $$, tests.id('run b')), 'B journals a step of his own run');
select is(tests.seq(tests.id('run b'), 'b-step'), tests.max_seq(), 'which draws from the same sequence, above A''s');
select tests.act_as_owner();
select set_eq($$ select id, seq, status, result from public.workflow_step_runs where execution_id = tests.id('run a') $$,
  $$ select id, seq, status, result from a_steps $$, 'A''s journal is as it was: no row added, no seq drawn anew');

select * from finish();
rollback;

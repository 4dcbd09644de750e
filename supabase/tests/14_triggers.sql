-- Triggers (contract section 9): the form hook lookup and trigger key
-- rotation, the dispatch records of outbox events (one per event and
-- workflow), claim_event_dispatches() and finish_event_dispatch() for the
-- dispatcher (service role only), the causing run read from PostgREST's
-- request.headers, the loop guard and the chain depth limit.
-- Functions are called the way PostgREST does (role and claims per
-- transaction). Concurrent claims by two sessions are proved in
-- tests/schema/test_claim_concurrency.py.
begin;
\ir _helpers.psql
select plan(108);

-- A workflow document whose one trigger node has the given triggerType.
create function tests.nodes(p_trigger_type text) returns jsonb
language sql immutable as $$
  select jsonb_build_array(
    jsonb_build_object('id', 'trigger-1', 'type', 'trigger', 'position', '{"x": 0, "y": 0}'::jsonb,
                       'data', jsonb_build_object('triggerType', p_trigger_type, 'config', '{}'::jsonb)),
    '{"id": "action-1", "type": "action", "data": {"actionId": "send_notification", "config": {}}}'::jsonb)
$$;
-- request.headers as PostgREST sets it: the request's headers as a JSON
-- object, for the transaction only; '' is what is left once it is reset.
create function tests.set_request_headers(p_headers text) returns void
language sql as $$ select set_config('request.headers', p_headers, true) $$;
-- A request carrying x-edgeflow-execution (the worker's run id).
create function tests.send_execution_header(p_value text) returns void
language sql as $$
  select tests.set_request_headers(
    json_build_object('accept', 'application/json', 'x-edgeflow-execution', p_value)::text)
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

-- Fixtures (as the owner) ------------------------------------------------------------------------------
insert into public.workflows (id, user_id, name, is_active, nodes, trigger_key) values
  (tests.id('wf form'),     tests.user_a(), 'Form',             true,  tests.nodes('form_submit'), repeat('f', 40)),
  (tests.id('wf form off'), tests.user_a(), 'Form, inactive',   false, tests.nodes('form_submit'), repeat('g', 40)),
  (tests.id('wf manual'),   tests.user_a(), 'Manual',           true,  tests.nodes('manual'), repeat('h', 40)),
  (tests.id('wf c1'),       tests.user_a(), 'Contact one',      true,  tests.nodes('contact_update'), repeat('i', 40)),
  (tests.id('wf c2'),       tests.user_a(), 'Contact two',      true,  tests.nodes('contact_update'), repeat('j', 40)),
  (tests.id('wf c off'),    tests.user_a(), 'Contact, off',     false, tests.nodes('contact_update'), repeat('k', 40)),
  (tests.id('wf deal'),     tests.user_a(), 'Deal won',         true,  tests.nodes('deal_won'), repeat('l', 40)),
  (tests.id('wf b c'),      tests.user_b(), 'B''s contact one', true,  tests.nodes('contact_update'), repeat('m', 40));
-- Two trigger nodes: saved documents are only checked for well-formedness.
insert into public.workflows (id, user_id, name, is_active, nodes, trigger_key) values
  (tests.id('wf two'), tests.user_a(), 'Two triggers', true,
   tests.nodes('form_submit') || (tests.nodes('form_submit') -> 0), repeat('n', 40));
insert into public.contacts (id, user_id, email, name) values
  (tests.id('ct a1'), tests.user_a(), 'one@a.test', 'Ann'),
  (tests.id('ct b1'), tests.user_b(), 'one@b.test', 'Bea');
insert into public.deals (id, user_id, title, stage) values (tests.id('dl a1'), tests.user_a(), 'A deal', 'new');
insert into public.workflow_executions (id, workflow_id, user_id, status) values
  (tests.id('run c1'), tests.id('wf c1'), tests.user_a(), 'running'),
  (tests.id('run b'), tests.id('wf b c'), tests.user_b(), 'running');

-- Structure --------------------------------------------------------------------------------------------
select columns_are('public', 'workflow_event_dispatches',
  array['id', 'event_id', 'workflow_id', 'user_id', 'execution_id', 'status', 'attempts', 'last_error',
        'next_attempt_at', 'created_at', 'updated_at']);
select policies_are('public', 'workflow_event_dispatches', array['workflow_event_dispatches_select_own'],
  'dispatches have a select policy only');
select table_privs_are('public', 'workflow_event_dispatches', 'authenticated', array['SELECT'],
  'authenticated may only read dispatches');
select table_privs_are('public', 'workflow_event_dispatches', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'service_role may read and write dispatches');
select table_privs_are('public', 'workflow_event_dispatches', 'anon', array[]::text[], 'anon holds nothing on dispatches');
select col_is_unique('public', 'workflow_event_dispatches', array['event_id', 'workflow_id'],
  'one dispatch per event and workflow');
select fk_ok('public', 'workflow_event_dispatches', array['workflow_id', 'user_id'],
             'public', 'workflows', array['id', 'user_id'], 'a dispatch points at a workflow of its owner');
select fk_ok('public', 'workflow_event_dispatches', array['execution_id', 'user_id'],
             'public', 'workflow_executions', array['id', 'user_id'], 'and at a run of its owner');
select fk_ok('public', 'workflow_event_dispatches', 'event_id', 'public', 'workflow_events', 'id',
  'and at its event');
select is(pg_get_indexdef('public.workflow_event_dispatches_status_next_attempt_at_idx'::regclass),
  'CREATE INDEX workflow_event_dispatches_status_next_attempt_at_idx ON public.workflow_event_dispatches USING btree (status, next_attempt_at)',
  'dispatches are indexed by status and due time for the claim');
select col_default_is('public', 'workflow_event_dispatches', 'status', 'pending'::text, 'a dispatch starts pending');
select col_default_is('public', 'workflow_executions', 'chain_depth', '0', 'a run is at depth 0 by default');
select col_default_is('public', 'workflow_events', 'chain_depth', '0', 'an event is at depth 0 by default');

select ok(
  (select bool_and(has_function_privilege('service_role', f, 'EXECUTE')
                   and not has_function_privilege('authenticated', f, 'EXECUTE')
                   and not has_function_privilege('anon', f, 'EXECUTE'))
     from unnest(array['public.hook_target(text)', 'public.claim_event_dispatches(integer)',
                       'public.finish_event_dispatch(bigint, text, uuid, text)']) f),
  'only the service role may execute hook_target, claim_event_dispatches and finish_event_dispatch');
select ok(has_function_privilege('authenticated', 'public.rotate_trigger_key(uuid)', 'EXECUTE')
          and not has_function_privilege('service_role', 'public.rotate_trigger_key(uuid)', 'EXECUTE')
          and not has_function_privilege('anon', 'public.rotate_trigger_key(uuid)', 'EXECUTE'),
  'rotate_trigger_key is the owner''s: only authenticated may execute it');
select ok(not has_function_privilege('authenticated', 'public.causing_execution(uuid)', 'EXECUTE')
          and not has_function_privilege('service_role', 'public.causing_execution(uuid)', 'EXECUTE'),
  'no API role may execute causing_execution (the outbox triggers call it as their owner)');

-- The trigger type of a document ------------------------------------------------------------------------
select is(public.workflow_trigger_type(tests.nodes('deal_won')), 'deal_won', 'the trigger node''s triggerType');
select is(public.workflow_trigger_type(tests.nodes('form_submit') || (tests.nodes('manual') -> 0)), null,
  'two trigger nodes: no trigger type');
select is(public.workflow_trigger_type('[{"id": "a", "type": "action", "data": {"triggerType": "form_submit"}}]'), null,
  'no trigger node: no trigger type');
select is(public.workflow_trigger_type('{"type": "trigger"}'), null, 'not an array: no trigger type, no error');

-- hook_target() --------------------------------------------------------------------------------------------
select tests.act_as_service();
select results_eq(format($$ select * from public.hook_target(%L) $$, repeat('f', 40)),
  format($$ values (%L::uuid, %L::uuid) $$, tests.id('wf form'), tests.user_a()),
  'an active form_submit workflow''s key finds the workflow and its owner');
select is_empty(format($$ select * from public.hook_target(%L) $$, repeat('g', 40)), 'an inactive workflow: no row');
select is_empty(format($$ select * from public.hook_target(%L) $$, repeat('h', 40)), 'a manual trigger: no row');
select is_empty(format($$ select * from public.hook_target(%L) $$, repeat('i', 40)), 'a contact_update trigger: no row');
select is_empty(format($$ select * from public.hook_target(%L) $$, repeat('n', 40)), 'two trigger nodes: no row');
select is_empty(format($$ select * from public.hook_target(%L) $$, repeat('z', 40)), 'an unknown key: no row');
select is_empty($$ select * from public.hook_target(null) $$, 'no key: no row');
select tests.act_as(tests.user_a());
select throws_ok(format($$ select * from public.hook_target(%L) $$, repeat('f', 40)), '42501', null,
  'a signed-in user may not call hook_target, even with their own key');
select tests.act_as_anon();
select throws_ok(format($$ select * from public.hook_target(%L) $$, repeat('f', 40)), '42501', null,
  'anon may not call hook_target');

-- rotate_trigger_key() ---------------------------------------------------------------------------------------
select tests.act_as(tests.user_b());
select is_empty(format($$ select * from public.rotate_trigger_key(%L) $$, tests.id('wf form')),
  'B cannot rotate A''s key: no row');
select tests.act_as(tests.user_a());
select is_empty(format($$ select * from public.rotate_trigger_key(%L) $$, tests.id('no such workflow')),
  'a missing workflow: no row');
create temporary table rotated on commit drop as select * from public.rotate_trigger_key(tests.id('wf form'));
select results_eq($$ select id, user_id, name, version from rotated $$,
  format($$ values (%L::uuid, %L::uuid, 'Form'::text, 1) $$, tests.id('wf form'), tests.user_a()),
  'the owner rotates their key and gets the workflow row back (the document''s version unchanged)');
select isnt((select trigger_key from rotated), repeat('f', 40), 'the key changed');
select matches((select trigger_key from rotated), '^[0-9a-f]{64}$', 'the new key is 64 hex characters, like a default one');
select is((select trigger_key from public.workflows where id = tests.id('wf form')), (select trigger_key from rotated),
  'and it is stored');
select isnt((select trigger_key from public.rotate_trigger_key(tests.id('wf form'))), (select trigger_key from rotated),
  'rotating again gives yet another key');
select tests.act_as_service();
select is_empty(format($$ select * from public.hook_target(%L) $$, repeat('f', 40)), 'the old key no longer finds it');
select results_eq($$ select workflow_id from public.hook_target((select trigger_key from public.workflows
                                                                  where id = tests.id('wf form'))) $$,
  array[tests.id('wf form')], 'the current key does');
select throws_ok(format($$ select * from public.rotate_trigger_key(%L) $$, tests.id('wf form')), '42501', null,
  'the service role may not rotate keys');
select tests.act_as_anon();
select throws_ok(format($$ select * from public.rotate_trigger_key(%L) $$, tests.id('wf form')), '42501', null,
  'nor may anon');
select tests.act_as_owner();
select is((select trigger_key from public.workflows where id = tests.id('wf b c')), repeat('m', 40),
  'other workflows keep their keys');

-- claim_event_dispatches(): one dispatch per matching workflow --------------------------------------------------
select tests.act_as(tests.user_a());
update public.contacts set name = 'Annie' where id = tests.id('ct a1');
select tests.act_as_service();
create temporary table first_claim on commit drop as select * from public.claim_event_dispatches(10);
select tests.act_as_owner();
select results_eq($$ select workflow_id, user_id, event_type, table_name, new_record ->> 'name', old_record ->> 'name',
                            caused_by_execution, chain_depth, attempts
                       from first_claim order by workflow_id $$,
  format($$ select w, %L::uuid, 'contact_update'::text, 'contacts'::text, 'Annie', 'Ann', null::uuid, 0, 1
              from unnest(array[%L::uuid, %L::uuid]) w order by w $$,
         tests.user_a(), tests.id('wf c1'), tests.id('wf c2')),
  'a contact update with two active contact_update workflows is handed out as two dispatches, each with the event');
select is((select count(distinct event_id)::int from first_claim), 1, 'both for the same event');
select results_eq($$ select workflow_id from public.workflow_event_dispatches order by workflow_id $$,
  format($$ select w from unnest(array[%L::uuid, %L::uuid]) w order by w $$, tests.id('wf c1'), tests.id('wf c2')),
  'no dispatch for the inactive one, the other trigger types, the two-trigger document or B''s workflow');
select results_eq($$ select status, attempts, next_attempt_at, last_error from public.workflow_event_dispatches $$,
  $$ values ('pending'::text, 1, now() + interval '60 seconds', null::text), ('pending', 1, now() + interval '60 seconds', null) $$,
  'handed-out dispatches stay pending under a 60-second lease, first attempt');
select results_eq($$ select status, processed_at from public.workflow_events $$, $$ values ('done'::text, now()) $$,
  'the event is done: its dispatches carry the work');

select tests.act_as_service();
select is_empty($$ select * from public.claim_event_dispatches(10) $$, 'a second claim hands out nothing (leased)');
-- The event is offered again (a reset, say): it writes nothing new.
update public.workflow_events set status = 'pending', processed_at = null;
select is_empty($$ select * from public.claim_event_dispatches(10) $$, 'a redelivered event hands out nothing');
select tests.act_as_owner();
select is((select count(*)::int from public.workflow_event_dispatches), 2, 'and creates no second dispatch');
select is((select status from public.workflow_events), 'done', 'it is done again');
select throws_ok(format($$ insert into public.workflow_event_dispatches (event_id, workflow_id, user_id)
                          select event_id, workflow_id, user_id from first_claim limit 1 $$),
  '23505', null, 'even the table owner cannot write a second dispatch for an event and workflow');

-- A rolled-back change: no event, no dispatch. (No assertion inside the savepoint.)
select tests.act_as(tests.user_a());
savepoint before_change;
update public.contacts set name = 'Rolled back' where id = tests.id('ct a1');
rollback to savepoint before_change;
select tests.act_as_service();
select is_empty($$ select * from public.claim_event_dispatches(10) $$, 'a rolled-back update starts nothing');
select tests.act_as_owner();
select is((select count(*)::int from public.workflow_events), 1, 'it left no event');
select is((select count(*)::int from public.workflow_event_dispatches), 2, 'and no dispatch');

-- Another user, another trigger type.
select tests.act_as(tests.user_b());
update public.contacts set name = 'Beatrice' where id = tests.id('ct b1');
select tests.act_as(tests.user_a());
update public.deals set stage = 'won' where id = tests.id('dl a1');
select tests.act_as_service();
select results_eq($$ select workflow_id, user_id, event_type, new_record ->> 'stage', old_record ->> 'stage'
                       from public.claim_event_dispatches(10) order by event_type $$,
  format($$ values (%L::uuid, %L::uuid, 'contact_update'::text, null::text, null::text),
                   (%L::uuid, %L::uuid, 'deal_won'::text, 'won', 'new') $$,
         tests.id('wf b c'), tests.user_b(), tests.id('wf deal'), tests.user_a()),
  'B''s contact update starts only B''s workflow; A''s won deal only A''s deal_won workflow');

-- Dispatch records are the owner's to read, nobody's to write ---------------------------------------------------
select tests.act_as(tests.user_a());
select results_eq($$ select workflow_id from public.workflow_event_dispatches order by workflow_id $$,
  format($$ select w from unnest(array[%L::uuid, %L::uuid, %L::uuid]) w order by w $$,
         tests.id('wf c1'), tests.id('wf c2'), tests.id('wf deal')),
  'A reads A''s dispatches only');
select throws_ok(format($$ insert into public.workflow_event_dispatches (event_id, workflow_id, user_id)
                          select e.id, %L, %L from public.workflow_events e limit 1 $$, tests.id('wf manual'), tests.user_a()),
  '42501', null, 'A cannot write a dispatch');
select throws_ok($$ update public.workflow_event_dispatches set status = 'started' $$, '42501', null,
  'A cannot change a dispatch');
select throws_ok($$ delete from public.workflow_event_dispatches $$, '42501', null, 'A cannot delete a dispatch');
select tests.act_as(tests.user_b());
select results_eq($$ select workflow_id from public.workflow_event_dispatches $$, array[tests.id('wf b c')],
  'B reads B''s dispatch only');
select tests.act_as_anon();
select throws_ok($$ select * from public.workflow_event_dispatches $$, '42501', null, 'anon cannot read dispatches');
select throws_ok($$ select * from public.claim_event_dispatches(1) $$, '42501', null, 'anon cannot claim dispatches');
select tests.act_as(tests.user_a());
select throws_ok($$ select * from public.claim_event_dispatches(1) $$, '42501', null, 'nor can a signed-in user');
select throws_ok($$ select * from public.finish_event_dispatch(1, 'started', null, null) $$, '42501', null,
  'or report a dispatch''s outcome');

-- The causing run, read from request.headers ------------------------------------------------------------------
select tests.act_as_owner();
delete from public.workflow_event_dispatches;
delete from public.workflow_events;
select tests.act_as(tests.user_a());
select tests.send_execution_header(tests.id('run c1')::text);
update public.contacts set name = 'From a run' where id = tests.id('ct a1');
select tests.send_execution_header(upper(tests.id('run c1')::text));
update public.contacts set name = 'From a run, upper case' where id = tests.id('ct a1');
select tests.send_execution_header('not-a-uuid');
update public.contacts set name = 'Header not a uuid' where id = tests.id('ct a1');
select tests.send_execution_header(tests.id('run b')::text);
update public.contacts set name = 'Header names B''s run' where id = tests.id('ct a1');
select tests.send_execution_header(tests.id('no such run')::text);
update public.contacts set name = 'Header names no run' where id = tests.id('ct a1');
select tests.set_request_headers('{"accept": "application/json"}');
update public.contacts set name = 'No header' where id = tests.id('ct a1');
select tests.set_request_headers('');
update public.contacts set name = 'Headers reset' where id = tests.id('ct a1');
select tests.send_execution_header(tests.id('run c1')::text);
update public.deals set stage = 'lost' where id = tests.id('dl a1');
update public.deals set stage = 'won' where id = tests.id('dl a1');
select tests.set_request_headers('');
select tests.act_as_owner();
select results_eq($$ select coalesce(new_record ->> 'name', new_record ->> 'title'), caused_by_execution, chain_depth
                       from public.workflow_events order by id $$,
  format($$ values ('From a run'::text, %1$L::uuid, 1), ('From a run, upper case', %1$L, 1),
                   ('Header not a uuid', null, 0), ('Header names B''s run', null, 0), ('Header names no run', null, 0),
                   ('No header', null, 0), ('Headers reset', null, 0), ('A deal', %1$L, 1) $$, tests.id('run c1')),
  'an event records the run named by x-edgeflow-execution and its depth + 1, only when that is a run of the row''s owner');

-- The loop guard ----------------------------------------------------------------------------------------------
select tests.act_as_service();
create temporary table guarded on commit drop as select * from public.claim_event_dispatches(100);
select tests.act_as_owner();
select results_eq(
  $$ select g.workflow_id, g.caused_by_execution, g.chain_depth from guarded g
       join public.workflow_events e on e.id = g.event_id where e.new_record ->> 'name' = 'From a run' $$,
  format($$ values (%L::uuid, %L::uuid, 1) $$, tests.id('wf c2'), tests.id('run c1')),
  'an event caused by a run of W1 is handed out for W2 only, with the causing run and the depth');
select results_eq(
  $$ select d.workflow_id, d.status, d.attempts, d.last_error from public.workflow_event_dispatches d
       join public.workflow_events e on e.id = d.event_id where e.new_record ->> 'name' = 'From a run'
      order by d.status $$,
  format($$ values (%L::uuid, 'pending'::text, 1, null::text),
                   (%L::uuid, 'skipped', 0, 'loop guard: caused by a run of this workflow') $$,
         tests.id('wf c2'), tests.id('wf c1')),
  'W1''s dispatch is recorded as skipped by the loop guard, never handed out');
select is((select count(*)::int from public.workflow_event_dispatches where status = 'skipped'), 2,
  'the two events caused by W1''s run skip W1 (nothing else is skipped)');
select is((select count(*)::int from guarded), 2 + 5 * 2 + 1,
  'everything else is handed out: W2 twice, both workflows for the five other contact events, the deal workflow once');
select ok(exists (select 1 from guarded where workflow_id = tests.id('wf deal') and caused_by_execution = tests.id('run c1')),
  'a run of W1 may start another workflow through another trigger');

-- Chain depth -------------------------------------------------------------------------------------------------
delete from public.workflow_event_dispatches;
delete from public.workflow_events;
-- A chain of runs p0 -> p4 (runs of the deal workflow, so the loop guard stays out of the way).
insert into public.workflow_executions (id, workflow_id, user_id, chain_depth)
  values (tests.id('run p0'), tests.id('wf deal'), tests.user_a(), 7);
insert into public.workflow_executions (id, workflow_id, user_id, parent_execution_id, chain_depth)
  values (tests.id('run p1'), tests.id('wf deal'), tests.user_a(), tests.id('run p0'), 99);
insert into public.workflow_executions (id, workflow_id, user_id, parent_execution_id)
  values (tests.id('run p2'), tests.id('wf deal'), tests.user_a(), tests.id('run p1'));
insert into public.workflow_executions (id, workflow_id, user_id, parent_execution_id)
  values (tests.id('run p3'), tests.id('wf deal'), tests.user_a(), tests.id('run p2'));
insert into public.workflow_executions (id, workflow_id, user_id, parent_execution_id)
  values (tests.id('run p4'), tests.id('wf deal'), tests.user_a(), tests.id('run p3'));
select results_eq(
  $$ select chain_depth from public.workflow_executions where workflow_id = tests.id('wf deal') order by chain_depth $$,
  array[0, 1, 2, 3, 4], 'a run''s chain depth is its parent''s + 1, or 0 without one, whatever the insert says');
select tests.act_as(tests.user_a());
insert into public.workflow_executions (id, workflow_id, parent_execution_id, chain_depth)
  values (tests.id('run a child'), tests.id('wf deal'), tests.id('run p1'), 0);
select is((select chain_depth from public.workflow_executions where id = tests.id('run a child')), 2,
  'also for a run the owner inserts through the API');
select throws_ok(format($$ insert into public.workflow_executions (workflow_id, parent_execution_id) values (%L, %L) $$,
                        tests.id('wf deal'), tests.id('run b')),
  '23503', null, 'a run''s parent must be a run of the same owner');

select tests.send_execution_header(tests.id('run p3')::text);
update public.contacts set name = 'Depth 4' where id = tests.id('ct a1');
select tests.send_execution_header(tests.id('run p4')::text);
update public.contacts set name = 'Depth 5' where id = tests.id('ct a1');
select tests.set_request_headers('');
select tests.act_as_service();
create temporary table deep on commit drop as select * from public.claim_event_dispatches(10);
select tests.act_as_owner();
select results_eq($$ select new_record ->> 'name', workflow_id, chain_depth from deep order by workflow_id $$,
  format($$ select 'Depth 4'::text, w, 4 from unnest(array[%L::uuid, %L::uuid]) w order by w $$,
         tests.id('wf c1'), tests.id('wf c2')),
  'an event at depth 4 (caused by a run at depth 3) still starts workflows');
select results_eq(
  $$ select d.status, d.attempts, d.last_error from public.workflow_event_dispatches d
       join public.workflow_events e on e.id = d.event_id where e.new_record ->> 'name' = 'Depth 5' $$,
  $$ values ('skipped'::text, 0, 'chain depth limit: the event is at depth 5, runs started by runs stop at depth 5'::text),
            ('skipped', 0, 'chain depth limit: the event is at depth 5, runs started by runs stop at depth 5') $$,
  'an event at depth 5 starts nothing: each workflow it would start is recorded as skipped, with the reason');
select is((select count(*)::int from public.workflow_events where status <> 'done'), 0, 'both events are done');

-- finish_event_dispatch() ----------------------------------------------------------------------------------------
select dispatch_id as d1 from deep where workflow_id = tests.id('wf c1') \gset
select dispatch_id as d2 from deep where workflow_id = tests.id('wf c2') \gset
select tests.act_as_service();
select results_eq(format($$ select status, attempts, next_attempt_at, last_error
                              from public.finish_event_dispatch(%s, 'retry', null, 'boom') $$, :d1),
  $$ values ('pending'::text, 1, now() + interval '2 minutes', 'boom'::text) $$,
  'a retry after the first attempt puts the dispatch back to pending for 2 minutes (2^1)');
select is_empty($$ select * from public.claim_event_dispatches(10) $$, 'it is not handed out before then');
select tests.act_as_owner();
update public.workflow_event_dispatches set attempts = 3, next_attempt_at = now() - interval '1 second' where id = :d1;
select tests.act_as_service();
select results_eq($$ select dispatch_id, attempts from public.claim_event_dispatches(10) $$,
  format($$ values (%s::bigint, 4) $$, :d1), 'once due it is handed out again, counting the attempt');
select results_eq(format($$ select status, next_attempt_at from public.finish_event_dispatch(%s, 'retry', null, 'boom 4') $$, :d1),
  $$ values ('pending'::text, now() + interval '16 minutes') $$, 'after the fourth attempt a retry waits 16 minutes (2^4)');
select tests.act_as_owner();
update public.workflow_event_dispatches set next_attempt_at = now() - interval '1 second' where id = :d1;
select tests.act_as_service();
select results_eq($$ select attempts from public.claim_event_dispatches(10) $$, array[5], 'the fifth attempt');
select results_eq(format($$ select status, attempts, last_error from public.finish_event_dispatch(%s, 'retry', null, 'boom 5') $$, :d1),
  $$ values ('failed'::text, 5, 'boom 5; gave up after 5 attempts'::text) $$,
  'a retry after the fifth attempt fails the dispatch, saying why');
select is_empty(format($$ select * from public.finish_event_dispatch(%s, 'started', %L, null) $$, :d1, tests.id('run c1')),
  'a settled dispatch is not changed again');
-- The other one's worker died on its fifth attempt: the lease runs out.
select tests.act_as_owner();
update public.workflow_event_dispatches set attempts = 5, next_attempt_at = now() - interval '1 second' where id = :d2;
select tests.act_as_service();
select is_empty($$ select * from public.claim_event_dispatches(10) $$, 'a dispatch whose fifth lease ran out is not handed out');
select tests.act_as_owner();
select results_eq(format($$ select status, last_error from public.workflow_event_dispatches where id = %s $$, :d2),
  $$ values ('failed'::text, 'lease expired after 5 attempts'::text) $$, 'it is failed with the reason');

-- started, skipped, failed, one at a time.
select tests.act_as(tests.user_a());
update public.contacts set name = 'Three outcomes' where id = tests.id('ct a1');
select tests.act_as_service();
select results_eq($$ select count(*)::int from public.claim_event_dispatches(1) $$, array[1],
  'p_limit bounds the dispatches handed out');
select results_eq($$ select count(*)::int from public.claim_event_dispatches(1) $$, array[1], 'the next claim takes the other');
select tests.act_as_owner();
select id as d3 from public.workflow_event_dispatches where status = 'pending' and workflow_id = tests.id('wf c1') \gset
select id as d4 from public.workflow_event_dispatches where status = 'pending' and workflow_id = tests.id('wf c2') \gset
insert into public.workflow_event_dispatches (event_id, workflow_id, user_id)
  select event_id, tests.id('wf manual'), user_id from public.workflow_event_dispatches where id = :d3;
select tests.act_as_service();
select results_eq($$ select workflow_id from public.claim_event_dispatches(10) $$, array[tests.id('wf manual')],
  'a dispatch the table owner wrote by hand is handed out like any other');
select id as d5 from public.workflow_event_dispatches where workflow_id = tests.id('wf manual') \gset
select throws_ok(format($$ select * from public.finish_event_dispatch(%s, 'started', null, null) $$, :d3),
  '22023', null, 'started needs the run');
select throws_ok(format($$ select * from public.finish_event_dispatch(%s, 'started', %L, null) $$, :d3, tests.id('run b')),
  '23503', null, 'and the run must be the owner''s');
select throws_ok(format($$ select * from public.finish_event_dispatch(%s, 'done', null, null) $$, :d3),
  '22023', null, 'the status is started, skipped, retry or failed');
select throws_ok(format($$ select * from public.finish_event_dispatch(%s, null, null, null) $$, :d3),
  '22023', null, 'a status is required');
select results_eq(format($$ select status, execution_id, last_error from public.finish_event_dispatch(%s, 'started', %L, null) $$,
                         :d3, tests.id('run c1')),
  format($$ values ('started'::text, %L::uuid, null::text) $$, tests.id('run c1')),
  'started records the run');
select results_eq(format($$ select status, last_error from public.finish_event_dispatch(%s, 'skipped', null, 'filter is false') $$, :d4),
  $$ values ('skipped'::text, 'filter is false'::text) $$, 'skipped records why');
select results_eq(format($$ select status, attempts, last_error from public.finish_event_dispatch(%s, 'failed', null, 'invalid workflow') $$, :d5),
  $$ values ('failed'::text, 1, 'invalid workflow'::text) $$, 'failed is final at once, with the error');
select is_empty(format($$ select * from public.finish_event_dispatch(%s, 'retry', null, 'late') $$, :d3),
  'a late retry of a started dispatch changes nothing');
select is_empty($$ select * from public.finish_event_dispatch(-1, 'skipped', null, null) $$, 'an unknown dispatch: no row');
select is_empty($$ select * from public.claim_event_dispatches(10) $$, 'nothing is left to hand out');
select throws_ok($$ select * from public.claim_event_dispatches(0) $$, '22023', null, 'p_limit must be at least 1');
select throws_ok($$ select * from public.claim_event_dispatches(1001) $$, '22023', null, 'p_limit is at most 1000');
select throws_ok($$ select * from public.claim_event_dispatches(null) $$, '22023', null, 'p_limit is required');
select tests.act_as_owner();
select is((select updated_at from public.workflow_event_dispatches where id = :d3), now(),
  'updated_at is kept by the shared trigger');

-- Deletion ----------------------------------------------------------------------------------------------------
select tests.act_as_owner();
delete from public.workflow_executions where id = tests.id('run c1');
select is((select execution_id from public.workflow_event_dispatches where id = :d3), null,
  'deleting a run keeps its dispatch and forgets the run');
delete from public.workflow_executions where id = tests.id('run p3');
select results_eq($$ select caused_by_execution, chain_depth from public.workflow_events where new_record ->> 'name' = 'Depth 4' $$,
  $$ values (null::uuid, 4) $$, 'and keeps the events it caused, with their depth');
select results_eq(format($$ select parent_execution_id, chain_depth from public.workflow_executions where id = %L $$, tests.id('run p4')),
  $$ values (null::uuid, 4) $$, 'and the runs it started');
delete from public.workflows where id = tests.id('wf c2');
select is((select count(*)::int from public.workflow_event_dispatches where workflow_id = tests.id('wf c2')), 0,
  'deleting a workflow deletes its dispatches');
delete from public.workflows where id = tests.id('wf deal');
select is((select count(*)::int from public.workflow_executions where workflow_id = tests.id('wf deal')), 0,
  'deleting a workflow with a chain of runs deletes them all');
delete from auth.users where id = tests.user_a();
select is((select count(*)::int from public.workflow_event_dispatches) + (select count(*)::int from public.workflow_events)
          + (select count(*)::int from public.workflow_executions where user_id = tests.user_a()), 0,
  'deleting a user deletes their dispatches, events and runs');

select * from finish();
rollback;

-- Links between rows stay within one owner: executions and their workflow,
-- deals and their contact, queued mail and its workflow/run; deletes cascade
-- or clear links as documented.
begin;
\ir _helpers.psql
select plan(21);

insert into public.workflows (id, user_id, name) values
  (tests.id('wf a1'), tests.user_a(), 'A one'),
  (tests.id('wf b1'), tests.user_b(), 'B one');
insert into public.contacts (id, user_id, email) values
  (tests.id('ct a1'), tests.user_a(), 'one@a.test'),
  (tests.id('ct b1'), tests.user_b(), 'one@b.test');

-- Executions --------------------------------------------------------------------------
select tests.act_as(tests.user_a());
select throws_ok(
  format('insert into public.workflow_executions (workflow_id) values (%L)', tests.id('wf b1')),
  '42501', null, 'A cannot insert an execution of B''s workflow');
select throws_ok(
  format('insert into public.workflow_executions (workflow_id, user_id) values (%L, %L)', tests.id('wf b1'), tests.user_b()),
  '42501', null, 'A cannot insert an execution of B''s workflow in B''s name');
select lives_ok(
  format('insert into public.workflow_executions (id, workflow_id) values (%L, %L)', tests.id('ex a1'), tests.id('wf a1')),
  'A inserts an execution of their own workflow (user_id defaults to A)');
select lives_ok(
  format('insert into public.workflow_executions (id, workflow_id, trigger_type) values (%L, null, ''manual'')', tests.id('ex a2')),
  'A inserts a test run of an unsaved document (no workflow)');
select results_eq(
  format('select user_id, status, success, error_count, results from public.workflow_executions where id = %L', tests.id('ex a1')),
  format('values (%L::uuid, ''running''::text, false, 0, ''[]''::jsonb)', tests.user_a()),
  'a new execution is owned by A and starts running, unsuccessful, with no errors and no results');
select throws_ok(
  format('update public.workflow_executions set workflow_id = %L where id = %L', tests.id('wf b1'), tests.id('ex a2')),
  '42501', null, 'A cannot repoint an execution at B''s workflow');
select lives_ok(
  format($$update public.workflow_executions set status = 'succeeded', success = true, finished_at = now(),
          execution_time_ms = 12, results = '[{"nodeId": "t1", "status": "succeeded"}]' where id = %L$$, tests.id('ex a1')),
  'A finishes their own execution');
select throws_ok(
  format('insert into public.workflow_executions (workflow_id, status) values (%L, ''done'')', tests.id('wf a1')),
  '23514', null, 'status is one of running, succeeded, failed');

-- Even the service role, which bypasses policies, cannot file an execution
-- under someone who does not own the workflow (composite foreign key).
select tests.act_as_service();
select throws_ok(
  format('insert into public.workflow_executions (workflow_id, user_id) values (%L, %L)', tests.id('wf b1'), tests.user_a()),
  '23503', null, 'the service role cannot file an execution of B''s workflow under A');
select tests.act_as_owner();

-- Queued mail linked to the workflow and the run.
insert into public.email_outbox (id, user_id, workflow_id, execution_id, recipient, subject, body)
  values (tests.id('ml a1'), tests.user_a(), tests.id('wf a1'), tests.id('ex a1'), 'x@a.test', 's', 'b');
select tests.act_as(tests.user_a());
select throws_ok(
  format('insert into public.email_outbox (workflow_id, recipient, subject, body) values (%L, ''x@a.test'', ''s'', ''b'')', tests.id('wf b1')),
  '23503', null, 'A cannot link queued mail to B''s workflow');

-- Deleting a workflow -----------------------------------------------------------------
select is((select count(*) from public.workflow_executions where workflow_id = tests.id('wf a1')), 1::bigint,
  'A sees the execution of wf a1 before the delete');
delete from public.workflows where id = tests.id('wf a1');
select tests.act_as_owner();
select is((select count(*) from public.workflow_executions where id = tests.id('ex a1')), 0::bigint,
  'deleting a workflow deletes its executions');
select is((select count(*) from public.workflow_executions where id = tests.id('ex a2')), 1::bigint,
  'the unsaved test run is untouched');
select results_eq(
  format('select workflow_id, execution_id from public.email_outbox where id = %L', tests.id('ml a1')),
  'values (null::uuid, null::uuid)',
  'queued mail outlives its workflow and run: only the links are cleared');

-- Deals and contacts ------------------------------------------------------------------
select tests.act_as(tests.user_a());
select throws_ok(
  format('insert into public.deals (title, contact_id) values (''x'', %L)', tests.id('ct b1')),
  '23503', null, 'A cannot attach B''s contact to a deal');
select lives_ok(
  format('insert into public.deals (id, title, value, contact_id) values (%L, ''A deal'', 1200.50, %L)', tests.id('dl a1'), tests.id('ct a1')),
  'A attaches their own contact to a deal');
select is((select stage from public.deals where id = tests.id('dl a1')), 'new', 'a deal starts in stage new');
select throws_ok('insert into public.deals (title, value) values (''x'', -1)', '23514', null, 'a deal value is not negative');
delete from public.contacts where id = tests.id('ct a1');
select results_eq(
  format('select title, contact_id from public.deals where id = %L', tests.id('dl a1')),
  'values (''A deal''::text, null::uuid)',
  'deleting a contact keeps its deals and clears their contact_id');

-- Unique contact email per user --------------------------------------------------------
insert into public.contacts (email) values ('shared@x.test');
select throws_ok('insert into public.contacts (email) values (''shared@x.test'')', '23505', null,
  'a user cannot have two contacts with one email');
select tests.act_as(tests.user_b());
select lives_ok('insert into public.contacts (email) values (''shared@x.test'')',
  'another user may have a contact with the same email');
select tests.act_as_owner();

select * from finish();
rollback;

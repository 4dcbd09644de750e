-- Column defaults and checks the API relies on, the generated trigger_key,
-- and updated_at kept current by the shared trigger on every table.
begin;
\ir _helpers.psql
select plan(20);

-- Defaults and checks -----------------------------------------------------------------
select tests.act_as(tests.user_a());
insert into public.workflows (id, name) values (tests.id('wf a1'), 'Lead intake'), (tests.id('wf a2'), 'Second');
select results_eq(
  format('select user_id, description, nodes, edges, is_active from public.workflows where id = %L', tests.id('wf a1')),
  format('values (%L::uuid, ''''::text, ''[]''::jsonb, ''[]''::jsonb, false)', tests.user_a()),
  'a workflow saved with a name only gets the caller as owner, empty description, no nodes or edges, inactive');
select ok((select bool_and(trigger_key ~ '^[0-9a-f]{64}$') from public.workflows),
  'generated trigger keys are 64 hex characters');
select is((select count(distinct trigger_key) from public.workflows), 2::bigint, 'generated trigger keys differ');
select throws_ok('insert into public.workflows (name) values ('''')', '23514', null, 'a workflow name is not empty');
select throws_ok('insert into public.workflows (name) values (''   '')', '23514', null, 'a workflow name is not blank');
select throws_ok(format('insert into public.workflows (name) values (%L)', repeat('x', 201)), '23514', null,
  'a workflow name has at most 200 characters');
select lives_ok(format('insert into public.workflows (name) values (%L)', repeat('x', 200)),
  'a 200-character name is fine');
select throws_ok('insert into public.workflows (name, nodes) values (''x'', ''{}'')', '23514', null,
  'nodes must be a JSON array');
select throws_ok('insert into public.workflows (name, edges) values (''x'', ''"e"'')', '23514', null,
  'edges must be a JSON array');
select throws_ok('update public.workflows set trigger_key = ''short''', '23514', null,
  'a trigger key cannot be made short and guessable');
select throws_ok(format('update public.workflows set trigger_key = %L', repeat('a', 64)), '23505', null,
  'trigger keys are unique');
select throws_ok('insert into public.contacts (fields) values (''[]'')', '23514', null,
  'contact fields must be a JSON object');
select throws_ok('insert into public.email_outbox (recipient, subject, body, status) values (''x@a.test'', ''s'', ''b'', ''lost'')',
  '23514', null, 'mail status is one of queued, sent, failed');

-- updated_at --------------------------------------------------------------------------
-- now() is fixed for the transaction, so the rows start a day in the past.
select tests.act_as_owner();
insert into public.contacts (id, user_id, email, created_at, updated_at)
  values (tests.id('ct a1'), tests.user_a(), 'one@a.test', now() - interval '1 day', now() - interval '1 day');
insert into public.deals (id, user_id, title, created_at, updated_at)
  values (tests.id('dl a1'), tests.user_a(), 'deal', now() - interval '1 day', now() - interval '1 day');
insert into public.email_outbox (id, user_id, recipient, subject, body, created_at, updated_at)
  values (tests.id('ml a1'), tests.user_a(), 'x@a.test', 's', 'b', now() - interval '1 day', now() - interval '1 day');
insert into public.workflows (id, user_id, name, created_at, updated_at) values
  (tests.id('wf t1'), tests.user_a(), 'one', now() - interval '1 day', now() - interval '1 day'),
  (tests.id('wf t2'), tests.user_a(), 'two', now() - interval '1 day', now() - interval '1 day'),
  (tests.id('wf t3'), tests.user_a(), 'three', now() - interval '1 day', now() - interval '1 day');

select tests.act_as(tests.user_a());
update public.workflows set description = 'changed' where id = tests.id('wf t1');
update public.contacts set name = 'changed';
update public.deals set stage = 'qualified';
update public.email_outbox set status = 'sent';
-- A client echoing an old updated_at back cannot keep it.
update public.workflows set name = 'renamed', updated_at = '2000-01-01' where id = tests.id('wf t2');

select is((select updated_at from public.workflows where id = tests.id('wf t1')), now(), 'workflows: updated_at moves to the update''s time');
select is((select updated_at from public.workflows where id = tests.id('wf t2')), now(), 'workflows: a client-sent updated_at is overridden');
select is((select updated_at from public.contacts where id = tests.id('ct a1')), now(), 'contacts: updated_at moves to the update''s time');
select is((select updated_at from public.deals where id = tests.id('dl a1')), now(), 'deals: updated_at moves to the update''s time');
select is((select updated_at from public.email_outbox where id = tests.id('ml a1')), now(), 'email_outbox: updated_at moves to the update''s time');
select is((select created_at from public.workflows where id = tests.id('wf t1')), now() - interval '1 day', 'created_at is left alone');
select is((select updated_at from public.workflows where id = tests.id('wf t3')), now() - interval '1 day',
  'an untouched workflow keeps its updated_at');
select tests.act_as_owner();

select * from finish();
rollback;

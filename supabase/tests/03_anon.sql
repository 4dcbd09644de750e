-- The anonymous role gets nothing: every read or write of an application
-- table, or a call of the claim function, fails with 42501 (permission
-- denied), because anon holds no privilege at all (rather than seeing zero
-- rows through a policy).
begin;
\ir _helpers.psql
select plan(17);

-- Rows that anon must not see.
insert into public.workflows (id, user_id, name) values (tests.id('wf a1'), tests.user_a(), 'A one');
insert into public.workflow_executions (workflow_id, user_id) values (tests.id('wf a1'), tests.user_a());
insert into public.contacts (user_id, email) values (tests.user_a(), 'one@a.test');
insert into public.deals (user_id, title, stage) values (tests.user_a(), 'won deal', 'won');
insert into public.notifications (user_id, title) values (tests.user_a(), 'note');
insert into public.email_outbox (user_id, recipient, subject, body) values (tests.user_a(), 'x@a.test', 's', 'b');

select tests.act_as_anon();
select throws_ok(format('select * from public.%I', t), '42501', null, 'anon cannot read ' || t)
  from unnest(array['workflows', 'workflow_executions', 'contacts', 'deals', 'notifications', 'email_outbox',
                    'workflow_events']) t;
select throws_ok(format('delete from public.%I', t), '42501', null, 'anon cannot delete from ' || t)
  from unnest(array['workflows', 'workflow_executions', 'contacts', 'deals', 'notifications', 'email_outbox',
                    'workflow_events']) t;
select throws_ok('insert into public.workflows (user_id, name) values (''' || tests.user_a() || ''', ''x'')',
  '42501', null, 'anon cannot insert a workflow');
select throws_ok('update public.workflows set is_active = true', '42501', null, 'anon cannot update workflows');
select throws_ok('select * from public.claim_workflow_events()', '42501', null, 'anon cannot claim events');
select tests.act_as_owner();

select * from finish();
rollback;

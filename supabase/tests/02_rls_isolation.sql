-- Row isolation between users A and B on every table: A reads, updates and
-- deletes exactly A's rows; B's attempts on A's rows affect zero rows (the
-- policies hide them) or raise 42501 (a row B tries to write as A's).
begin;
\ir _helpers.psql
select plan(66);

-- Fixtures, written as the owner (bypassing RLS): two rows of A, one of B.
insert into public.workflows (id, user_id, name) values
  (tests.id('wf a1'), tests.user_a(), 'A one'),
  (tests.id('wf a2'), tests.user_a(), 'A two'),
  (tests.id('wf b1'), tests.user_b(), 'B one');
insert into public.workflow_executions (id, workflow_id, user_id) values
  (tests.id('ex a1'), tests.id('wf a1'), tests.user_a()),
  (tests.id('ex a2'), null, tests.user_a()),
  (tests.id('ex b1'), tests.id('wf b1'), tests.user_b());
insert into public.contacts (id, user_id, email) values
  (tests.id('ct a1'), tests.user_a(), 'one@a.test'),
  (tests.id('ct a2'), tests.user_a(), 'two@a.test'),
  (tests.id('ct b1'), tests.user_b(), 'one@a.test');
insert into public.deals (id, user_id, title, contact_id) values
  (tests.id('dl a1'), tests.user_a(), 'A deal one', tests.id('ct a1')),
  (tests.id('dl a2'), tests.user_a(), 'A deal two', null),
  (tests.id('dl b1'), tests.user_b(), 'B deal', tests.id('ct b1'));
insert into public.notifications (id, user_id, title) values
  (tests.id('nt a1'), tests.user_a(), 'A note one'),
  (tests.id('nt a2'), tests.user_a(), 'A note two'),
  (tests.id('nt b1'), tests.user_b(), 'B note');
insert into public.email_outbox (id, user_id, recipient, subject, body) values
  (tests.id('ml a1'), tests.user_a(), 'x@a.test', 's', 'b'),
  (tests.id('ml a2'), tests.user_a(), 'y@a.test', 's', 'b'),
  (tests.id('ml b1'), tests.user_b(), 'z@b.test', 's', 'b');

-- The same ten checks for one table. p_set is an UPDATE's SET list; p_insert
-- an INSERT of one row owned by A (B must not be able to run it).
create function tests.check_isolation(p_table regclass, p_set text, p_insert text)
returns setof text
language plpgsql as $$
declare
  a constant uuid := tests.user_a();
  b constant uuid := tests.user_b();
  n bigint;
  n_a bigint;
  b_before jsonb;
  b_after jsonb;
  snapshot_b constant text := format(
    'select jsonb_agg(to_jsonb(t) order by t.id) from %s t where t.user_id = $1', p_table);
begin
  perform tests.act_as_owner();
  execute snapshot_b into b_before using b;

  perform tests.act_as(a);
  execute format('select count(*), count(*) filter (where user_id = $1) from %s', p_table) into n, n_a using a;
  return next is(n, 2::bigint, p_table || ': A reads exactly two rows');
  return next is(n_a, 2::bigint, p_table || ': every row A reads is A''s');

  perform tests.act_as(b);
  execute format('select count(*) from %s where user_id = $1', p_table) into n using a;
  return next is(n, 0::bigint, p_table || ': B reads none of A''s rows');
  execute format('update %s set %s where user_id = $1', p_table, p_set) using a;
  get diagnostics n = row_count;
  return next is(n, 0::bigint, p_table || ': B''s update of A''s rows affects zero rows');
  execute format('delete from %s where user_id = $1', p_table) using a;
  get diagnostics n = row_count;
  return next is(n, 0::bigint, p_table || ': B''s delete of A''s rows affects zero rows');
  return next throws_ok(p_insert, '42501', null, p_table || ': B cannot insert a row owned by A');
  return next throws_ok(
    format('update %s set user_id = %L where user_id = %L', p_table, a, b), '42501', null,
    p_table || ': B cannot hand a row over to A');

  perform tests.act_as(a);
  execute format('with u as (update %s set %s returning user_id) select count(*), count(*) filter (where user_id = $1) from u',
                 p_table, p_set) into n, n_a using a;
  return next is(n, 2::bigint, p_table || ': A''s unfiltered update touches exactly A''s two rows');
  execute format('delete from %s', p_table);
  get diagnostics n = row_count;
  return next is(n, 2::bigint, p_table || ': A''s unfiltered delete removes exactly A''s two rows');

  perform tests.act_as_owner();
  execute snapshot_b into b_after using b;
  return next is(b_after, b_before, p_table || ': B''s row survives A''s and B''s statements unchanged');
  perform tests.act_as_owner();
end;
$$;

-- The insert statements run as B and try to create a row owned by A.
select * from tests.check_isolation('public.workflows', 'name = ''renamed''',
  format('insert into public.workflows (user_id, name) values (%L, ''x'')', tests.user_a()));
select * from tests.check_isolation('public.contacts', 'name = ''renamed''',
  format('insert into public.contacts (user_id, email) values (%L, ''new@b.test'')', tests.user_a()));
select * from tests.check_isolation('public.deals', 'stage = ''qualified''',
  format('insert into public.deals (user_id, title) values (%L, ''x'')', tests.user_a()));
select * from tests.check_isolation('public.notifications', 'read_at = now()',
  format('insert into public.notifications (user_id, title) values (%L, ''x'')', tests.user_a()));
select * from tests.check_isolation('public.email_outbox', 'status = ''failed''',
  format('insert into public.email_outbox (user_id, recipient, subject, body) values (%L, ''v@a.test'', ''s'', ''b'')', tests.user_a()));
-- Executions last: deleting A's workflows above cascaded to A's execution of
-- wf a1, so re-create A's two executions first.
insert into public.workflows (id, user_id, name) values (tests.id('wf a3'), tests.user_a(), 'A three');
insert into public.workflow_executions (id, workflow_id, user_id) values
  (tests.id('ex a3'), tests.id('wf a3'), tests.user_a());
select is((select count(*) from public.workflow_executions where user_id = tests.user_a()), 2::bigint,
  'fixture: A owns two executions again');
select * from tests.check_isolation('public.workflow_executions', 'status = ''failed''',
  format('insert into public.workflow_executions (user_id, workflow_id) values (%L, null)', tests.user_a()));

-- workflow_events: users read their own events and cannot write any.
insert into public.workflow_events (user_id, event_type, table_name, record_id) values
  (tests.user_a(), 'contact_update', 'contacts', tests.id('ct a1')),
  (tests.user_b(), 'contact_update', 'contacts', tests.id('ct b1'));
select tests.act_as(tests.user_a());
select results_eq('select distinct user_id from public.workflow_events', array[tests.user_a()],
  'workflow_events: A reads only A''s events');
select throws_ok('update public.workflow_events set status = ''done''', '42501', null,
  'workflow_events: A cannot update events, not even their own');
select throws_ok('delete from public.workflow_events', '42501', null,
  'workflow_events: A cannot delete events');
select throws_ok(format('insert into public.workflow_events (user_id, event_type, table_name, record_id) values (%L, ''deal_won'', ''deals'', %L)',
                        tests.user_a(), tests.id('dl a1')),
  '42501', null, 'workflow_events: A cannot forge an event');
select tests.act_as(tests.user_b());
select results_eq('select distinct user_id from public.workflow_events', array[tests.user_b()],
  'workflow_events: B reads only B''s events');
select tests.act_as_owner();

select * from finish();
rollback;

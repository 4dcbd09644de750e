-- claim_workflow_events(): refused to users, for the dispatcher (service
-- role) only; claims pending events oldest first, leases them, re-offers
-- expired leases and parks events that keep failing. (Concurrent claims by
-- two sessions are proved in tests/schema/test_claim_concurrency.py.)
begin;
\ir _helpers.psql
select plan(19);

insert into public.workflow_events (id, user_id, event_type, table_name, record_id, created_at)
  overriding system value values
  (101, tests.user_a(), 'contact_update', 'contacts', tests.id('ct a1'), now() - interval '3 minutes'),
  (102, tests.user_b(), 'deal_won', 'deals', tests.id('dl b1'), now() - interval '2 minutes'),
  (103, tests.user_a(), 'deal_won', 'deals', tests.id('dl a1'), now() - interval '1 minute'),
  (104, tests.user_a(), 'contact_update', 'contacts', tests.id('ct a1'), now() - interval '4 minutes');
update public.workflow_events set status = 'done', processed_at = now() where id = 104;

select tests.act_as(tests.user_a());
select throws_ok('select * from public.claim_workflow_events()', '42501', null,
  'authenticated users cannot claim events');
select throws_ok('select * from public.claim_workflow_events(10, 300, 5)', '42501', null,
  'not with explicit arguments either');

select tests.act_as_service();
select results_eq(
  'select id, status, attempts, claimed_at from public.claim_workflow_events(2)',
  $$values (101::bigint, 'processing'::text, 1, now()), (102::bigint, 'processing'::text, 1, now())$$,
  'the service role claims the two oldest pending events, of every user: processing, leased now, first attempt');
select results_eq(
  'select id from public.claim_workflow_events()',
  array[103::bigint],
  'a second claim gets only the event not yet leased');
select is_empty('select * from public.claim_workflow_events()', 'with every event leased or done, a claim gets nothing');
select results_eq(
  'select id, status from public.workflow_events order by id',
  $$values (101::bigint, 'processing'::text), (102::bigint, 'processing'::text), (103::bigint, 'processing'::text),
           (104::bigint, 'done'::text)$$,
  'claimed events are processing; a done event is never claimed');

-- The dispatcher finishes one event; another one's lease runs out.
update public.workflow_events set status = 'done', processed_at = now() where id = 102;
update public.workflow_events set claimed_at = now() - interval '301 seconds' where id = 101;
update public.workflow_events set claimed_at = now() - interval '299 seconds' where id = 103;
select results_eq(
  'select id, attempts, claimed_at from public.claim_workflow_events(10, 300)',
  $$values (101::bigint, 2, now())$$,
  'an event whose lease expired is claimed again (second attempt, new lease); a live lease is not');
select results_eq(
  'select id from public.claim_workflow_events(10, 60)',
  array[103::bigint],
  'the lease length is the caller''s: with 60 seconds the 299-second-old lease has expired');

-- An event whose lease expired after the last allowed attempt is parked.
update public.workflow_events set claimed_at = now() - interval '1 hour', attempts = 5 where id = 101;
select is_empty('select * from public.claim_workflow_events(10, 300, 5)',
  'an event that used up its attempts is not claimed again');
select results_eq(
  'select status, processed_at, last_error from public.workflow_events where id = 101',
  $$values ('failed'::text, now(), 'lease expired after 5 attempts'::text)$$,
  'it is marked failed with the reason');
select results_eq(
  'select status, attempts from public.workflow_events where id = 103',
  $$values ('processing'::text, 2)$$,
  'an event with a live lease is left alone');

-- Failed events can be retried by resetting them to pending.
update public.workflow_events set status = 'pending', last_error = 'boom' where id = 101;
select results_eq('select id, attempts, last_error from public.claim_workflow_events(1)',
  $$values (101::bigint, 6, 'boom'::text)$$,
  'an event put back to pending is claimed again, keeping its attempt count and last error');

-- Argument checks.
select throws_ok('select * from public.claim_workflow_events(0)', '22023', null, 'p_limit must be at least 1');
select throws_ok('select * from public.claim_workflow_events(1001)', '22023', null, 'p_limit is at most 1000');
select throws_ok('select * from public.claim_workflow_events(null)', '22023', null, 'p_limit is required');
select throws_ok('select * from public.claim_workflow_events(1, 0)', '22023', null, 'p_lease_seconds must be positive');
select throws_ok('select * from public.claim_workflow_events(1, 300, 0)', '22023', null, 'p_max_attempts must be positive');

-- Claim order is oldest first across many events, limited as asked.
select tests.act_as_owner();
delete from public.workflow_events;
insert into public.workflow_events (user_id, event_type, table_name, record_id, created_at)
  select tests.user_a(), 'contact_update', 'contacts', tests.id('ct ' || g), now() - make_interval(secs => g)
  from generate_series(1, 30) g;
select tests.act_as_service();
select results_eq(
  'select record_id from public.claim_workflow_events(5)',
  $$select tests.id('ct ' || g) from generate_series(30, 26, -1) g$$,
  'a claim takes the oldest events first, up to p_limit');
select is((select count(*) from public.claim_workflow_events(100)), 25::bigint, 'the next claim takes the other 25');
select tests.act_as_owner();

select * from finish();
rollback;

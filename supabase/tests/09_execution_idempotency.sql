-- Idempotency keys on runs: one run per key and user; other users and runs
-- without a key are unaffected.
begin;
\ir _helpers.psql
select plan(5);

select tests.act_as(tests.user_a());

insert into public.workflow_executions (user_id, status, idempotency_key)
  values (tests.user_a(), 'running', 'order-42');

select throws_ok(
  $$ insert into public.workflow_executions (user_id, status, idempotency_key)
     values (tests.user_a(), 'running', 'order-42') $$,
  '23505', null, 'a second run with the same key is refused for the same user');

select lives_ok(
  $$ insert into public.workflow_executions (user_id, status) values (tests.user_a(), 'running');
     insert into public.workflow_executions (user_id, status) values (tests.user_a(), 'running') $$,
  'runs without a key are not limited');

select throws_ok(
  $$ insert into public.workflow_executions (user_id, status, idempotency_key)
     values (tests.user_a(), 'running', '') $$,
  '23514', null, 'an empty key is refused');

select tests.act_as(tests.user_b());
select lives_ok(
  $$ insert into public.workflow_executions (user_id, status, idempotency_key)
     values (tests.user_b(), 'running', 'order-42') $$,
  'another user may use the same key');

select results_eq(
  $$ select count(*)::int from public.workflow_executions where idempotency_key = 'order-42' $$,
  array[1],
  'each user sees only their own run for the key');

select * from finish();
rollback;

-- Step keys on the rows the embedded actions write: one row per key and
-- owner in deals, notifications and email_outbox; rows without a key and
-- other users are unaffected.
begin;
\ir _helpers.psql
select plan(12);

select tests.act_as(tests.user_a());

insert into public.deals (title, step_key) values ('first', 'run-1:deal');
insert into public.notifications (title, step_key) values ('first', 'run-1:note');
insert into public.email_outbox (recipient, subject, body, status, step_key)
  values ('a@example.com', 'first', 'b', 'queued', 'run-1:mail');

select throws_ok($$ insert into public.deals (title, step_key) values ('again', 'run-1:deal') $$,
  '23505', null, 'deals: a second row with the same key is refused for the same user');
select throws_ok($$ insert into public.notifications (title, step_key) values ('again', 'run-1:note') $$,
  '23505', null, 'notifications: a second row with the same key is refused for the same user');
select throws_ok(
  $$ insert into public.email_outbox (recipient, subject, body, status, step_key)
     values ('a@example.com', 'again', 'b', 'queued', 'run-1:mail') $$,
  '23505', null, 'email_outbox: a second row with the same key is refused for the same user');

select lives_ok(
  $$ insert into public.deals (title) values ('no key'), ('no key');
     insert into public.notifications (title) values ('no key'), ('no key');
     insert into public.email_outbox (recipient, subject, body, status)
       values ('a@example.com', 'failed attempt', 'b', 'failed'), ('a@example.com', 'failed attempt', 'b', 'failed') $$,
  'rows without a key are not limited');

select throws_ok($$ insert into public.deals (title, step_key) values ('empty', '') $$,
  '23514', null, 'deals: an empty key is refused');
select throws_ok($$ insert into public.notifications (title, step_key) values ('long', repeat('k', 301)) $$,
  '23514', null, 'notifications: a key over 300 characters is refused');
select throws_ok(
  $$ insert into public.email_outbox (recipient, subject, body, status, step_key)
     values ('a@example.com', 's', 'b', 'queued', '') $$,
  '23514', null, 'email_outbox: an empty key is refused');

select tests.act_as(tests.user_b());
select lives_ok(
  $$ insert into public.deals (title, step_key) values ('theirs', 'run-1:deal');
     insert into public.notifications (title, step_key) values ('theirs', 'run-1:note');
     insert into public.email_outbox (recipient, subject, body, status, step_key)
       values ('b@example.com', 'theirs', 'b', 'queued', 'run-1:mail') $$,
  'another user may use the same keys');

-- The read a repeated insert falls back to: by key, under RLS.
select results_eq($$ select title from public.deals where step_key = 'run-1:deal' $$,
  array['theirs'], 'deals: each user reads only their own row for the key');
select results_eq($$ select title from public.notifications where step_key = 'run-1:note' $$,
  array['theirs'], 'notifications: each user reads only their own row for the key');
select results_eq($$ select subject from public.email_outbox where step_key = 'run-1:mail' $$,
  array['theirs'], 'email_outbox: each user reads only their own row for the key');

select is(pg_get_indexdef('public.deals_user_id_step_key_idx'::regclass),
  'CREATE UNIQUE INDEX deals_user_id_step_key_idx ON public.deals USING btree (user_id, step_key) WHERE (step_key IS NOT NULL)',
  'the deals index is unique on (user_id, step_key) for keyed rows only');

select * from finish();
rollback;

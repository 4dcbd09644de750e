-- Exactly-once writes of the embedded actions. Every action call of a run
-- carries the stable key `<execution id>:<node id>`; `create_deal`,
-- `send_notification` and `send_email` store it with the row they insert.
-- A retried or resumed call (the first attempt timed out after its row was
-- committed, the worker was evicted, ...) inserts the same key again, hits
-- the unique index below (23505, PostgREST's 409), reads the row by its key
-- and returns it: one row per step, however many attempts it took.
--
-- Rows written by anything else (the API, a client through PostgREST) have
-- no key; the indexes are partial, so any number of them may exist.

alter table public.deals
  add column step_key text check (step_key is null or char_length(step_key) between 1 and 300);
alter table public.notifications
  add column step_key text check (step_key is null or char_length(step_key) between 1 and 300);
alter table public.email_outbox
  add column step_key text check (step_key is null or char_length(step_key) between 1 and 300);

comment on column public.deals.step_key is
  'The workflow step that created this deal (<execution id>:<node id>), unique per owner; null for deals not created by a workflow.';
comment on column public.notifications.step_key is
  'The workflow step that created this notification (<execution id>:<node id>), unique per owner; null for notifications not created by a workflow.';
comment on column public.email_outbox.step_key is
  'The send_email step this row is the result of (<execution id>:<node id>), unique per owner; also the email API''s Idempotency-Key. Null for failed attempts (each one recorded) and for rows not written by a workflow.';

-- "One row per step and owner", and the lookup a repeated insert falls back to.
create unique index deals_user_id_step_key_idx
  on public.deals (user_id, step_key)
  where step_key is not null;
create unique index notifications_user_id_step_key_idx
  on public.notifications (user_id, step_key)
  where step_key is not null;
create unique index email_outbox_user_id_step_key_idx
  on public.email_outbox (user_id, step_key)
  where step_key is not null;

-- Idempotent execution requests. A client that retries
-- `POST /api/workflows/{id}/execute` with the same `Idempotency-Key` header
-- (after a timeout, say) gets the first run back instead of starting a second
-- one: the key is stored on the run, unique per user.

alter table public.workflow_executions
  add column idempotency_key text
  constraint workflow_executions_idempotency_key_check
    check (idempotency_key is null or char_length(idempotency_key) between 1 and 200);

comment on column public.workflow_executions.idempotency_key is
  'The client''s Idempotency-Key for the execute request that started this run; unique per user, null when none was sent.';

-- Enforces "one run per key and user", and serves the replay lookup.
create unique index workflow_executions_user_id_idempotency_key_idx
  on public.workflow_executions (user_id, idempotency_key)
  where idempotency_key is not null;

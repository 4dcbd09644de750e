-- Structure of the schema: tables, columns, row level security switched on,
-- policies and their roles, comments, privileges, indexes, triggers.
begin;
\ir _helpers.psql
select plan(48);

-- Tables and columns the worker relies on --------------------------------------------
select tables_are('public',
  array['workflows', 'workflow_executions', 'contacts', 'deals', 'notifications', 'email_outbox', 'workflow_events',
        'webhook_secrets', 'workflow_step_runs', 'workflow_event_dispatches'],
  'public holds exactly the application tables');
select columns_are('public', 'workflows',
  array['id', 'user_id', 'name', 'description', 'nodes', 'edges', 'is_active', 'trigger_key', 'created_at', 'updated_at',
        'version']);
select columns_are('public', 'workflow_executions',
  array['id', 'workflow_id', 'user_id', 'status', 'success', 'error_count', 'execution_time_ms', 'executed_at',
        'finished_at', 'trigger_type', 'trigger_data', 'results', 'idempotency_key', 'stop_reason', 'resume_at', 'attempt',
        'lease_until', 'recoveries', 'workflow_snapshot', 'workflow_version', 'parent_execution_id', 'chain_depth']);
select columns_are('public', 'contacts',
  array['id', 'user_id', 'email', 'name', 'company', 'fields', 'created_at', 'updated_at']);
select columns_are('public', 'deals',
  array['id', 'user_id', 'title', 'value', 'stage', 'contact_id', 'created_at', 'updated_at', 'step_key']);
select columns_are('public', 'notifications',
  array['id', 'user_id', 'title', 'body', 'read_at', 'created_at', 'step_key']);
select columns_are('public', 'email_outbox',
  array['id', 'user_id', 'workflow_id', 'execution_id', 'recipient', 'from_address', 'subject', 'body', 'status',
        'provider_id', 'error', 'created_at', 'updated_at', 'step_key']);
select columns_are('public', 'workflow_events',
  array['id', 'user_id', 'event_type', 'table_name', 'record_id', 'new_record', 'old_record', 'status', 'attempts',
        'claimed_at', 'processed_at', 'last_error', 'created_at', 'caused_by_execution', 'chain_depth']);

-- Every table users write defaults user_id to the caller, so the API never
-- sends it (events and dispatches are written only for their owner).
select is_empty($$
  select c.relname from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attname = 'user_id'
  left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname not in ('workflow_events', 'workflow_event_dispatches')
    and coalesce(pg_get_expr(d.adbin, d.adrelid), '') <> 'auth.uid()'
$$, 'user_id defaults to auth.uid() on every table users write');

-- Row level security and policies ------------------------------------------------------
select is_empty($$
  select relname from pg_class
  where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') and not relrowsecurity
$$, 'row level security is enabled on every table');

select policies_are('public', 'workflows',
  array['workflows_select_own', 'workflows_insert_own', 'workflows_update_own', 'workflows_delete_own']);
select policies_are('public', 'workflow_executions',
  array['workflow_executions_select_own', 'workflow_executions_insert_own', 'workflow_executions_update_own',
        'workflow_executions_delete_own']);
select policies_are('public', 'contacts',
  array['contacts_select_own', 'contacts_insert_own', 'contacts_update_own', 'contacts_delete_own']);
select policies_are('public', 'deals',
  array['deals_select_own', 'deals_insert_own', 'deals_update_own', 'deals_delete_own']);
select policies_are('public', 'notifications',
  array['notifications_select_own', 'notifications_insert_own', 'notifications_update_own', 'notifications_delete_own']);
select policies_are('public', 'email_outbox',
  array['email_outbox_select_own', 'email_outbox_insert_own', 'email_outbox_update_own', 'email_outbox_delete_own']);
select policies_are('public', 'workflow_events', array['workflow_events_select_own']);
select policies_are('public', 'workflow_event_dispatches', array['workflow_event_dispatches_select_own']);
select policies_are('public', 'webhook_secrets',
  array['webhook_secrets_select_own', 'webhook_secrets_insert_own', 'webhook_secrets_update_own']);

select is_empty($$
  select polrelid::regclass::text || '.' || polname from pg_policy
  where polrelid::regclass::text not like 'tests.%'
    and (polroles <> array['authenticated'::regrole::oid] or not polpermissive)
$$, 'every policy is permissive and applies to authenticated only');

-- `(select auth.uid())` is evaluated once per statement (an InitPlan); a bare
-- auth.uid() would be called for every row.
select is_empty($$
  select polrelid::regclass::text || '.' || polname from pg_policy,
    lateral (select coalesce(pg_get_expr(polqual, polrelid), '') || ' ' ||
                    coalesce(pg_get_expr(polwithcheck, polrelid), '') as expr) e
  where (select count(*) from regexp_matches(expr, 'auth\.uid\(\)', 'g'))
        <> (select count(*) from regexp_matches(expr, 'SELECT auth\.uid\(\)', 'g'))
     or expr !~ 'SELECT auth\.uid\(\)'
$$, 'every policy compares with (select auth.uid()), never a bare auth.uid()');

-- Comments -----------------------------------------------------------------------------
select is_empty($$
  select relname from pg_class
  where relnamespace = 'public'::regnamespace and relkind = 'r' and obj_description(oid, 'pg_class') is null
$$, 'every table has a comment');
select is_empty($$
  select polname from pg_policy p
  where obj_description(p.oid, 'pg_policy') is null
$$, 'every policy has a comment');
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and obj_description(p.oid, 'pg_proc') is null
$$, 'every function has a comment');
select is_empty($$
  select c.relname || '.' || a.attname from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
    and a.attname not in ('id', 'created_at', 'updated_at')
    and col_description(c.oid, a.attnum) is null
$$, 'every column but the generic id and timestamps has a comment');

-- Privileges ---------------------------------------------------------------------------
select is_empty($$
  select c.relname || ':' || p.priv from pg_class c,
    unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv)
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'm', 'p')
    and has_table_privilege('anon', c.oid, p.priv)
$$, 'anon holds no privilege on any table');
select is_empty($$
  select c.relname || ':' || p.priv from pg_class c,
    unnest(array['SELECT', 'UPDATE', 'USAGE']) p(priv)
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'
    and (has_sequence_privilege('anon', c.oid, p.priv) or has_sequence_privilege('authenticated', c.oid, p.priv))
$$, 'anon and authenticated hold no privilege on any sequence');
select is_empty($$
  select r.rolname || ':' || c.relname || ':' || p.priv from pg_class c,
    unnest(array['TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv),
    (values ('authenticated'), ('service_role')) r(rolname)
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
    and has_table_privilege(r.rolname, c.oid, p.priv)
$$, 'no API role holds TRUNCATE, REFERENCES or TRIGGER (row level security does not cover them)');
select is_empty($$
  select c.relname from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
    and c.relname not in ('workflow_events', 'webhook_secrets', 'workflow_step_runs', 'workflow_event_dispatches')  -- narrower grants, tested in their own files
    and not (has_table_privilege('authenticated', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
             and has_table_privilege('authenticated', c.oid, 'SELECT')
             and has_table_privilege('authenticated', c.oid, 'INSERT')
             and has_table_privilege('authenticated', c.oid, 'UPDATE')
             and has_table_privilege('authenticated', c.oid, 'DELETE'))
$$, 'authenticated may select, insert, update and delete on every user table (policies decide which rows)');
select table_privs_are('public', 'workflow_events', 'authenticated', array['SELECT'],
  'authenticated may only read workflow_events');
select table_privs_are('public', 'workflow_events', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'service_role may read and write workflow_events');
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and has_function_privilege('anon', p.oid, 'EXECUTE')
$$, 'anon may execute no function in public');
select is(
  (select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace = 'public'::regnamespace and has_function_privilege('authenticated', p.oid, 'EXECUTE')),
  array['all_workflow_stats(integer)', 'cancel_run(uuid)', 'is_email_address(text)', 'journal_steps(uuid,jsonb,integer)',
        'rotate_trigger_key(uuid)', 'rotate_webhook_secret()', 'take_run(uuid,integer,integer)', 'webhook_secret()',
        'workflow_stats(uuid,integer)'],
  'authenticated may execute only the webhook secret, trigger key, durable run and statistics calls and the address rule its check constraints use');
select ok(has_function_privilege('service_role', 'public.claim_workflow_events(integer, integer, integer)', 'EXECUTE'),
  'service_role may execute claim_workflow_events');
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.prorettype = 'trigger'::regtype
    and has_function_privilege('service_role', p.oid, 'EXECUTE')
$$, 'no API role may execute a trigger function');

-- Functions run with a fixed search_path (security definer ones above all).
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace
    and not exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%')
$$, 'every function in public pins its search_path');
select is(
  (select array_agg(proname::text order by proname) from pg_proc
    where pronamespace = 'public'::regnamespace and prosecdef),
  array['record_contact_update_event', 'record_deal_won_event'],
  'only the outbox trigger functions are security definer');

-- Indexes ------------------------------------------------------------------------------
-- Every column a policy reads (pg_depend records them, including columns of
-- tables the policy's subqueries read) leads some b-tree index.
select is_empty($$
  select distinct d.refobjid::regclass::text || '.' || a.attname
  from pg_depend d
  join pg_policy p on p.oid = d.objid
  join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
  where d.classid = 'pg_policy'::regclass and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0
    and not exists (
      select 1 from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      join pg_am am on am.oid = ic.relam and am.amname = 'btree'
      where i.indrelid = d.refobjid and i.indkey[0] = d.refobjsubid)
$$, 'every column a policy filters by leads a b-tree index');
select ok(
  (select count(*) from pg_depend d join pg_policy p on p.oid = d.objid
    where d.classid = 'pg_policy'::regclass and d.refobjsubid > 0) >= 20,
  'the policy column catalogue query sees the policies'' columns');
select is_empty($$
  select conrelid::regclass::text || ' ' || conname from pg_constraint c
  where c.contype = 'f' and c.connamespace = 'public'::regnamespace
    and not exists (select 1 from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])
$$, 'every foreign key''s leading column leads an index (cascades do not scan)');

select is(pg_get_indexdef('public.workflows_user_id_updated_at_idx'::regclass),
  'CREATE INDEX workflows_user_id_updated_at_idx ON public.workflows USING btree (user_id, updated_at DESC)',
  'the workflow listing index is (user_id, updated_at desc)');
select is(pg_get_indexdef('public.workflows_trigger_key_key'::regclass),
  'CREATE UNIQUE INDEX workflows_trigger_key_key ON public.workflows USING btree (trigger_key)',
  'trigger_key is unique');
select is(pg_get_indexdef('public.workflow_executions_workflow_id_executed_at_idx'::regclass),
  'CREATE INDEX workflow_executions_workflow_id_executed_at_idx ON public.workflow_executions USING btree (workflow_id, executed_at DESC)',
  'executions of a workflow are indexed newest first');
select is(pg_get_indexdef('public.workflow_executions_user_id_executed_at_idx'::regclass),
  'CREATE INDEX workflow_executions_user_id_executed_at_idx ON public.workflow_executions USING btree (user_id, executed_at DESC)',
  'executions of a user are indexed newest first');
select is(pg_get_indexdef('public.workflow_events_status_created_at_idx'::regclass),
  'CREATE INDEX workflow_events_status_created_at_idx ON public.workflow_events USING btree (status, created_at, id)',
  'events are indexed by status in claim order');
select has_index('public', 'email_outbox', 'email_outbox_status_created_at_idx', array['status', 'created_at'],
  'queued mail is indexed by status');

-- Triggers -----------------------------------------------------------------------------
select is_empty($$
  select c.relname from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attname = 'updated_at'
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
    and not exists (
      select 1 from pg_trigger t
      where t.tgrelid = c.oid and not t.tgisinternal and t.tgfoid = 'public.set_updated_at()'::regprocedure
        and (t.tgtype & 2) <> 0   -- BEFORE
        and (t.tgtype & 1) <> 0   -- FOR EACH ROW
        and (t.tgtype & 16) <> 0) -- UPDATE
$$, 'every table with updated_at has a BEFORE UPDATE row trigger on public.set_updated_at()');
select is(
  (select count(*)::int from pg_proc where pronamespace = 'public'::regnamespace and prorettype = 'trigger'::regtype
     and prosrc ilike '%updated_at%:=%'),
  1, 'updated_at is maintained by one shared trigger function');

select * from finish();
rollback;

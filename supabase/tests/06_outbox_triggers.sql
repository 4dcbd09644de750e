-- The transactional outbox: a contact update writes one contact_update event
-- and a deal entering stage won writes one deal_won event, in the same
-- transaction as the change; a rolled-back change leaves no event.
begin;
\ir _helpers.psql
select plan(25);

insert into public.contacts (id, user_id, email, name) values
  (tests.id('ct a1'), tests.user_a(), 'one@a.test', 'Ann'),
  (tests.id('ct a2'), tests.user_a(), 'two@a.test', null);
insert into public.deals (id, user_id, title, stage) values (tests.id('dl a1'), tests.user_a(), 'A deal', 'new');
select is((select count(*) from public.workflow_events), 0::bigint,
  'inserting contacts and a deal that is not won writes no event');

-- contact_update ----------------------------------------------------------------------
select tests.act_as(tests.user_a());
update public.contacts set name = 'Annie', fields = '{"tier": "gold"}' where id = tests.id('ct a1');
select results_eq(
  $$select event_type, table_name, record_id, user_id, status, attempts, claimed_at
      from public.workflow_events$$,
  format($$values ('contact_update'::text, 'contacts'::text, %L::uuid, %L::uuid, 'pending'::text, 0, null::timestamptz)$$,
         tests.id('ct a1'), tests.user_a()),
  'updating a contact writes exactly one pending contact_update event, readable by its owner');
select results_eq(
  $$select new_record->>'name', old_record->>'name', new_record->'fields', old_record->'fields', new_record->>'email'
      from public.workflow_events$$,
  $$values ('Annie', 'Ann', '{"tier": "gold"}'::jsonb, '{}'::jsonb, 'one@a.test')$$,
  'the event carries the new and the old row');
select tests.act_as_owner();
select is(
  (select e.xmin::text from public.workflow_events e),
  (select c.xmin::text from public.contacts c where c.id = tests.id('ct a1')),
  'the event is written by the very transaction that changed the contact');

select tests.act_as(tests.user_a());
update public.contacts set name = 'Annie' where id = tests.id('ct a1');
select is((select count(*) from public.workflow_events), 1::bigint,
  'an update that changes nothing (but updated_at) writes no event');
update public.contacts set company = 'Acme';
select is((select count(*) from public.workflow_events where event_type = 'contact_update'), 3::bigint,
  'a statement updating two contacts writes one event per contact');

-- A rolled-back change leaves nothing behind. (No assertion inside the
-- savepoint: pgTAP's own bookkeeping would be rolled back with it.)
savepoint before_change;
update public.contacts set name = 'Rolled back' where id = tests.id('ct a2');
select count(*) as events_inside from public.workflow_events \gset
rollback to savepoint before_change;
select is(:events_inside::bigint, 4::bigint, 'inside the transaction the update has its event');
select is((select count(*) from public.workflow_events), 3::bigint, 'rolling the update back removes its event');
select is((select name from public.contacts where id = tests.id('ct a2')), null, 'and the change itself');

select tests.act_as(tests.user_b());
update public.contacts set name = 'hijack';
select tests.act_as_owner();
select is((select count(*) from public.workflow_events), 3::bigint,
  'B''s update of A''s contacts (zero rows) writes no event');
select is((select count(*) from public.workflow_events where user_id <> tests.user_a()), 0::bigint,
  'every event so far belongs to A');

-- The service role acting on A's row: the event still belongs to A.
select tests.act_as_service();
update public.contacts set company = 'Globex' where id = tests.id('ct a2');
select tests.act_as_owner();
select is((select user_id from public.workflow_events where new_record->>'company' = 'Globex'), tests.user_a(),
  'an event belongs to the owner of the changed row, whoever changed it');

-- deal_won ----------------------------------------------------------------------------
delete from public.workflow_events;
select tests.act_as(tests.user_a());
update public.deals set stage = 'qualified' where id = tests.id('dl a1');
select is((select count(*) from public.workflow_events), 0::bigint, 'moving a deal to another stage writes no event');
update public.deals set stage = 'won', value = 5000 where id = tests.id('dl a1');
select results_eq(
  $$select event_type, table_name, record_id, user_id, new_record->>'stage', old_record->>'stage', (new_record->>'value')::numeric
      from public.workflow_events$$,
  format($$values ('deal_won'::text, 'deals'::text, %L::uuid, %L::uuid, 'won', 'qualified', 5000::numeric)$$,
         tests.id('dl a1'), tests.user_a()),
  'a deal entering stage won writes exactly one deal_won event with the new and old row');
update public.deals set title = 'A deal, renamed' where id = tests.id('dl a1');
update public.deals set stage = 'won' where id = tests.id('dl a1');
select is((select count(*) from public.workflow_events), 1::bigint,
  'editing a won deal, or setting won again, writes no further event');
update public.deals set stage = 'lost' where id = tests.id('dl a1');
select is((select count(*) from public.workflow_events), 1::bigint, 'leaving stage won writes no event');
update public.deals set stage = 'won' where id = tests.id('dl a1');
select is((select count(*) from public.workflow_events), 2::bigint, 'entering stage won again writes a new event');

insert into public.deals (id, title, stage) values (tests.id('dl a2'), 'Won at once', 'won');
select results_eq(
  format($$select event_type, new_record->>'title', old_record from public.workflow_events where record_id = %L$$, tests.id('dl a2')),
  $$values ('deal_won'::text, 'Won at once', null::jsonb)$$,
  'inserting a deal in stage won writes one deal_won event without an old row');
insert into public.deals (title, stage) values ('Won one', 'won'), ('Lost one', 'lost'), ('Won two', 'won');
select is((select count(*) from public.workflow_events), 5::bigint, 'a multi-row insert writes one event per won deal');

savepoint before_win;
insert into public.deals (title, stage) values ('Short-lived', 'won');
rollback to savepoint before_win;
select is((select count(*) from public.workflow_events), 5::bigint, 'a rolled-back won deal leaves no event');

-- Deal updates with a contact also fire contact events only when the contact changes.
select is((select count(*) from public.workflow_events where event_type = 'contact_update'), 0::bigint,
  'deal changes write no contact_update event');

-- Users cannot write events, but the triggers can on their behalf (security
-- definer), even though no API role may execute the trigger functions.
select throws_ok('select public.record_deal_won_event()', '42501', null, 'A cannot call a trigger function');
select tests.act_as_owner();
select is((select count(distinct user_id) from public.workflow_events), 1::bigint, 'all deal events belong to A');

-- Deleting a user removes their events with the rest of their data.
delete from auth.users where id = tests.user_a();
select is((select count(*) from public.workflow_events), 0::bigint, 'deleting a user deletes their events');
select is((select count(*) from public.contacts) + (select count(*) from public.deals), 0::bigint,
  'and their contacts and deals');

select * from finish();
rollback;

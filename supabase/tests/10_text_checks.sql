-- The worker's text rules enforced by the database, tried the way a client
-- would send them straight through PostgREST (role authenticated, a user's
-- claims): mail headers cannot gain a recipient or a header, addresses are
-- single, lengths are bounded; and everything the worker itself writes passes.
begin;
\ir _helpers.psql
select plan(51);

-- The single-address rule (the twin of the worker's schema::is_email) ----------------
select is_empty($$
  select a from (values
    ('a@b.co'), ('ann.lee+crm@mail.example.com'), ('a@b.c-o.uk'), ('no-reply@edgeflow.local'),
    ('ü@b.co'), ('a@ü.de'), ('a@b_c.de'), ('a@1.2'), ('.a.@b.co'), ('-@b.co'), ('o''brien@b.co'),
    (E'a@b.co\u200b')  -- zero-width space: not whitespace to Rust either
  ) v(a)
  where public.is_email_address(a) is not true
$$, 'plain single addresses are accepted, as the worker accepts them');
select is_empty($$
  select a from (values
    ('a@b'), ('@b.co'), ('a@'), ('a'), (''), ('a@b@c.co'),
    ('a@b.co,c@d.co'), ('a@b.co;c@d.co'), ('a@b.co c@d.co'), ('Ann <a@b.co>'), ('<a@b.co>'), ('"Ann" a@b.co'),
    ('"a"@b.co'), ('a(b)@c.co'), ('[a]@b.co'), ('a\@b.co'), ('a:b@c.co'), ('a@b.co:25'),
    (E'a@b.co\r\nBcc: x@y.z'), (E'a@b.co\nBcc: x@y.z'), (E'a@b.co\r'), (E'a\t@b.co'), (' a@b.co'), ('a@b.co '),
    (E'a@b.co\u00a0'), (E'a@b.co\u2028'), (E'a@b.co\u3000'), (E'a\u0085@b.co'), (E'a\u007f@b.co'), (E'a\u0001@b.co'),
    ('a@-b.co'), ('a@b-.co'), ('a@b..co'), ('a@.b.co'), ('a@b.co.'), ('a@b.-')
  ) v(a)
  where public.is_email_address(a) is not false
$$, 'lists, display names, separators, whitespace, control characters, line breaks and bad domains are refused');
select ok(public.is_email_address(repeat('a', 64) || '@' || repeat('b', 186) || '.co')
          and not public.is_email_address(repeat('a', 64) || '@' || repeat('b', 187) || '.co'),
  'an address has at most 254 bytes');
select ok(public.is_email_address(repeat('a', 64) || '@b.co') and not public.is_email_address(repeat('a', 65) || '@b.co')
          and not public.is_email_address(repeat('ü', 33) || '@b.co'),
  'the part before @ has at most 64 bytes (not characters, as in the worker)');
select is(public.is_email_address(null), null, 'null is neither (the nullable columns allow it explicitly)');

-- email_outbox: written as user A, as through POST /rest/v1/email_outbox ---------------
create function tests.queue_mail(p_recipient text, p_from text, p_subject text) returns void
language sql as $$
  insert into public.email_outbox (recipient, from_address, subject, body) values (p_recipient, p_from, p_subject, 'b')
$$;
grant execute on function tests.queue_mail(text, text, text) to authenticated, service_role;

select tests.act_as(tests.user_a());

select throws_ok($$ select tests.queue_mail(E'a@b.co\r\nBcc: x@y.z', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a recipient with CR/LF (a smuggled Bcc header) is refused');
select throws_ok($$ select tests.queue_mail(E'a@b.co\nx@y.z', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a recipient with a bare LF is refused');
select throws_ok($$ select tests.queue_mail('a@b.co,x@y.z', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a comma-separated recipient list is refused');
select throws_ok($$ select tests.queue_mail('a@b.co;x@y.z', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a semicolon-separated recipient list is refused');
select throws_ok($$ select tests.queue_mail('Ann <a@b.co>', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a recipient with a display name is refused');
select throws_ok($$ select tests.queue_mail('a@b.co x@y.z', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a recipient with whitespace is refused');
select throws_ok($$ select tests.queue_mail('undisclosed-recipients:;', null, 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a group syntax recipient is refused');
select throws_ok(format($$ select tests.queue_mail(%L, null, 's') $$, repeat('a', 64) || '@' || repeat('b', 187) || '.co'),
  '23514', 'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a recipient longer than 254 bytes is refused');

select throws_ok($$ select tests.queue_mail('a@b.co', E'me@a.test\r\nBcc: x@y.z', 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_from_address_one_address"',
  'a sender with CR/LF is refused');
select throws_ok($$ select tests.queue_mail('a@b.co', 'CEO <ceo@bank.example>', 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_from_address_one_address"',
  'a sender with a display name is refused');
select throws_ok($$ select tests.queue_mail('a@b.co', 'me@a.test,ceo@bank.example', 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_from_address_one_address"',
  'a sender list is refused');
select throws_ok($$ select tests.queue_mail('a@b.co', '', 's') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_from_address_one_address"',
  'an empty sender is refused (null means the default sender)');

select throws_ok($$ select tests.queue_mail('a@b.co', null, E'Hello\r\nBcc: x@y.z') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_subject_single_line"',
  'a subject with CR/LF is refused');
select throws_ok($$ select tests.queue_mail('a@b.co', null, E'Hello\nBcc: x@y.z') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_subject_single_line"',
  'a subject with a bare LF is refused');
select throws_ok($$ select tests.queue_mail('a@b.co', null, E'Hello\rBcc: x@y.z') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_subject_single_line"',
  'a subject with a bare CR is refused');
select throws_ok($$ select tests.queue_mail('a@b.co', null, '   ') $$, '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_subject_length"',
  'a blank subject is refused');
select throws_ok(format($$ select tests.queue_mail('a@b.co', null, %L) $$, repeat('s', 999)), '23514',
  'new row for relation "email_outbox" violates check constraint "email_outbox_subject_length"',
  'a subject longer than 998 characters is refused');

-- PATCH is checked like POST.
insert into public.email_outbox (id, recipient, subject, body) values (tests.id('ml a1'), 'a@b.co', 'Hi', 'b');
select throws_ok(format($$ update public.email_outbox set recipient = 'a@b.co, x@y.z' where id = %L $$, tests.id('ml a1')),
  '23514', 'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'a queued mail cannot be edited into a list afterwards');
select throws_ok(format($$ update public.email_outbox set subject = E'Hi\r\nBcc: x@y.z' where id = %L $$, tests.id('ml a1')),
  '23514', 'new row for relation "email_outbox" violates check constraint "email_outbox_subject_single_line"',
  'nor its subject into two lines');

-- What the send_email executor writes (email.rs outbox_row) passes.
select lives_ok($$
  insert into public.email_outbox (recipient, from_address, subject, body, status) values
    ('queued@acme.example', null, 'Welcome, <b>Lin</b>', '<p>Hi &lt;b&gt;</p>', 'queued');
  insert into public.email_outbox (recipient, from_address, subject, body, status, provider_id) values
    ('buyer@acme.example', 'crm@edgeflow.test', 'Your quote', 'text', 'sent', 're_123');
  insert into public.email_outbox (recipient, from_address, subject, body, status, error) values
    ('x@acme.example', 'no-reply@edgeflow.local', 'Retry', 'text', 'failed', 'the email API answered HTTP 503')
$$, 'queued, sent and failed rows as the worker writes them are accepted');
select lives_ok(format($$ select tests.queue_mail(%L, %L, %L) $$,
    repeat('a', 64) || '@' || repeat('b', 186) || '.co', 'me@a.test', repeat('s', 998)),
  'a 254-byte recipient and a 998-character subject are accepted');
select lives_ok($$ select tests.queue_mail('a@b.co', null, E'Tabs\tand  spaces, unicode \u00e9 \u2014 fine') $$,
  'a subject may hold tabs, runs of spaces and any non-line-break character');

-- The service role (the worker without a user) is held to the same rules.
select tests.act_as_service();
select throws_ok(format($$ insert into public.email_outbox (user_id, recipient, subject, body) values (%L, 'a@b.co,x@y.z', 's', 'b') $$,
    tests.user_a()),
  '23514', 'new row for relation "email_outbox" violates check constraint "email_outbox_recipient_one_address"',
  'the service role cannot queue a recipient list either');

-- contacts ----------------------------------------------------------------------------
select tests.act_as(tests.user_a());
select throws_ok($$ insert into public.contacts (email) values (E'lead@acme.example\r\nBcc: x@y.z') $$, '23514',
  'new row for relation "contacts" violates check constraint "contacts_email_one_address"',
  'a contact email with CR/LF is refused');
select throws_ok($$ insert into public.contacts (email) values ('lead@acme.example, boss@acme.example') $$, '23514',
  'new row for relation "contacts" violates check constraint "contacts_email_one_address"',
  'a contact email list is refused');
select throws_ok($$ insert into public.contacts (email) values ('Lead <lead@acme.example>') $$, '23514',
  'new row for relation "contacts" violates check constraint "contacts_email_one_address"',
  'a contact email with a display name is refused');
insert into public.contacts (id, email, name) values (tests.id('ct a1'), 'lead@acme.example', 'Lead');
select throws_ok(format($$ update public.contacts set email = 'lead@acme.example;x@y.z' where id = %L $$, tests.id('ct a1')),
  '23514', 'new row for relation "contacts" violates check constraint "contacts_email_one_address"',
  'a contact cannot be edited into an address list');
select throws_ok(format($$ insert into public.contacts (name) values (%L) $$, repeat('n', 301)), '23514',
  'new row for relation "contacts" violates check constraint "contacts_name_length"',
  'a contact name longer than 300 characters is refused');
select throws_ok(format($$ insert into public.contacts (company) values (%L) $$, repeat('c', 301)), '23514',
  'new row for relation "contacts" violates check constraint "contacts_company_length"',
  'a company name longer than 300 characters is refused');
select lives_ok(format($$ insert into public.contacts (email, name, company) values (null, %L, %L) $$,
    repeat('n', 300), repeat('c', 300)),
  'a contact without email, with 300-character name and company, is accepted');
select lives_ok($$
  insert into public.contacts (email, name, company) values ('upsert@acme.example', 'Grace', 'Acme')
    on conflict (user_id, email) do update set company = 'Acme Corp'
$$, 'the update_contact upsert (on_conflict=user_id,email) still works');
select lives_ok(format($$ update public.contacts set name = E'Ann\nLee' where id = %L $$, tests.id('ct a1')),
  'names are free text (the worker has no line rule for them)');

-- workflows and executions --------------------------------------------------------------
select throws_ok(format($$ insert into public.workflows (name) values (%L) $$, 'x' || repeat(' ', 200)), '23514',
  'new row for relation "workflows" violates check constraint "workflows_name_length"',
  'a workflow name padded past 200 characters is refused (the older check measures it trimmed)');
select lives_ok(format($$ insert into public.workflows (name) values (%L) $$, repeat('w', 200)),
  'a 200-character workflow name is accepted');
select throws_ok($$ insert into public.workflow_executions (trigger_type) values ('cron') $$, '23514',
  'new row for relation "workflow_executions" violates check constraint "workflow_executions_trigger_type_known"',
  'an unknown trigger type is refused');
select throws_ok($$ insert into public.workflow_executions (trigger_type) values (E'manual\n') $$, '23514',
  'new row for relation "workflow_executions" violates check constraint "workflow_executions_trigger_type_known"',
  'a trigger type is matched exactly');
select lives_ok($$
  insert into public.workflow_executions (trigger_type)
    values ('form_submit'), ('contact_update'), ('deal_won'), ('manual'), (null)
$$, 'every trigger the engine knows, or none, is accepted');

-- Other tables' texts keep their own rules (unchanged here).
select lives_ok($$
  insert into public.deals (title, stage) values (E'  Big deal\n', 'won');
  insert into public.notifications (title, body) values ('Lead scored', E'line 1\nline 2')
$$, 'deal and notification texts are not restricted further');

-- The structure ---------------------------------------------------------------------------
select tests.act_as_owner();
select is(
  (select array_agg(conrelid::regclass::text || '.' || conname::text order by conrelid::regclass::text, conname) from pg_constraint
    where connamespace = 'public'::regnamespace and contype = 'c' and convalidated
      and conname in ('email_outbox_recipient_one_address', 'email_outbox_from_address_one_address',
                      'email_outbox_subject_single_line', 'email_outbox_subject_length',
                      'contacts_email_one_address', 'contacts_name_length', 'contacts_company_length',
                      'workflows_name_length', 'workflow_executions_trigger_type_known')),
  array['contacts.contacts_company_length', 'contacts.contacts_email_one_address', 'contacts.contacts_name_length',
        'email_outbox.email_outbox_from_address_one_address', 'email_outbox.email_outbox_recipient_one_address',
        'email_outbox.email_outbox_subject_length', 'email_outbox.email_outbox_subject_single_line',
        'workflow_executions.workflow_executions_trigger_type_known', 'workflows.workflows_name_length'],
  'every text rule is a named, validated check constraint on its table');
select is_empty($$
  select conrelid::regclass::text || '.' || conname from pg_constraint c
   where connamespace = 'public'::regnamespace and contype = 'c'
     and conname !~ '_check$'   -- the first migrations' inline checks carry PostgreSQL's generated names
     and obj_description(c.oid, 'pg_constraint') is null
$$, 'every named check constraint has a comment');
select ok(has_function_privilege('authenticated', 'public.is_email_address(text)', 'EXECUTE')
          and has_function_privilege('service_role', 'public.is_email_address(text)', 'EXECUTE'),
  'the roles that write the tables may run the address rule their checks call');
select ok(not has_function_privilege('anon', 'public.is_email_address(text)', 'EXECUTE'),
  'anon may not (it writes nothing)');
select is((select provolatile::text from pg_proc where oid = 'public.is_email_address(text)'::regprocedure), 'i',
  'the address rule is immutable, as a check constraint requires');

-- Through the anon role the rules are never even reached: no table privilege.
select tests.act_as_anon();
select throws_ok($$ select tests.queue_mail('a@b.co', null, 's') $$, '42501', null,
  'anon cannot write email_outbox at all');
select tests.act_as_owner();

-- Only user A's well-formed rows exist.
select is((select count(*)::int from public.email_outbox where user_id = tests.user_a()), 6,
  'user A holds exactly the mail that passed the checks');
select is_empty($$
  select id from public.email_outbox
   where not public.is_email_address(recipient) or recipient ~ '[\r\n]' or subject ~ '[\r\n]'
      or (from_address is not null and not public.is_email_address(from_address))
$$, 'no stored mail has a header that could carry a second recipient or header');

select * from finish();
rollback;

-- The worker's input rules, enforced again by the database. The CRM tables
-- are also written straight through PostgREST (the anon key and a user's
-- token are enough), which bypasses every check the worker makes; the
-- database is the last line. Where the worker has a rule, the check mirrors
-- it and is never stricter, so everything the worker writes still passes:
--
-- | column                           | rule                                | worker's rule                        |
-- |----------------------------------|-------------------------------------|--------------------------------------|
-- | email_outbox.recipient           | exactly one plain address           | schema::is_email on `to`             |
-- | email_outbox.from_address        | null or exactly one plain address   | schema::is_email on `from`           |
-- | email_outbox.subject             | one line (no CR/LF), not blank      | Format::SingleLine, required         |
-- | email_outbox.subject             | at most 998 characters              | none yet (RFC 5322's line limit)     |
-- | contacts.email                   | null or exactly one plain address   | schema::is_email in update_contact   |
-- | contacts.name, contacts.company  | at most 300 characters              | none yet (deal and notification titles have 300) |
-- | workflows.name                   | at most 200 characters as stored    | trimmed, MAX_NAME_CHARS = 200        |
-- | workflow_executions.trigger_type | null or a trigger the engine knows  | TriggerType::NAMES                   |
--
-- The two caps marked "none yet" are far above anything the worker writes in
-- practice; the worker should check them as well, so a user gets its
-- validation error rather than PostgREST's.
--
-- Every violation is a check_violation (SQLSTATE 23514), which PostgREST
-- answers with HTTP 400 and the constraint's name in the message.

-- ---------------------------------------------------------------------------
-- The single-address rule
-- ---------------------------------------------------------------------------
-- The SQL twin of the worker's `schema::is_email`, kept deliberately as
-- strict and no stricter: no whitespace or control character anywhere
-- (Rust's char::is_whitespace and char::is_control), none of the separators
-- <>,;:"()[]\ that could add a display name or a second recipient, exactly
-- one @ with at most 64 bytes before it, a domain of two or more
-- dot-separated labels, none empty and none starting or ending with a
-- hyphen, and at most 254 bytes in all. Ranges are code points, so the
-- result does not depend on the collation.
create function public.is_email_address(address text)
returns boolean
language sql
immutable
strict
parallel safe
set search_path = ''
as $$
  select octet_length(address) <= 254
     and address !~ '[\u0001-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000<>,;:"()[\]\\]'
     and address ~ '^[^@]+@[^@]+$'
     and octet_length(split_part(address, '@', 1)) <= 64
     and split_part(address, '@', 2) ~ '^[^.-]([^.]*[^.-])?(\.[^.-]([^.]*[^.-])?)+$'
$$;

comment on function public.is_email_address(text) is
  'True when the text is exactly one plain email address (local@domain.tld, no display name, list, whitespace or line break), by the same rule as the worker''s schema::is_email. Null for null. Used by the address check constraints.';

-- A check constraint runs its functions with the privileges of the role
-- writing the row, so the roles that write these tables need EXECUTE
-- (anon writes nothing). Pure and side-effect free, so also harmless as
-- POST /rest/v1/rpc/is_email_address for a signed-in client.
revoke execute on function public.is_email_address(text) from public, anon;
grant execute on function public.is_email_address(text) to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- email_outbox: the columns that become mail headers
-- ---------------------------------------------------------------------------
alter table public.email_outbox
  add constraint email_outbox_recipient_one_address
    check (public.is_email_address(recipient)),
  add constraint email_outbox_from_address_one_address
    check (from_address is null or public.is_email_address(from_address)),
  add constraint email_outbox_subject_single_line
    check (subject !~ '[\r\n]'),
  -- 998: the longest line RFC 5322 allows; the worker requires a subject.
  add constraint email_outbox_subject_length
    check (char_length(btrim(subject)) >= 1 and char_length(subject) <= 998);

comment on constraint email_outbox_recipient_one_address on public.email_outbox is
  'The recipient is exactly one plain address (public.is_email_address): no list, display name, whitespace or CR/LF that could add a recipient or a header.';
comment on constraint email_outbox_from_address_one_address on public.email_outbox is
  'The sender, when given, is exactly one plain address (public.is_email_address); null means the provider''s default.';
comment on constraint email_outbox_subject_single_line on public.email_outbox is
  'The subject is one line: no CR or LF, which would start a new mail header.';
comment on constraint email_outbox_subject_length on public.email_outbox is
  'The subject is not blank and at most 998 characters (RFC 5322''s line length limit).';

-- ---------------------------------------------------------------------------
-- contacts: the address send_email nodes template into `to`
-- ---------------------------------------------------------------------------
alter table public.contacts
  add constraint contacts_email_one_address
    check (email is null or public.is_email_address(email)),
  add constraint contacts_name_length
    check (char_length(name) <= 300),
  add constraint contacts_company_length
    check (char_length(company) <= 300);

comment on constraint contacts_email_one_address on public.contacts is
  'The contact''s email, when given, is exactly one plain address (public.is_email_address), as update_contact requires: it is what {{trigger.email}} puts into a send_email recipient.';
comment on constraint contacts_name_length on public.contacts is
  'A contact name is at most 300 characters, like deal and notification titles.';
comment on constraint contacts_company_length on public.contacts is
  'A company name is at most 300 characters, like deal and notification titles.';

-- ---------------------------------------------------------------------------
-- workflows and their executions
-- ---------------------------------------------------------------------------
-- The first migration's check measures the name after trimming blanks; the
-- worker stores it trimmed, so the stored text itself is at most 200 too.
alter table public.workflows
  add constraint workflows_name_length
    check (char_length(name) <= 200);

comment on constraint workflows_name_length on public.workflows is
  'A workflow name is at most 200 characters as stored, padding included (the API trims names and allows 200).';

alter table public.workflow_executions
  add constraint workflow_executions_trigger_type_known
    check (trigger_type is null or trigger_type in ('form_submit', 'contact_update', 'deal_won', 'manual'));

comment on constraint workflow_executions_trigger_type_known on public.workflow_executions is
  'The trigger that started a run is one the engine knows (TriggerType::NAMES); a new trigger type needs a migration here.';

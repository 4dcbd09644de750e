-- The CRM tables the default actions write (contacts, deals, notifications,
-- queued email), each owned by a user and guarded by row level security.

-- ---------------------------------------------------------------------------
-- contacts
-- ---------------------------------------------------------------------------
create table public.contacts (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null default auth.uid() references auth.users (id) on delete cascade,
  email      text check (char_length(email) between 3 and 320),
  name       text,
  company    text,
  fields     jsonb not null default '{}'::jsonb check (jsonb_typeof(fields) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Also the conflict target of the update_contact upsert (on_conflict=user_id,email).
  constraint contacts_user_id_email_key unique (user_id, email),
  -- Target of deals' composite foreign key.
  constraint contacts_id_user_id_key unique (id, user_id)
);

comment on table public.contacts is
  'A user''s CRM contacts. Every update writes a contact_update event to workflow_events (see the events migration).';
comment on column public.contacts.user_id is 'Owner (auth.users.id); defaults to the caller''s JWT subject.';
comment on column public.contacts.email is 'Contact email, unique per owner (the update_contact action upserts on it); may be null.';
comment on column public.contacts.name is 'Identity (name, company): free text, optional.';
comment on column public.contacts.company is 'Company the contact works for.';
comment on column public.contacts.fields is 'Custom fields as a JSON object.';
comment on column public.contacts.created_at is 'Timestamps (created_at, updated_at); updated_at kept by public.set_updated_at().';

-- contacts_user_id_email_key leads with user_id and so serves the policies.

create trigger contacts_set_updated_at
  before update on public.contacts
  for each row execute function public.set_updated_at();

alter table public.contacts enable row level security;

create policy contacts_select_own on public.contacts
  for select to authenticated using ((select auth.uid()) = user_id);
create policy contacts_insert_own on public.contacts
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy contacts_update_own on public.contacts
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy contacts_delete_own on public.contacts
  for delete to authenticated using ((select auth.uid()) = user_id);

comment on policy contacts_select_own on public.contacts is 'A user reads only their own contacts.';
comment on policy contacts_insert_own on public.contacts is 'A user creates contacts only for themselves.';
comment on policy contacts_update_own on public.contacts is 'A user changes only their own contacts and cannot give one away.';
comment on policy contacts_delete_own on public.contacts is 'A user deletes only their own contacts.';

-- ---------------------------------------------------------------------------
-- deals
-- ---------------------------------------------------------------------------
create table public.deals (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title      text not null check (char_length(btrim(title)) between 1 and 300),
  value      numeric(14, 2) check (value >= 0),
  stage      text not null default 'new' check (char_length(stage) between 1 and 50),
  contact_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Composite so a deal can only point at a contact of the same owner, for
  -- every role (the service role bypasses policies, not foreign keys). When
  -- the contact goes, only contact_id is cleared (PostgreSQL 15 column list).
  constraint deals_contact_owner_fkey
    foreign key (contact_id, user_id) references public.contacts (id, user_id)
    on delete set null (contact_id)
);

comment on table public.deals is
  'A user''s sales opportunities. A deal entering stage ''won'' writes a deal_won event to workflow_events.';
comment on column public.deals.user_id is 'Owner (auth.users.id); defaults to the caller''s JWT subject.';
comment on column public.deals.title is 'Deal (title, value, stage): title 1 to 300 characters.';
comment on column public.deals.value is 'Amount, non-negative, two decimals; null when unknown.';
comment on column public.deals.stage is 'Pipeline stage, free text (''new'' by default); ''won'' is the one that fires deal_won.';
comment on column public.deals.contact_id is 'Optional contact of the same owner; cleared when that contact is deleted.';
comment on column public.deals.created_at is 'Timestamps (created_at, updated_at); updated_at kept by public.set_updated_at().';

create index deals_user_id_updated_at_idx on public.deals (user_id, updated_at desc);
-- Backs the foreign key (contact deletion looks deals up by contact).
create index deals_contact_id_idx on public.deals (contact_id);

create trigger deals_set_updated_at
  before update on public.deals
  for each row execute function public.set_updated_at();

alter table public.deals enable row level security;

create policy deals_select_own on public.deals
  for select to authenticated using ((select auth.uid()) = user_id);
create policy deals_insert_own on public.deals
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy deals_update_own on public.deals
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy deals_delete_own on public.deals
  for delete to authenticated using ((select auth.uid()) = user_id);

comment on policy deals_select_own on public.deals is 'A user reads only their own deals.';
comment on policy deals_insert_own on public.deals is 'A user creates deals only for themselves (the foreign key keeps contact_id within their contacts).';
comment on policy deals_update_own on public.deals is 'A user changes only their own deals and cannot give one away.';
comment on policy deals_delete_own on public.deals is 'A user deletes only their own deals.';

-- ---------------------------------------------------------------------------
-- notifications
-- ---------------------------------------------------------------------------
create table public.notifications (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title      text not null check (char_length(btrim(title)) between 1 and 300),
  body       text,
  read_at    timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.notifications is
  'In-app notifications for a user, written by the send_notification action.';
comment on column public.notifications.user_id is 'Recipient and owner; defaults to the caller''s JWT subject.';
comment on column public.notifications.title is 'Message (title, body): title 1 to 300 characters, body optional.';
comment on column public.notifications.body is 'Optional message body.';
comment on column public.notifications.read_at is 'When the user read it; null while unread.';
comment on column public.notifications.created_at is 'Creation time; notifications are listed newest first.';

create index notifications_user_id_created_at_idx on public.notifications (user_id, created_at desc);

alter table public.notifications enable row level security;

create policy notifications_select_own on public.notifications
  for select to authenticated using ((select auth.uid()) = user_id);
create policy notifications_insert_own on public.notifications
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy notifications_update_own on public.notifications
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy notifications_delete_own on public.notifications
  for delete to authenticated using ((select auth.uid()) = user_id);

comment on policy notifications_select_own on public.notifications is 'A user reads only their own notifications.';
comment on policy notifications_insert_own on public.notifications is 'A user (a workflow running as them) notifies only themselves.';
comment on policy notifications_update_own on public.notifications is 'A user marks only their own notifications read.';
comment on policy notifications_delete_own on public.notifications is 'A user deletes only their own notifications.';

-- ---------------------------------------------------------------------------
-- email_outbox
-- ---------------------------------------------------------------------------
create table public.email_outbox (
  id           uuid primary key default gen_random_uuid(),
  user_id      uuid not null default auth.uid() references auth.users (id) on delete cascade,
  workflow_id  uuid,
  execution_id uuid,
  recipient    text not null check (char_length(recipient) between 3 and 320),
  from_address text,
  subject      text not null,
  body         text not null,
  status       text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
  provider_id  text,
  error        text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  -- Mail outlives the workflow and run that queued it: only the link is
  -- cleared. Composite keys keep links within the owner's rows.
  constraint email_outbox_workflow_owner_fkey
    foreign key (workflow_id, user_id) references public.workflows (id, user_id)
    on delete set null (workflow_id),
  constraint email_outbox_execution_owner_fkey
    foreign key (execution_id, user_id) references public.workflow_executions (id, user_id)
    on delete set null (execution_id)
);

comment on table public.email_outbox is
  'Email queued by the send_email action (its embedded default executor), to be handed to a mail provider.';
comment on column public.email_outbox.user_id is 'Owner: the user whose workflow queued the mail.';
comment on column public.email_outbox.workflow_id is 'Origin (workflow_id, execution_id): the workflow and run that queued it; cleared if those are deleted.';
comment on column public.email_outbox.execution_id is 'The execution that queued it.';
comment on column public.email_outbox.recipient is 'Message (recipient, from_address, subject, body): the rendered mail; body is text or HTML.';
comment on column public.email_outbox.from_address is 'Sender address; null means the provider''s default.';
comment on column public.email_outbox.subject is 'Subject line.';
comment on column public.email_outbox.body is 'Body, text or HTML.';
comment on column public.email_outbox.status is 'Delivery (status, provider_id, error): queued, then sent or failed.';
comment on column public.email_outbox.provider_id is 'Message id returned by the mail provider.';
comment on column public.email_outbox.error is 'Last delivery error.';
comment on column public.email_outbox.created_at is 'Timestamps (created_at, updated_at); updated_at kept by public.set_updated_at().';

create index email_outbox_user_id_created_at_idx on public.email_outbox (user_id, created_at desc);
-- A sender picks queued mail oldest first.
create index email_outbox_status_created_at_idx on public.email_outbox (status, created_at);
-- Back the set-null foreign keys.
create index email_outbox_workflow_id_idx on public.email_outbox (workflow_id);
create index email_outbox_execution_id_idx on public.email_outbox (execution_id);

create trigger email_outbox_set_updated_at
  before update on public.email_outbox
  for each row execute function public.set_updated_at();

alter table public.email_outbox enable row level security;

create policy email_outbox_select_own on public.email_outbox
  for select to authenticated using ((select auth.uid()) = user_id);
create policy email_outbox_insert_own on public.email_outbox
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy email_outbox_update_own on public.email_outbox
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy email_outbox_delete_own on public.email_outbox
  for delete to authenticated using ((select auth.uid()) = user_id);

comment on policy email_outbox_select_own on public.email_outbox is 'A user reads only mail they queued.';
comment on policy email_outbox_insert_own on public.email_outbox is 'A user (a workflow running as them) queues mail only as themselves.';
comment on policy email_outbox_update_own on public.email_outbox is 'A user edits only their own queued mail and cannot give it away.';
comment on policy email_outbox_delete_own on public.email_outbox is 'A user deletes (cancels) only their own mail.';

-- ---------------------------------------------------------------------------
-- Privileges: as for workflows, start from nothing, grant back the API's four
-- commands to authenticated and service_role, nothing to anon.
-- ---------------------------------------------------------------------------
revoke all on table public.contacts, public.deals, public.notifications, public.email_outbox
  from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.contacts, public.deals, public.notifications, public.email_outbox
  to authenticated, service_role;

-- The workflow listing, as PostgREST runs it for user A (RLS adding the
-- owner filter), is served by workflows_user_id_updated_at_idx and never
-- scans or sorts the other users' rows, with 10,000 of them in the table.
begin;
\ir _helpers.psql
select plan(5);

insert into auth.users (id, email)
  select tests.id('other ' || g), 'other' || g || '@example.test' from generate_series(1, 100) g;
insert into public.workflows (user_id, name, updated_at)
  select tests.id('other ' || (g % 100 + 1)), 'other ' || g, now() - make_interval(secs => g)
  from generate_series(1, 10000) g;
insert into public.workflows (user_id, name, updated_at)
  select tests.user_a(), 'mine ' || g, now() - make_interval(mins => g) from generate_series(1, 5) g;
analyze public.workflows;

create function tests.plan_of(p_query text) returns text
language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || p_query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end;
$$;

select tests.act_as(tests.user_a());
select results_eq(
  'select name from public.workflows order by updated_at desc limit 50',
  $$select 'mine ' || g from generate_series(1, 5) g$$,
  'A lists exactly their five workflows, newest first');
select tests.plan_of('select * from public.workflows order by updated_at desc limit 50') as listing_plan \gset
select matches(:'listing_plan'::text, 'Index Scan using workflows_user_id_updated_at_idx on workflows',
  'the listing uses the (user_id, updated_at desc) index');
select doesnt_match(:'listing_plan'::text, 'Seq Scan', 'the listing does not scan the table');
select doesnt_match(:'listing_plan'::text, 'Sort', 'the listing needs no sort: the index yields updated_at order');
-- With the owner as a constant the planner may pick a bitmap scan of the same
-- index (it expects ~100 of A's rows); what matters is no sequential scan.
select tests.plan_of('select * from public.workflows where user_id = ''' || tests.user_a() || ''' order by updated_at desc limit 50 offset 50')
  as page_plan \gset
select ok(:'page_plan'::text ~ 'workflows_user_id_updated_at_idx' and :'page_plan'::text !~ 'Seq Scan',
  'a later page with an explicit owner filter is served by the index too');
select tests.act_as_owner();

select * from finish();
rollback;

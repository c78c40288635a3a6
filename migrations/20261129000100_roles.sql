-- Roles and the acting-user context that every row-level-security policy reads.
--
-- Migrations run as the owner role (the one in DOCKET_MIGRATION_DATABASE_URL). The owner must be a
-- superuser or have BYPASSRLS, because the access functions below are SECURITY DEFINER and read the
-- access tables, whose policies would otherwise call those same functions again.
--
-- The server runs as `docket_app`: it owns nothing, cannot bypass row-level security and is granted
-- only the privileges each table needs (see the grants at the end of every migration).

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'docket_app') then
        create role docket_app login nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
    end if;
end
$$;

revoke create on schema public from public;
grant usage on schema public to docket_app;

-- The user on whose behalf the current transaction acts. Set only by the server's tenant-transaction
-- helper with `set_config('docket.actor', ..., true)`, so it lasts exactly one transaction. Unset means
-- "nobody": every policy then admits nothing.
create function docket_actor() returns uuid
    language sql stable
as $$
    select nullif(current_setting('docket.actor', true), '')::uuid
$$;
comment on function docket_actor() is
    'The acting user of the current tenant transaction, or null outside one.';

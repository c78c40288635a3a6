-- Defence in depth inside the database. None of these was reachable through the API; each would
-- have turned one server bug (a query run without the tenant transaction, a definer function
-- called with someone else's id) into a breach:
--   1. credentials move out of user_account into user_credential, readable only by their owner;
--   2. client users see firm staff by name only (the `person` view), not their directory rows;
--   3. the database, not the caller, names the actor of every audit row;
--   4. definer functions act only for the transaction's actor, or only for the narrow
--      `docket_channel` role that the channel writer and node-level delivery assume explicitly;
--   5. no function is executable by PUBLIC.

-- 1. Credentials -----------------------------------------------------------------------------

create table user_credential (
    user_id            uuid primary key constraint user_credential_user_fkey references user_account on delete cascade,
    -- argon2id PHC string; null until the invitation is accepted.
    password_hash      text,
    -- The TOTP secret, sealed (XChaCha20-Poly1305) under a key derived from the server's
    -- key-encryption key, so a database dump alone does not yield second factors.
    totp_secret_sealed bytea,
    totp_enrolled_at   timestamptz,
    -- The last RFC 6238 time step accepted: a code for this step or an earlier one is refused.
    totp_last_step     bigint
);
comment on table user_credential is
    'A user''s password hash and second factor. Readable and writable only by a transaction acting as that user.';

insert into user_credential (user_id, password_hash, totp_secret_sealed, totp_enrolled_at, totp_last_step)
select user_id, password_hash, totp_secret_sealed, totp_enrolled_at, totp_last_step from user_account;

alter table user_account drop column password_hash, drop column totp_secret_sealed,
    drop column totp_enrolled_at, drop column totp_last_step;
comment on table user_account is
    'Firm staff and client users (no credentials: see user_credential). RLS admits self, firm and same-client rows.';

-- Every user has exactly one credential row, empty until they set a password.
create function user_account_credential() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    insert into user_credential (user_id) values (new.user_id);
    return new;
end
$$;
create trigger user_account_credential after insert on user_account
    for each row execute function user_account_credential();

alter table user_credential enable row level security;
alter table user_credential force row level security;
create policy user_credential_own on user_credential for select using (user_id = docket_actor());
create policy user_credential_own_update on user_credential for update
    using (user_id = docket_actor()) with check (user_id = docket_actor());
grant select on user_credential to docket_app;
grant update (password_hash, totp_secret_sealed, totp_enrolled_at, totp_last_step) on user_credential to docket_app;

-- The account behind an e-mail address, before anyone is signed in: no hash (the sign-in step
-- reads it acting as the claimed user), and nothing at all inside a transaction that already
-- acts for someone, so no signed-in request can use it to probe the directory.
drop function docket_sign_in_account(text);
create function docket_sign_in_account(p_email text)
    returns table (user_id uuid, status text, mfa_enrolled boolean)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select u.user_id, u.status, c.totp_enrolled_at is not null
    from user_account u join user_credential c using (user_id)
    where u.email = p_email and docket_actor() is null
$$;
comment on function docket_sign_in_account(text) is
    'Pre-sign-in look-up: the account''s id, status and whether MFA is enrolled. Answers nothing when an actor is set.';

-- 2. Client users see firm staff by name only -------------------------------------------------

drop policy user_account_select on user_account;
-- Firm users see the directory; client users see themselves and their colleagues. Firm staff are
-- named to client users through the `person` view, which shows names and nothing else.
create policy user_account_select on user_account for select
    using (user_id = docket_actor()
           or docket_actor_firm_role() is not null
           or client_id = docket_actor_client());

-- Names for labels: every firm user and every user the actor may see, by id, name and kind only.
-- A definer view (the owner's rights), so it can name firm staff to client users without opening
-- their directory rows; security_barrier keeps callers' predicates from seeing filtered rows.
create view person with (security_barrier) as
    select u.user_id, u.display_name, u.kind
    from user_account u
    where docket_actor() is not null
      and (u.kind = 'firm'
           or u.user_id = docket_actor()
           or docket_actor_firm_role() is not null
           or u.client_id = docket_actor_client());
comment on view person is
    'Display names: firm staff for anyone signed in, other users as user_account''s policy admits them.';
grant select on person to docket_app;

-- 3. The database names the actor of every audit row ------------------------------------------

-- The nil UUID is the system actor: command-line and background work set it explicitly, so
-- "nobody was signed in" (null) and "the system did it" stay distinguishable.
create function docket_system_actor() returns uuid
    language sql immutable
as $$ select '00000000-0000-0000-0000-000000000000'::uuid $$;

create function audit_event_attribute() returns trigger
    language plpgsql
as $$
begin
    if new.actor_id is not null and new.actor_id is distinct from docket_actor() then
        raise exception 'an audit row must name the transaction''s actor'
            using errcode = 'insufficient_privilege';
    end if;
    new.actor_id := docket_actor();
    return new;
end
$$;
-- Named to fire before audit_event_chain (triggers fire in name order), so the hash covers the
-- actor the database set.
create trigger audit_event_attribute before insert on audit_event
    for each row execute function audit_event_attribute();
revoke insert on audit_event from docket_app;
grant insert (device_id, source_ip, matter_id, client_id, action, target, detail) on audit_event to docket_app;

-- 4. Definer functions act for the actor, or for the channel role only --------------------------

-- The role the channel's batch writer and node-level delivery assume with `set local role` for
-- one transaction: it writes many authors' messages and relays events with no single actor.
-- docket_app (noinherit) holds none of its rights until it assumes it.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'docket_channel') then
        create role docket_channel nologin nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
    end if;
end
$$;
grant docket_channel to docket_app;
grant usage on schema public to docket_channel;
grant insert on channel_event to docket_channel;
grant execute on function docket_actor() to docket_channel;

-- Inserts: a signed-in request writes only as its actor, under the actor's own scopes; the
-- channel writer writes as each row's author, under that author's scopes, with no actor set.
drop policy channel_event_insert on channel_event;
create policy channel_event_insert on channel_event for insert to docket_app
    with check (author_id = docket_actor() and scope = any(docket_matter_scopes(matter_id)));
create policy channel_event_insert_writer on channel_event for insert to docket_channel
    with check (author_id is not null and docket_actor() is null
                and scope = any(docket_user_matter_scopes(author_id, matter_id)));

-- The next seq of one matter, for an event the actor writes in their own transaction (document
-- and milestone cards): only for a matter the actor may see; the insert policy then checks the
-- event's scope. The batch writer uses channel_allocate under docket_channel instead.
create function channel_next_seq(p_matter uuid) returns bigint
    language sql volatile security definer set search_path = public, pg_temp
as $$
    update channel_head set last_seq = last_seq + 1
    where matter_id = p_matter and cardinality(docket_matter_scopes(p_matter)) > 0
    returning last_seq
$$;
comment on function channel_next_seq(uuid) is
    'Reserves the next seq of a matter the acting user may see (null otherwise).';

-- The client users of a matter who may read its messages, for the participant list: only for a
-- matter the actor may see, so it can no longer be asked about any user on any matter.
create function matter_message_readers(p_matter uuid) returns setof uuid
    language sql stable security definer set search_path = public, pg_temp
as $$
    select c.user_id
    from matter m join user_account c on c.client_id = m.client_id
    where m.matter_id = p_matter and c.kind = 'client'
      and cardinality(docket_matter_scopes(p_matter)) > 0
      and 'messages' = any(docket_user_matter_scopes(c.user_id, p_matter))
$$;
comment on function matter_message_readers(uuid) is
    'Client users who may read a matter''s messages; empty unless the actor may see the matter.';

-- 5. Nothing is executable by PUBLIC; each role gets what its code path uses --------------------

do $$
declare f regprocedure;
begin
    for f in select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = 'public' loop
        execute format('revoke execute on function %s from public', f);
    end loop;
end
$$;
revoke execute on function docket_user_matter_scopes(uuid, uuid), channel_allocate(uuid[], int[]),
    channel_find_sent(uuid[], uuid[], uuid[]), channel_delivery_events(uuid, bigint, int),
    channel_last_seq(uuid) from docket_app;
grant execute on function docket_user_matter_scopes(uuid, uuid), channel_allocate(uuid[], int[]),
    channel_find_sent(uuid[], uuid[], uuid[]), channel_delivery_events(uuid, bigint, int),
    channel_last_seq(uuid) to docket_channel;
grant execute on function docket_actor(), docket_matter_scopes(uuid), docket_actor_firm_role(),
    docket_actor_client(), docket_sign_in_account(text), docket_session_by_token(bytea),
    docket_invitation_user(bytea, timestamptz), audit_event_ensure_partitions(timestamptz),
    matter_activity(uuid[], int), docket_client_sees_category(uuid, text),
    docket_default_milestones(text), channel_next_seq(uuid), matter_message_readers(uuid)
    to docket_app;
-- Functions the owner creates in later migrations start closed too: each grants what it needs.
alter default privileges revoke execute on functions from public;

-- Security alerts: a second factor locked by wrong codes.
alter table user_alert drop constraint user_alert_kind_check;
alter table user_alert add constraint user_alert_kind_check
    check (kind in ('new_device', 'client_upload', 'mfa_locked'));

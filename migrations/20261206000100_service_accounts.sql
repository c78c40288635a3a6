-- Service accounts: the firm's own systems (its billing or practice-management system, its DMS)
-- and Stripe's webhooks act as principals of their own, never through a person's session.
--
-- A service account is a `user_account` of kind 'service' (so every column that names who did
-- something, every audit row and every card's author can name it) with one `service_credential`:
-- what it may do (scopes), the digest of its bearer token, its expiry and its revocation. It holds
-- no password, no second factor and no session. In the database it acts on every matter of the
-- firm, but only in the matter scopes its service scopes imply:
--   dms      -> documents (it pushes document versions, never publishes them);
--   billing  -> invoices  (it issues invoices, credit notes, time entries and billing schedules);
--   payments -> invoices  (Stripe's webhooks record payments; built in, authenticated by signature).
-- The server admits a service token only on that service's integration endpoints.

alter table user_account drop constraint user_account_kind_check;
alter table user_account add constraint user_account_kind_check
    check (kind in ('firm', 'client', 'service'));
alter table user_account drop constraint user_account_shape_check;
alter table user_account add constraint user_account_shape_check check (
    (kind = 'firm' and firm_role is not null and client_id is null and client_role is null)
    or (kind = 'client' and firm_role is null and client_id is not null and client_role is not null)
    or (kind = 'service' and firm_role is null and client_id is null and client_role is null)
);
comment on table user_account is
    'Firm staff, client users and service accounts (no credentials: see user_credential and service_credential).';

create table service_credential (
    user_id      uuid primary key constraint service_credential_user_fkey references user_account on delete cascade,
    scopes       text[] not null constraint service_credential_scopes_check
        check (cardinality(scopes) > 0 and scopes <@ array['billing', 'dms', 'payments']),
    -- SHA-256 of the bearer token (256 random bits, so a plain digest suffices, as for sessions).
    -- Null only for the built-in payments account, which Stripe's signature authenticates.
    token_hash   bytea constraint service_credential_token_key unique,
    created_by   uuid constraint service_credential_created_by_fkey references user_account,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    revoked_by   uuid constraint service_credential_revoked_by_fkey references user_account,
    last_used_at timestamptz,
    constraint service_credential_shape_check check (
        (token_hash is null and scopes = array['payments'])
        or (token_hash is not null and not 'payments' = any(scopes))
    )
);
comment on table service_credential is
    'What a service account may do and the digest of its token; revocable, optionally expiring.';

-- Stripe's webhooks act as this built-in account (a fixed id, so every node and the tests agree).
insert into user_account (user_id, email, display_name, kind, status)
values ('00000000-0000-7000-8000-00000000057e', 'payments@service.docket.invalid', 'Card payments (Stripe)',
        'service', 'active');
insert into service_credential (user_id, scopes) values ('00000000-0000-7000-8000-00000000057e', array['payments']);

-- The service scopes an account holds now: empty unless it is an active service account whose
-- credential is neither revoked nor expired.
create function docket_service_scopes(p_user uuid) returns text[]
    language sql stable security definer set search_path = public, pg_temp
as $$
    select coalesce((
        select c.scopes from service_credential c join user_account u using (user_id)
        where c.user_id = p_user and u.kind = 'service' and u.status = 'active'
          and c.revoked_at is null and (c.expires_at is null or c.expires_at > now())
    ), '{}')
$$;

create function docket_actor_service_scopes() returns text[]
    language sql stable security definer set search_path = public, pg_temp
as $$ select docket_service_scopes(docket_actor()) $$;
comment on function docket_actor_service_scopes() is
    'Service scopes of the acting service account; empty for people and for revoked or expired credentials.';

-- Acting for the firm: a firm user, or one of the firm's (active) service accounts.
create function docket_actor_firm_side() returns boolean
    language sql stable security definer set search_path = public, pg_temp
as $$ select docket_actor_firm_role() is not null or cardinality(docket_actor_service_scopes()) > 0 $$;

-- The presented token's account, before anyone acts: nothing inside a transaction that already
-- acts for someone, so no request can use it to probe credentials.
create function docket_service_by_token(p_hash bytea)
    returns table (user_id uuid, display_name text, scopes text[], expires_at timestamptz,
                   revoked_at timestamptz, status text, last_used_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select u.user_id, u.display_name, c.scopes, c.expires_at, c.revoked_at, u.status, c.last_used_at
    from service_credential c join user_account u using (user_id)
    where c.token_hash = p_hash and docket_actor() is null
$$;

-- The access policy gains the service branch; the firm and client branches are unchanged.
create or replace function docket_user_matter_scopes(p_user uuid, p_matter uuid) returns text[]
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return coalesce((
        select case
            when u.kind = 'firm' and (
                u.firm_role in ('admin', 'partner')
                or m.responsible_fee_earner_id = u.user_id
                or exists (select 1 from matter_team t where t.matter_id = m.matter_id and t.user_id = u.user_id))
                then array['messages', 'documents', 'milestones', 'invoices']
            when u.kind = 'client' and m.client_id = u.client_id and pa.portal_enabled then
                case u.client_role
                    when 'client_admin' then array['messages', 'documents', 'milestones', 'invoices']
                    when 'finance' then array['invoices']
                    else coalesce((select g.scopes from matter_grant g
                                   where g.matter_id = m.matter_id and g.user_id = u.user_id), '{}')
                end
            when u.kind = 'service' then
                (select array_remove(array[
                     case when 'dms' = any(s.s) then 'documents' end,
                     case when s.s && array['billing', 'payments'] then 'invoices' end], null)
                 from docket_service_scopes(u.user_id) as s(s))
            else '{}'::text[]
        end
        from user_account u, matter m join practice_area pa on pa.practice_area_id = m.practice_area_id
        where u.user_id = p_user and u.status = 'active' and m.matter_id = p_matter
    ), '{}');
end
$$;

alter table service_credential enable row level security;
alter table service_credential force row level security;
-- Firm admins manage every credential; an account reads and touches (last_used_at) its own.
create policy service_credential_admin on service_credential for all
    using (docket_actor_firm_role() = 'admin') with check (docket_actor_firm_role() = 'admin');
create policy service_credential_own on service_credential for select using (user_id = docket_actor());
create policy service_credential_touch on service_credential for update
    using (user_id = docket_actor() and cardinality(docket_actor_service_scopes()) > 0)
    with check (user_id = docket_actor());
grant select, insert on service_credential to docket_app;
grant update (revoked_at, revoked_by, last_used_at) on service_credential to docket_app;

-- Service accounts see the clients (the matter's facts join them) and are named like staff.
drop policy client_select on client;
create policy client_select on client for select
    using (docket_actor_firm_side() or client_id = docket_actor_client());

create or replace view person with (security_barrier) as
    select u.user_id, u.display_name, u.kind
    from user_account u
    where docket_actor() is not null
      and (u.kind in ('firm', 'service')
           or u.user_id = docket_actor()
           or docket_actor_firm_role() is not null
           or u.client_id = docket_actor_client());

-- Documents: the firm side is a firm user or a service account (the DMS). Scopes still decide
-- which matters and which documents.
drop policy document_select on document;
create policy document_select on document for select
    using (case when docket_actor_firm_side()
                then cardinality(docket_matter_scopes(matter_id)) > 0
                else published_number is not null and docket_client_sees_category(matter_id, category)
           end);
drop policy document_update on document;
create policy document_update on document for update
    using (docket_actor_firm_side() and 'documents' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_firm_side());
drop policy document_version_select on document_version;
create policy document_version_select on document_version for select
    using (case when docket_actor_firm_side()
                then cardinality(docket_matter_scopes(matter_id)) > 0
                else state = 'published'
                     and exists (select 1 from document d where d.document_id = document_version.document_id)
           end);
-- Only the DMS's own account pushes 'dms' versions.
drop policy document_version_insert on document_version;
create policy document_version_insert on document_version for insert
    with check (uploaded_by = docket_actor()
                and 'documents' = any(docket_matter_scopes(matter_id))
                and (origin = 'client') = not docket_actor_firm_side()
                and (origin <> 'dms' or 'dms' = any(docket_actor_service_scopes())));
drop policy document_version_update on document_version;
create policy document_version_update on document_version for update
    using (docket_actor_firm_side() and 'documents' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_firm_side());

grant execute on function docket_actor_service_scopes(), docket_actor_firm_side(),
    docket_service_by_token(bytea) to docket_app;

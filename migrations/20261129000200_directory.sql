-- The directory: practice areas, clients, users, matters and who may see which matter.

-- Practice areas gate the rollout: a matter is visible to client users only while its area's portal
-- is enabled. Practice areas hold firm configuration, not client data, so they carry no RLS.
create table practice_area (
    practice_area_id  uuid primary key,
    name              text not null constraint practice_area_name_key unique,
    portal_enabled    boolean not null default false,
    -- How much of the matter's progress clients see: a step-by-step path or a few stages.
    detail_level      text not null default 'high_level'
        constraint practice_area_detail_level_check check (detail_level in ('detailed', 'high_level')),
    show_time_entries boolean not null default false,
    created_at        timestamptz not null default now()
);
comment on table practice_area is 'A practice area of the firm and its portal settings.';

create table client (
    client_id  uuid primary key,
    kind       text not null constraint client_kind_check check (kind in ('corporate', 'private')),
    name       text not null constraint client_name_check check (length(name) between 1 and 200),
    created_at timestamptz not null default now()
);
comment on table client is 'A client of the firm: an organisation or a private individual.';

create table user_account (
    user_id            uuid primary key,
    -- Stored lower-cased and trimmed; unique across firm and client users.
    email              text not null constraint user_account_email_key unique,
    display_name       text not null constraint user_account_display_name_check
        check (length(display_name) between 1 and 200),
    kind               text not null constraint user_account_kind_check check (kind in ('firm', 'client')),
    firm_role          text constraint user_account_firm_role_check
        check (firm_role in ('admin', 'partner', 'fee_earner', 'staff')),
    client_id          uuid constraint user_account_client_fkey references client,
    -- client_admin sees every matter of the client (e.g. general counsel); finance sees the invoices
    -- of every matter of the client; member sees only the matters granted to them.
    client_role        text constraint user_account_client_role_check
        check (client_role in ('client_admin', 'member', 'finance')),
    status             text not null default 'invited'
        constraint user_account_status_check check (status in ('invited', 'active', 'disabled')),
    -- argon2id PHC string; null until the invitation is accepted.
    password_hash      text,
    -- The TOTP secret, sealed (XChaCha20-Poly1305) under a key derived from the server's
    -- key-encryption key, so a database dump alone does not yield second factors.
    totp_secret_sealed bytea,
    totp_enrolled_at   timestamptz,
    -- The last RFC 6238 time step accepted: a code for this step or an earlier one is refused.
    totp_last_step     bigint,
    created_at         timestamptz not null default now(),
    constraint user_account_shape_check check (
        (kind = 'firm' and firm_role is not null and client_id is null and client_role is null)
        or (kind = 'client' and firm_role is null and client_id is not null and client_role is not null)
    )
);
comment on table user_account is 'Firm staff and client users. Holds credentials: RLS admits self, firm and same-client rows.';
create index user_account_client_idx on user_account (client_id);

create table matter (
    matter_id                 uuid primary key,
    reference                 text not null constraint matter_reference_key unique,
    title                     text not null constraint matter_title_check check (length(title) between 1 and 300),
    client_id                 uuid not null constraint matter_client_fkey references client,
    practice_area_id          uuid not null constraint matter_practice_area_fkey references practice_area,
    responsible_fee_earner_id uuid not null constraint matter_responsible_fkey references user_account,
    status                    text not null default 'open'
        constraint matter_status_check check (status in ('open', 'closed')),
    -- e2ee matters carry their channel as MLS ciphertext the server cannot read.
    sensitivity               text not null default 'standard'
        constraint matter_sensitivity_check check (sensitivity in ('standard', 'e2ee')),
    opened_at                 timestamptz not null default now(),
    closed_at                 timestamptz
);
comment on table matter is 'A legal matter: the unit of isolation. Every client-data row hangs off one.';
create index matter_client_idx on matter (client_id);

create table matter_team (
    matter_id uuid not null constraint matter_team_matter_fkey references matter on delete cascade,
    user_id   uuid not null constraint matter_team_user_fkey references user_account,
    added_at  timestamptz not null default now(),
    constraint matter_team_pkey primary key (matter_id, user_id)
);
comment on table matter_team is 'Firm users working on a matter besides the responsible fee earner.';

create table matter_grant (
    matter_id  uuid not null constraint matter_grant_matter_fkey references matter on delete cascade,
    user_id    uuid not null constraint matter_grant_user_fkey references user_account,
    scopes     text[] not null constraint matter_grant_scopes_check
        check (cardinality(scopes) > 0 and scopes <@ array['messages', 'documents', 'milestones', 'invoices']),
    granted_by uuid constraint matter_grant_granted_by_fkey references user_account,
    granted_at timestamptz not null default now(),
    constraint matter_grant_pkey primary key (matter_id, user_id)
);
comment on table matter_grant is 'What a client user (role member) may see of one matter, by scope.';
create index matter_grant_user_idx on matter_grant (user_id);

-- A grant may only name a client user of the matter's own client. Checked here as well as in the
-- server, because a grant across clients is exactly the breach the portal must never allow.
create function matter_grant_same_client() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if not exists (
        select 1 from matter m join user_account u on u.client_id = m.client_id
        where m.matter_id = new.matter_id and u.user_id = new.user_id and u.kind = 'client'
    ) then
        raise exception 'a matter grant must name a user of the matter''s client'
            using errcode = 'check_violation', constraint = 'matter_grant_same_client';
    end if;
    return new;
end
$$;
create trigger matter_grant_same_client before insert or update on matter_grant
    for each row execute function matter_grant_same_client();

-- The scopes the acting user holds on a matter: the database's copy of the server's access policy
-- (server/src/access/policy.rs), the second and independent wall. Empty when the matter is not
-- visible to the actor. Firm admins and partners see every matter; other firm users see the matters
-- they are responsible for or on the team of. Client users see only their own client's matters, and
-- only while the matter's practice area has the portal enabled.
create function docket_matter_scopes(p_matter uuid) returns text[]
    language sql stable security definer set search_path = public, pg_temp
as $$
    select coalesce((
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
            else '{}'::text[]
        end
        from user_account u, matter m join practice_area pa on pa.practice_area_id = m.practice_area_id
        where u.user_id = docket_actor() and u.status = 'active' and m.matter_id = p_matter
    ), '{}')
$$;
comment on function docket_matter_scopes(uuid) is
    'Scopes the acting user holds on a matter; empty if the matter is invisible to them.';

-- The acting user's kind and role, for policies on directory tables.
create function docket_actor_firm_role() returns text
    language sql stable security definer set search_path = public, pg_temp
as $$
    select firm_role from user_account
    where user_id = docket_actor() and kind = 'firm' and status = 'active'
$$;

create function docket_actor_client() returns uuid
    language sql stable security definer set search_path = public, pg_temp
as $$
    select client_id from user_account
    where user_id = docket_actor() and kind = 'client' and status = 'active'
$$;

alter table client enable row level security;
alter table client force row level security;
create policy client_select on client for select
    using (docket_actor_firm_role() is not null or client_id = docket_actor_client());
create policy client_write on client for all
    using (docket_actor_firm_role() in ('admin', 'partner'))
    with check (docket_actor_firm_role() in ('admin', 'partner'));

alter table user_account enable row level security;
alter table user_account force row level security;
-- Firm users see the directory; client users see themselves, their colleagues and firm staff.
create policy user_account_select on user_account for select
    using (user_id = docket_actor()
           or docket_actor_firm_role() is not null
           or kind = 'firm' and docket_actor() is not null
           or client_id = docket_actor_client());
create policy user_account_update_self on user_account for update
    using (user_id = docket_actor()) with check (user_id = docket_actor());
create policy user_account_update_admin on user_account for update
    using (docket_actor_firm_role() = 'admin') with check (docket_actor_firm_role() = 'admin');
-- Any firm user may invite client users; only firm admins add firm users.
create policy user_account_insert on user_account for insert
    with check (kind = 'client' and docket_actor_firm_role() is not null
                or docket_actor_firm_role() = 'admin');

alter table matter enable row level security;
alter table matter force row level security;
create policy matter_select on matter for select
    using (cardinality(docket_matter_scopes(matter_id)) > 0);
create policy matter_insert on matter for insert
    with check (docket_actor_firm_role() in ('admin', 'partner'));
create policy matter_update on matter for update
    using (docket_actor_firm_role() is not null and cardinality(docket_matter_scopes(matter_id)) > 0)
    with check (docket_actor_firm_role() is not null);

alter table matter_team enable row level security;
alter table matter_team force row level security;
create policy matter_team_select on matter_team for select
    using (cardinality(docket_matter_scopes(matter_id)) > 0);
create policy matter_team_write on matter_team for all
    using (docket_actor_firm_role() in ('admin', 'partner'))
    with check (docket_actor_firm_role() in ('admin', 'partner'));

alter table matter_grant enable row level security;
alter table matter_grant force row level security;
-- Firm users on the matter see every grant; a client user sees only their own.
create policy matter_grant_select on matter_grant for select
    using (cardinality(docket_matter_scopes(matter_id)) > 0
           and (docket_actor_firm_role() is not null or user_id = docket_actor()));
create policy matter_grant_write on matter_grant for all
    using (docket_actor_firm_role() is not null and cardinality(docket_matter_scopes(matter_id)) > 0)
    with check (docket_actor_firm_role() is not null and cardinality(docket_matter_scopes(matter_id)) > 0);

grant select on practice_area to docket_app;
grant select, insert on client to docket_app;
grant update (name) on client to docket_app;
grant select, insert on user_account to docket_app;
grant update (display_name, status, password_hash, totp_secret_sealed, totp_enrolled_at, totp_last_step)
    on user_account to docket_app;
grant select, insert on matter to docket_app;
grant update (title, status, closed_at, responsible_fee_earner_id) on matter to docket_app;
grant select, insert, delete on matter_team to docket_app;
grant select, insert, update, delete on matter_grant to docket_app;
grant execute on function docket_actor(), docket_matter_scopes(uuid), docket_actor_firm_role(),
    docket_actor_client() to docket_app;

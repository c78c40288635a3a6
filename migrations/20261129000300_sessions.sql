-- Sign-in state: devices, sessions, recovery codes, invitations, alerts and sign-in throttling.
-- Every row here belongs to one user and RLS admits only that user (the server acts as the user
-- from the moment the password is verified). The few look-ups that must happen before anyone is
-- signed in go through the narrow SECURITY DEFINER functions at the end of this file.

create table device (
    device_id     uuid primary key,
    user_id       uuid not null constraint device_user_fkey references user_account on delete cascade,
    -- SHA-256 of the device token kept by the browser (HttpOnly cookie) or the SDK.
    token_hash    bytea not null constraint device_token_hash_key unique,
    label         text not null,
    first_seen_at timestamptz not null,
    last_seen_at  timestamptz not null,
    revoked_at    timestamptz
);
comment on table device is 'A browser or app a user has signed in from; a new one alerts the user.';
create index device_user_idx on device (user_id);

create table session (
    session_id          uuid primary key,
    user_id             uuid not null constraint session_user_fkey references user_account on delete cascade,
    device_id           uuid not null constraint session_device_fkey references device on delete cascade,
    -- SHA-256 of the bearer/cookie token; the token itself is never stored. Replaced when the
    -- session's privilege changes (MFA completed), so a token seen before MFA is worthless after.
    token_hash          bytea not null constraint session_token_hash_key unique,
    -- SHA-256 of the CSRF token that cookie-authenticated unsafe requests must echo in a header.
    csrf_hash           bytea not null,
    stage               text not null constraint session_stage_check
        check (stage in ('mfa_required', 'mfa_enrolment_required', 'active')),
    -- A TOTP secret being enrolled, sealed like user_account.totp_secret_sealed, until confirmed.
    pending_totp_sealed bytea,
    created_at          timestamptz not null,
    last_seen_at        timestamptz not null,
    -- Absolute end of the session, whatever the activity.
    expires_at          timestamptz not null,
    -- Last time the user re-entered password and code; sensitive changes require it to be recent.
    reauthenticated_at  timestamptz,
    source_ip           inet,
    user_agent          text,
    revoked_at          timestamptz,
    revoked_reason      text
);
comment on table session is 'A signed-in (or signing-in) session. Idle and absolute limits are enforced by the server.';
create index session_user_idx on session (user_id);

create table recovery_code (
    user_id   uuid not null constraint recovery_code_user_fkey references user_account on delete cascade,
    -- SHA-256 of the code. Codes carry about 59 random bits and sign-in is throttled, so a fast hash is enough and keeps
    -- checking ten of them cheap.
    code_hash bytea not null,
    used_at   timestamptz,
    constraint recovery_code_pkey primary key (user_id, code_hash)
);
comment on table recovery_code is 'One-time MFA recovery codes, stored hashed.';

create table invitation (
    invitation_id uuid primary key,
    user_id       uuid not null constraint invitation_user_fkey references user_account on delete cascade,
    token_hash    bytea not null constraint invitation_token_hash_key unique,
    invited_by    uuid constraint invitation_invited_by_fkey references user_account,
    created_at    timestamptz not null,
    expires_at    timestamptz not null,
    accepted_at   timestamptz
);
comment on table invitation is 'A one-time, expiring link that lets an invited user set a password.';
create index invitation_user_idx on invitation (user_id);

create table user_alert (
    alert_id   uuid primary key,
    user_id    uuid not null constraint user_alert_user_fkey references user_account on delete cascade,
    kind       text not null constraint user_alert_kind_check check (kind in ('new_device')),
    -- Kind-specific facts for display, e.g. the device label and address of a new sign-in.
    body       jsonb not null,
    created_at timestamptz not null,
    read_at    timestamptz
);
comment on table user_alert is 'Something a user must be told; the notification work delivers it.';
create index user_alert_user_idx on user_alert (user_id, created_at);

-- Failed sign-ins per account and per source address. Keys are 'account:<sha256 of e-mail>' or
-- 'address:<ip>': no client data, so no RLS; the runtime role manages it directly.
create table sign_in_throttle (
    throttle_key    text primary key,
    failures        integer not null,
    last_failure_at timestamptz not null,
    locked_until    timestamptz
);
comment on table sign_in_throttle is 'Back-off state for failed sign-in and MFA attempts.';

do $$
declare t text;
begin
    foreach t in array array['device', 'session', 'recovery_code', 'user_alert'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy %I on %I for all using (user_id = docket_actor())'
                       ' with check (user_id = docket_actor())', t || '_own', t);
    end loop;
end
$$;
-- Alerts are raised for other people too (a client's upload alerts the fee earner).
create policy user_alert_raise on user_alert for insert with check (docket_actor() is not null);

alter table invitation enable row level security;
alter table invitation force row level security;
create policy invitation_firm on invitation for all
    using (docket_actor_firm_role() is not null) with check (docket_actor_firm_role() is not null);
create policy invitation_own on invitation for select using (user_id = docket_actor());
create policy invitation_accept on invitation for update
    using (user_id = docket_actor()) with check (user_id = docket_actor());

-- Look-ups before anyone is signed in. Each returns the least it can.

-- The account behind an e-mail address, for password verification.
create function docket_sign_in_account(p_email text)
    returns table (user_id uuid, password_hash text, status text, mfa_enrolled boolean)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select user_id, password_hash, status, totp_enrolled_at is not null
    from user_account where email = p_email
$$;

-- The session (and its user) behind a token hash.
create function docket_session_by_token(p_token_hash bytea)
    returns table (session_id uuid, user_id uuid, device_id uuid, stage text, csrf_hash bytea,
                   created_at timestamptz, last_seen_at timestamptz, expires_at timestamptz,
                   reauthenticated_at timestamptz, revoked_at timestamptz, user_status text,
                   kind text, firm_role text, client_id uuid, client_role text, display_name text,
                   email text, device_revoked_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select s.session_id, s.user_id, s.device_id, s.stage, s.csrf_hash, s.created_at, s.last_seen_at,
           s.expires_at, s.reauthenticated_at, s.revoked_at, u.status, u.kind, u.firm_role,
           u.client_id, u.client_role, u.display_name, u.email, d.revoked_at
    from session s
    join user_account u on u.user_id = s.user_id
    join device d on d.device_id = s.device_id
    where s.token_hash = p_token_hash
$$;

-- The user an unexpired, unaccepted invitation is for.
create function docket_invitation_user(p_token_hash bytea, p_now timestamptz) returns uuid
    language sql stable security definer set search_path = public, pg_temp
as $$
    select user_id from invitation
    where token_hash = p_token_hash and accepted_at is null and expires_at > p_now
$$;

grant select, insert, update, delete on device, session, recovery_code to docket_app;
grant select, insert, update on user_alert to docket_app;
grant select, insert, update on invitation to docket_app;
grant select, insert, update, delete on sign_in_throttle to docket_app;
grant execute on function docket_sign_in_account(text), docket_session_by_token(bytea),
    docket_invitation_user(bytea, timestamptz) to docket_app;

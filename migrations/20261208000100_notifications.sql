-- Notifications beyond the open tab (issue 14, decision 0033): what each user wants to be told and
-- how, the push subscriptions of their devices, the notifications themselves with the state of
-- each delivery, the digest, and the clock that escalates an unanswered client.
--
-- A notification is one row per recipient and subject, written by the change that causes it (or,
-- for channel events, by the outbox consumer that reads them) with an outbox row of its own, due
-- when the notification is. Until it is sent, later news of the same kind on the same matter folds
-- into it (its count grows): ten quick messages make one notification saying so. The dispatcher
-- that claims the outbox row applies the rules (still entitled? looking at the matter? quiet
-- hours? preferences?) and delivers; each delivery it completes is recorded here in the same
-- transaction, so a retry never repeats one, and a node that dies mid-send leaves the row whole.

-- The kinds a user tunes: message, document, client_upload, review, client_action, invoice,
-- payment. Security notices (a new device, a locked second factor) are not among them: they cannot
-- be turned off.
create table notification_preference (
    user_id    uuid not null constraint notification_preference_user_fkey references user_account on delete cascade,
    kind       text not null constraint notification_preference_kind_check check (kind in ('message', 'document', 'client_upload', 'review', 'client_action', 'invoice', 'payment')),
    channel    text not null constraint notification_preference_channel_check check (channel in ('in_app', 'push', 'email')),
    frequency  text not null constraint notification_preference_frequency_check
        check (frequency in ('immediate', 'digest', 'off')),
    updated_at timestamptz not null default now(),
    constraint notification_preference_pkey primary key (user_id, kind, channel),
    -- A digest is an e-mail.
    constraint notification_preference_digest_check check (frequency <> 'digest' or channel = 'email')
);
comment on table notification_preference is
    'A user''s own choice for one kind on one channel; absent means the practice area''s or the built-in default.';

-- The firm's defaults per practice area and audience (firm users or client users). Firm
-- configuration, no client data: like practice_area, no row-level security, and written only
-- through practice_area_set_notification_default (firm admins and partners).
create table practice_area_notification_default (
    practice_area_id uuid not null constraint pand_area_fkey references practice_area on delete cascade,
    audience         text not null constraint pand_audience_check check (audience in ('firm', 'client')),
    kind             text not null constraint pand_kind_check check (kind in ('message', 'document', 'client_upload', 'review', 'client_action', 'invoice', 'payment')),
    channel          text not null constraint pand_channel_check check (channel in ('in_app', 'push', 'email')),
    frequency        text not null constraint pand_frequency_check check (frequency in ('immediate', 'digest', 'off')),
    constraint pand_pkey primary key (practice_area_id, audience, kind, channel),
    constraint pand_digest_check check (frequency <> 'digest' or channel = 'email')
);
comment on table practice_area_notification_default is
    'The firm''s default for one kind on one channel, per practice area and audience.';

-- When to interrupt: quiet hours (firm users) in the user's time zone, and the digest's hour.
create table notification_schedule (
    user_id     uuid primary key constraint notification_schedule_user_fkey references user_account on delete cascade,
    -- An IANA name Postgres knows (pg_timezone_names); checked when written.
    time_zone   text not null default 'Europe/London',
    quiet_start time,
    quiet_end   time,
    digest_hour smallint not null default 8 constraint notification_schedule_digest_hour_check
        check (digest_hour between 0 and 23),
    updated_at  timestamptz not null default now(),
    constraint notification_schedule_quiet_check check (
        (quiet_start is null) = (quiet_end is null) and (quiet_start is null or quiet_start <> quiet_end))
);
comment on table notification_schedule is 'A user''s quiet hours and digest hour, in their time zone.';

-- One Web Push subscription per device (RFC 8030): where the browser's push service takes
-- messages for it, and the keys that encrypt them for that browser alone (RFC 8291).
create table push_subscription (
    device_id       uuid primary key constraint push_subscription_device_fkey references device on delete cascade,
    user_id         uuid not null constraint push_subscription_user_fkey references user_account on delete cascade,
    endpoint        text not null constraint push_subscription_endpoint_check check (length(endpoint) between 12 and 2048),
    -- The browser's P-256 public key (uncompressed point) and its 16-byte authentication secret.
    p256dh          bytea not null constraint push_subscription_p256dh_check check (length(p256dh) = 65),
    auth            bytea not null constraint push_subscription_auth_check check (length(auth) = 16),
    created_at      timestamptz not null default now()
);
comment on table push_subscription is 'Where to push to one device; removed when the push service answers 404 or 410.';
create index push_subscription_user_idx on push_subscription (user_id);

create table notification (
    notification_id uuid primary key,
    user_id         uuid not null constraint notification_user_fkey references user_account on delete cascade,
    matter_id       uuid constraint notification_matter_fkey references matter on delete cascade,
    kind            text not null constraint notification_kind_check
        check (kind in ('message', 'document', 'client_upload', 'review', 'client_action', 'invoice', 'payment', 'security')),
    -- What the notice may name besides the matter (a device's label for a security notice), never
    -- content: see notify::Detail.
    detail          jsonb not null default '{}',
    -- Pending notifications with the same key fold together; null for ones that never fold.
    coalesce_key    text,
    count           int not null default 1 constraint notification_count_check check (count >= 1),
    first_at        timestamptz not null default clock_timestamp(),
    last_at         timestamptz not null default clock_timestamp(),
    due_at          timestamptz not null,
    state           text not null default 'pending'
        constraint notification_state_check check (state in ('pending', 'sent', 'suppressed')),
    -- Why it was suppressed (viewing, no_access, muted), or which channels took it.
    outcome         text,
    -- A device not to push to (the new device a security notice is about).
    exclude_device  uuid,
    settled_at      timestamptz
);
comment on table notification is 'One notice for one user, folding later news of its kind until it is sent.';
create unique index notification_pending_key on notification (user_id, coalesce_key)
    where state = 'pending' and coalesce_key is not null;
create index notification_recent_idx on notification (user_id, coalesce_key, settled_at desc)
    where state = 'sent';
-- Settled notifications are forgotten after a month (notify::schedule).
create index notification_settled_idx on notification (settled_at) where state <> 'pending';

-- What has been delivered, per channel and target (a device for push): a retry skips these. A
-- digest entry waits with delivered_at null until the user's digest goes.
create table notification_delivery (
    notification_id uuid not null constraint notification_delivery_notification_fkey
        references notification on delete cascade,
    channel         text not null constraint notification_delivery_channel_check
        check (channel in ('in_app', 'push', 'email', 'digest')),
    target          text not null,
    delivered_at    timestamptz,
    user_id         uuid not null,
    constraint notification_delivery_pkey primary key (notification_id, channel, target)
);
create index notification_digest_due_idx on notification_delivery (user_id)
    where channel = 'digest' and delivered_at is null;

-- Server secrets sealed under the key-encryption key (the VAPID signing key).
create table server_secret (
    name       text primary key,
    sealed     bytea not null,
    -- The fingerprint of the key-encryption key that sealed it (keys rotate).
    key_id     text not null,
    created_at timestamptz not null default now()
);
comment on table server_secret is 'Secrets the server generated, sealed under the key-encryption key.';

-- Escalation: who supervises a matter, after how many working hours an unanswered client is
-- raised again, and the matter's current wait.
alter table matter add column supervising_partner_id uuid
    constraint matter_supervising_partner_fkey references user_account;
comment on column matter.supervising_partner_id is 'The partner an unanswered client escalates to.';
alter table practice_area add column escalation_working_hours int
    constraint practice_area_escalation_check check (escalation_working_hours between 1 and 400);
comment on column practice_area.escalation_working_hours is
    'Working hours a client message may wait for the firm''s answer before the fee earner, then the supervising partner, is alerted; null for never.';

create table matter_reply_wait (
    matter_id     uuid primary key constraint matter_reply_wait_matter_fkey references matter on delete cascade,
    -- The first client message the firm has not answered.
    since         timestamptz not null,
    since_seq     bigint not null,
    -- 0 waiting, 1 the responsible fee earner was alerted again, 2 the supervising partner was.
    level         smallint not null default 0 constraint matter_reply_wait_level_check check (level between 0 and 2),
    escalated_at  timestamptz
);
comment on table matter_reply_wait is 'A client waiting for the firm''s answer on a matter, and how far it was escalated.';

-- Invoices tell the client once when they fall overdue.
alter table invoice add column overdue_notified_at timestamptz;

-- The in-app side of a notification is an alert.
alter table user_alert drop constraint user_alert_kind_check;
alter table user_alert add constraint user_alert_kind_check
    check (kind in ('new_device', 'client_upload', 'mfa_locked', 'payment', 'notice', 'escalation'));

-- Row-level security. A user reads and writes their own preferences, schedule and subscriptions;
-- the notifier (docket_channel, acting for no user) reads them all. Notifications and deliveries
-- are the notifier's alone: requests raise them through notification_enqueue.
do $$
declare
    t text;
begin
    foreach t in array array['notification_preference', 'notification_schedule', 'push_subscription',
                             'notification', 'notification_delivery', 'matter_reply_wait'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
    end loop;
end
$$;
create policy notification_preference_own on notification_preference for all to docket_app
    using (user_id = docket_actor()) with check (user_id = docket_actor());
create policy notification_schedule_own on notification_schedule for all to docket_app
    using (user_id = docket_actor()) with check (user_id = docket_actor());
create policy push_subscription_own on push_subscription for all to docket_app
    using (user_id = docket_actor())
    with check (user_id = docket_actor()
                and exists (select 1 from device d where d.device_id = push_subscription.device_id
                            and d.user_id = docket_actor() and d.revoked_at is null));
create policy notification_preference_notifier on notification_preference for select to docket_channel using (true);
create policy notification_schedule_notifier on notification_schedule for select to docket_channel using (true);
create policy push_subscription_notifier on push_subscription for all to docket_channel using (true) with check (true);
create policy notification_notifier on notification for all to docket_channel using (true) with check (true);
create policy notification_delivery_notifier on notification_delivery for all to docket_channel using (true) with check (true);
create policy matter_reply_wait_notifier on matter_reply_wait for all to docket_channel using (true) with check (true);
-- The firm sees a matter's wait in its view of the matter.
create policy matter_reply_wait_firm on matter_reply_wait for select to docket_app
    using (docket_actor_firm_role() is not null and cardinality(docket_matter_scopes(matter_id)) > 0);
-- The notifier raises in-app alerts for anyone.
create policy user_alert_notifier on user_alert for all to docket_channel using (true) with check (true);

grant select, insert, update, delete on notification_preference, notification_schedule, push_subscription to docket_app;
grant select on practice_area_notification_default, matter_reply_wait to docket_app;
-- Requests read no notification (no policy admits them) but may name the tables.
grant select on notification, notification_delivery to docket_app;
grant select on notification_preference, notification_schedule, practice_area_notification_default to docket_channel;
grant select, insert, update, delete on push_subscription, notification, notification_delivery, matter_reply_wait
    to docket_channel;
grant select, insert, update on user_alert to docket_channel;
grant select, insert, update on server_secret to docket_app;

-- Raises a notification for p_user, or folds it into the pending one with the same key: one
-- statement, safe against a concurrent raise. A new one is due after p_hold_ms, and no sooner than
-- p_interval_ms after the last one with its key was sent; its outbox row (p_outbox_id) is due
-- then. Returns whether a new notification was created. Requests (as their actor) and the notifier
-- (docket_channel) both call it; it checks nothing about access: the dispatcher re-checks the
-- recipient's entitlement when it sends.
create function notification_enqueue(
    p_id uuid, p_outbox_id uuid, p_user uuid, p_matter uuid, p_kind text, p_detail jsonb,
    p_count int, p_coalesce boolean, p_hold_ms bigint, p_interval_ms bigint, p_exclude_device uuid)
    returns boolean
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
declare
    v_key text := case when p_coalesce then coalesce(p_matter::text, '-') || ':' || p_kind end;
    v_last timestamptz;
    v_due timestamptz;
    v_inserted boolean;
begin
    if v_key is not null then
        update notification set count = count + p_count, last_at = clock_timestamp(), detail = p_detail
        where user_id = p_user and coalesce_key = v_key and state = 'pending';
        if found then
            return false;
        end if;
        select max(settled_at) into v_last from notification
        where user_id = p_user and coalesce_key = v_key and state = 'sent';
    end if;
    v_due := greatest(clock_timestamp() + make_interval(secs => p_hold_ms / 1000.0),
                      coalesce(v_last + make_interval(secs => p_interval_ms / 1000.0), '-infinity'));
    insert into notification (notification_id, user_id, matter_id, kind, detail, coalesce_key, count, due_at, exclude_device)
    values (p_id, p_user, p_matter, p_kind, p_detail, v_key, p_count, v_due, p_exclude_device)
    on conflict (user_id, coalesce_key) where state = 'pending' and coalesce_key is not null
    do update set count = notification.count + excluded.count, last_at = clock_timestamp()
    returning (xmax = 0) into v_inserted;
    if v_inserted then
        insert into outbox (outbox_id, matter_id, consumer, announcement, next_attempt_at)
        values (p_outbox_id, p_matter, 'notification',
                jsonb_build_object('a', 'notification', 'notification_id', p_id), v_due);
    end if;
    return v_inserted;
end
$$;
comment on function notification_enqueue(uuid, uuid, uuid, uuid, text, jsonb, int, boolean, bigint, bigint, uuid) is
    'Raises a notification (or folds it into a pending one) with its outbox row.';

-- The people a matter's notices may go to, with their side and scopes: the responsible fee
-- earner and the team (not every partner: they see every matter but are told of their own), and
-- the client's active users who hold any scope on it.
create function notify_matter_people(p_matter uuid)
    returns table (user_id uuid, is_firm boolean, responsible boolean, scopes text[])
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    with people as (
        select m.responsible_fee_earner_id as uid from matter m where m.matter_id = p_matter
        union select t.user_id from matter_team t where t.matter_id = p_matter
        union select u.user_id from user_account u join matter m on m.client_id = u.client_id
            where m.matter_id = p_matter and u.kind = 'client' and u.status = 'active'
    )
    select p.uid, u.kind = 'firm', m.responsible_fee_earner_id = p.uid, s.scopes
    from people p
    join user_account u on u.user_id = p.uid
    join matter m on m.matter_id = p_matter
    cross join lateral (select docket_user_matter_scopes(p.uid, p_matter) as scopes) s
    where u.status = 'active' and cardinality(s.scopes) > 0;
end
$$;

-- Channel events p_first..p_last of a matter, as the notifier needs them: who wrote them, on
-- which side, and what kind of card (never the text).
create function notify_events(p_matter uuid, p_first bigint, p_last bigint)
    returns table (seq bigint, kind text, author_id uuid, author_is_firm boolean, action text,
                   status text, created_at timestamptz)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select e.seq, e.kind, e.author_id, coalesce(u.kind = 'firm', false), e.body ->> 'action',
           e.body ->> 'status', e.created_at
    from channel_event e
    left join user_account u on u.user_id = e.author_id
    where e.matter_id = p_matter and e.seq between p_first and p_last
    order by e.seq;
end
$$;

-- Starts or ends a matter's wait for the firm's answer: a client message starts it (if none is
-- running), a firm message ends it.
create function notify_reply_wait(p_matter uuid, p_client_at timestamptz, p_client_seq bigint,
                                  p_firm_answered boolean)
    returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    if p_firm_answered then
        delete from matter_reply_wait where matter_id = p_matter
            and (p_client_seq is null or since_seq < p_client_seq);
    end if;
    if p_client_at is not null then
        insert into matter_reply_wait (matter_id, since, since_seq) values (p_matter, p_client_at, p_client_seq)
        on conflict (matter_id) do nothing;
    end if;
end
$$;

-- What the dispatcher needs to deliver one notification: the recipient, the matter as the notice
-- may name it, and whether the recipient still holds the scope the kind needs.
create function notification_context(p_id uuid)
    returns table (user_id uuid, email text, is_firm boolean, user_active boolean,
                   matter_id uuid, reference text, title text, e2ee boolean, practice_area_id uuid,
                   scopes text[], firm_role text)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select n.user_id, u.email, u.kind = 'firm', u.status = 'active',
           m.matter_id, m.reference, m.title, m.sensitivity = 'e2ee', m.practice_area_id,
           case when m.matter_id is null then '{}'::text[] else docket_user_matter_scopes(n.user_id, m.matter_id) end,
           u.firm_role
    from notification n
    join user_account u on u.user_id = n.user_id
    left join matter m on m.matter_id = n.matter_id
    where n.notification_id = p_id;
end
$$;

-- Quiet hours: when p_user's quiet hours, running at p_now, end (null if they are not running).
create function notify_quiet_until(p_user uuid, p_now timestamptz) returns timestamptz
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    s notification_schedule;
    v_local timestamp;
    v_end timestamp;
begin
    select * into s from notification_schedule where user_id = p_user;
    if not found or s.quiet_start is null then
        return null;
    end if;
    v_local := p_now at time zone s.time_zone;
    if s.quiet_start < s.quiet_end then
        -- e.g. 13:00-14:00, within one day
        if v_local::time >= s.quiet_start and v_local::time < s.quiet_end then
            v_end := v_local::date + s.quiet_end;
        end if;
    else
        -- e.g. 20:00-07:30, across midnight
        if v_local::time >= s.quiet_start then
            v_end := v_local::date + 1 + s.quiet_end;
        elsif v_local::time < s.quiet_end then
            v_end := v_local::date + s.quiet_end;
        end if;
    end if;
    return v_end at time zone s.time_zone;
end
$$;

-- Users whose digest is due at p_now: their digest hour has come in their time zone today, and
-- they have entries waiting from before it.
create function notify_digests_due(p_now timestamptz, p_limit int)
    returns table (user_id uuid, email text, cutoff timestamptz)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    with waiting as (
        select distinct d.user_id from notification_delivery d
        where d.channel = 'digest' and d.delivered_at is null
    ), due as (
        select w.user_id, u.email,
               ((p_now at time zone coalesce(s.time_zone, 'Europe/London'))::date
                 + make_time(coalesce(s.digest_hour, 8), 0, 0))
                 at time zone coalesce(s.time_zone, 'Europe/London') as cutoff
        from waiting w
        join user_account u on u.user_id = w.user_id and u.status = 'active'
        left join notification_schedule s on s.user_id = w.user_id
    )
    select due.user_id, due.email, due.cutoff from due
    where due.cutoff <= p_now
      and exists (select 1 from notification_delivery d join notification n using (notification_id)
                  where d.user_id = due.user_id and d.channel = 'digest' and d.delivered_at is null
                    and n.settled_at < due.cutoff)
    limit p_limit;
end
$$;

-- Working seconds between two instants: Monday to Friday, p_day_start to p_day_end in p_tz.
create function docket_working_seconds(p_from timestamptz, p_to timestamptz, p_tz text,
                                       p_day_start time, p_day_end time)
    returns bigint
    language plpgsql stable
as $$
declare
    v_day date := (p_from at time zone p_tz)::date;
    v_last date := (p_to at time zone p_tz)::date;
    v_total bigint := 0;
    v_open timestamptz;
    v_close timestamptz;
begin
    if p_to <= p_from then
        return 0;
    end if;
    while v_day <= v_last loop
        if extract(isodow from v_day) < 6 then
            v_open := greatest((v_day + p_day_start) at time zone p_tz, p_from);
            v_close := least((v_day + p_day_end) at time zone p_tz, p_to);
            if v_close > v_open then
                v_total := v_total + extract(epoch from v_close - v_open)::bigint;
            end if;
        end if;
        v_day := v_day + 1;
    end loop;
    return v_total;
end
$$;

-- Waits that have run past their practice area's working hours at p_now, with whom to alert.
create function notify_escalations_due(p_now timestamptz, p_tz text, p_day_start time, p_day_end time)
    returns table (matter_id uuid, level smallint, since timestamptz, responsible uuid, partner uuid)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select w.matter_id, w.level, w.since, m.responsible_fee_earner_id, m.supervising_partner_id
    from matter_reply_wait w
    join matter m on m.matter_id = w.matter_id
    join practice_area pa on pa.practice_area_id = m.practice_area_id
    where w.level < 2 and pa.escalation_working_hours is not null and m.status = 'open'
      and docket_working_seconds(w.since, p_now, p_tz, p_day_start, p_day_end)
          >= pa.escalation_working_hours::bigint * 3600 * (w.level + 1);
end
$$;

-- Invoices past their due date with money owed, not yet announced as overdue.
create function notify_overdue_invoices(p_today date, p_limit int)
    returns table (invoice_id uuid, matter_id uuid, number text)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select i.invoice_id, i.matter_id, i.number from invoice i
    where i.due_on < p_today and i.status in ('issued', 'part_paid') and i.overdue_notified_at is null
    order by i.due_on
    limit p_limit;
end
$$;

create function notify_mark_overdue(p_invoice uuid) returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    update invoice set overdue_notified_at = clock_timestamp() where invoice_id = p_invoice;
end
$$;

-- A practice area's default for one kind and channel (firm admins and partners).
create function practice_area_set_notification_default(p_area uuid, p_audience text, p_kind text,
                                                        p_channel text, p_frequency text)
    returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    if docket_actor_firm_role() is null or docket_actor_firm_role() not in ('admin', 'partner') then
        raise exception 'only a firm admin or partner sets a practice area''s notification defaults'
            using errcode = 'insufficient_privilege';
    end if;
    if p_frequency is null then
        delete from practice_area_notification_default
        where practice_area_id = p_area and audience = p_audience and kind = p_kind and channel = p_channel;
    else
        insert into practice_area_notification_default (practice_area_id, audience, kind, channel, frequency)
        values (p_area, p_audience, p_kind, p_channel, p_frequency)
        on conflict (practice_area_id, audience, kind, channel) do update set frequency = excluded.frequency;
    end if;
end
$$;

-- A practice area's escalation threshold (firm admins and partners).
create function practice_area_set_escalation(p_area uuid, p_hours int) returns boolean
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    if docket_actor_firm_role() is null or docket_actor_firm_role() not in ('admin', 'partner') then
        raise exception 'only a firm admin or partner sets a practice area''s escalation'
            using errcode = 'insufficient_privilege';
    end if;
    update practice_area set escalation_working_hours = p_hours where practice_area_id = p_area;
    return found;
end
$$;

grant execute on function notification_enqueue(uuid, uuid, uuid, uuid, text, jsonb, int, boolean, bigint, bigint, uuid)
    to docket_app, docket_channel;
grant execute on function practice_area_set_notification_default(uuid, text, text, text, text),
    practice_area_set_escalation(uuid, int) to docket_app;
grant execute on function notify_matter_people(uuid), notify_events(uuid, bigint, bigint),
    notify_reply_wait(uuid, timestamptz, bigint, boolean), notification_context(uuid),
    notify_quiet_until(uuid, timestamptz), notify_digests_due(timestamptz, int),
    notify_escalations_due(timestamptz, text, time, time), notify_overdue_invoices(date, int),
    notify_mark_overdue(uuid) to docket_channel;
grant execute on function notify_matter_people(uuid) to docket_app;

-- The notifier's consumers join the outbox's.
alter table outbox drop constraint outbox_consumer_check;
alter table outbox add constraint outbox_consumer_check
    check (consumer in ('live', 'email', 'notify', 'notification'));
comment on column outbox.consumer is
    'Who delivers it: live (sockets on every node), email (the mail transport), notify (turns channel events into notifications) or notification (one notification''s deliveries); all but live by dispatchers only.';

-- The channel writer's batch also leaves the notifier a row: which seqs of which matters to read.
create or replace function channel_write(
    p_matters uuid[], p_counts int[],
    p_event_matters uuid[], p_backs bigint[], p_kinds text[], p_scopes text[],
    p_authors uuid[], p_devices uuid[], p_ids uuid[], p_bodies jsonb[], p_at timestamptz,
    p_outbox_id uuid, p_grace_ms bigint)
    returns table (matter_id uuid, last_seq bigint)
    language plpgsql volatile security definer set search_path = public, pg_temp
    set plan_cache_mode = force_generic_plan
as $$
declare
    alloc_matters uuid[];
    alloc_lasts bigint[];
    v_ranges jsonb;
begin
    select array_agg(a.matter_id), array_agg(a.last_seq) into alloc_matters, alloc_lasts
    from channel_allocate(p_matters, p_counts) a;
    if coalesce(cardinality(alloc_matters), 0) <> cardinality(p_matters) then
        raise exception 'a matter of the batch does not exist' using errcode = 'no_data_found';
    end if;

    insert into channel_event (matter_id, seq, kind, scope, author_id, device_id, client_msg_id, body, created_at)
    select t.m, l.last_seq - t.back, t.k, t.sc, t.a, t.d, t.c, t.b, p_at
    from unnest(p_event_matters, p_backs, p_kinds, p_scopes, p_authors, p_devices, p_ids, p_bodies)
        as t(m, back, k, sc, a, d, c, b)
    join unnest(alloc_matters, alloc_lasts) as l(m, last_seq) on l.m = t.m;

    select jsonb_agg(jsonb_build_object(
               'matter_id', l.m, 'first_seq', l.last_seq - w.c + 1, 'last_seq', l.last_seq) order by l.m)
    into v_ranges
    from unnest(alloc_matters, alloc_lasts) as l(m, last_seq)
    join unnest(p_matters, p_counts) as w(m, c) on w.m = l.m;

    insert into outbox (outbox_id, matter_id, consumer, announcement, next_attempt_at)
    values (p_outbox_id, null, 'live',
            jsonb_build_object('a', 'several', 'all', (
                select jsonb_agg(r || jsonb_build_object('a', 'events')) from jsonb_array_elements(v_ranges) r)),
            clock_timestamp() + make_interval(secs => p_grace_ms / 1000.0)),
           (gen_random_uuid(), null, 'notify', jsonb_build_object('a', 'notices', 'ranges', v_ranges),
            clock_timestamp());

    return query select l.m, l.last_seq from unnest(alloc_matters, alloc_lasts) as l(m, last_seq);
end
$$;

-- The matter channel: an append-only event log per matter with a gap-free sequence, read
-- positions, and the functions the real-time layer needs.

-- Scopes of any user on a matter: the body of docket_matter_scopes, with the user as a parameter,
-- so batched writes can check each row's author rather than only the transaction's actor.
create function docket_user_matter_scopes(p_user uuid, p_matter uuid) returns text[]
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
        where u.user_id = p_user and u.status = 'active' and m.matter_id = p_matter
    ), '{}')
$$;
comment on function docket_user_matter_scopes(uuid, uuid) is
    'Scopes a given user holds on a matter; the single SQL statement of the access policy.';

create or replace function docket_matter_scopes(p_matter uuid) returns text[]
    language sql stable security definer set search_path = public, pg_temp
as $$
    select docket_user_matter_scopes(docket_actor(), p_matter)
$$;

-- The per-matter counter behind the gap-free sequence. Its row lock, taken by channel_allocate
-- and held to commit, orders the writers of one matter; a rolled-back transaction gives its
-- numbers back, so no gap can appear.
create table channel_head (
    matter_id uuid primary key constraint channel_head_matter_fkey references matter on delete cascade,
    last_seq  bigint not null default 0 constraint channel_head_last_seq_check check (last_seq >= 0)
);
comment on table channel_head is 'The last assigned seq of each matter''s channel.';
insert into channel_head (matter_id) select matter_id from matter;

create function matter_channel_head() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    insert into channel_head (matter_id) values (new.matter_id);
    return new;
end
$$;
create trigger matter_channel_head after insert on matter
    for each row execute function matter_channel_head();

create table channel_event (
    matter_id     uuid not null constraint channel_event_matter_fkey references matter on delete cascade,
    seq           bigint not null,
    kind          text not null constraint channel_event_kind_check
        check (kind in ('message', 'edit', 'delete', 'system', 'document_published', 'milestone',
                        'invoice', 'payment', 'mls')),
    -- The scope a user needs to see this event (messages for chat; documents, milestones and
    -- invoices for the cards of later features).
    scope         text not null constraint channel_event_scope_check
        check (scope in ('messages', 'documents', 'milestones', 'invoices')),
    author_id     uuid,
    device_id     uuid,
    -- The sender's id for the frame, unique per author and matter: a resend is recognised, not stored twice.
    client_msg_id uuid,
    -- Kind-specific content. Kept as written, forever: an edit or deletion adds an event and never
    -- changes this, so the legal record stays complete.
    body          jsonb not null,
    created_at    timestamptz not null default now(),
    -- Set on a message and its edits when the author deletes it: clients then see a tombstone,
    -- while the record (body) keeps the original.
    redacted_at   timestamptz,
    constraint channel_event_pkey primary key (matter_id, seq)
) partition by hash (matter_id);
comment on table channel_event is 'Append-only event log of every matter channel; seq is gap-free per matter.';

do $$
begin
    for i in 0..7 loop
        execute format('create table channel_event_p%s partition of channel_event
                        for values with (modulus 8, remainder %s)', i, i);
    end loop;
end
$$;
create unique index channel_event_client_msg_key on channel_event (matter_id, author_id, client_msg_id);

-- Reserves p_counts[i] consecutive seqs for matter p_matters[i]; returns each matter's new last seq.
-- Matters are locked in id order so concurrent batches cannot deadlock.
create function channel_allocate(p_matters uuid[], p_counts int[])
    returns table (matter_id uuid, last_seq bigint)
    language sql volatile security definer set search_path = public, pg_temp
as $$
    with wanted as (
        select m, c from unnest(p_matters, p_counts) as w(m, c) order by m
    ), locked as (
        select h.matter_id from channel_head h join wanted on h.matter_id = wanted.m
        order by h.matter_id for update of h
    )
    update channel_head h set last_seq = h.last_seq + wanted.c
    from wanted, locked
    where h.matter_id = wanted.m and locked.matter_id = h.matter_id
    returning h.matter_id, h.last_seq
$$;

-- The seq already stored for (matter, author, client_msg_id) triples: lets the batch writer,
-- which has no single actor, recognise resends before it allocates numbers.
create function channel_find_sent(p_matters uuid[], p_authors uuid[], p_ids uuid[])
    returns table (matter_id uuid, author_id uuid, client_msg_id uuid, seq bigint)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select e.matter_id, e.author_id, e.client_msg_id, e.seq
    from unnest(p_matters, p_authors, p_ids) as w(m, a, i)
    join channel_event e on e.matter_id = w.m and e.author_id = w.a and e.client_msg_id = w.i
$$;

-- Events of one matter for node-level delivery (filling a gap after a bus outage). The node then
-- hands each event only to sockets already authorised for its scope; user reads (replay, history)
-- go through the tenant transaction and RLS instead.
create function channel_delivery_events(p_matter uuid, p_after bigint, p_limit int)
    returns setof channel_event
    language sql stable security definer set search_path = public, pg_temp
as $$
    select * from channel_event where matter_id = p_matter and seq > p_after order by seq limit p_limit
$$;

create table channel_read (
    matter_id  uuid not null constraint channel_read_matter_fkey references matter on delete cascade,
    user_id    uuid not null constraint channel_read_user_fkey references user_account on delete cascade,
    seq        bigint not null,
    updated_at timestamptz not null default now(),
    constraint channel_read_pkey primary key (matter_id, user_id)
);
comment on table channel_read is 'How far each user has read each matter channel.';

alter table channel_head enable row level security;
alter table channel_head force row level security;
create policy channel_head_select on channel_head for select
    using (cardinality(docket_matter_scopes(matter_id)) > 0);

alter table channel_event enable row level security;
alter table channel_event force row level security;
create policy channel_event_select on channel_event for select
    using (scope = any(docket_matter_scopes(matter_id)));
-- Checked per row against the row's own author, so a batch of many authors' messages written in
-- one transaction is still checked by the database; with an actor set it must be the author.
create policy channel_event_insert on channel_event for insert
    with check (author_id is not null
                and (docket_actor() is null or docket_actor() = author_id)
                and scope = any(docket_user_matter_scopes(author_id, matter_id)));
create policy channel_event_redact on channel_event for update
    using (author_id = docket_actor()) with check (author_id = docket_actor());

alter table channel_read enable row level security;
alter table channel_read force row level security;
create policy channel_read_select on channel_read for select
    using ('messages' = any(docket_matter_scopes(matter_id)));
create policy channel_read_write on channel_read for all
    using (user_id = docket_actor())
    with check (user_id = docket_actor() and 'messages' = any(docket_matter_scopes(matter_id)));

grant select on channel_head to docket_app;
grant select, insert on channel_event to docket_app;
grant update (redacted_at) on channel_event to docket_app;
grant select, insert, update on channel_read to docket_app;
grant execute on function docket_user_matter_scopes(uuid, uuid), channel_allocate(uuid[], int[]),
    channel_find_sent(uuid[], uuid[], uuid[]), channel_delivery_events(uuid, bigint, int) to docket_app;

-- A matter's last seq, for a node starting to relay the matter (no actor, harmless counter).
create function channel_last_seq(p_matter uuid) returns bigint
    language sql stable security definer set search_path = public, pg_temp
as $$
    select coalesce((select last_seq from channel_head where matter_id = p_matter), 0)
$$;
grant execute on function channel_last_seq(uuid) to docket_app;

-- The channel's hot path with plans that are made once per connection, not once per call.
--
-- SQL-language functions that cannot be inlined (security definer ones never are) are planned
-- again on every call; PL/pgSQL keeps each statement's plan for the life of the connection. The
-- access policy runs once per inserted event (the insert policy) and once per row read (the
-- select policies), so its planning cost was paid on every message. The policy keeps its single
-- statement word for word; allocation and the resend lookup keep their meaning and change form
-- (one primary-key statement per matter or per send, see below).

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
            else '{}'::text[]
        end
        from user_account u, matter m join practice_area pa on pa.practice_area_id = m.practice_area_id
        where u.user_id = p_user and u.status = 'active' and m.matter_id = p_matter
    ), '{}');
end
$$;

create or replace function docket_matter_scopes(p_matter uuid) returns text[]
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return docket_user_matter_scopes(docket_actor(), p_matter);
end
$$;

-- Reserves p_counts[i] consecutive seqs for matter p_matters[i]; returns each matter's new last
-- seq. Matters are locked in id order so concurrent batches cannot deadlock. One single-row update
-- per matter: its plan is the primary key's, whatever the batch (a set-based update over unnest
-- was planned afresh for every call, since no generic plan looked as cheap as a custom one).
create or replace function channel_allocate(p_matters uuid[], p_counts int[])
    returns table (matter_id uuid, last_seq bigint)
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
declare
    i int;
begin
    for i in select o.i from unnest(p_matters) with ordinality as o(m, i) order by o.m loop
        update channel_head h set last_seq = h.last_seq + p_counts[i]
        where h.matter_id = p_matters[i]
        returning h.matter_id, h.last_seq into matter_id, last_seq;
        if found then
            return next;
        end if;
    end loop;
end
$$;

-- The seq already stored for (matter, author, client_msg_id) triples. Only the writer's slow path
-- calls it (a batch the unique index refused holds a resend); one index probe per triple, each
-- pruned to its partition, whatever the partitions' statistics say.
create or replace function channel_find_sent(p_matters uuid[], p_authors uuid[], p_ids uuid[])
    returns table (matter_id uuid, author_id uuid, client_msg_id uuid, seq bigint)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    found_seq bigint;
begin
    for i in 1 .. coalesce(array_length(p_matters, 1), 0) loop
        select e.seq into found_seq from channel_event e
        where e.matter_id = p_matters[i] and e.author_id = p_authors[i] and e.client_msg_id = p_ids[i];
        if found then
            matter_id := p_matters[i];
            author_id := p_authors[i];
            client_msg_id := p_ids[i];
            seq := found_seq;
            return next;
        end if;
    end loop;
end
$$;

-- The channel writer's batch in one round trip and one implicit transaction: allocate the seqs,
-- insert the events, write the batch's outbox row. It runs as docket_channel (its owner), so the
-- insert policy still checks every row's author against the matter's access, and it refuses to
-- run for an actor (that policy requires none). A resend trips the unique index on (matter,
-- author, client_msg_id) and fails the whole call (23505): the writer then rolls back and looks
-- its sends up first. p_backs[i] is how far event i's seq falls before its matter's new last seq
-- (the batch's order within a matter is its seq order).
--
-- The outbox row is the writer's announcement, in the form the server stores it (see
-- `outbox::Announcement`): {"a":"several","all":[{"a":"events","matter_id",…,"first_seq",…,
-- "last_seq",…}, …]}. The server's outbox tests read rows written here back.
create function channel_write(
    p_matters uuid[], p_counts int[],
    p_event_matters uuid[], p_backs bigint[], p_kinds text[], p_scopes text[],
    p_authors uuid[], p_devices uuid[], p_ids uuid[], p_bodies jsonb[], p_at timestamptz,
    p_outbox_id uuid, p_grace_ms bigint)
    returns table (matter_id uuid, last_seq bigint)
    language plpgsql volatile security definer set search_path = public, pg_temp
    -- Its statements' plans do not depend on the arrays' contents: plan them once.
    set plan_cache_mode = force_generic_plan
as $$
declare
    alloc_matters uuid[];
    alloc_lasts bigint[];
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

    insert into outbox (outbox_id, matter_id, consumer, announcement, next_attempt_at)
    select p_outbox_id, null, 'live',
           jsonb_build_object('a', 'several', 'all', jsonb_agg(jsonb_build_object(
               'a', 'events', 'matter_id', l.m, 'first_seq', l.last_seq - w.c + 1,
               'last_seq', l.last_seq) order by l.m)),
           clock_timestamp() + make_interval(secs => p_grace_ms / 1000.0)
    from unnest(alloc_matters, alloc_lasts) as l(m, last_seq)
    join unnest(p_matters, p_counts) as w(m, c) on w.m = l.m;

    return query select l.m, l.last_seq from unnest(alloc_matters, alloc_lasts) as l(m, last_seq);
end
$$;
comment on function channel_write(uuid[], int[], uuid[], bigint[], text[], text[], uuid[], uuid[],
    uuid[], jsonb[], timestamptz, uuid, bigint) is
    'The channel writer''s batch: seqs, events and outbox row in one call, as docket_channel.';
alter function channel_write(uuid[], int[], uuid[], bigint[], text[], text[], uuid[], uuid[],
    uuid[], jsonb[], timestamptz, uuid, bigint) owner to docket_channel;
-- Executable by its owner alone, like every channel definer function: the writer's own
-- connections act as docket_channel for their whole session (`db::writer_pool`), and a request
-- (docket_app) cannot call it.

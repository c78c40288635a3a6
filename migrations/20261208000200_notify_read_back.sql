-- The notifier's read-back, set-based: every range of a read-back in one call, the people of all
-- its matters in one call, and its notices and waits in one call each, instead of a few
-- statements per matter (measured in load-tests/README.md: spread over many matters, the
-- statements themselves were most of the cost).

create function notify_read_back(p_matters uuid[], p_firsts bigint[], p_lasts bigint[])
    returns table (matter_id uuid, seq bigint, kind text, author_id uuid, author_is_firm boolean,
                   status text, created_at timestamptz)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select e.matter_id, e.seq, e.kind, e.author_id, coalesce(u.kind = 'firm', false),
           e.body ->> 'status', e.created_at
    from unnest(p_matters, p_firsts, p_lasts) as r(m, f, l)
    join channel_event e on e.matter_id = r.m and e.seq between r.f and r.l
    left join user_account u on u.user_id = e.author_id
    order by e.matter_id, e.seq;
end
$$;

create function notify_people(p_matters uuid[])
    returns table (matter_id uuid, user_id uuid, is_firm boolean, responsible boolean, scopes text[])
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select m.id, p.user_id, p.is_firm, p.responsible, p.scopes
    from unnest(p_matters) as m(id)
    cross join lateral notify_matter_people(m.id) as p;
end
$$;

-- Raises (or folds) one notice per element: notification_enqueue for each, in one call.
create function notification_enqueue_many(
    p_users uuid[], p_matters uuid[], p_kinds text[], p_counts int[], p_hold_ms bigint, p_interval_ms bigint)
    returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
declare
    i int;
begin
    for i in 1 .. coalesce(cardinality(p_users), 0) loop
        perform notification_enqueue(gen_random_uuid(), gen_random_uuid(), p_users[i], p_matters[i],
                                     p_kinds[i], '{}'::jsonb, p_counts[i], true, p_hold_ms,
                                     p_interval_ms, null);
    end loop;
end
$$;

create function notify_reply_waits(p_matters uuid[], p_client_ats timestamptz[], p_client_seqs bigint[],
                                   p_answered boolean[])
    returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
declare
    i int;
begin
    for i in 1 .. coalesce(cardinality(p_matters), 0) loop
        perform notify_reply_wait(p_matters[i], p_client_ats[i], p_client_seqs[i], p_answered[i]);
    end loop;
end
$$;

grant execute on function notify_read_back(uuid[], bigint[], bigint[]), notify_people(uuid[]),
    notification_enqueue_many(uuid[], uuid[], text[], int[], bigint, bigint),
    notify_reply_waits(uuid[], timestamptz[], bigint[], boolean[]) to docket_channel;

-- Its per-range predecessor goes (notify_read_back reads every range at once).
drop function notify_events(uuid, bigint, bigint);

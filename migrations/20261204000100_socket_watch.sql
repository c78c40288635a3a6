-- The node's socket watch and its batched authoriser (issue 12).
--
-- Every open socket used to re-check its session and its matters' access on a timer of its own,
-- each check a tenant transaction: 10,000 idle sockets cost Postgres a steady share of a core.
-- One task per node now checks every socket's session, records their activity and re-checks
-- every (user, matter) pair they hold, in a few statements per interval; subscriptions opened
-- together are authorised together. These functions serve that task. Like the channel writer's,
-- they act for no single user, so they are executable by docket_channel alone (a request,
-- docket_app, cannot call them), and they answer only what the socket already claims: sessions
-- by id, the policy's own scopes for a pair, and read positions only where the policy grants
-- that user the matter's messages.
--
-- PL/pgSQL, so each statement's plan is made once per connection.

-- The state of each session: whether it still stands and when it was last seen.
create function socket_session_states(p_sessions uuid[])
    returns table (session_id uuid, standing boolean, expires_at timestamptz, last_seen_at timestamptz)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select s.session_id, (s.revoked_at is null and s.stage = 'active' and u.status = 'active'),
           s.expires_at, s.last_seen_at
    from session s join user_account u on u.user_id = s.user_id
    where s.session_id = any(p_sessions);
end
$$;
comment on function socket_session_states(uuid[]) is
    'The socket watch: whether each session stands, its expiry and when it was last seen.';

-- Records activity seen on sockets: each session's last_seen_at moves forward, never back. Rows
-- are locked in id order, so two nodes touching the same sessions cannot deadlock.
create function socket_touch_sessions(p_sessions uuid[], p_at timestamptz[]) returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    with locked as (
        select s.session_id from session s
        where s.session_id = any(p_sessions)
        order by s.session_id
        for update
    )
    update session s set last_seen_at = greatest(s.last_seen_at, t.at)
    from unnest(p_sessions, p_at) as t(id, at)
    join locked l on l.session_id = t.id
    where s.session_id = t.id;
end
$$;
comment on function socket_touch_sessions(uuid[], timestamptz[]) is
    'The socket watch: moves each session''s last_seen_at forward to the activity seen on its sockets.';

-- The scopes user p_users[i] holds on matter p_matters[i], by the policy's single statement.
create function socket_scopes(p_users uuid[], p_matters uuid[])
    returns table (i int, scopes text[])
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select o.i::int, docket_user_matter_scopes(o.u, o.m)
    from unnest(p_users, p_matters) with ordinality as o(u, m, i);
end
$$;
comment on function socket_scopes(uuid[], uuid[]) is
    'The socket watch and authoriser: the scopes each (user, matter) pair holds.';

-- The read positions on matter p_matters[i], for pair i only if user p_users[i] may read the
-- matter's messages (what channel_read's select policy admits for that user).
create function socket_read_positions(p_users uuid[], p_matters uuid[])
    returns table (i int, user_id uuid, seq bigint, reader_is_firm boolean)
    language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query
    select o.i::int, r.user_id, r.seq, u.kind = 'firm'
    from unnest(p_users, p_matters) with ordinality as o(u, m, i)
    join channel_read r on r.matter_id = o.m
    join user_account u on u.user_id = r.user_id
    where 'messages' = any(docket_user_matter_scopes(o.u, o.m));
end
$$;
comment on function socket_read_positions(uuid[], uuid[]) is
    'The socket authoriser: read positions of each matter, for a user who may read its messages.';

-- New functions start closed (default privileges): the channel role alone may call these.
grant execute on function socket_session_states(uuid[]), socket_touch_sessions(uuid[], timestamptz[]),
    socket_scopes(uuid[], uuid[]), socket_read_positions(uuid[], uuid[]) to docket_channel;

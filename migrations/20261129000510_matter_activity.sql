-- The matter list's activity: for each matter the viewer sees, the newest event they may see, how
-- far they have read and how many messages from others wait for them.
--
-- Why a definer function rather than a plain query under row-level security: the channel_event
-- policy calls docket_matter_scopes() for every row it checks, so counting up to 999 unread
-- messages in each of a partner's matters cost one policy evaluation per message (34 s for 200
-- matters of 2,000 messages; 0.2 s this way). This function evaluates docket_matter_scopes() once
-- per matter and then applies exactly what the policies would:
--   - a matter with no scope for the actor yields no row (matter_select);
--   - the newest event is the newest whose scope the actor holds (channel_event_select);
--   - the read position and the unread count need the messages scope (channel_read_select, and
--     messages are events of scope messages), so a member without it gets 0 and 0;
-- and it acts only for docket_actor(), the transaction's actor, never for a user given by the
-- caller.
create function matter_activity(p_matters uuid[], p_max_unread int)
    returns table (matter_id uuid, head_seq bigint, read_seq bigint, unread bigint,
                   last_activity_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
as $$
    -- Materialised, so the policy function runs once per matter, not once per event scanned.
    with visible as materialized (
        select v.matter_id, docket_matter_scopes(v.matter_id) as scopes, docket_actor() as actor
        from unnest(p_matters) as v (matter_id)
    )
    select v.matter_id,
           coalesce(newest.seq, 0),
           coalesce(r.seq, 0),
           -- Any p_max_unread of the waiting messages will do for a capped count: no ordering.
           case when 'messages' = any(v.scopes) then (
               select count(*) from (
                   select 1 from channel_event e
                   where e.matter_id = v.matter_id and e.seq > coalesce(r.seq, 0)
                     and e.kind = 'message' and e.author_id <> v.actor and e.redacted_at is null
                   limit p_max_unread) as waiting)
           else 0 end,
           newest.created_at
    from visible v
    left join channel_read r
        on r.matter_id = v.matter_id and r.user_id = v.actor and 'messages' = any(v.scopes)
    left join lateral (
        select e.seq, e.created_at from channel_event e
        where e.matter_id = v.matter_id and e.scope = any(v.scopes)
        order by e.seq desc limit 1) as newest on true
    where cardinality(v.scopes) > 0
$$;
comment on function matter_activity(uuid[], int) is
    'The acting user''s channel activity (newest visible event, read position, unread messages up to p_max_unread) for each of p_matters they may see.';

revoke execute on function matter_activity(uuid[], int) from public;
grant execute on function matter_activity(uuid[], int) to docket_app;

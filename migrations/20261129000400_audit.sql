-- The audit trail: append-only, hash-chained, partitioned by month.
--
-- Each row's hash covers its own content and the previous row's hash, so changing or removing a row
-- breaks the chain from that row on; `docket audit verify` recomputes it independently in Rust. The
-- runtime role may insert (and only the content columns) but never update or delete.

create table audit_chain_head (
    singleton boolean primary key default true constraint audit_chain_head_singleton_check check (singleton),
    last_seq  bigint not null,
    last_hash bytea not null
);
comment on table audit_chain_head is 'The newest link of the audit chain; locked by each insert to serialise the chain.';
insert into audit_chain_head (last_seq, last_hash) values (0, decode(repeat('00', 32), 'hex'));

create table audit_event (
    seq         bigint not null,
    -- Set by the database at insert (clock_timestamp), never by the caller.
    occurred_at timestamptz not null default clock_timestamp(),
    actor_id    uuid,
    device_id   uuid,
    source_ip   inet,
    matter_id   uuid,
    client_id   uuid,
    -- A stable dotted name, e.g. 'auth.sign_in.failed', 'access.grant.created'.
    action      text not null constraint audit_event_action_check check (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    -- What was acted on, as 'kind:id' (e.g. 'session:…', 'document:…').
    target      text,
    -- Further facts as JSON text (text, not jsonb, so the hashed bytes are exactly what is stored).
    detail      text,
    prev_hash   bytea not null,
    row_hash    bytea not null,
    constraint audit_event_pkey primary key (occurred_at, seq)
) partition by range (occurred_at);
comment on table audit_event is 'Append-only, hash-chained record of every security-relevant act.';
create table audit_event_default partition of audit_event default;
create index audit_event_seq_idx on audit_event (seq);
create index audit_event_matter_idx on audit_event (matter_id, seq);

-- The canonical bytes a row's hash covers: every field length-prefixed, so no choice of field
-- contents can make two different rows serialise alike. Mirrored in server/src/audit/chain.rs.
create function audit_event_canonical(
    p_seq bigint, p_occurred_at timestamptz, p_actor uuid, p_device uuid, p_ip inet, p_matter uuid,
    p_client uuid, p_action text, p_target text, p_detail text) returns bytea
    language sql immutable
as $$
    select convert_to(string_agg(octet_length(f) || ':' || f, '|' order by n), 'UTF8')
    from unnest(array[
        p_seq::text,
        ((extract(epoch from p_occurred_at) * 1000000)::bigint)::text,
        coalesce(p_actor::text, ''), coalesce(p_device::text, ''), coalesce(host(p_ip), ''),
        coalesce(p_matter::text, ''), coalesce(p_client::text, ''), p_action,
        coalesce(p_target, ''), coalesce(p_detail, '')
    ]) with ordinality as t(f, n)
$$;

create function audit_event_chain() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    head audit_chain_head%rowtype;
begin
    select * into head from audit_chain_head where singleton for update;
    new.seq := head.last_seq + 1;
    new.prev_hash := head.last_hash;
    new.row_hash := sha256(head.last_hash || audit_event_canonical(
        new.seq, new.occurred_at, new.actor_id, new.device_id, new.source_ip, new.matter_id,
        new.client_id, new.action, new.target, new.detail));
    update audit_chain_head set last_seq = new.seq, last_hash = new.row_hash where singleton;
    return new;
end
$$;
create trigger audit_event_chain before insert on audit_event
    for each row execute function audit_event_chain();

-- Monthly partitions, created ahead of time by the server at start-up and daily; anything outside
-- them lands in the default partition, so an insert never fails for want of one.
create function audit_event_ensure_partitions(p_at timestamptz) returns void
    language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    m timestamptz;
    name text;
begin
    for i in 0..2 loop
        m := date_trunc('month', p_at at time zone 'UTC') at time zone 'UTC' + make_interval(months => i);
        name := 'audit_event_' || to_char(m at time zone 'UTC', 'YYYYMM');
        if to_regclass(name) is null then
            execute format('create table %I partition of audit_event for values from (%L) to (%L)',
                           name, m, m + interval '1 month');
        end if;
    end loop;
end
$$;
select audit_event_ensure_partitions(now());

alter table audit_event enable row level security;
alter table audit_event force row level security;
create policy audit_event_insert on audit_event for insert with check (true);
-- Admins and partners read the whole trail; a firm user reads the trail of matters they work on.
create policy audit_event_select on audit_event for select
    using (docket_actor_firm_role() in ('admin', 'partner')
           or matter_id is not null and docket_actor_firm_role() is not null
              and cardinality(docket_matter_scopes(matter_id)) > 0);

grant insert (actor_id, device_id, source_ip, matter_id, client_id, action, target, detail)
    on audit_event to docket_app;
grant select on audit_event to docket_app;
grant execute on function audit_event_ensure_partitions(timestamptz) to docket_app;

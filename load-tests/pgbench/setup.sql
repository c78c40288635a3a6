-- The ceiling to compare Docket's durable sends with: plain inserts of channel-event-sized rows,
-- no RLS, no sequence allocation, on the same machine and the same synchronous_commit.
drop table if exists bench_event;
create table bench_event (
    matter_id  uuid not null,
    seq        bigint not null,
    body       jsonb not null,
    created_at timestamptz not null default now(),
    primary key (matter_id, seq)
);

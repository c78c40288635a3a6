-- The transactional outbox: what a committed change must announce (channel events, alerts for
-- one user, control messages that make open sockets re-check), written in the same transaction as
-- the change, so that an announcement exists if and only if its change committed.
--
-- The node that commits publishes at once and deletes the row (the fast path). If it dies or its
-- bus fails before that, any node's dispatcher claims the row after a grace period with
-- `for update skip locked`, delivers it, and deletes it; a delivery that keeps failing is retried
-- with back-off and finally kept as dead, with its reason, for an operator to see and replay.
-- Consumers are idempotent (events by matter and seq, alerts by id), so a row delivered by both
-- paths does no harm.

create table outbox (
    outbox_id       uuid primary key,
    -- The matter it concerns, if any: its events, or a matter-related alert.
    matter_id       uuid constraint outbox_matter_fkey references matter on delete cascade,
    -- Who receives it. Only the live channel (sockets on every node) today; push and e-mail
    -- notifications become further consumers with rows of their own.
    consumer        text not null constraint outbox_consumer_check check (consumer in ('live')),
    -- What to announce: `outbox::Announcement` as JSON.
    announcement    jsonb not null,
    created_at      timestamptz not null default clock_timestamp(),
    attempts        int not null default 0 constraint outbox_attempts_check check (attempts >= 0),
    -- When a dispatcher may next take it: at first the end of the grace period left to the
    -- writing node's fast path (counted from the write, not from the start of a long transaction
    -- such as an upload's), then the back-off after each failure.
    next_attempt_at timestamptz not null,
    -- Why the last attempt failed (an error message, never payload content).
    last_error      text,
    -- Set when the dispatcher gave up; the row stays until an operator replays or deletes it.
    dead_at         timestamptz
);
comment on table outbox is 'Announcements of committed changes awaiting delivery; dead rows await an operator.';
create index outbox_due on outbox (next_attempt_at) where dead_at is null;

-- Written by requests (as their actor) and by the channel's batch writer; read, claimed and
-- deleted only under docket_channel by the dispatcher and the fast path. A request can neither
-- read the queue (no select policy: it sees no row) nor announce anything about a matter it
-- cannot see.
alter table outbox enable row level security;
alter table outbox force row level security;
create policy outbox_insert on outbox for insert to docket_app
    with check (matter_id is null or cardinality(docket_matter_scopes(matter_id)) > 0);
create policy outbox_channel on outbox for all to docket_channel
    using (true) with check (true);
grant select, insert on outbox to docket_app;
grant select, insert, update, delete on outbox to docket_channel;

-- Billing: invoices from the firm's billing system, credit notes, time entries, billing schedules,
-- payments (card payments through Stripe, and payments the billing system records), and the
-- attempts and webhook events behind card payments.
--
-- Amounts are integer minor units (pence), GBP only. An invoice's balance is kept on the invoice
-- row, changed only in the transaction that records what changes it (a credit note, a payment, a
-- refund), so a statement never sums thousands of rows to show one figure.
--
-- Who writes what:
--   the billing system's service account (scope billing): invoices, lines, credit notes, time
--   entries, schedule items, and payments received by other means (bank transfer);
--   Stripe's built-in account (scope payments): card payments, refunds and disputes;
--   client users with the invoices scope: payment attempts (what pressing Pay creates);
-- Who reads: whoever holds the invoices scope on the matter (firm users on it, client admins,
-- finance, members granted invoices). Time entries are shown to client users only where the
-- matter's practice area has show_time_entries on.

create table invoice (
    invoice_id        uuid primary key,
    matter_id         uuid not null constraint invoice_matter_fkey references matter,
    -- The firm's own invoice number: the idempotency key of an import.
    number            text not null constraint invoice_number_key unique
        constraint invoice_number_check check (length(number) between 1 and 64),
    -- A delivered bill, or a request for money on account (client money under the SRA Accounts
    -- Rules 2019: never taken through the business account).
    kind              text not null constraint invoice_kind_check check (kind in ('bill', 'on_account')),
    issued_on         date not null,
    due_on            date not null,
    constraint invoice_dates_check check (due_on >= issued_on),
    currency          text not null default 'GBP' constraint invoice_currency_check check (currency = 'GBP'),
    total_minor       bigint not null constraint invoice_total_check check (total_minor > 0),
    -- Of the total, what is client money: unpaid disbursements, or all of an on-account request.
    client_money_minor bigint not null constraint invoice_client_money_check check (client_money_minor >= 0),
    credited_minor    bigint not null default 0 constraint invoice_credited_check check (credited_minor >= 0),
    paid_minor        bigint not null default 0 constraint invoice_paid_check check (paid_minor >= 0),
    -- total - credited - paid; never below zero (an overpayment is refused, not stored).
    balance_minor     bigint not null,
    constraint invoice_balance_check check (balance_minor = total_minor - credited_minor - paid_minor
                                             and balance_minor >= 0),
    status            text not null constraint invoice_status_check
        check (status in ('issued', 'part_paid', 'paid', 'void')),
    -- Amendments: 1 as issued, +1 for each explicit amendment (each kept in invoice_revision).
    revision          int not null default 1 constraint invoice_revision_check check (revision >= 1),
    -- SHA-256 of the canonical imported body: the same body again changes nothing.
    body_hash         bytea not null,
    -- The bill itself, as a `financial` document of the matter (through the vault).
    document_id       uuid constraint invoice_document_fkey references document,
    -- The billing system's account; null when imported with `docket admin billing import`.
    issued_by         uuid constraint invoice_issued_by_fkey references user_account,
    created_at        timestamptz not null,
    voided_at         timestamptz
);
comment on table invoice is 'An invoice issued by the firm''s billing system, with its running balance.';
create index invoice_matter_idx on invoice (matter_id, issued_on);

create table invoice_line (
    invoice_id   uuid not null constraint invoice_line_invoice_fkey references invoice on delete cascade,
    position     int not null constraint invoice_line_position_check check (position >= 1),
    matter_id    uuid not null constraint invoice_line_matter_fkey references matter,
    kind         text not null constraint invoice_line_kind_check check (kind in ('fee', 'disbursement', 'vat')),
    description  text not null constraint invoice_line_description_check check (length(description) between 1 and 500),
    amount_minor bigint not null constraint invoice_line_amount_check check (amount_minor >= 0),
    -- Disbursements: whether the firm has already paid it (then it is business money on the bill).
    paid         boolean not null default true,
    constraint invoice_line_pkey primary key (invoice_id, position)
);
comment on table invoice_line is 'A line of an invoice''s current revision: fee, disbursement or VAT.';

create table invoice_revision (
    invoice_id  uuid not null constraint invoice_revision_invoice_fkey references invoice on delete cascade,
    revision    int not null,
    matter_id   uuid not null constraint invoice_revision_matter_fkey references matter,
    -- The imported body as received (canonical JSON), for the record.
    body        jsonb not null,
    reason      text,
    created_at  timestamptz not null,
    created_by  uuid constraint invoice_revision_created_by_fkey references user_account,
    constraint invoice_revision_pkey primary key (invoice_id, revision)
);
comment on table invoice_revision is 'Every revision of an invoice as imported, with the reason for each amendment.';

create table credit_note (
    credit_note_id uuid primary key,
    invoice_id     uuid not null constraint credit_note_invoice_fkey references invoice,
    matter_id      uuid not null constraint credit_note_matter_fkey references matter,
    number         text not null constraint credit_note_number_key unique
        constraint credit_note_number_check check (length(number) between 1 and 64),
    issued_on      date not null,
    amount_minor   bigint not null constraint credit_note_amount_check check (amount_minor > 0),
    reason         text not null constraint credit_note_reason_check check (length(reason) between 1 and 500),
    created_by     uuid constraint credit_note_created_by_fkey references user_account,
    created_at     timestamptz not null
);
comment on table credit_note is 'A credit against an invoice, issued by the billing system.';
create index credit_note_invoice_idx on credit_note (invoice_id);

-- What pressing Pay creates: its id is the Stripe idempotency key, so double clicks and retries
-- of the same amount give one PaymentIntent. A new attempt is made only when the amount due
-- changed since (a part payment or a credit arrived meanwhile).
create table payment_attempt (
    attempt_id        uuid primary key,
    invoice_id        uuid not null constraint payment_attempt_invoice_fkey references invoice,
    matter_id         uuid not null constraint payment_attempt_matter_fkey references matter,
    amount_minor      bigint not null constraint payment_attempt_amount_check check (amount_minor > 0),
    created_by        uuid not null constraint payment_attempt_created_by_fkey references user_account,
    created_at        timestamptz not null,
    payment_intent_id text constraint payment_attempt_intent_key unique,
    -- open: may be reused for the same amount; superseded: the amount due changed.
    state             text not null default 'open' constraint payment_attempt_state_check
        check (state in ('open', 'superseded'))
);
comment on table payment_attempt is 'One press of Pay for one amount: the idempotency key of its Stripe PaymentIntent.';
create unique index payment_attempt_open_key on payment_attempt (invoice_id, amount_minor) where state = 'open';

create table payment (
    payment_id        uuid primary key,
    invoice_id        uuid not null constraint payment_invoice_fkey references invoice,
    matter_id         uuid not null constraint payment_matter_fkey references matter,
    -- card: through Stripe; transfer: received otherwise and recorded by the billing system.
    method            text not null constraint payment_method_check check (method in ('card', 'bank', 'transfer')),
    -- processing (a bank payment on its way), succeeded, failed, refunded, disputed.
    status            text not null constraint payment_status_check
        check (status in ('processing', 'succeeded', 'failed', 'refunded', 'disputed')),
    amount_minor      bigint not null constraint payment_amount_check check (amount_minor > 0),
    -- Of the amount, what has been refunded (reopening the balance).
    refunded_minor    bigint not null default 0 constraint payment_refunded_check
        check (refunded_minor >= 0 and refunded_minor <= amount_minor),
    failure_reason    text,
    payment_intent_id text constraint payment_intent_key unique,
    charge_id         text,
    -- Stripe's fee and the payout that carried the money, for reconciliation (when known).
    fee_minor         bigint,
    payout_id         text,
    -- The billing system's id of a payment it recorded.
    external_id       text constraint payment_external_key unique,
    created_at        timestamptz not null,
    updated_at        timestamptz not null,
    -- The account that recorded it (the billing system's, or Stripe's); null from the command line.
    recorded_by       uuid constraint payment_recorded_by_fkey references user_account
);
comment on table payment is 'A payment against an invoice, its state as Stripe or the billing system reported it.';
create index payment_invoice_idx on payment (invoice_id);
create index payment_created_idx on payment (created_at);

-- Stripe's events, by id: a redelivered event is recognised and changes nothing.
create table stripe_event (
    event_id    text primary key,
    type        text not null,
    received_at timestamptz not null,
    -- What it did: applied, ignored (a type Docket does not handle, or nothing to change).
    outcome     text not null constraint stripe_event_outcome_check check (outcome in ('applied', 'ignored'))
);
comment on table stripe_event is 'Stripe webhook events received, for de-duplication.';

create table time_entry (
    time_entry_id uuid primary key,
    matter_id     uuid not null constraint time_entry_matter_fkey references matter,
    invoice_id    uuid constraint time_entry_invoice_fkey references invoice,
    -- The billing system's id: the idempotency key of an import.
    external_id   text not null constraint time_entry_external_key unique,
    worked_on     date not null,
    fee_earner    text not null constraint time_entry_fee_earner_check check (length(fee_earner) between 1 and 200),
    description   text not null constraint time_entry_description_check check (length(description) between 1 and 500),
    minutes       int not null constraint time_entry_minutes_check check (minutes > 0 and minutes <= 1440),
    value_minor   bigint not null constraint time_entry_value_check check (value_minor >= 0),
    created_at    timestamptz not null
);
comment on table time_entry is 'Time recorded on a matter, as the billing system exported it.';
create index time_entry_matter_idx on time_entry (matter_id, worked_on);

create table billing_schedule_item (
    schedule_item_id uuid primary key,
    matter_id        uuid not null constraint billing_schedule_item_matter_fkey references matter,
    external_id      text not null constraint billing_schedule_item_external_key unique,
    planned_on       date not null,
    amount_minor     bigint not null constraint billing_schedule_item_amount_check check (amount_minor > 0),
    description      text not null constraint billing_schedule_item_description_check
        check (length(description) between 1 and 500),
    -- A retainer, a stage of phased billing, or a plain planned bill.
    kind             text not null constraint billing_schedule_item_kind_check check (kind in ('retainer', 'phase', 'bill')),
    status           text not null default 'planned' constraint billing_schedule_item_status_check
        check (status in ('planned', 'billed', 'cancelled')),
    invoice_id       uuid constraint billing_schedule_item_invoice_fkey references invoice,
    updated_at       timestamptz not null
);
comment on table billing_schedule_item is 'A planned bill of a retainer or phased-billing arrangement.';
create index billing_schedule_item_matter_idx on billing_schedule_item (matter_id, planned_on);

-- Whether the actor sees a matter's time entries: the firm side always, client users holding the
-- invoices scope only where the practice area shows time entries.
create function docket_sees_time_entries(p_matter uuid) returns boolean
    language sql stable security definer set search_path = public, pg_temp
as $$
    select 'invoices' = any(docket_matter_scopes(p_matter))
       and (docket_actor_firm_side()
            or exists (select 1 from matter m join practice_area pa using (practice_area_id)
                       where m.matter_id = p_matter and pa.show_time_entries))
$$;

create function docket_actor_bills() returns boolean
    language sql stable security definer set search_path = public, pg_temp
as $$ select 'billing' = any(docket_actor_service_scopes()) $$;

create function docket_actor_takes_payments() returns boolean
    language sql stable security definer set search_path = public, pg_temp
as $$ select 'payments' = any(docket_actor_service_scopes()) $$;

do $$
declare t text;
begin
    foreach t in array array['invoice', 'invoice_line', 'invoice_revision', 'credit_note',
                             'payment_attempt', 'payment', 'time_entry', 'billing_schedule_item'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
    end loop;
end
$$;

-- Reading: the invoices scope on the matter.
create policy invoice_select on invoice for select
    using ('invoices' = any(docket_matter_scopes(matter_id)));
create policy invoice_line_select on invoice_line for select
    using ('invoices' = any(docket_matter_scopes(matter_id)));
create policy invoice_revision_select on invoice_revision for select
    using ('invoices' = any(docket_matter_scopes(matter_id)) and docket_actor_firm_side());
create policy credit_note_select on credit_note for select
    using ('invoices' = any(docket_matter_scopes(matter_id)));
create policy payment_select on payment for select
    using ('invoices' = any(docket_matter_scopes(matter_id)));
create policy payment_attempt_select on payment_attempt for select
    using ('invoices' = any(docket_matter_scopes(matter_id)));
create policy time_entry_select on time_entry for select
    using (docket_sees_time_entries(matter_id));
create policy billing_schedule_item_select on billing_schedule_item for select
    using ('invoices' = any(docket_matter_scopes(matter_id)));

-- Writing: the billing system writes the record; Stripe's account writes card payments and, with
-- them, the invoice's balance; the billing system's recorded payments change it too.
create policy invoice_insert on invoice for insert
    with check (docket_actor_bills() and issued_by = docket_actor()
                and 'invoices' = any(docket_matter_scopes(matter_id)));
create policy invoice_update on invoice for update
    using ((docket_actor_bills() or docket_actor_takes_payments())
           and 'invoices' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_bills() or docket_actor_takes_payments());
create policy invoice_line_write on invoice_line for all
    using (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id)));
create policy invoice_revision_insert on invoice_revision for insert
    with check (docket_actor_bills() and created_by = docket_actor()
                and 'invoices' = any(docket_matter_scopes(matter_id)));
create policy credit_note_insert on credit_note for insert
    with check (docket_actor_bills() and created_by = docket_actor()
                and 'invoices' = any(docket_matter_scopes(matter_id)));
create policy payment_insert on payment for insert
    with check (recorded_by = docket_actor() and 'invoices' = any(docket_matter_scopes(matter_id))
                and ((method = 'transfer' and docket_actor_bills())
                     or (method in ('card', 'bank') and docket_actor_takes_payments())));
create policy payment_update on payment for update
    using (docket_actor_takes_payments() and 'invoices' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_takes_payments());
-- A client user presses Pay as themselves; the server records the PaymentIntent's id after.
create policy payment_attempt_insert on payment_attempt for insert
    with check (created_by = docket_actor() and docket_actor_client() is not null
                and 'invoices' = any(docket_matter_scopes(matter_id)));
-- Any payer of the matter records the PaymentIntent or supersedes a stale attempt; Stripe's account
-- supersedes the open attempts of an invoice a payment settled.
create policy payment_attempt_update on payment_attempt for update
    using ('invoices' = any(docket_matter_scopes(matter_id))
           and (docket_actor_client() is not null or docket_actor_takes_payments()))
    with check ('invoices' = any(docket_matter_scopes(matter_id)));
create policy time_entry_write on time_entry for all
    using (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id)));
create policy billing_schedule_item_write on billing_schedule_item for all
    using (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id)));

-- Stripe's events: written and read only by Stripe's account (no client data in the row).
alter table stripe_event enable row level security;
alter table stripe_event force row level security;
create policy stripe_event_payments on stripe_event for all
    using (docket_actor_takes_payments()) with check (docket_actor_takes_payments());

grant select, insert on invoice, invoice_revision, credit_note, payment_attempt, payment, stripe_event
    to docket_app;
grant update (status, credited_minor, paid_minor, balance_minor, revision, body_hash, document_id,
              issued_on, due_on, kind, total_minor, client_money_minor, voided_at) on invoice to docket_app;
grant select, insert, delete on invoice_line to docket_app;
grant update (state, payment_intent_id) on payment_attempt to docket_app;
grant update (status, method, amount_minor, refunded_minor, failure_reason, charge_id, fee_minor, payout_id, updated_at)
    on payment to docket_app;
grant select, insert, update, delete on time_entry, billing_schedule_item to docket_app;
grant execute on function docket_sees_time_entries(uuid), docket_actor_bills(),
    docket_actor_takes_payments() to docket_app;

-- Cards and alerts.
alter table user_alert drop constraint user_alert_kind_check;
alter table user_alert add constraint user_alert_kind_check
    check (kind in ('new_device', 'client_upload', 'mfa_locked', 'payment'));

-- The firm's admins set whether clients see time entries (through the API, audited). Practice
-- areas carry no row-level security (firm configuration, no client data), so the runtime role gets
-- no update right on them: this function is the one way, and only for a firm admin.
create function practice_area_show_time_entries(p_area uuid, p_show boolean) returns boolean
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    if docket_actor_firm_role() is distinct from 'admin' then
        raise exception 'only a firm admin changes a practice area''s settings'
            using errcode = 'insufficient_privilege';
    end if;
    update practice_area set show_time_entries = p_show where practice_area_id = p_area;
    return found;
end
$$;
grant execute on function practice_area_show_time_entries(uuid, boolean) to docket_app;

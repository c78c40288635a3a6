// The pieces of a billing summary, shared by a matter's Billing tab and the client's Account &
// billing page: the balance with the statement downloads, invoices (with Pay, or why not),
// payments with their receipts, planned bills and time entries.

import type { BillingSummary, Invoice, Payment, ScheduleItem, TimeEntry } from "../protocol";
import {
  hoursAndMinutes,
  INVOICE_KIND_LABELS,
  invoiceBadge,
  PAYMENT_METHOD_LABELS,
  PAYMENT_STATUS_LABELS,
  receiptUrl,
  SCHEDULE_KIND_LABELS,
  SCHEDULE_STATUS_LABELS,
  statementUrl,
  today,
} from "../lib/billing";
import { fullWhen, money } from "../lib/format";
import { formatDay } from "../lib/milestones";

/** What is owed and overdue, and the statement to download. */
export function Balance({ summary, statement }: { summary: BillingSummary; statement: { of: "clients" | "matters"; id: string } }) {
  return (
    <div class="balance card">
      <dl>
        <div>
          <dt>Balance</dt>
          <dd data-testid="balance">{money(summary.balance_minor, summary.currency)}</dd>
        </div>
        <div>
          <dt>Overdue</dt>
          <dd class={summary.overdue_minor > 0 ? "overdue" : undefined} data-testid="overdue">
            {money(summary.overdue_minor, summary.currency)}
          </dd>
        </div>
      </dl>
      <p class="statement-links">
        <a href={statementUrl(statement.of, statement.id, "pdf")} download="" class="button-link">
          Download statement (PDF)
        </a>
        <a href={statementUrl(statement.of, statement.id, "csv")} download="" class="button-link">
          Download statement (CSV)
        </a>
      </p>
    </div>
  );
}

export function InvoiceList({
  invoices,
  canPay,
  onPay,
  empty = "No invoices yet.",
}: {
  invoices: Invoice[];
  /** Whether the viewer may pay (client users with the invoices scope). */
  canPay: boolean;
  onPay: (invoice: Invoice) => void;
  empty?: string;
}) {
  if (invoices.length === 0) return <p class="empty">{empty}</p>;
  const on = today();
  return (
    <ul class="cards">
      {invoices.map((invoice) => (
        <InvoiceItem key={invoice.invoice_id} invoice={invoice} on={on} canPay={canPay} onPay={() => onPay(invoice)} />
      ))}
    </ul>
  );
}

function InvoiceItem({ invoice: i, on, canPay, onPay }: { invoice: Invoice; on: string; canPay: boolean; onPay: () => void }) {
  const badge = invoiceBadge(i, on);
  return (
    <li class="card invoice" data-testid="invoice">
      <p class="card-title">
        {i.number}
        <span class={`tag bill-${badge.tone}`} data-testid="invoice-status">
          {badge.label}
        </span>
      </p>
      <p class="muted">
        {INVOICE_KIND_LABELS[i.kind]} · issued {formatDay(i.issued_on)} · due {formatDay(i.due_on)}
      </p>
      <dl class="amounts">
        <div>
          <dt>Total</dt>
          <dd>{money(i.total_minor, i.currency)}</dd>
        </div>
        {i.credited_minor > 0 && (
          <div>
            <dt>Credited</dt>
            <dd>{money(i.credited_minor, i.currency)}</dd>
          </div>
        )}
        <div>
          <dt>Paid</dt>
          <dd>{money(i.paid_minor, i.currency)}</dd>
        </div>
        <div>
          <dt>Amount due</dt>
          <dd data-testid="amount-due">{money(i.balance_minor, i.currency)}</dd>
        </div>
      </dl>
      {canPay && i.payable ? (
        <button type="button" class="primary" onClick={onPay}>
          Pay {money(i.balance_minor, i.currency)}
          <span class="visually-hidden"> on {i.number}</span>
        </button>
      ) : i.balance_minor > 0 && i.not_payable ? (
        <p class="not-payable" data-testid="not-payable">
          {i.not_payable}
        </p>
      ) : i.status === "void" && i.void_reason ? (
        <p class="not-payable">Cancelled by the firm: {i.void_reason}</p>
      ) : null}
      <details class="invoice-lines">
        <summary>
          What {i.number} is for<span class="visually-hidden"> ({i.lines.length} lines)</span>
        </summary>
        <ul>
          {i.lines.map((line) => (
            <li key={line.position}>
              {line.description} <span class="muted">{money(line.amount_minor, i.currency)}</span>
            </li>
          ))}
          {i.credit_notes.map((note) => (
            <li key={note.credit_note_id}>
              Credit note {note.number}, {formatDay(note.issued_on)}: {note.reason}{" "}
              <span class="muted">−{money(note.amount_minor, i.currency)}</span>
            </li>
          ))}
        </ul>
      </details>
    </li>
  );
}

export function PaymentList({ payments, currency, matterLabel }: { payments: Payment[]; currency: string; matterLabel?: (matterId: string) => string }) {
  if (payments.length === 0) return <p class="empty">No payments yet.</p>;
  return (
    <ul class="cards">
      {payments.map((p) => (
        <li key={p.payment_id} class="card payment" data-testid="payment">
          <p class="card-title">
            {money(p.amount_minor, currency)} on {p.invoice_number}
            <span class={`tag pay-${p.status}`} data-testid="payment-status">
              {PAYMENT_STATUS_LABELS[p.status]}
            </span>
          </p>
          <p class="muted">
            {PAYMENT_METHOD_LABELS[p.method]} · {fullWhen(p.created_at)}
            {matterLabel ? ` · ${matterLabel(p.matter_id)}` : ""}
          </p>
          {p.status === "failed" && p.failure_reason && <p class="payment-problem">{p.failure_reason}</p>}
          {p.refunded_minor > 0 && <p>Refunded: {money(p.refunded_minor, currency)}</p>}
          {p.status === "succeeded" && (
            <a href={receiptUrl(p.payment_id)} download="" class="button-link">
              Receipt<span class="visually-hidden"> for {money(p.amount_minor, currency)} on {p.invoice_number}</span>
            </a>
          )}
        </li>
      ))}
    </ul>
  );
}

export function Schedule({ items, currency, matterLabel }: { items: ScheduleItem[]; currency: string; matterLabel?: (matterId: string) => string }) {
  if (items.length === 0) return <p class="empty">No bills are planned.</p>;
  return (
    <ul class="cards">
      {items.map((s, n) => (
        <li key={`${s.matter_id}-${s.planned_on}-${n}`} class="card" data-testid="planned-bill">
          <p class="card-title">
            {s.description}
            <span class="tag">{SCHEDULE_STATUS_LABELS[s.status]}</span>
          </p>
          <p class="muted">
            {SCHEDULE_KIND_LABELS[s.kind]} · {formatDay(s.planned_on)} · {money(s.amount_minor, currency)}
            {s.invoice_number ? ` · billed on ${s.invoice_number}` : ""}
            {matterLabel ? ` · ${matterLabel(s.matter_id)}` : ""}
          </p>
        </li>
      ))}
    </ul>
  );
}

export function TimeEntries({ entries, currency, matterLabel }: { entries: TimeEntry[]; currency: string; matterLabel?: (matterId: string) => string }) {
  if (entries.length === 0) return <p class="empty">No time has been recorded yet.</p>;
  return (
    <ul class="cards">
      {entries.map((t) => (
        <li key={t.time_entry_id} class="card" data-testid="time-entry">
          <p class="card-title">{t.description}</p>
          <p class="muted">
            {formatDay(t.worked_on)} · {t.fee_earner} · {hoursAndMinutes(t.minutes)} · {money(t.value_minor, currency)}
            {t.invoice_number ? ` · billed on ${t.invoice_number}` : " · not yet billed"}
            {matterLabel ? ` · ${matterLabel(t.matter_id)}` : ""}
          </p>
        </li>
      ))}
    </ul>
  );
}

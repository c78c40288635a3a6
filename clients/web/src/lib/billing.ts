// Billing as the portal shows it: words for invoice and payment states, what an invoice card in
// the conversation says now that later cards may have changed it, the client's invoices by
// matter, and where the statements and receipts are. Pure functions, unit-tested; the server
// computes every amount, the page only shows them.

import type { EventBody } from "../protocol";
import type {
  BillingSummary,
  Invoice,
  InvoiceKind,
  InvoiceStatus,
  Payment,
  PaymentMethod,
  PaymentStatus,
  ScheduleKind,
  ScheduleStatus,
} from "../protocol";
import { ApiError, describe } from "./api";
import { money } from "./format";

/** An invoice card's body in the channel. */
export type InvoiceCardBody = Extract<EventBody, { kind: "invoice" }>;

/** A payment card's body in the channel. */
export type PaymentCardBody = Extract<EventBody, { kind: "payment" }>;

/** A billing card where it sits in the conversation. */
export interface BillingEntry {
  seq: number;
  body: InvoiceCardBody | PaymentCardBody;
}

export const INVOICE_KIND_LABELS: Record<InvoiceKind, string> = {
  bill: "Bill",
  on_account: "Money on account",
};

export const INVOICE_STATUS_LABELS: Record<InvoiceStatus, string> = {
  issued: "Due",
  part_paid: "Part paid",
  paid: "Paid",
  void: "Cancelled",
};

export const PAYMENT_STATUS_LABELS: Record<PaymentStatus, string> = {
  processing: "On its way",
  succeeded: "Succeeded",
  failed: "Failed",
  refunded: "Refunded",
  disputed: "Disputed",
};

export const PAYMENT_METHOD_LABELS: Record<PaymentMethod, string> = {
  card: "Card",
  bank: "Bank payment",
  transfer: "Bank transfer",
};

export const SCHEDULE_KIND_LABELS: Record<ScheduleKind, string> = {
  retainer: "Retainer",
  phase: "Stage",
  bill: "Bill",
};

export const SCHEDULE_STATUS_LABELS: Record<ScheduleStatus, string> = {
  planned: "Planned",
  billed: "Billed",
  cancelled: "Cancelled",
};

/** What a payment alert's headline says, by the payment's state. */
export const PAYMENT_ALERT_WORDS: Record<PaymentStatus, string> = {
  processing: "Payment on its way",
  succeeded: "Payment succeeded",
  failed: "Payment failed",
  refunded: "Payment refunded",
  disputed: "Payment disputed",
};

/** Today as a calendar date, `YYYY-MM-DD`, where the reader is. */
export function today(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** The badge an invoice wears: its status, or "Overdue" when something is owed past its date. */
export function invoiceBadge(invoice: Pick<Invoice, "status" | "due_on" | "balance_minor">, on: string): {
  label: string;
  tone: "due" | "overdue" | "paid" | "void";
} {
  if (invoice.status === "paid") return { label: "Paid", tone: "paid" };
  if (invoice.status === "void") return { label: INVOICE_STATUS_LABELS.void, tone: "void" };
  if (invoice.balance_minor > 0 && invoice.due_on < on) return { label: "Overdue", tone: "overdue" };
  return { label: INVOICE_STATUS_LABELS[invoice.status], tone: "due" };
}

/** Where an invoice stands as its card in the conversation shows it. */
export type CardPhase = "owed" | "processing" | "paid" | "failed" | "refunded" | "disputed" | "void";

export interface InvoiceCardState {
  number: string;
  currency: string;
  totalMinor: number;
  amountDueMinor: number;
  dueOn: string;
  phase: CardPhase;
  /** Why the latest payment failed, for the payer. */
  failureReason: string | null;
  /** A later invoice card for the same invoice (a credit note, an amendment) replaces this one. */
  superseded: boolean;
}

/**
 * What the invoice card at `seq` says now: its own figures, changed by every later card about the
 * same invoice in seq order. A later invoice card supersedes it (and resets the figures); a payment
 * card brings the balance after it and the payment's outcome.
 */
export function invoiceCardState(card: { seq: number; body: InvoiceCardBody }, entries: BillingEntry[]): InvoiceCardState {
  const state: InvoiceCardState = {
    number: card.body.number,
    currency: card.body.currency,
    totalMinor: card.body.total_minor,
    amountDueMinor: card.body.amount_due_minor,
    dueOn: card.body.due_on,
    phase: card.body.amount_due_minor > 0 ? "owed" : "paid",
    failureReason: null,
    superseded: false,
  };
  const later = entries
    .filter((e) => e.seq > card.seq && e.body.invoice_id === card.body.invoice_id)
    .sort((a, b) => a.seq - b.seq);
  for (const { body } of later) {
    state.failureReason = null;
    if (body.kind === "invoice") {
      state.superseded = true;
      state.totalMinor = body.total_minor;
      state.amountDueMinor = body.amount_due_minor;
      state.dueOn = body.due_on;
      state.phase = body.amount_due_minor > 0 ? "owed" : "paid";
      continue;
    }
    state.amountDueMinor = body.balance_minor;
    switch (body.status) {
      case "processing":
        state.phase = "processing";
        break;
      case "succeeded":
        state.phase = body.invoice_status === "paid" || body.balance_minor <= 0 ? "paid" : "owed";
        break;
      case "failed":
        state.phase = "failed";
        state.failureReason = body.failure_reason ?? "The payment did not go through.";
        break;
      case "refunded":
        state.phase = "refunded";
        break;
      case "disputed":
        state.phase = "disputed";
        break;
    }
    if (body.invoice_status === "void") state.phase = "void";
  }
  return state;
}

/** Whether Pay belongs on an invoice card in this state. */
export function cardOwed(state: InvoiceCardState): boolean {
  return !state.superseded && state.amountDueMinor > 0 && ["owed", "failed", "refunded"].includes(state.phase);
}

/** The badge on an invoice card. */
export const CARD_PHASE_LABELS: Record<CardPhase, string> = {
  owed: "Due",
  processing: "Payment on its way",
  paid: "Paid",
  failed: "Payment failed",
  refunded: "Refunded",
  disputed: "Disputed",
  void: "Cancelled",
};

/** One sentence for a payment card. */
export function paymentCardText(body: PaymentCardBody, currency = "GBP"): string {
  const paid = `${money(body.amount_minor, currency)} on ${body.invoice_number}`;
  const owed = money(body.balance_minor, currency);
  switch (body.status) {
    case "processing":
      return `A payment of ${paid} is on its way. The invoice shows as paid once it arrives.`;
    case "succeeded":
      return body.invoice_status === "paid" || body.balance_minor <= 0
        ? `Payment of ${paid} received. ${body.invoice_number} is paid.`
        : `Payment of ${paid} received. ${owed} is still owed.`;
    case "failed":
      return `A payment of ${paid} failed: ${body.failure_reason ?? "the payment did not go through."}`;
    case "refunded":
      return `A payment of ${paid} was refunded. ${owed} is owed.`;
    case "disputed":
      return `A payment of ${paid} is disputed by the payer's bank.`;
  }
}

/**
 * The newest payment card about `invoiceId` after `since` (how a payment sheet learns what became
 * of the payment it confirmed: the browser never decides that itself).
 */
export function latestPaymentCard(entries: BillingEntry[], invoiceId: string, since: number): PaymentCardBody | undefined {
  let latest: BillingEntry | undefined;
  for (const e of entries) {
    if (e.seq > since && e.body.kind === "payment" && e.body.invoice_id === invoiceId && (!latest || e.seq > latest.seq)) {
      latest = e;
    }
  }
  return latest?.body.kind === "payment" ? latest.body : undefined;
}

/** "2 h 30 min", "45 min". */
export function hoursAndMinutes(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** One matter's share of a client-wide summary. */
export interface MatterBilling {
  matterId: string;
  reference: string;
  balanceMinor: number;
  invoices: Invoice[];
  payments: Payment[];
}

/** A client's invoices and payments by matter, in matter-reference order. */
export function byMatter(summary: BillingSummary): MatterBilling[] {
  const groups = new Map<string, MatterBilling>();
  const group = (matterId: string, reference: string) => {
    let g = groups.get(matterId);
    if (!g) {
      g = { matterId, reference, balanceMinor: 0, invoices: [], payments: [] };
      groups.set(matterId, g);
    }
    return g;
  };
  for (const invoice of summary.invoices) {
    const g = group(invoice.matter_id, invoice.matter_reference);
    g.invoices.push(invoice);
    g.balanceMinor += invoice.balance_minor;
  }
  for (const payment of summary.payments) {
    const reference = summary.invoices.find((i) => i.invoice_id === payment.invoice_id)?.matter_reference ?? "";
    group(payment.matter_id, reference).payments.push(payment);
  }
  return [...groups.values()].sort((a, b) => a.reference.localeCompare(b.reference));
}

/** The statement download, for a whole client or one matter. */
export function statementUrl(of: "clients" | "matters", id: string, format: "csv" | "pdf"): string {
  return `/api/v1/${of}/${id}/statement?format=${format}`;
}

/** A succeeded payment's receipt (PDF). */
export function receiptUrl(paymentId: string): string {
  return `/api/v1/payments/${paymentId}/receipt`;
}

/**
 * Words for a refused Pay. The server explains refusals that are about the invoice (client money,
 * with the stable reason `client_money`; nothing owed or a payment on its way, `conflict`; payments
 * not set up, `unavailable`) in a sentence for the payer; anything else gets the usual words.
 */
export function payRefusal(error: unknown): string {
  if (error instanceof ApiError && error.message) {
    if (error.code === "conflict" || error.code === "unavailable") return error.message;
    if (error.code === "forbidden" && error.reason === "client_money") return error.message;
  }
  return describe(error);
}

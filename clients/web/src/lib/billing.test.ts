import { describe, expect, it } from "vitest";
import type { BillingSummary, Invoice, Payment } from "../protocol";
import { ApiError } from "./api";
import {
  type BillingEntry,
  byMatter,
  cardOwed,
  hoursAndMinutes,
  type InvoiceCardBody,
  invoiceBadge,
  invoiceCardState,
  latestPaymentCard,
  type PaymentCardBody,
  paymentCardText,
  payRefusal,
  today,
} from "./billing";
import { money } from "./format";

const INV = "inv-1";

const invoiceCard = (amountDue: number, total = 60_000, id = INV): InvoiceCardBody => ({
  kind: "invoice",
  invoice_id: id,
  number: id === INV ? "INV-1" : "INV-2",
  total_minor: total,
  amount_due_minor: amountDue,
  currency: "GBP",
  due_on: "2026-12-20",
});

const paymentCard = (
  status: PaymentCardBody["status"],
  balance: number,
  invoiceStatus: PaymentCardBody["invoice_status"],
  failure: string | null = null,
  id = INV,
): PaymentCardBody => ({
  kind: "payment",
  invoice_id: id,
  invoice_number: id === INV ? "INV-1" : "INV-2",
  payment_id: `pay-${status}`,
  status,
  amount_minor: 60_000,
  balance_minor: balance,
  invoice_status: invoiceStatus,
  failure_reason: failure,
});

const state = (entries: BillingEntry[]) => {
  const first = entries[0];
  if (first.body.kind !== "invoice") throw new Error("starts with an invoice card");
  return invoiceCardState({ seq: first.seq, body: first.body }, entries);
};

describe("money", () => {
  it("formats integer pence as pounds with separators and two places", () => {
    expect(money(123_450)).toBe("£1,234.50");
    expect(money(141_400)).toBe("£1,414.00");
    expect(money(5)).toBe("£0.05");
    expect(money(0)).toBe("£0.00");
    expect(money(500_000_000)).toBe("£5,000,000.00");
    expect(money(-2_500)).toBe("-£25.00");
  });
});

describe("an invoice card's state", () => {
  it("is owed as issued, and paid once a payment card says the invoice is paid", () => {
    const entries: BillingEntry[] = [{ seq: 3, body: invoiceCard(60_000) }];
    expect(state(entries)).toMatchObject({ phase: "owed", amountDueMinor: 60_000, superseded: false });
    expect(cardOwed(state(entries))).toBe(true);
    entries.push({ seq: 7, body: paymentCard("succeeded", 0, "paid") });
    expect(state(entries)).toMatchObject({ phase: "paid", amountDueMinor: 0 });
    expect(cardOwed(state(entries))).toBe(false);
  });

  it("follows a payment on its way, a failure with its reason, and a retry that succeeds", () => {
    const entries: BillingEntry[] = [
      { seq: 1, body: invoiceCard(60_000) },
      { seq: 2, body: paymentCard("failed", 60_000, "issued", "Your card was declined.") },
    ];
    expect(state(entries)).toMatchObject({ phase: "failed", failureReason: "Your card was declined.", amountDueMinor: 60_000 });
    expect(cardOwed(state(entries))).toBe(true);
    entries.push({ seq: 4, body: paymentCard("processing", 60_000, "issued") });
    expect(state(entries)).toMatchObject({ phase: "processing", failureReason: null });
    expect(cardOwed(state(entries))).toBe(false);
    entries.push({ seq: 5, body: paymentCard("succeeded", 0, "paid") });
    expect(state(entries).phase).toBe("paid");
  });

  it("shows a part payment as still owed with the lower balance", () => {
    const s = state([
      { seq: 1, body: invoiceCard(241_400, 241_400) },
      { seq: 2, body: paymentCard("succeeded", 141_400, "part_paid") },
    ]);
    expect(s).toMatchObject({ phase: "owed", amountDueMinor: 141_400, totalMinor: 241_400 });
  });

  it("is owed again after a refund, and disputed or cancelled when the cards say so", () => {
    const base: BillingEntry[] = [
      { seq: 1, body: invoiceCard(60_000) },
      { seq: 2, body: paymentCard("succeeded", 0, "paid") },
    ];
    const refunded = state([...base, { seq: 3, body: paymentCard("refunded", 60_000, "issued") }]);
    expect(refunded).toMatchObject({ phase: "refunded", amountDueMinor: 60_000 });
    expect(cardOwed(refunded)).toBe(true);
    expect(state([...base, { seq: 3, body: paymentCard("disputed", 0, "paid") }]).phase).toBe("disputed");
    expect(state([...base, { seq: 3, body: paymentCard("refunded", 0, "void") }]).phase).toBe("void");
  });

  it("is superseded by a later invoice card for the same invoice, which carries the new figures", () => {
    const entries: BillingEntry[] = [
      { seq: 1, body: invoiceCard(60_000) },
      { seq: 2, body: invoiceCard(40_000, 40_000) },
    ];
    const old = state(entries);
    expect(old).toMatchObject({ superseded: true, amountDueMinor: 40_000 });
    expect(cardOwed(old)).toBe(false);
    const second = entries[1].body as InvoiceCardBody;
    expect(invoiceCardState({ seq: 2, body: second }, entries)).toMatchObject({ superseded: false, phase: "owed", amountDueMinor: 40_000 });
  });

  it("ignores cards about other invoices and cards that came before it", () => {
    const entries: BillingEntry[] = [
      { seq: 1, body: paymentCard("succeeded", 0, "paid") },
      { seq: 2, body: invoiceCard(60_000) },
      { seq: 3, body: paymentCard("succeeded", 0, "paid", null, "inv-2") },
      { seq: 4, body: invoiceCard(10_000, 10_000, "inv-2") },
    ];
    const card = entries[1].body as InvoiceCardBody;
    expect(invoiceCardState({ seq: 2, body: card }, entries)).toMatchObject({ phase: "owed", superseded: false, amountDueMinor: 60_000 });
  });

  it("finds the newest payment card for an invoice after a point in the conversation", () => {
    const entries: BillingEntry[] = [
      { seq: 1, body: invoiceCard(60_000) },
      { seq: 2, body: paymentCard("failed", 60_000, "issued", "Declined") },
      { seq: 3, body: paymentCard("succeeded", 0, "paid", null, "inv-2") },
      { seq: 5, body: paymentCard("succeeded", 0, "paid") },
    ];
    expect(latestPaymentCard(entries, INV, 0)?.status).toBe("succeeded");
    expect(latestPaymentCard(entries, INV, 5)).toBeUndefined();
    expect(latestPaymentCard(entries.slice(0, 3), INV, 1)?.status).toBe("failed");
  });
});

describe("billing words", () => {
  it("says what a payment card means", () => {
    expect(paymentCardText(paymentCard("succeeded", 0, "paid"))).toBe("Payment of £600.00 on INV-1 received. INV-1 is paid.");
    expect(paymentCardText(paymentCard("succeeded", 1_000, "part_paid"))).toContain("£10.00 is still owed");
    expect(paymentCardText(paymentCard("failed", 60_000, "issued", "Your card was declined."))).toContain("failed: Your card was declined.");
    expect(paymentCardText(paymentCard("processing", 60_000, "issued"))).toContain("on its way");
  });

  it("badges an invoice overdue only while something is owed past its date", () => {
    const on = "2026-12-21";
    expect(invoiceBadge({ status: "issued", due_on: "2026-12-20", balance_minor: 1 }, on)).toEqual({ label: "Overdue", tone: "overdue" });
    expect(invoiceBadge({ status: "part_paid", due_on: "2026-12-21", balance_minor: 1 }, on)).toEqual({ label: "Part paid", tone: "due" });
    expect(invoiceBadge({ status: "paid", due_on: "2026-01-01", balance_minor: 0 }, on)).toEqual({ label: "Paid", tone: "paid" });
    expect(today(new Date(2026, 0, 5, 23, 30))).toBe("2026-01-05");
  });

  it("puts hours and minutes plainly", () => {
    expect(hoursAndMinutes(45)).toBe("45 min");
    expect(hoursAndMinutes(120)).toBe("2 h");
    expect(hoursAndMinutes(150)).toBe("2 h 30 min");
  });

  it("passes on the server's reason for a refused Pay, but not a bare refusal", () => {
    const clientMoney = "This is a request for money on account, which is client money.";
    expect(payRefusal(new ApiError(403, "forbidden", clientMoney, undefined, "client_money"))).toBe(clientMoney);
    expect(payRefusal(new ApiError(403, "forbidden", "Some other refusal."))).toBe("You do not have permission to do that.");
    expect(payRefusal(new ApiError(409, "conflict", "Nothing is owed on this invoice."))).toBe("Nothing is owed on this invoice.");
    expect(payRefusal(new ApiError(403, "forbidden", "Forbidden."))).toBe("You do not have permission to do that.");
    expect(payRefusal(new ApiError(500, "internal", "boom"))).toContain("could not complete");
  });
});

describe("byMatter", () => {
  const invoice = (id: string, matter: string, reference: string, balance: number): Invoice => ({
    invoice_id: id,
    matter_id: matter,
    matter_reference: reference,
    number: id.toUpperCase(),
    kind: "bill",
    issued_on: "2026-11-01",
    due_on: "2026-12-01",
    currency: "GBP",
    total_minor: balance,
    credited_minor: 0,
    paid_minor: 0,
    balance_minor: balance,
    status: "issued",
    revision: 1,
    lines: [],
    credit_notes: [],
    payments: [],
    document_id: null,
    payable: true,
    not_payable: null,
  });
  const payment = (invoiceId: string, matter: string): Payment => ({
    payment_id: `p-${invoiceId}`,
    invoice_id: invoiceId,
    invoice_number: invoiceId.toUpperCase(),
    matter_id: matter,
    method: "card",
    status: "succeeded",
    amount_minor: 100,
    refunded_minor: 0,
    failure_reason: null,
    created_at: "2026-11-02T10:00:00Z",
    updated_at: "2026-11-02T10:00:00Z",
  });

  it("groups a client's invoices and payments by matter, in reference order, with each matter's balance", () => {
    const summary: BillingSummary = {
      currency: "GBP",
      balance_minor: 600,
      overdue_minor: 0,
      invoices: [invoice("b1", "mb", "CP-1002", 100), invoice("a1", "ma", "CP-1001", 200), invoice("a2", "ma", "CP-1001", 300)],
      payments: [payment("a1", "ma"), payment("b1", "mb")],
      schedule: [],
      time_entries: null,
    };
    const groups = byMatter(summary);
    expect(groups.map((g) => [g.reference, g.balanceMinor, g.invoices.length, g.payments.length])).toEqual([
      ["CP-1001", 500, 2, 1],
      ["CP-1002", 100, 1, 1],
    ]);
  });
});

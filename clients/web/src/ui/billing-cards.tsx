// Invoice and payment cards in a matter's conversation. An invoice card shows what later cards
// about the same invoice made of it (paid, a payment on its way, failed and why, refunded,
// disputed, or replaced by a newer version of the invoice), with Pay while something is owed.

import type { AlertDetail, MatterId } from "../protocol";
import type { Invoice } from "../protocol";
import { CARD_PHASE_LABELS, cardOwed, type InvoiceCardState, PAYMENT_ALERT_WORDS, paymentCardText, receiptUrl } from "../lib/billing";
import type { Message } from "../lib/conversation";
import { money } from "../lib/format";
import { formatDay } from "../lib/milestones";
import { BubbleHead } from "./bubble";
import { follow } from "./router";

/** Who the cards come from: the firm's billing system or its card processor, never a person. */
const FROM = "Billing";

export function InvoiceCard({
  matterId,
  message,
  state,
  invoice,
  onPay,
}: {
  matterId: MatterId;
  message: Message;
  state: InvoiceCardState;
  /** The invoice as the server last described it, when known: whether it may be paid by card. */
  invoice?: Invoice;
  /** Set for those who may pay (client users with the invoices scope). */
  onPay?: () => void;
}) {
  const owed = cardOwed(state);
  const due = money(state.amountDueMinor, state.currency);
  return (
    <li class={`doc-card bill-card bill-card-${state.superseded ? "old" : state.phase}`} data-seq={message.seq} data-testid="invoice-card">
      <BubbleHead author={FROM} at={message.at} />
      <p>
        Invoice{" "}
        <a href={`/matters/${matterId}/billing`} onClick={follow}>
          {state.number}
        </a>{" "}
        {/* A replaced card keeps its own figures; the newer card carries the current ones. */}
        for {money(state.superseded && message.invoice ? message.invoice.total_minor : state.totalMinor, state.currency)}
        {!state.superseded && (
          <span class={`tag bill-${state.phase}`} data-testid="card-status">
            {CARD_PHASE_LABELS[state.phase]}
          </span>
        )}
      </p>
      {state.superseded ? (
        <p class="muted">This invoice has changed since: see its newer card below.</p>
      ) : (
        <>
          {owed && (
            <p>
              {due} to pay by {formatDay(state.dueOn)}
            </p>
          )}
          {state.phase === "failed" && <p class="payment-problem">The last payment failed: {state.failureReason}</p>}
          {state.phase === "processing" && <p class="muted">A payment is on its way; the invoice shows as paid once it arrives.</p>}
          {owed && onPay && invoice && !invoice.payable && invoice.not_payable ? (
            <p class="not-payable">{invoice.not_payable}</p>
          ) : owed && onPay ? (
            <button type="button" class="primary" onClick={onPay}>
              Pay {due}
              <span class="visually-hidden"> on {state.number}</span>
            </button>
          ) : null}
        </>
      )}
    </li>
  );
}

export function PaymentCard({ message }: { message: Message }) {
  const body = message.payment;
  if (!body) return null;
  return (
    <li class={`doc-card bill-card bill-card-${body.status}`} data-seq={message.seq} data-testid="payment-card">
      <BubbleHead author={FROM} at={message.at} />
      <p>{paymentCardText(body)}</p>
      {body.status === "succeeded" && (
        <p>
          <a href={receiptUrl(body.payment_id)} download="">
            Receipt<span class="visually-hidden"> for {money(body.amount_minor)} on {body.invoice_number}</span>
          </a>
        </p>
      )}
    </li>
  );
}

/** A payment alert's words (the responsible fee earner's): "Payment succeeded: £600.00 on INV-1001". */
export function PaymentAlertText({
  detail,
  onFollow,
}: {
  detail: Extract<AlertDetail, { kind: "payment" }>;
  onFollow?: () => void;
}) {
  return (
    <>
      {PAYMENT_ALERT_WORDS[detail.status]}: {money(detail.amount_minor)} on{" "}
      <a href={`/matters/${detail.matter_id}/billing`} onClick={(e) => (follow(e), onFollow?.())}>
        {detail.invoice_number}
      </a>
    </>
  );
}

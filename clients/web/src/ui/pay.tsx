// The payment sheet: a modal dialog that asks the server for a payment (the amount is the
// server's), takes it through the processor (Stripe's Payment Element, or the stand-in's test
// methods), and says what happened. A decline or a bank payment under way is the processor's
// answer; "paid" is only ever the server's: a `payment` card on the matter's channel, or the
// invoice fetched again.

import { useEffect, useRef, useState } from "preact/hooks";
import type { MatterId } from "../protocol";
import type { Invoice, PaymentSheet } from "../protocol";
import { api } from "../lib/api";
import { latestPaymentCard, payRefusal } from "../lib/billing";
import type { Channel } from "../lib/channel";
import { money } from "../lib/format";
import { loadPayment, type PaymentSession } from "../lib/payments";

type Step =
  | { kind: "preparing" }
  | { kind: "refused"; message: string }
  | { kind: "ready" }
  | { kind: "confirming" }
  /** The processor took it; the server has not said so yet. */
  | { kind: "awaiting" }
  | { kind: "failed"; message: string }
  | { kind: "processing" }
  | { kind: "paid"; stillOwedMinor: number };

const LOAD_FAILED = "The payment form could not be loaded. Please try again shortly.";

export function PaySheet({
  invoiceId,
  number,
  matterId,
  channel,
  onClose,
}: {
  invoiceId: string;
  number: string;
  matterId: MatterId;
  channel: Channel;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(document.activeElement);
  const elementBox = useRef<HTMLDivElement>(null);
  const since = useRef(0);
  const [sheet, setSheet] = useState<PaymentSheet>();
  const [session, setSession] = useState<PaymentSession>();
  const [step, setStep] = useState<Step>({ kind: "preparing" });
  const [choice, setChoice] = useState("");
  const busy = step.kind === "preparing" || step.kind === "confirming";

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    // Focus goes back to the Pay button, or, once it has gone (nothing owed any more), to the
    // invoice it was on.
    const back = opener.current;
    const holder = back?.closest("li");
    return () => {
      d?.close();
      if (back instanceof HTMLElement && back.isConnected) {
        back.focus();
      } else if (holder instanceof HTMLElement && holder.isConnected) {
        holder.tabIndex = -1;
        holder.focus();
      }
    };
  }, []);

  // Ask the server for the payment, then load the processor's side of it.
  useEffect(() => {
    let live = true;
    let taken: PaymentSession | undefined;
    (async () => {
      try {
        const s = await api<PaymentSheet>("POST", `/invoices/${invoiceId}/pay`, {});
        if (!live) return;
        setSheet(s);
        try {
          taken = await loadPayment(s);
        } catch {
          if (live) setStep({ kind: "refused", message: LOAD_FAILED });
          return;
        }
        if (!live) return taken.destroy();
        setChoice(taken.choices[0]?.id ?? "");
        setSession(taken);
        setStep({ kind: "ready" });
      } catch (e) {
        if (live) setStep({ kind: "refused", message: payRefusal(e) });
      }
    })();
    return () => {
      live = false;
      taken?.destroy();
    };
  }, [invoiceId]);

  useEffect(() => {
    if (session && session.choices.length === 0 && elementBox.current) {
      session.mount(elementBox.current).catch(() => setStep({ kind: "refused", message: LOAD_FAILED }));
    }
  }, [session]);

  // The server's record, as it arrives on the channel: the only way this sheet says "paid".
  const card = latestPaymentCard(channel.conversation(matterId).billing(), invoiceId, since.current);
  useEffect(() => {
    if (card?.status !== "succeeded" || (step.kind !== "confirming" && step.kind !== "awaiting")) return;
    setStep({ kind: "paid", stillOwedMinor: card.invoice_status === "paid" ? 0 : card.balance_minor });
  }, [card?.payment_id, card?.status, step.kind]);

  // Each new state puts focus on what comes next (`data-autofocus`), so keyboard and screen reader
  // users are not left on a button that has just gone.
  useEffect(() => {
    if (busy) return;
    dialog.current?.querySelector<HTMLElement>("[data-autofocus]:not([hidden])")?.focus();
  }, [step.kind]);

  const confirm = async (e: Event) => {
    e.preventDefault();
    if (!session || busy) return;
    since.current = channel.conversation(matterId).head;
    setStep({ kind: "confirming" });
    const outcome = await session.confirm(choice || undefined);
    // A card may already have settled it: only a step still confirming moves on from here.
    const next: Step =
      outcome.status === "failed"
        ? { kind: "failed", message: outcome.message }
        : outcome.status === "processing"
          ? { kind: "processing" }
          : { kind: "awaiting" };
    setStep((s) => (s.kind === "confirming" ? next : s));
    if (outcome.status !== "succeeded") return;
    try {
      const invoice = await api<Invoice>("GET", `/invoices/${invoiceId}`);
      if (invoice.status === "paid") setStep((s) => (s.kind === "awaiting" ? { kind: "paid", stillOwedMinor: 0 } : s));
    } catch {
      // The card will tell.
    }
  };

  const amount = sheet ? money(sheet.amount_minor, sheet.currency) : "";
  const formShown = step.kind === "ready" || step.kind === "confirming" || step.kind === "failed";
  const problem = step.kind === "failed" || step.kind === "refused" ? step.message : "";
  const autofocus = (when: boolean) => (when ? { "data-autofocus": "" } : {});
  return (
    <dialog
      ref={dialog}
      class="pay-sheet"
      aria-labelledby="pay-title"
      aria-busy={busy}
      onCancel={(e) => {
        // Escape closes, except while the payment is being confirmed.
        e.preventDefault();
        if (step.kind !== "confirming") onClose();
      }}
    >
      <h2 id="pay-title" tabIndex={-1} {...autofocus(step.kind === "ready" && !session?.choices.length)}>
        Pay invoice {number}
      </h2>
      {sheet?.test_mode && (
        <p class="test-mode" data-testid="test-mode">
          Test mode — no real money moves
        </p>
      )}
      {sheet && (
        <dl class="pay-facts">
          <div>
            <dt>Invoice</dt>
            <dd>{number}</dd>
          </div>
          <div>
            <dt>Amount</dt>
            <dd data-testid="pay-amount">{amount}</dd>
          </div>
        </dl>
      )}
      <p class={`pay-status pay-status-${step.kind}`} role="status" data-testid="pay-status">
        {statusText(step, amount, number)}
      </p>
      <div class="notice notice-error" role="alert" tabIndex={-1} hidden={!problem} {...autofocus(!!problem)}>
        {problem}
        {step.kind === "failed" && " You can try again, with this or another method."}
      </div>
      <form onSubmit={confirm} hidden={!formShown}>
        {session && session.choices.length > 0 && (
          <fieldset class="test-methods" disabled={busy}>
            <legend>Test payment method</legend>
            {session.choices.map((m) => (
              <div class="check" key={m.id}>
                <input
                  type="radio"
                  id={`pm-${m.id}`}
                  name="payment-method"
                  value={m.id}
                  checked={choice === m.id}
                  onChange={() => setChoice(m.id)}
                  {...autofocus(step.kind === "ready" && choice === m.id)}
                />
                <label for={`pm-${m.id}`}>{m.label}</label>
              </div>
            ))}
          </fieldset>
        )}
        {session && session.choices.length === 0 && <div class="payment-element" ref={elementBox} />}
        <div class="pay-buttons">
          <button type="submit" class="primary" disabled={busy || !session}>
            {step.kind === "failed" ? `Try again: pay ${amount}` : `Pay ${amount}`}
          </button>
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
        </div>
      </form>
      {!formShown && step.kind !== "preparing" && (
        <div class="pay-buttons">
          <button type="button" class="primary" onClick={onClose} {...autofocus(!problem)}>
            Close
          </button>
        </div>
      )}
    </dialog>
  );
}

/** What the sheet says about where the payment stands (the live region's text). */
function statusText(step: Step, amount: string, number: string): string {
  switch (step.kind) {
    case "preparing":
      return "Preparing the payment…";
    case "confirming":
      return "Confirming your payment…";
    case "awaiting":
      return `Your payment of ${amount} was accepted. Waiting for the firm's confirmation: you can close this, ${number} updates by itself.`;
    case "processing":
      return `Your bank payment of ${amount} is on its way. It can take a few days; ${number} shows as paid once it arrives.`;
    case "paid":
      return step.stillOwedMinor > 0
        ? `Paid: ${amount} on ${number}. ${money(step.stillOwedMinor)} is still owed. Thank you.`
        : `Paid: ${amount} on ${number}. Thank you. Your receipt is with the invoice's payments.`;
    default:
      return "";
  }
}

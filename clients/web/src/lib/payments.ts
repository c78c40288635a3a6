// Confirming a payment in the browser, behind one interface: Stripe.js with its Payment Element
// for the firm's real account, or, when the server names a stand-in (the demo and the tests), a
// few of Stripe's test payment methods confirmed against it directly, with no external script.
// Either way the browser only confirms: what became of the payment reaches the page as a
// `payment` card once Stripe has told the server.
//
// The loader is a module-level provider chosen from the payment sheet; `setPaymentLoader`
// replaces it (tests, or a future processor).

import type { PaymentSheet } from "../protocol";

/** What confirming said. `succeeded` is the processor's word, not yet the firm's record. */
export type ConfirmOutcome =
  | { status: "succeeded" }
  | { status: "processing" }
  | { status: "failed"; message: string };

/** A test payment method the stand-in accepts, as Stripe's test cards page names them. */
export interface TestMethod {
  id: string;
  label: string;
}

/** One payment being taken for one sheet. */
export interface PaymentSession {
  /** Choices the page offers itself (the stand-in's test methods); empty when `mount` shows the processor's own fields. */
  readonly choices: readonly TestMethod[];
  /** Puts the processor's own fields (Stripe's Payment Element) in `container`; nothing for the stand-in. */
  mount(container: HTMLElement): Promise<void>;
  /** Confirms the payment, with `choice` from `choices` where there are any. */
  confirm(choice?: string): Promise<ConfirmOutcome>;
  /** Takes down what `mount` put up. */
  destroy(): void;
}

export type PaymentLoader = (sheet: PaymentSheet) => Promise<PaymentSession>;

export const TEST_METHODS: readonly TestMethod[] = [
  { id: "pm_card_visa", label: "Visa test card (succeeds)" },
  { id: "pm_card_chargeDeclined", label: "Declined test card" },
  { id: "pm_pay_by_bank", label: "Pay by bank (stays processing)" },
];

const FAILED = "The payment did not go through. Please try again or use another method.";

/** The outcome a PaymentIntent (or Stripe's error object) describes after confirming. */
export function intentOutcome(body: unknown): ConfirmOutcome {
  const value = (body ?? {}) as {
    status?: string;
    last_payment_error?: { message?: string } | null;
    error?: { message?: string };
  };
  if (value.error) return { status: "failed", message: value.error.message || FAILED };
  switch (value.status) {
    case "succeeded":
      return { status: "succeeded" };
    case "processing":
      return { status: "processing" };
    default:
      return { status: "failed", message: value.last_payment_error?.message || FAILED };
  }
}

/** The stand-in: confirms the PaymentIntent as Stripe.js would, with a test payment method. */
export function standInSession(sheet: PaymentSheet, post: typeof fetch = (...a) => fetch(...a)): PaymentSession {
  const base = sheet.stand_in?.endsWith("/") ? sheet.stand_in : `${sheet.stand_in}/`;
  return {
    choices: TEST_METHODS,
    mount: async () => undefined,
    destroy: () => undefined,
    async confirm(choice) {
      const body = new URLSearchParams({ client_secret: sheet.client_secret, payment_method: choice ?? TEST_METHODS[0].id });
      let response: Response;
      try {
        response = await post(`${base}v1/payment_intents/${encodeURIComponent(sheet.payment_intent_id)}/confirm`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: body.toString(),
          credentials: "omit",
        });
      } catch {
        return { status: "failed", message: "The payment service cannot be reached. Check your connection and try again." };
      }
      try {
        return intentOutcome(await response.json());
      } catch {
        return { status: "failed", message: FAILED };
      }
    },
  };
}

// --- Stripe.js: the minimal part of its API used here -------------------------------------------

interface StripeElement {
  mount(container: HTMLElement): void;
  destroy(): void;
}

interface StripeElements {
  create(type: "payment"): StripeElement;
}

interface StripeJs {
  elements(options: { clientSecret: string }): StripeElements;
  confirmPayment(options: {
    elements: StripeElements;
    redirect: "if_required";
    confirmParams: { return_url: string };
  }): Promise<{ error?: { message?: string }; paymentIntent?: { status: string } }>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

const STRIPE_JS = "https://js.stripe.com/v3";
let stripeScript: Promise<NonNullable<Window["Stripe"]>> | undefined;

/** Loads Stripe.js once (the CSP admits js.stripe.com only when the portal has Stripe keys). */
function loadStripeJs(): Promise<NonNullable<Window["Stripe"]>> {
  stripeScript ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = STRIPE_JS;
    script.async = true;
    script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js did not start")));
    script.onerror = () => {
      stripeScript = undefined;
      script.remove();
      reject(new Error("Stripe.js could not be loaded"));
    };
    document.head.append(script);
  });
  return stripeScript;
}

/** The firm's real Stripe account: Stripe's Payment Element collects the details. */
export async function stripeSession(sheet: PaymentSheet): Promise<PaymentSession> {
  const stripe = (await loadStripeJs())(sheet.publishable_key);
  const elements = stripe.elements({ clientSecret: sheet.client_secret });
  let element: StripeElement | undefined;
  return {
    choices: [],
    async mount(container) {
      element ??= elements.create("payment");
      element.mount(container);
    },
    destroy() {
      element?.destroy();
      element = undefined;
    },
    async confirm() {
      const result = await stripe.confirmPayment({
        elements,
        redirect: "if_required",
        // Only for methods that must leave the page; the webhook records the outcome either way.
        confirmParams: { return_url: location.href },
      });
      if (result.error) return { status: "failed", message: result.error.message || FAILED };
      return intentOutcome(result.paymentIntent);
    },
  };
}

/** The default: the stand-in when the server names one, else Stripe.js. */
export const defaultLoader: PaymentLoader = async (sheet) => (sheet.stand_in ? standInSession(sheet) : stripeSession(sheet));

let loader: PaymentLoader = defaultLoader;

/** Replaces how payments are taken (tests); no argument restores the default. */
export function setPaymentLoader(replacement?: PaymentLoader): void {
  loader = replacement ?? defaultLoader;
}

/** Starts taking the payment a sheet describes. */
export function loadPayment(sheet: PaymentSheet): Promise<PaymentSession> {
  return loader(sheet);
}

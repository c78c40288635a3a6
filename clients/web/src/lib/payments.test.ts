import { afterEach, describe, expect, it } from "vitest";
import type { PaymentSheet } from "../protocol";
import { defaultLoader, intentOutcome, loadPayment, type PaymentSession, setPaymentLoader, standInSession } from "./payments";

const sheet: PaymentSheet = {
  invoice_id: "inv-1",
  payment_intent_id: "pi_123",
  client_secret: "pi_123_secret_abc",
  amount_minor: 60_000,
  currency: "GBP",
  publishable_key: "pk_test_x",
  test_mode: true,
  stand_in: "http://127.0.0.1:44901/",
};

afterEach(() => setPaymentLoader());

describe("intentOutcome", () => {
  it("reads a PaymentIntent as Stripe returns it after confirming", () => {
    expect(intentOutcome({ status: "succeeded" })).toEqual({ status: "succeeded" });
    expect(intentOutcome({ status: "processing" })).toEqual({ status: "processing" });
    expect(
      intentOutcome({ status: "requires_payment_method", last_payment_error: { message: "Your card was declined." } }),
    ).toEqual({ status: "failed", message: "Your card was declined." });
    expect(intentOutcome({ error: { message: "No such payment_intent." } })).toEqual({ status: "failed", message: "No such payment_intent." });
    expect(intentOutcome(undefined).status).toBe("failed");
  });
});

describe("the stand-in", () => {
  it("offers Stripe's test methods and confirms with the client secret as a form", async () => {
    const calls: { url: string; init?: RequestInit }[] = [];
    const post = (async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ status: "requires_payment_method", last_payment_error: { message: "Your card was declined." } }));
    }) as typeof fetch;
    const session = standInSession(sheet, post);
    expect(session.choices.map((c) => c.id)).toEqual(["pm_card_visa", "pm_card_chargeDeclined", "pm_pay_by_bank"]);
    expect(await session.confirm("pm_card_chargeDeclined")).toEqual({ status: "failed", message: "Your card was declined." });
    expect(calls[0].url).toBe("http://127.0.0.1:44901/v1/payment_intents/pi_123/confirm");
    expect(calls[0].init?.method).toBe("POST");
    expect(new Headers(calls[0].init?.headers).get("Content-Type")).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(String(calls[0].init?.body)))).toEqual({
      client_secret: "pi_123_secret_abc",
      payment_method: "pm_card_chargeDeclined",
    });
  });

  it("reports an unreachable stand-in as a failure the payer can retry", async () => {
    const post = (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch;
    const outcome = await standInSession(sheet, post).confirm("pm_card_visa");
    expect(outcome.status).toBe("failed");
  });

  it("is what the default loader picks when the sheet names one", async () => {
    const session = await defaultLoader(sheet);
    expect(session.choices.length).toBe(3);
  });
});

describe("the loader", () => {
  it("can be replaced, and restored", async () => {
    const fake: PaymentSession = {
      choices: [],
      mount: async () => undefined,
      confirm: async () => ({ status: "processing" }),
      destroy: () => undefined,
    };
    const seen: PaymentSheet[] = [];
    setPaymentLoader(async (s) => (seen.push(s), fake));
    expect(await loadPayment(sheet)).toBe(fake);
    expect(seen).toEqual([sheet]);
    setPaymentLoader();
    expect((await loadPayment(sheet)).choices.length).toBe(3);
  });
});

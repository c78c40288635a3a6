// Billing and inline payments in the browser, at desktop and phone sizes: the finance user lands on
// Account & billing and sees the client's invoices (client money explained, not payable by card);
// the firm's billing system issues an invoice that appears live in the client's conversation; the
// client pays through the offline stand-in for Stripe (a declined card first, then a good one); the
// card turns to paid on the client's and the fee earner's open conversations once Stripe's webhook
// has told the server, and the fee earner is alerted.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { checkA11y, portalSuite, screenshot, signIn, viewports } from "./harness.mjs";

const FEE_EARNER = "fee.earner.a@firm.docket-demo.test";
const CLIENT_ADMIN = "gc@manufacturing.docket-demo.test";
const FINANCE = "finance@manufacturing.docket-demo.test";
const LEASE = "Lease of the Riverside warehouse";

/** The demo billing system's token (`demo-service-tokens.txt`: name, scope, token per line). */
function billingToken(portal) {
  const text = readFileSync(path.join(portal.dir, "demo-service-tokens.txt"), "utf8");
  const line = text.split("\n").find((l) => l.startsWith("Billing system"));
  assert.ok(line, "the demo keeps the billing system's token");
  return line.trim().split(/\s+/).pop();
}

/** The billing system issues invoice `number` on a matter, as it would from the firm's own ledger. */
async function issueInvoice(portal, number, matterId) {
  const response = await fetch(`${portal.url}/api/v1/billing/invoices/${number}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${billingToken(portal)}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      matter_id: matterId,
      kind: "bill",
      issued_on: "2026-11-20",
      due_on: "2026-12-20",
      lines: [
        { kind: "fee", description: "Reviewing the landlord's comments on the lease", amount_minor: 50_000 },
        { kind: "vat", description: "VAT", amount_minor: 10_000 },
      ],
    }),
  });
  assert.ok(response.ok, `issuing ${number}: ${response.status} ${await response.text()}`);
}

for (const viewport of viewports) {
  describe(`billing at ${viewport} size`, () => {
    const suite = portalSuite(`billing-${viewport}`, viewport);
    const open = () => suite.open();

    test("the finance user lands on Account & billing and sees what is owed and why", async () => {
      const page = await open();
      await signIn(page, suite.portal, FINANCE, "Account & billing");
      const invoice = (number) => page.getByTestId("invoice").filter({ hasText: number });

      await invoice("INV-1001").waitFor();
      await page.getByTestId("balance").filter({ hasText: "£6,414.00" }).waitFor();
      await invoice("INV-1001").getByTestId("amount-due").filter({ hasText: "£1,414.00" }).waitFor();
      await invoice("INV-1001").getByTestId("invoice-status").filter({ hasText: "Part paid" }).waitFor();
      await invoice("INV-1001").getByRole("button", { name: /^Pay £1,414\.00/ }).waitFor();
      // Money on account is client money: it is not payable by card, and the page says why.
      await invoice("OA-1001").getByTestId("not-payable").filter({ hasText: /client money/ }).waitFor();
      assert.equal(await invoice("OA-1001").getByRole("button", { name: /^Pay/ }).count(), 0);
      await invoice("INV-1002").getByTestId("invoice-status").filter({ hasText: /^Paid$/ }).waitFor();
      assert.equal(await invoice("INV-3001").count(), 0, "another client's invoice is not shown");
      const pdf = page.getByRole("link", { name: "Download statement (PDF)" });
      assert.match(await pdf.getAttribute("href"), /^\/api\/v1\/clients\/[\w-]+\/statement\?format=pdf$/);
      assert.equal(await pdf.getAttribute("download"), "");
      assert.match(await page.getByTestId("payment").filter({ hasText: "INV-1001" }).getByRole("link", { name: /Receipt/ }).getAttribute("href"), /^\/api\/v1\/payments\/[\w-]+\/receipt$/);
      await checkA11y(page, "account & billing (finance)");
      await screenshot(page, `${viewport}-account-billing`);

      // The matter's Billing tab: the finance user sees no messages or documents there.
      await page.getByRole("link", { name: "Billing on CP-1001" }).click();
      await page.getByRole("heading", { name: LEASE }).waitFor();
      const tabs = page.getByRole("navigation", { name: "Matter" });
      assert.equal(await tabs.getByRole("link", { name: "Billing" }).getAttribute("aria-current"), "page");
      assert.equal(await tabs.getByRole("link", { name: "Conversation" }).count(), 0);
      await page.getByRole("heading", { name: "Planned bills" }).waitFor();
      await page.getByTestId("planned-bill").first().waitFor();
      await page.getByRole("heading", { name: "Time recorded" }).waitFor();
      await checkA11y(page, "billing tab (finance)");
    });

    test("a new invoice is paid from the conversation and turns to paid on both sides", async () => {
      const client = await open();
      const fee = await open();
      await signIn(client, suite.portal, CLIENT_ADMIN);
      await signIn(fee, suite.portal, FEE_EARNER);
      for (const page of [client, fee]) {
        await page.getByRole("link", { name: new RegExp(LEASE) }).click();
        await page.getByRole("heading", { name: LEASE }).waitFor();
        await page.getByTestId("connection").filter({ hasText: "Live" }).waitFor();
      }
      const matterId = new URL(client.url()).pathname.split("/")[2];
      const number = `INV-E2E-${viewport}`;

      // The billing system issues it: the card appears at once on both open conversations.
      await issueInvoice(suite.portal, number, matterId);
      const clientCard = client.getByTestId("invoice-card").filter({ hasText: number });
      const feeCard = fee.getByTestId("invoice-card").filter({ hasText: number });
      await clientCard.getByText("£600.00 to pay by").waitFor();
      await feeCard.getByText("£600.00 to pay by").waitFor();
      assert.equal(await feeCard.getByRole("button", { name: /^Pay/ }).count(), 0, "the firm does not pay");
      await checkA11y(client, "conversation with an invoice card");

      // The sheet: the server's amount, test mode said plainly, the stand-in's test methods.
      await clientCard.getByRole("button", { name: /^Pay £600\.00/ }).click();
      const sheet = client.getByRole("dialog", { name: `Pay invoice ${number}` });
      await sheet.getByText("Test mode — no real money moves").waitFor();
      await sheet.getByTestId("pay-amount").filter({ hasText: "£600.00" }).waitFor();
      await sheet.getByLabel("Visa test card (succeeds)").waitFor();
      await checkA11y(client, "payment sheet");
      await screenshot(client, `${viewport}-payment-sheet`);

      // A declined card says so, and the payer can try again.
      await sheet.getByLabel("Declined test card").check();
      await sheet.getByRole("button", { name: "Pay £600.00" }).click();
      await sheet.getByRole("alert").filter({ hasText: "Your card was declined." }).waitFor();
      await feeCard.getByTestId("card-status").filter({ hasText: "Payment failed" }).waitFor();
      await checkA11y(client, "payment sheet, declined");

      await sheet.getByLabel("Visa test card (succeeds)").check();
      await sheet.getByRole("button", { name: /^Try again/ }).click();
      await sheet.getByTestId("pay-status").filter({ hasText: `Paid: £600.00 on ${number}` }).waitFor();
      await checkA11y(client, "payment sheet, paid");
      await sheet.getByRole("button", { name: "Close" }).click();
      await sheet.waitFor({ state: "detached" });

      // Paid on both sides, as the server recorded it from Stripe's webhook; the fee earner is alerted.
      for (const card of [clientCard, feeCard]) await card.getByTestId("card-status").filter({ hasText: /^Paid$/ }).waitFor();
      assert.equal(await clientCard.getByRole("button", { name: /^Pay/ }).count(), 0, "nothing left to pay");
      const toast = fee.getByTestId("alert-toast").filter({ hasText: `Payment succeeded: £600.00 on ${number}` });
      await toast.waitFor();
      await checkA11y(fee, "payment alert");
      await screenshot(fee, `${viewport}-payment-alert`);

      // The Billing tab has it paid, with the receipt.
      await client.getByRole("navigation", { name: "Matter" }).getByRole("link", { name: "Billing" }).click();
      await client.getByTestId("invoice").filter({ hasText: number }).getByTestId("invoice-status").filter({ hasText: /^Paid$/ }).waitFor();
      const payment = client.getByTestId("payment").filter({ hasText: number });
      await payment.getByTestId("payment-status").filter({ hasText: "Succeeded" }).waitFor();
      assert.match(await payment.getByRole("link", { name: /Receipt/ }).getAttribute("href"), /^\/api\/v1\/payments\/[\w-]+\/receipt$/);
      await checkA11y(client, "billing tab (client)");
      await screenshot(client, `${viewport}-billing`);
    });
  });
}

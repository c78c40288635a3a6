// Documents in the browser, at desktop and phone sizes: a fee earner uploads, submits and
// publishes through the review queue; the client sees the card in the conversation, downloads
// the document and uploads one of their own; a disguised executable is refused with its reason.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { checkA11y, portalSuite, screenshot, signIn, viewports } from "./harness.mjs";

const FEE_EARNER = "fee.earner.a@firm.docket-demo.test";
const CLIENT = "property.head@manufacturing.docket-demo.test";
const LEASE = "Lease of the Riverside warehouse";

const pdf = (marker) => Buffer.from(`%PDF-1.7\n1 0 obj\n<< /Title (${marker}) >>\nendobj\ntrailer\n<< >>\n%%EOF\n`);


for (const viewport of viewports) {
  describe(`documents at ${viewport} size`, () => {
    const suite = portalSuite(`docs-${viewport}`, viewport);
    const open = () => suite.open();

    test("upload, review, publish, see the card, download, and client uploads", async () => {
      const fee = await open();
      const client = await open();
      await signIn(fee, suite.portal, FEE_EARNER);
      await signIn(client, suite.portal, CLIENT);

      // The fee earner adds a draft; the client cannot see it yet.
      await fee.getByRole("link", { name: new RegExp(LEASE) }).click();
      await fee.getByRole("link", { name: "Documents" }).click();
      await fee.getByRole("heading", { name: "Add a document" }).waitFor();
      await fee.getByLabel("File").setInputFiles({ name: "Heads of terms.pdf", mimeType: "application/pdf", buffer: pdf("heads") });
      await fee.getByLabel("Category").selectOption("contracts");
      await fee.getByRole("button", { name: "Upload" }).click();
      await fee.getByText("was added as an internal draft").waitFor();
      const card = fee.getByTestId("document").filter({ hasText: "Heads of terms" });
      await card.getByText("Internal").waitFor();
      await checkA11y(fee, "documents tab (firm)");

      await client.getByRole("link", { name: new RegExp(LEASE) }).click();
      await client.getByRole("heading", { name: LEASE }).waitFor();
      await client.getByRole("link", { name: "Documents" }).click();
      await client.getByText("No documents have been shared").waitFor();

      // Submitted, sent back with a reason, submitted again, then published from the review queue.
      const documentsPage = fee.url();
      await card.getByRole("button", { name: "Submit version 1 for review" }).click();
      await card.getByText("Pending review").waitFor();
      await fee.getByRole("link", { name: "Review" }).click();
      await fee.getByRole("heading", { name: "Documents to review" }).waitFor();
      const item = fee.getByTestId("review-item").filter({ hasText: "Heads of terms" });
      await item.waitFor();
      await checkA11y(fee, "review queue");
      await screenshot(fee, `${viewport}-review-queue`);
      await item.getByRole("button", { name: /^Send back/ }).click();
      await item.getByLabel("Why is it going back?").fill("Please add the break clause.");
      await checkA11y(fee, "review queue, sending back");
      await item.getByRole("button", { name: "Send back with this reason" }).click();
      await fee.getByText("was sent back").waitFor();
      await fee.goto(documentsPage);
      await card.getByText("Sent back: Please add the break clause.").waitFor();
      await card.getByRole("button", { name: "Submit version 1 for review" }).click();
      await card.getByText("Pending review").waitFor();
      await fee.getByRole("link", { name: "Review" }).click();
      await item.getByRole("button", { name: /Publish/ }).click();
      await fee.getByText("is now visible to the client").waitFor();

      // The client's conversation shows the card at once; the document is there to download.
      await client.getByRole("link", { name: "Conversation" }).click();
      await client.getByTestId("document-card").filter({ hasText: "Heads of terms" }).waitFor();
      await client.getByRole("link", { name: "Documents" }).click();
      const shared = client.getByTestId("document").filter({ hasText: "Heads of terms" });
      await shared.waitFor();
      assert.equal(await shared.getByText("Internal").count(), 0, "clients see no states");
      const [download] = await Promise.all([
        client.waitForEvent("download"),
        shared.getByRole("link", { name: /Download/ }).click(),
      ]);
      assert.equal(download.suggestedFilename(), "Heads of terms.pdf");
      assert.deepEqual(readFileSync(await download.path()), pdf("heads"));
      // "View" opens it inline in a new tab, under a sandboxing policy of its own.
      const view = shared.getByRole("link", { name: /View/ });
      const [popup] = await Promise.all([client.waitForEvent("popup"), view.click()]);
      await popup.waitForLoadState();
      assert.match(popup.url(), /disposition=inline/);
      await popup.close();
      const inline = await client.request.get(new URL(await view.getAttribute("href"), suite.portal.url).href);
      assert.match(inline.headers()["content-security-policy"], /sandbox/);
      assert.match(inline.headers()["content-disposition"], /^inline/);

      // The client sends a document of their own, with progress, and a disguised program is refused.
      await client.getByLabel("File").setInputFiles({ name: "Passport scan.pdf", mimeType: "application/pdf", buffer: pdf("passport") });
      await client.getByLabel("Category").selectOption("identity_verification");
      await client.getByRole("button", { name: "Upload" }).click();
      await client.getByText("was shared with your solicitor").waitFor();
      await client.getByTestId("document").filter({ hasText: "Passport scan" }).waitFor();
      // The fee earner is alerted at once, on whatever page they are.
      const toast = fee.getByTestId("alert-toast").filter({ hasText: "Passport scan" });
      await toast.waitFor();
      await checkA11y(fee, "upload alert");
      await toast.getByRole("button", { name: "Dismiss" }).click();
      await toast.waitFor({ state: "detached" });
      const program = Buffer.alloc(4096);
      program.write("MZ");
      await client.getByLabel("File").setInputFiles({ name: "invoice.pdf", mimeType: "application/pdf", buffer: program });
      await client.getByLabel("Category").selectOption("financial");
      await client.getByRole("button", { name: "Upload" }).click();
      await client.getByRole("alert").filter({ hasText: /program|executable/i }).waitFor();
      await checkA11y(client, "documents tab (client)");
      await screenshot(client, `${viewport}-documents`);

      // The fee earner's conversation has the upload card.
      await fee.goto(`${suite.portal.url}${new URL(client.url()).pathname.replace("/documents", "")}`);
      await fee.getByTestId("document-card").filter({ hasText: "Passport scan" }).waitFor();
    });
  });
}

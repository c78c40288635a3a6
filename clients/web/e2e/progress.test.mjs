// Matter progress in the browser, at desktop and phone sizes: the client sees the current stage
// on the matter list and the timeline with what they must do first; the fee earner moves a step on
// and asks for something; the client's conversation shows the card live and the timeline follows.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkA11y, portalSuite, screenshot, signIn, viewports } from "./harness.mjs";

const FEE_EARNER = "fee.earner.a@firm.docket-demo.test";
const CLIENT = "property.head@manufacturing.docket-demo.test";
const LEASE = "Lease of the Riverside warehouse";
const ACTION = "Please sign and return the lease counterpart.";


for (const viewport of viewports) {
  describe(`progress at ${viewport} size`, () => {
    const suite = portalSuite(`progress-${viewport}`, viewport);
    const open = () => suite.open();

    test("the client follows progress live while the fee earner updates it", async () => {
      const client = await open();
      const fee = await open();
      await signIn(client, suite.portal, CLIENT);
      await signIn(fee, suite.portal, FEE_EARNER);

      // The matter list says where the matter stands.
      const row = client.getByRole("link", { name: new RegExp(LEASE) });
      await row.getByTestId("current-stage").waitFor();

      await row.click();
      await client.getByRole("heading", { name: LEASE }).waitFor();
      await client.getByRole("link", { name: "Progress" }).click();
      await client.getByTestId("milestone").first().waitFor();
      assert.equal(await client.getByRole("button", { name: /^Edit/ }).count(), 0, "clients do not edit");
      await checkA11y(client, "progress (client)");
      await screenshot(client, `${viewport}-progress`);

      // The fee earner starts the first upcoming step and asks the client for something.
      await fee.getByRole("link", { name: new RegExp(LEASE) }).click();
      await fee.getByRole("link", { name: "Progress" }).click();
      const upcoming = fee.getByTestId("milestone").filter({ has: fee.getByText("Upcoming", { exact: true }) }).first();
      const title = (await upcoming.locator(".step-title").textContent()).replace(/Upcoming$/, "").trim();
      await upcoming.getByRole("button", { name: /^Edit/ }).click();
      await upcoming.getByLabel("Status").selectOption("in_progress");
      await upcoming.getByLabel("What the client must do").fill(ACTION);
      await checkA11y(fee, "progress (firm, editing)");
      await screenshot(fee, `${viewport}-progress-editing`);
      await upcoming.getByRole("button", { name: "Save" }).click();
      await fee.getByText("was updated").waitFor();

      // The client's conversation shows the card at once; the timeline asks for the action.
      await client.getByRole("link", { name: "Conversation" }).click();
      const card = client.getByTestId("milestone-card").filter({ hasText: title });
      await card.waitFor();
      await card.getByText(ACTION).waitFor();
      await client.getByRole("link", { name: "Progress" }).click();
      await client.getByRole("region", { name: "What we need from you" }).getByText(ACTION).waitFor();
    });
  });
}

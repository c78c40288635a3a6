// The idle timeout as a person meets it: a warning before the portal signs them out, "stay signed
// in" keeps the session, and doing nothing ends it on the server as well as on screen.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkA11y, portalSuite, screenshot, signIn } from "./harness.mjs";

describe("idle timeout (one minute, desktop)", () => {
  const suite = portalSuite("idle", "desktop", { DOCKET_IDLE_TIMEOUT_MINUTES: "1" });

  test("warns, can be extended, then signs out when ignored", async () => {
    const portal = suite.portal;
    const page = await suite.open();
    await signIn(page, portal, "fee.earner.b@firm.docket-demo.test");
    const warning = page.getByRole("alertdialog", { name: "Are you still there?" });
    await warning.waitFor({ timeout: 60_000 });
    await checkA11y(page, "idle warning");
    await screenshot(page, "desktop-idle-warning");
    await page.getByRole("button", { name: "Stay signed in" }).click();
    await warning.waitFor({ state: "hidden" });
    // The session is still good on the server.
    assert.equal((await page.request.get(`${portal.url}/api/v1/auth/session`)).status(), 200);

    await warning.waitFor({ timeout: 60_000 });
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 60_000 });
    await page.getByText("signed out after a period without activity").waitFor();
    assert.equal((await page.request.get(`${portal.url}/api/v1/auth/session`)).status(), 401);
  });
});

// The idle timeout as a person meets it: a warning before the portal signs them out, "stay signed
// in" keeps the session, and doing nothing ends it on the server as well as on screen.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Portal, checkA11y, launchBrowser, newContext, screenshot, signIn } from "./harness.mjs";

describe("idle timeout (one minute, desktop)", () => {
  let portal;
  let browser;
  let context;

  before(async () => {
    portal = await Portal.create("idle", { DOCKET_IDLE_TIMEOUT_MINUTES: "1" });
    await portal.start();
    browser = await launchBrowser();
    context = await newContext(browser, "desktop");
  });

  after(async () => {
    assert.deepEqual(context?.problems ?? [], [], "no CSP violations or page errors");
    await browser?.close();
    await portal?.dispose();
  });

  test("warns, can be extended, then signs out when ignored", async () => {
    const page = await context.newPage();
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

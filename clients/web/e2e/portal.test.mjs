// End-to-end journeys in headless Chromium against a real Docket portal (real PostgreSQL and
// Redis), each at a desktop and a 375×812 phone viewport, with axe-core on every page.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkA11y, portalSuite, screenshot, signIn, totp, viewports } from "./harness.mjs";

const FEE_EARNER = "fee.earner.a@firm.docket-demo.test";
const CLIENT = "property.head@manufacturing.docket-demo.test";
const PRIVATE_CLIENT = "private.client@docket-demo.test";
const LEASE = "Lease of the Riverside warehouse";


for (const viewport of viewports) {
  describe(`portal at ${viewport} size`, () => {
    const suite = portalSuite(viewport, viewport);
    const open = () => suite.open();
    let privatePage;

    test("sign-in page: wrong password and wrong code are explained", async () => {
      privatePage = await open();
      const page = privatePage;
      await page.goto(suite.portal.url);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const response = await page.request.get(suite.portal.url);
      assert.match(response.headers()["content-security-policy"] ?? "", /script-src 'self'/);
      await checkA11y(page, "sign in");
      await screenshot(page, `${viewport}-sign-in`);
      await page.getByLabel("E-mail address").fill(PRIVATE_CLIENT);
      await page.getByLabel("Password").fill("not the password");
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByRole("alert").filter({ hasText: "do not match" }).waitFor();
      await page.getByLabel("Password").fill("docket-demo-password");
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByLabel("Six-digit code").fill("000000");
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("alert").filter({ hasText: "code is not right" }).waitFor();
      await checkA11y(page, "security code");
      await page.getByLabel("Six-digit code").fill(await totp(suite.portal.logins.get(PRIVATE_CLIENT)));
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("heading", { name: "Your matters" }).waitFor();
    });

    test("a client user never sees another client's matter", async () => {
      const page = privatePage;
      await page.getByText("Purchase of a residential investment flat").waitFor();
      assert.equal(await page.getByText(LEASE).count(), 0);
      // The lease belongs to another client: its id, typed in, finds nothing.
      const fee = await open();
      await signIn(fee, suite.portal, FEE_EARNER);
      await fee.getByRole("link", { name: new RegExp(LEASE) }).click();
      await fee.getByRole("heading", { name: LEASE }).waitFor();
      const leaseUrl = fee.url();
      await fee.context().close();
      await page.goto(leaseUrl);
      await page.getByRole("heading", { name: "Matter not found" }).waitFor();
      assert.equal(await page.getByText(LEASE).count(), 0);
      await checkA11y(page, "matter not found");
    });

    test("an invited client sets a password, enrols MFA and sees their matter", async () => {
      const email = `invited.${viewport}@manufacturing.docket-demo.test`;
      await suite.portal.admin("invite-client-user", "--client", "Demo Manufacturing Ltd", "--email", email, "--name", "Invited Director", "--role", "member");
      await suite.portal.admin("grant", "--matter", "CP-1001", "--user", email, "--scopes", "messages,documents");
      const page = await open();
      await page.goto(suite.portal.invitationLink(email));
      await page.getByRole("heading", { name: "Welcome to your client portal" }).waitFor();
      assert.ok(!page.url().includes("token="), "the token leaves the address bar");
      await checkA11y(page, "invitation");
      await screenshot(page, `${viewport}-invitation`);
      await page.getByLabel("New password").fill("short");
      await page.getByLabel("Repeat the password").fill("short");
      await page.getByRole("button", { name: "Set password" }).click();
      await page.getByRole("alert").filter({ hasText: "at least 12" }).waitFor();
      const password = "a long and private passphrase";
      await page.getByLabel("New password").fill(password);
      await page.getByLabel("Repeat the password").fill(password);
      await page.getByRole("button", { name: "Set password" }).click();
      await page.getByRole("button", { name: "Go to sign in" }).click();

      await page.getByLabel("E-mail address").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByRole("heading", { name: "Set up two-step verification" }).waitFor();
      await page.getByRole("img", { name: "QR code for your authenticator app" }).waitFor();
      const secret = (await page.getByTestId("totp-secret").textContent()).replace(/\s/g, "");
      await checkA11y(page, "enrolment");
      await screenshot(page, `${viewport}-enrol`);
      await page.getByLabel("Six-digit code from the app").fill("123456");
      await page.getByRole("button", { name: "Confirm" }).click();
      await page.getByRole("alert").filter({ hasText: "code is not right" }).waitFor();
      await page.getByLabel("Six-digit code from the app").fill(await totp(secret));
      await page.getByRole("button", { name: "Confirm" }).click();
      await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor();
      assert.equal(await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").count(), 10);
      await checkA11y(page, "recovery codes");
      await screenshot(page, `${viewport}-recovery-codes`);
      const proceed = page.getByRole("button", { name: "Continue to the portal" });
      assert.ok(await proceed.isDisabled(), "the codes must be acknowledged first");
      await page.getByLabel("I have saved my recovery codes").check();
      await proceed.click();
      await page.getByRole("heading", { name: "Your matters" }).waitFor();
      await page.getByText(LEASE).waitFor();
      await checkA11y(page, "matter list");
    });

    test("client and fee earner chat live, and both survive a server restart", async () => {
      const fee = await open();
      const client = await open();
      await signIn(fee, suite.portal, FEE_EARNER);
      await signIn(client, suite.portal, CLIENT);
      await screenshot(client, `${viewport}-matters`);
      await client.getByRole("link", { name: new RegExp(LEASE) }).click();
      await fee.getByRole("link", { name: new RegExp(LEASE) }).click();
      for (const page of [client, fee]) {
        await page.getByRole("heading", { name: LEASE }).waitFor();
        await page.getByTestId("connection").filter({ hasText: "Live" }).waitFor();
      }
      // Firm users see which client users are on the matter.
      await fee.getByText(/Client users on this matter/).click();
      await fee.getByText("Head of Property").first().waitFor();

      const bubble = (page, text) => page.getByTestId("message").filter({ hasText: text });
      await client.getByLabel("Message", { exact: true }).fill("Good morning. Is the lease ready to sign?");
      await fee.getByLabel("Message", { exact: true }).waitFor();
      await client.getByRole("button", { name: "Send" }).click();
      await bubble(fee, "Is the lease ready to sign?").waitFor();
      await bubble(client, "Is the lease ready to sign?").waitFor();

      // Typing shows on the other side; a reply quotes the message.
      await fee.getByLabel("Message", { exact: true }).pressSequentially("Almost");
      await client.getByText("Fee Earner A is typing…").waitFor();
      await bubble(fee, "Is the lease ready to sign?").getByRole("button", { name: /Reply to/ }).click();
      await fee.getByLabel("Message", { exact: true }).fill("Yes: the final draft is with the landlord today.");
      await fee.getByLabel("Message", { exact: true }).press("Enter");
      const reply = bubble(client, "final draft is with the landlord");
      await reply.waitFor();
      await reply.getByText("Is the lease ready to sign?").waitFor();

      // Read indicators: the client has read the reply on screen.
      await bubble(fee, "final draft").getByText("Seen by Head of Property").waitFor();

      // Edits and withdrawals are shown as such.
      await bubble(client, "Is the lease ready to sign?").getByRole("button", { name: "Edit your message" }).click();
      await client.getByLabel("Edit message").fill("Good morning. Is the lease ready for signature?");
      await client.getByRole("button", { name: "Save" }).click();
      await bubble(fee, "ready for signature").getByText("edited").waitFor();
      await client.getByLabel("Message", { exact: true }).fill("Please ignore this one.");
      await client.getByRole("button", { name: "Send" }).click();
      await bubble(fee, "Please ignore this one.").waitFor();
      client.once("dialog", (dialog) => dialog.accept());
      await bubble(client, "Please ignore this one.").getByRole("button", { name: "Withdraw your message" }).click();
      await bubble(fee, "Message withdrawn").waitFor();
      await checkA11y(fee, "matter channel (firm)");
      await checkA11y(client, "matter channel (client)");
      await screenshot(client, `${viewport}-matter`);
      await screenshot(fee, `${viewport}-matter-firm`);

      // Unread counts move live on the list.
      await fee.getByRole("link", { name: "Matters" }).first().click();
      await fee.getByRole("heading", { name: "Your matters" }).waitFor();
      await client.getByLabel("Message", { exact: true }).fill("One more question about the break clause.");
      await client.getByRole("button", { name: "Send" }).click();
      await fee.getByRole("link", { name: new RegExp(LEASE) }).getByTestId("unread").filter({ hasText: "1" }).waitFor();
      await checkA11y(fee, "matter list with unread");
      await fee.getByRole("link", { name: new RegExp(LEASE) }).click();
      await bubble(fee, "break clause").waitFor();

      // The server restarts: both pages say so, a message written meanwhile waits, then lands once.
      await suite.portal.stop();
      for (const page of [client, fee]) {
        await page.getByTestId("connection").filter({ hasText: "Reconnecting" }).waitFor();
      }
      await client.getByLabel("Message", { exact: true }).fill("Sent while the portal was restarting.");
      await client.getByRole("button", { name: "Send" }).click();
      await client.getByTestId("pending").filter({ hasText: "Sending…" }).waitFor();
      await suite.portal.start();
      for (const page of [client, fee]) {
        await page.getByTestId("connection").filter({ hasText: "Live" }).waitFor({ timeout: 30_000 });
        await bubble(page, "Sent while the portal was restarting.").waitFor();
      }
      await fee.getByLabel("Message", { exact: true }).fill("Received after the restart.");
      await fee.getByRole("button", { name: "Send" }).click();
      await bubble(client, "Received after the restart.").waitFor();
      // The sender's own copy settles when its acknowledgement arrives, which may be a moment after
      // the other side has shown it.
      for (const page of [client, fee]) {
        for (let i = 0; i < 100 && (await page.getByTestId("pending").count()) > 0; i++) await page.waitForTimeout(100);
      }
      for (const page of [client, fee]) {
        for (const text of ["ready for signature", "final draft", "break clause", "restarting", "after the restart"]) {
          const shown = page.getByTestId("message-text").filter({ hasText: text });
          assert.equal(await shown.count(), 1, `"${text}" shown exactly once`);
        }
        assert.equal(await page.getByTestId("pending").count(), 0, "nothing left pending");
        // Nothing confidential kept by the page or its service worker: the session is an HttpOnly
        // cookie, and the offline cache holds the shell only, never the API.
        const kept = await page.evaluate(async () => {
          const cached = [];
          for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) cached.push(new URL(request.url).pathname);
          }
          return { local: localStorage.length, session: sessionStorage.length, cookies: document.cookie, cached };
        });
        assert.equal(kept.local + kept.session, 0, "nothing in web storage");
        assert.ok(!kept.cookies.includes("docket_session"), "the session cookie is not readable by scripts");
        assert.ok(kept.cached.length > 0, "the service worker cached the shell");
        assert.deepEqual(kept.cached.filter((p) => p.startsWith("/api/")), [], "no API response cached");
      }
    });

    test("a revoked session is signed out at once", async () => {
      const page = await open();
      await signIn(page, suite.portal, PRIVATE_CLIENT);
      await page.getByRole("link", { name: "Account" }).click();
      await page.getByRole("heading", { name: "Your account" }).waitFor();
      await page.getByTestId("session").first().waitFor();
      await checkA11y(page, "account");
      await screenshot(page, `${viewport}-account`);
      // Sign out every other session: the suite's earlier tests may have left some, and which one
      // the list shows first depends on activity it only records every half-minute.
      const others = page.getByRole("button", { name: /Sign out this session/ });
      for (let left = await others.count(); left > 0; left = await others.count()) {
        await others.first().click();
        for (let i = 0; i < 100 && (await others.count()) >= left; i++) await page.waitForTimeout(100);
      }
      await page.getByRole("status").filter({ hasText: "signed out" }).waitFor();
      // The other session (the first page) is returned to sign-in with the reason.
      await privatePage.getByRole("heading", { name: "Sign in" }).waitFor();
      await privatePage.getByText(/session has ended|session has expired/).waitFor();
      await page.getByRole("button", { name: "Sign out", exact: true }).last().click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await page.getByText("You have signed out.").waitFor();
    });
  });
}

// Notifications beyond the open tab, in the browser at desktop and phone sizes: a fee earner sets
// their preferences (saved, still there after a reload) and turns notifications on for the device;
// a client's message then reaches a push service (a fake one here, recording what the portal sends:
// aes128gcm, signed with VAPID, decrypted below with the device's keys); the service worker shows
// a pushed notice; and, while the fee earner is on another page, the message is a toast naming the
// matter. Looking at the matter is said on the socket, and its page shows that the client waits.
//
// Headless Chromium reaches no real push service, so the page's PushManager is replaced (in this
// test only) by one that hands out a subscription at the fake service, with real keys made by
// WebCrypto in the page.

import assert from "node:assert/strict";
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, verify } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { checkA11y, portalSuite, screenshot, signIn, viewports } from "./harness.mjs";

const FEE_EARNER = "fee.earner.a@firm.docket-demo.test";
const CLIENT = "property.head@manufacturing.docket-demo.test";
const LEASE = "Lease of the Riverside warehouse";
const REVIEW_BY_EMAIL = "Documents waiting for your review by e-mail";
const SECURITY_BY_PUSH = "Security: new sign-ins and locked codes by push notification";

/** A push service on 127.0.0.1 that accepts every push (201) and keeps it for the test to read. */
async function startPushService() {
  const received = [];
  let waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(201).end();
      for (const wake of waiters) wake();
      waiters = [];
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    received,
    /** The first push to `path` after the first `skip` ones there, waiting up to `ms` for it. */
    async next(path, skip, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = received.filter((p) => p.path === path)[skip];
        if (found) return found;
        const left = deadline - Date.now();
        assert.ok(left > 0, `no push to ${path} within ${ms} ms`);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Runs in the page before its scripts: a PushManager whose subscriptions point at `endpoint`. */
function fakePushManager({ endpoint }) {
  let current = null;
  const b64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  PushManager.prototype.subscribe = async function subscribe(options) {
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const keys = {
      p256dh: b64url(await crypto.subtle.exportKey("raw", pair.publicKey)),
      auth: b64url(crypto.getRandomValues(new Uint8Array(16))),
    };
    // The private half, for the test to decrypt what the portal sends.
    window.__fakePush = { ...keys, d: (await crypto.subtle.exportKey("jwk", pair.privateKey)).d };
    current = {
      endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: options.applicationServerKey.buffer ?? options.applicationServerKey },
      toJSON: () => ({ endpoint, expirationTime: null, keys }),
      unsubscribe: async () => ((current = null), true),
    };
    return current;
  };
  PushManager.prototype.getSubscription = async function getSubscription() {
    return current;
  };
}

const fromB64url = (text) => Buffer.from(text, "base64url");

/** RFC 8291: the payload of an aes128gcm push, opened with the receiving device's keys. */
function decryptPush(body, device) {
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  const serverKey = body.subarray(21, 21 + idLength);
  const sealed = body.subarray(21 + idLength);
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(fromB64url(device.d));
  const shared = ecdh.computeSecret(serverKey);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), fromB64url(device.p256dh), serverKey]);
  const ikm = Buffer.from(hkdfSync("sha256", shared, fromB64url(device.auth), info, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  let end = plain.length - 1;
  while (plain[end] === 0) end -= 1;
  assert.equal(plain[end], 2, "one record, ended by the last-record delimiter");
  return JSON.parse(plain.subarray(0, end).toString("utf8"));
}

/** RFC 8292: `vapid t=<JWT>, k=<key>`, the JWT signed (ES256) by that key for the push service. */
function checkVapid(authorization, serverKey, audience) {
  const match = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(authorization ?? "");
  assert.ok(match, `a VAPID Authorization header: ${authorization}`);
  const [, header, claims, signature, k] = match;
  assert.equal(k, serverKey, "signed with the key the browser subscribed with");
  const raw = fromB64url(k);
  const key = createPublicKey({
    key: { kty: "EC", crv: "P-256", x: raw.subarray(1, 33).toString("base64url"), y: raw.subarray(33).toString("base64url") },
    format: "jwk",
  });
  const signed = verify("sha256", Buffer.from(`${header}.${claims}`), { key, dsaEncoding: "ieee-p1363" }, fromB64url(signature));
  assert.ok(signed, "the VAPID token's signature verifies");
  const token = JSON.parse(fromB64url(claims).toString("utf8"));
  assert.equal(token.aud, audience);
  assert.ok(token.exp > Date.now() / 1000, "the token has not expired");
}

/** The client writes on the lease. */
async function clientWrites(client, text) {
  await client.getByLabel("Message", { exact: true }).fill(text);
  await client.getByRole("button", { name: "Send" }).click();
  await client.getByTestId("message").filter({ hasText: text }).waitFor();
}

for (const viewport of viewports) {
  describe(`notifications at ${viewport} size`, () => {
    // The portal starts after the push service (hooks run in order), so it can name its origin.
    const settings = { DOCKET_NOTIFY_HOLD_MS: "300", DOCKET_NOTIFY_INTERVAL_MS: "300" };
    let push;
    before(async () => {
      push = await startPushService();
      settings.DOCKET_PUSH_SERVICES = push.origin;
    });
    after(() => push?.close());
    const suite = portalSuite(`notifications-${viewport}`, viewport, settings);
    const endpointPath = `/push/${viewport}`;
    let fee;
    let client;
    /** Every frame the fee earner's page sends on its socket. */
    const sent = [];
    /** What the portal pushed to the fee earner's device. */
    let pushed;

    test("the fee earner chooses notices, turns push on, and a client's message is pushed", async () => {
      fee = await suite.open();
      const origin = suite.portal.url;
      await fee.context().grantPermissions(["notifications"], { origin });
      await fee.context().addInitScript(fakePushManager, { endpoint: `${push.origin}${endpointPath}` });
      fee.on("websocket", (ws) => ws.on("framesent", (frame) => sent.push(String(frame.payload))));
      await signIn(fee, suite.portal, FEE_EARNER);

      await fee.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
      await fee.getByRole("heading", { name: "Notifications" }).waitFor();
      const state = fee.getByTestId("push-state");
      await state.filter({ hasText: "Off:" }).waitFor();
      assert.ok(await fee.getByLabel(SECURITY_BY_PUSH).isDisabled(), "security notices cannot be turned off");
      await checkA11y(fee, "notification settings");
      await screenshot(fee, `${viewport}-notification-settings`);

      // A choice is saved as it is made, and is still there after a reload.
      await fee.getByLabel(REVIEW_BY_EMAIL).selectOption("immediate");
      await fee.getByRole("status").filter({ hasText: `Saved: ${REVIEW_BY_EMAIL}, immediately.` }).waitFor();
      await fee.getByLabel("Send the daily digest at").selectOption("7");
      await fee.getByRole("button", { name: "Save times" }).click();
      await fee.getByRole("status").filter({ hasText: "Your times are saved." }).waitFor();
      await fee.reload();
      await fee.getByRole("heading", { name: "Notifications" }).waitFor();
      await state.filter({ hasText: "Off:" }).waitFor();
      assert.equal(await fee.getByLabel(REVIEW_BY_EMAIL).inputValue(), "immediate");
      assert.equal(await fee.getByLabel("Send the daily digest at").inputValue(), "7");
      await fee.getByRole("button", { name: "Restore the defaults" }).click();
      await fee.getByRole("status").filter({ hasText: "back to the defaults" }).waitFor();
      assert.equal(await fee.getByLabel(REVIEW_BY_EMAIL).inputValue(), "digest");

      // Push on this device: the permission was granted; the subscription goes to the portal.
      await fee.getByRole("button", { name: "Enable notifications on this device" }).click();
      await state.filter({ hasText: "On:" }).waitFor();
      await fee.getByRole("button", { name: "Turn off on this device" }).waitFor();
      await checkA11y(fee, "notification settings, push on");
      const device = await fee.evaluate(() => window.__fakePush);
      const vapidKey = (await fee.evaluate(() => fetch("/api/v1/me/notifications").then((r) => r.json()))).push.vapid_public_key;

      // The client writes on the lease while no page of the fee earner shows it.
      client = await suite.open();
      await signIn(client, suite.portal, CLIENT);
      await client.getByRole("link", { name: new RegExp(LEASE) }).click();
      await client.getByRole("heading", { name: LEASE }).waitFor();
      await client.getByTestId("connection").filter({ hasText: "Live" }).waitFor();
      await clientWrites(client, "Could you call me about the lease this afternoon?");
      const matterId = new URL(client.url()).pathname.split("/")[2];

      const received = await push.next(endpointPath, 0);
      assert.equal(received.method, "POST");
      assert.equal(received.headers["content-encoding"], "aes128gcm");
      assert.equal(received.headers.urgency, "high");
      assert.ok(Number(received.headers.ttl) > 0, "a TTL");
      checkVapid(received.headers.authorization, vapidKey, push.origin);
      pushed = decryptPush(received.body, device);
      assert.equal(pushed.kind, "message");
      assert.equal(pushed.url, `/matters/${matterId}`);
      assert.match(pushed.body, /^New message on [A-Z]+-\d+/);
      assert.ok(!pushed.body.includes("call me"), "a notice never carries the message");
      assert.ok(pushed.title && pushed.tag, "the firm's name and a tag");

      // The same notice is a toast on the page the fee earner has open (not the matter's).
      const toast = fee.getByTestId("alert-toast").filter({ hasText: pushed.body });
      await toast.waitFor();
      await toast.getByRole("button", { name: "Dismiss" }).click();
      await toast.waitFor({ state: "detached" });
    });

    test("the service worker shows a pushed notice, a newer one with its tag replacing it", async () => {
      const cdp = await fee.context().newCDPSession(fee);
      const registrationId = new Promise((resolve) => {
        cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
          const mine = registrations.find((r) => r.scopeURL.startsWith(suite.portal.url) && !r.isDeleted);
          if (mine) resolve(mine.registrationId);
        });
      });
      await cdp.send("ServiceWorker.enable");
      const deliver = async (payload) =>
        cdp.send("ServiceWorker.deliverPushMessage", {
          origin: suite.portal.url,
          registrationId: await registrationId,
          data: JSON.stringify(payload),
        });
      const shown = () =>
        fee.evaluate(() =>
          navigator.serviceWorker.ready
            .then((r) => r.getNotifications())
            .then((list) => list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data?.url }))),
        );
      const until = async (check) => {
        for (let i = 0; i < 100; i++) {
          const list = await shown();
          if (check(list)) return list;
          await fee.waitForTimeout(100);
        }
        assert.fail(`the notification did not show: ${JSON.stringify(await shown())}`);
      };

      await deliver(pushed);
      const first = await until((list) => list.some((n) => n.body === pushed.body));
      assert.deepEqual(first.find((n) => n.body === pushed.body), {
        title: pushed.title,
        body: pushed.body,
        tag: pushed.tag,
        url: pushed.url,
      });
      const newer = { ...pushed, body: pushed.body.replace(/^New message/, "2 new messages") };
      await deliver(newer);
      const second = await until((list) => list.some((n) => n.body === newer.body));
      assert.equal(second.filter((n) => n.tag === pushed.tag).length, 1, "one notification per tag");
      await cdp.detach();
    });

    test("on another page a client's message is a toast; the matter's page is said on the socket", async () => {
      const viewing = (matterId) => JSON.stringify(matterId ? { type: "viewing", matter_id: matterId } : { type: "viewing" });
      const said = async (frame, from) => {
        for (let i = 0; i < 100 && !sent.slice(from).includes(frame); i++) await fee.waitForTimeout(100);
        assert.ok(sent.slice(from).includes(frame), `sent ${frame}`);
      };
      const matterId = new URL(client.url()).pathname.split("/")[2];

      // The fee earner opens the lease: the page says so; hidden, or left, it says none.
      await fee.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Matters" }).click();
      await fee.getByRole("link", { name: new RegExp(LEASE) }).click();
      await fee.getByRole("heading", { name: LEASE }).waitFor();
      await said(viewing(matterId), 0);
      // The client's message is still unanswered: the firm sees since when.
      const waiting = fee.getByTestId("awaiting-reply");
      await waiting.filter({ hasText: "The client has waited for an answer since" }).waitFor();
      await checkA11y(fee, "matter with a client waiting");
      await screenshot(fee, `${viewport}-awaiting-reply`);
      let mark = sent.length;
      await fee.evaluate(() => {
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
        document.dispatchEvent(new Event("visibilitychange"));
      });
      await said(viewing(), mark);
      mark = sent.length;
      await fee.evaluate(() => {
        delete document.visibilityState;
        document.dispatchEvent(new Event("visibilitychange"));
      });
      await said(viewing(matterId), mark);
      // An answer ends the wait.
      await fee.getByLabel("Message", { exact: true }).fill("Yes, I will call you at three.");
      await fee.getByRole("button", { name: "Send" }).click();
      await waiting.waitFor({ state: "detached" });
      mark = sent.length;
      await fee.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Matters" }).click();
      await fee.getByRole("heading", { name: "Your matters" }).waitFor();
      await said(viewing(), mark);

      // On the matter list, the client's next message is a toast naming the matter.
      await clientWrites(client, "Thank you, speak then.");
      const toast = fee.getByTestId("alert-toast").filter({ hasText: /New message on [A-Z]+-\d+/ });
      await toast.waitFor();
      await checkA11y(fee, "message toast");
      await screenshot(fee, `${viewport}-message-toast`);
      const link = toast.getByRole("link");
      assert.match(await link.textContent(), new RegExp(LEASE));
      await link.click();
      await fee.getByRole("heading", { name: LEASE }).waitFor();
      await toast.waitFor({ state: "detached" });
      assert.equal(new URL(fee.url()).pathname, `/matters/${matterId}`);

      // The account page lists it, with the way to the matter.
      await fee.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
      const alert = fee.getByTestId("alert").filter({ hasText: /New message on [A-Z]+-\d+/ }).first();
      await alert.waitFor();
      assert.equal(await alert.getByRole("link", { name: "Open the matter" }).getAttribute("href"), `/matters/${matterId}`);
      await checkA11y(fee, "account with notice alerts");
    });
  });
}

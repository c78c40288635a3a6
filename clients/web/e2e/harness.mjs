// The end-to-end harness: a real Docket portal (`docket demo` with its own private PostgreSQL and
// the machine's Redis), headless Chromium driven by playwright-core, TOTP codes computed here as an
// authenticator app would, and the axe-core accessibility check.

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const webRoot = path.resolve(here, "..");
export const repoRoot = path.resolve(webRoot, "../..");
const docketBin = process.env.DOCKET_BIN ?? path.join(repoRoot, "target/debug/docket");
const axeSource = readFileSync(path.join(webRoot, "node_modules/axe-core/axe.min.js"), "utf8");

/** The sizes to run (`DOCKET_E2E_VIEWPORTS=desktop` runs one while developing). */
export const viewports = (process.env.DOCKET_E2E_VIEWPORTS ?? "desktop,phone").split(",");

/** The viewports every journey runs at. */
export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A demo portal in its own folder, database and Redis prefix; can be stopped and started again. */
export class Portal {
  /** `settings`: extra `DOCKET_*` environment for the server (e.g. a short idle timeout). */
  static async create(name, settings = {}) {
    const dir = mkdtempSync(path.join(tmpdir(), `docket-e2e-${name}-`));
    // When run as root, the private PostgreSQL runs as the postgres user and must reach it.
    chmodSync(dir, 0o755);
    return new Portal(dir, await freePort(), await freePort(), `e2e-${name}-${process.pid}:`, settings);
  }

  constructor(dir, port, pgPort, redisPrefix, settings) {
    this.dir = dir;
    this.port = port;
    this.pgPort = pgPort;
    this.url = `http://127.0.0.1:${port}`;
    this.env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RUST_LOG: process.env.RUST_LOG ?? "warn",
      DOCKET_LISTEN: `127.0.0.1:${port}`,
      DOCKET_PUBLIC_URL: this.url,
      DOCKET_WEB_DIR: path.join(webRoot, "dist"),
      DOCKET_DATA_DIR: dir,
      REDIS_URL: process.env.DOCKET_TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
      DOCKET_REDIS_PREFIX: redisPrefix,
      ...settings,
    };
    this.log = "";
  }

  /** Starts `docket demo` and waits until it serves. */
  async start() {
    const child = spawn(docketBin, ["demo", "--dir", this.dir, "--postgres-port", String(this.pgPort)], {
      env: this.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the portal did not start:\n${this.log}`)), 120_000);
      const read = (chunk) => {
        this.log += chunk.toString();
        if (this.log.includes(`Docket demo is running at ${this.url}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the portal exited (${code}):\n${this.log}`));
      });
    });
    child.removeAllListeners("exit");
    this.logins = parseLogins(readFileSync(path.join(this.dir, "demo-logins.txt"), "utf8"));
  }

  /** Stops the server (SIGTERM: it tells sockets to reconnect, then exits) and its database. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    this.child = undefined;
  }

  /** Runs `docket admin …` against this portal's database (as the owner role). */
  async admin(...args) {
    const url = `postgres://postgres@127.0.0.1:${this.pgPort}/docket`;
    const env = { ...this.env, DATABASE_URL: url, DOCKET_MIGRATION_DATABASE_URL: url };
    return new Promise((resolve, reject) => {
      const child = spawn(docketBin, ["admin", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (out += c));
      child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`docket admin ${args.join(" ")}: ${out}`))));
    });
  }

  /** The invitation link from the newest e-mail to `to` in the mail spool. */
  invitationLink(to) {
    const dir = path.join(this.dir, "mail");
    for (const file of readdirSync(dir).sort().reverse()) {
      const text = readFileSync(path.join(dir, file), "utf8");
      if (text.includes(`To: ${to}`) || text.includes(to)) {
        const link = text.match(/https?:\/\/\S+\/accept-invitation#token=\S+/);
        if (link) return link[0];
      }
    }
    throw new Error(`no invitation e-mail to ${to}`);
  }

  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function parseLogins(text) {
  const logins = new Map();
  for (const line of text.split("\n")) {
    const email = line.match(/[\w.+-]+@[\w.-]+\.test/);
    const secret = line.match(/\b[A-Z2-7]{32}\b/);
    if (email && secret) logins.set(email[0], secret[0]);
  }
  return logins;
}

// --- TOTP (RFC 6238, SHA-1, 6 digits, 30 s) -------------------------------------------------

function base32(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/[\s=]/g, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

const usedSteps = new Map();

/**
 * A fresh TOTP code for `secret`. The server refuses a code twice, so when this secret's code for
 * the current step was already used, waits for the next step, as a person would.
 */
export async function totp(secret) {
  for (;;) {
    const step = Math.floor(Date.now() / 30_000);
    if (usedSteps.get(secret) !== step) {
      usedSteps.set(secret, step);
      return hotp(base32(secret), step);
    }
    await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 50));
  }
}

// --- Browser ----------------------------------------------------------------------------------

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** A browser context at `viewport`, recording CSP violations and page errors. */
export async function newContext(browser, viewport) {
  const context = await browser.newContext({ ...VIEWPORTS[viewport], locale: "en-GB", timezoneId: "Europe/London" });
  context.problems = [];
  context.on("page", (page) => watchPage(context, page));
  return context;
}

function watchPage(context, page) {
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() === "error" && /Content[- ]Security[- ]Policy|Refused to/i.test(text)) {
      context.problems.push(`CSP: ${text}`);
    }
  });
  page.on("pageerror", (error) => context.problems.push(`page error: ${error.message}`));
}

/** Runs axe-core on the page as it is now; fails with the violations listed. */
export async function checkA11y(page, label) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  assert.deepEqual(violations, [], `accessibility violations on ${label}:\n${JSON.stringify(violations, null, 2)}`);
}

const shotsDir = path.join(repoRoot, "docs/screenshots");

/** Saves a screenshot for the README when DOCKET_SCREENSHOTS=1 (`make screenshots`). */
export async function screenshot(page, name) {
  if (process.env.DOCKET_SCREENSHOTS !== "1") return;
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: false });
}

/**
 * Signs in through the UI: password, then a TOTP code. Ends on the page the person lands on,
 * whose heading is `landing` (the matter list, but Account & billing for finance users).
 */
export async function signIn(page, portal, email, landing = "Your matters") {
  await page.goto(`${portal.url}/sign-in`);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill("docket-demo-password");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByLabel("Six-digit code").fill(await totp(portal.logins.get(email)));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { name: landing }).waitFor();
}

/**
 * Inside a `describe`: a portal of its own (with `settings` as extra server environment) and a
 * browser, started before the suite's tests and torn down after them; `open()` gives a page in a
 * fresh context at `viewport`. Every context must end with no CSP violation or page error.
 */
export function portalSuite(name, viewport, settings = {}) {
  const suite = {
    portal: undefined,
    browser: undefined,
    contexts: [],
    async open() {
      const context = await newContext(suite.browser, viewport);
      suite.contexts.push(context);
      return context.newPage();
    },
  };
  before(async () => {
    suite.portal = await Portal.create(name, settings);
    await suite.portal.start();
    suite.browser = await launchBrowser();
  });
  after(async () => {
    for (const context of suite.contexts) {
      assert.deepEqual(context.problems, [], "no CSP violations or page errors");
    }
    await suite.browser?.close();
    await suite.portal?.dispose();
  });
  return suite;
}

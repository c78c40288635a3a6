import { describe, expect, it } from "vitest";
import type { Preference } from "../protocol";
import {
  alertPath,
  base64UrlBytes,
  cellLabel,
  escalationStep,
  frequencyChoices,
  matterLabel,
  noticePath,
  noticeWords,
  preferenceRows,
  pushDeviceState,
  type PushFacts,
  sameBytes,
  timeZoneChoices,
} from "./notifications";

describe("notice words", () => {
  it("say what happened and how many, as the server's push does", () => {
    expect(noticeWords("message", 1)).toBe("New message");
    expect(noticeWords("message", 3)).toBe("3 new messages");
    expect(noticeWords("review", 2)).toBe("2 documents wait for your review");
    expect(noticeWords("payment", 1)).toBe("A payment was received");
    expect(matterLabel("CP-1001", "Lease renewal")).toBe("CP-1001 — Lease renewal");
    // An end-to-end-encrypted matter has no title to show.
    expect(matterLabel("CP-1001", null)).toBe("CP-1001");
  });

  it("lead to the tab that shows the news", () => {
    expect(noticePath("message", "m")).toBe("/matters/m");
    expect(noticePath("review", "m")).toBe("/matters/m/documents");
    expect(noticePath("client_action", "m")).toBe("/matters/m/progress");
    expect(noticePath("invoice", "m")).toBe("/matters/m/billing");
    expect(alertPath({ kind: "notice", notice: "document", matter_id: "m", reference: "R", title: null, count: 1 })).toBe(
      "/matters/m/documents",
    );
    expect(alertPath({ kind: "notice", notice: "security", matter_id: null, reference: null, title: null, count: 1 })).toBeUndefined();
    expect(alertPath({ kind: "escalation", matter_id: "m", reference: "R", waiting_since: "2026-12-01T09:00:00Z", level: 2 })).toBe(
      "/matters/m",
    );
    expect(alertPath({ kind: "mfa_locked", source_ip: null })).toBeUndefined();
  });

  it("say how far a client's wait was escalated", () => {
    expect(escalationStep(0)).toBe("");
    expect(escalationStep(1)).toMatch(/fee earner has been reminded/);
    expect(escalationStep(2)).toMatch(/supervising partner has been told/);
  });
});

describe("the preference grid", () => {
  const cell = (kind: Preference["kind"], channel: Preference["channel"], source: Preference["source"] = "built_in"): Preference => ({
    kind,
    channel,
    frequency: "immediate",
    source,
  });

  it("groups the server's cells into rows in a fixed order, only kinds the person receives", () => {
    const rows = preferenceRows([cell("security", "push", "fixed"), cell("message", "email"), cell("message", "in_app")]);
    expect(rows.map((r) => r.kind)).toEqual(["message", "security"]);
    expect(Object.keys(rows[0].cells).sort()).toEqual(["email", "in_app"]);
  });

  it("offers a daily digest by e-mail only", () => {
    expect(frequencyChoices("email")).toEqual(["immediate", "digest", "off"]);
    expect(frequencyChoices("push")).toEqual(["immediate", "off"]);
    expect(cellLabel("message", "email")).toBe("New messages by e-mail");
  });
});

describe("push on this device", () => {
  const facts = (over: Partial<PushFacts>): PushFacts => ({
    supported: true,
    vapidKey: "key",
    permission: "granted",
    serverSubscribed: true,
    browserSubscribed: true,
    ...over,
  });

  it("is on only when the browser and the server both hold it and notifications are allowed", () => {
    expect(pushDeviceState(facts({}))).toBe("on");
    expect(pushDeviceState(facts({ serverSubscribed: false }))).toBe("off");
    expect(pushDeviceState(facts({ browserSubscribed: false }))).toBe("off");
    expect(pushDeviceState(facts({ permission: "default" }))).toBe("off");
    expect(pushDeviceState(facts({ permission: "denied" }))).toBe("blocked");
    expect(pushDeviceState(facts({ vapidKey: null }))).toBe("unavailable");
    expect(pushDeviceState(facts({ supported: false, vapidKey: null }))).toBe("unsupported");
  });

  it("decodes the server's key from base64url, with or without padding", () => {
    expect([...base64UrlBytes("AQID_-8")]).toEqual([1, 2, 3, 255, 239]);
    expect([...base64UrlBytes("AQID_-8=")]).toEqual([1, 2, 3, 255, 239]);
    expect(sameBytes(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2]))).toBe(true);
    expect(sameBytes(new Uint8Array([1, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(sameBytes(null, new Uint8Array([1]))).toBe(false);
  });
});

describe("time zones", () => {
  it("always offer the saved zone and this device's, sorted", () => {
    expect(timeZoneChoices("Asia/Tokyo", "Europe/Paris", ["Europe/London", "America/New_York"])).toEqual([
      "America/New_York",
      "Asia/Tokyo",
      "Europe/London",
      "Europe/Paris",
    ]);
    expect(timeZoneChoices("Europe/London", undefined, undefined)).toContain("UTC");
  });
});

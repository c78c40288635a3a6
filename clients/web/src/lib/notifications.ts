// Notifications as the portal shows them: the words for each kind of notice and for an unanswered
// client's escalation, where each leads, the preference grid's rows and choices, and this device's
// Web Push state. Pure functions, unit-tested; the browser's push calls are in `push.ts`.

import type {
  AlertDetail,
  Frequency,
  MatterId,
  NoticeChannel,
  NoticeKind,
  NotificationSettings,
  Preference,
} from "../protocol";

export type NoticeAlert = Extract<AlertDetail, { kind: "notice" }>;
export type EscalationAlert = Extract<AlertDetail, { kind: "escalation" }>;

/** The preference grid's rows, in this order; a person sees those the server lists for them. */
export const NOTICE_KIND_LABELS: Record<NoticeKind, string> = {
  message: "New messages",
  document: "New documents",
  client_upload: "Documents a client uploads",
  review: "Documents waiting for your review",
  client_action: "Things needed from you",
  invoice: "Invoices",
  payment: "Payments received",
  security: "Security: new sign-ins and locked codes",
};

/** The grid's columns. */
export const CHANNELS: readonly NoticeChannel[] = ["in_app", "push", "email"];

export const CHANNEL_LABELS: Record<NoticeChannel, string> = {
  in_app: "In the app",
  push: "Push",
  email: "E-mail",
};

/** "by e-mail", for a cell's own label ("New messages by e-mail"). */
const CHANNEL_PHRASES: Record<NoticeChannel, string> = {
  in_app: "in the app",
  push: "by push notification",
  email: "by e-mail",
};

export const FREQUENCY_LABELS: Record<Frequency, string> = {
  immediate: "Immediately",
  digest: "Daily digest",
  off: "Off",
};

/** What a channel can be set to: only e-mail comes as a daily digest. */
export function frequencyChoices(channel: NoticeChannel): Frequency[] {
  return channel === "email" ? ["immediate", "digest", "off"] : ["immediate", "off"];
}

/** The accessible name of one cell's control: "New messages by e-mail". */
export function cellLabel(kind: NoticeKind, channel: NoticeChannel): string {
  return `${NOTICE_KIND_LABELS[kind]} ${CHANNEL_PHRASES[channel]}`;
}

/** Why a row's fixed cells (source `fixed`) cannot be changed. */
export function fixedReason(kind: NoticeKind): string {
  return kind === "security"
    ? "Always on, everywhere: it may be the first sign that someone else is using your account."
    : "Shown in the app to the responsible fee earner as it happens, whatever is chosen here.";
}

/** One row of the preference grid: a kind and its cell on each channel. */
export interface PreferenceRow {
  kind: NoticeKind;
  cells: Partial<Record<NoticeChannel, Preference>>;
}

/** The grid's rows from the server's flat list, in the order of `NOTICE_KIND_LABELS`. */
export function preferenceRows(preferences: Preference[]): PreferenceRow[] {
  const rows = new Map<NoticeKind, PreferenceRow>();
  for (const kind of Object.keys(NOTICE_KIND_LABELS) as NoticeKind[]) {
    const cells: PreferenceRow["cells"] = {};
    for (const p of preferences) if (p.kind === kind) cells[p.channel] = p;
    if (Object.keys(cells).length > 0) rows.set(kind, { kind, cells });
  }
  return [...rows.values()];
}

/** Whether any cell is the person's own choice (so "Restore the defaults" has something to do). */
export function hasOwnChoices(settings: NotificationSettings): boolean {
  return settings.preferences.some((p) => p.source === "user");
}

/** "New message", "3 new messages", "A document waits for your review": a notice's news. */
export function noticeWords(kind: NoticeKind, count: number): string {
  const counted = (one: string, many: string) => (count <= 1 ? `New ${one}` : `${count} new ${many}`);
  switch (kind) {
    case "message":
      return counted("message", "messages");
    case "document":
      return counted("document", "documents");
    case "client_upload":
      return count <= 1 ? "A client uploaded a document" : `A client uploaded ${count} documents`;
    case "review":
      return count <= 1 ? "A document waits for your review" : `${count} documents wait for your review`;
    case "client_action":
      return "Something is needed from you";
    case "invoice":
      return counted("invoice", "invoices");
    case "payment":
      return count <= 1 ? "A payment was received" : `${count} payments were received`;
    case "security":
      return "A security notice about your account";
  }
}

/** "CP-1001 — Lease renewal", or the reference alone (an end-to-end-encrypted matter has no title). */
export function matterLabel(reference: string, title?: string | null): string {
  return title ? `${reference} — ${title}` : reference;
}

/** Where a notice about a matter leads: the tab that shows its news. */
export function noticePath(kind: NoticeKind, matterId: MatterId): string {
  switch (kind) {
    case "document":
    case "client_upload":
    case "review":
      return `/matters/${matterId}/documents`;
    case "client_action":
      return `/matters/${matterId}/progress`;
    case "invoice":
    case "payment":
      return `/matters/${matterId}/billing`;
    default:
      return `/matters/${matterId}`;
  }
}

/** Where an alert leads, when it is about a matter. */
export function alertPath(detail: AlertDetail): string | undefined {
  switch (detail.kind) {
    case "notice":
      return detail.matter_id ? noticePath(detail.notice, detail.matter_id) : undefined;
    case "escalation":
      return `/matters/${detail.matter_id}`;
    case "client_upload":
      return `/matters/${detail.matter_id}/documents`;
    case "payment":
      return `/matters/${detail.matter_id}/billing`;
    default:
      return undefined;
  }
}

/**
 * What has been done about an unanswered client so far (`escalation_level`): nothing yet, the
 * responsible fee earner reminded, or the supervising partner told as well.
 */
export function escalationStep(level: number): string {
  if (level >= 2) return "The responsible fee earner was reminded, and the supervising partner has been told.";
  if (level === 1) return "The responsible fee earner has been reminded.";
  return "";
}

/** An escalation alert's lead: to the fee earner (level 1) or the supervising partner (level 2). */
export function escalationWords(level: number): string {
  return level >= 2
    ? "Escalated to you: a client has waited for the firm's answer"
    : "Reminder: a client has waited for your answer";
}

// --- This device's Web Push ---------------------------------------------------------------------

/** What the device section says. */
export type PushDeviceState = "on" | "off" | "blocked" | "unsupported" | "unavailable";

/** What the page knows about Web Push on this device. */
export interface PushFacts {
  /** The browser has service workers, the Push API and notifications, in a secure context. */
  supported: boolean;
  /** The server's VAPID key; null when it cannot push now. */
  vapidKey: string | null;
  permission: NotificationPermission;
  /** The server holds a subscription for this device. */
  serverSubscribed: boolean;
  /** The browser holds a push subscription for the portal. */
  browserSubscribed: boolean;
}

/** On only when the browser and the server both hold the subscription and notifications are allowed. */
export function pushDeviceState(facts: PushFacts): PushDeviceState {
  if (!facts.supported) return "unsupported";
  if (facts.vapidKey === null) return "unavailable";
  if (facts.permission === "denied") return "blocked";
  if (facts.permission === "granted" && facts.serverSubscribed && facts.browserSubscribed) return "on";
  return "off";
}

export const PUSH_STATE_TEXT: Record<PushDeviceState, string> = {
  on: "On: notices reach this device even when Docket is closed.",
  off: "Off: notices reach this device only while Docket is open.",
  blocked:
    "Blocked by the browser. To turn them on, allow notifications for this site in the browser's settings, then reload this page.",
  unsupported:
    "Not supported by this browser. On an iPhone or iPad, add Docket to the home screen (Share, then Add to Home Screen) and open it from there.",
  unavailable: "Not available: the portal cannot send notifications to devices just now. Please try again later.",
};

/** A base64url string (padding optional) as bytes: the VAPID key for `applicationServerKey`. */
export function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Whether two keys are the same bytes (a subscription made with another server key must be renewed). */
export function sameBytes(a: ArrayBuffer | Uint8Array | null | undefined, b: Uint8Array): boolean {
  if (!a) return false;
  const x = a instanceof Uint8Array ? a : new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

// --- When ---------------------------------------------------------------------------------------

/** "08:00" for hour 8. */
export function hourLabel(hour: number): string {
  return `${String(hour).padStart(2, "0")}:00`;
}

/**
 * The time zones to offer: the browser's list (`Intl.supportedValuesOf`) when it has one, always
 * with the saved zone and this device's, sorted.
 */
export function timeZoneChoices(saved: string, device: string | undefined, supported: string[] | undefined): string[] {
  const zones = new Set(supported ?? ["Europe/London", "Europe/Dublin", "UTC"]);
  zones.add(saved);
  if (device) zones.add(device);
  return [...zones].sort((a, b) => a.localeCompare(b));
}

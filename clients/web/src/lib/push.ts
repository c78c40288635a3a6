// Web Push on this device: what the browser can do and holds, turning it on (permission, the
// service worker's subscription, then the server told) and off again. The page asks for the
// notification permission only when the person clicks to turn notifications on.

import type { NotificationSettings, PushSubscriptionRequest } from "../protocol";
import { api } from "./api";
import { base64UrlBytes, type PushFacts, sameBytes } from "./notifications";

/** A step of turning push on that the person (or their browser) declined, in words for them. */
export class PushRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushRefused";
  }
}

/** Whether this browser can receive Web Push here at all. */
export function pushSupported(): boolean {
  return (
    window.isSecureContext &&
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window
  );
}

/** The service worker's registration, registering it if the page has not yet (it does on load). */
async function registration(): Promise<ServiceWorkerRegistration> {
  if (!(await navigator.serviceWorker.getRegistration())) {
    await navigator.serviceWorker.register("/sw.js");
  }
  let timer = 0;
  const late = new Promise<never>((_, reject) => {
    timer = window.setTimeout(
      () => reject(new PushRefused("The portal's background worker did not start. Reload the page and try again.")),
      15_000,
    );
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, late]);
  } finally {
    window.clearTimeout(timer);
  }
}

/** The browser's push subscription for the portal, if it has one. */
async function currentSubscription(): Promise<PushSubscription | null> {
  const reg = await navigator.serviceWorker.getRegistration();
  return reg ? reg.pushManager.getSubscription() : null;
}

/** Everything `pushDeviceState` needs, from the browser and the server's settings. */
export async function pushFacts(settings: NotificationSettings): Promise<PushFacts> {
  const supported = pushSupported();
  return {
    supported,
    vapidKey: settings.push.vapid_public_key,
    permission: supported ? Notification.permission : "default",
    serverSubscribed: settings.push.subscribed,
    browserSubscribed: supported ? (await currentSubscription().catch(() => null)) !== null : false,
  };
}

/**
 * Turns push on for this device. Call straight from the click, before anything else is awaited:
 * some browsers allow the permission prompt only in direct answer to a person's gesture.
 */
export async function enablePush(vapidKey: string): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission === "denied") {
    throw new PushRefused(
      "The browser blocked notifications for Docket. Allow them in the browser's site settings, then try again.",
    );
  }
  if (permission !== "granted") throw new PushRefused("Notifications were not allowed, so nothing changed.");
  const reg = await registration();
  const key = base64UrlBytes(vapidKey);
  let subscription = await reg.pushManager.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
    // Made for another server key (the portal's was replaced): the browser refuses a second one.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    try {
      subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    } catch {
      throw new PushRefused(
        "The browser's push service could not be reached, so notifications could not be turned on. Check the connection and try again.",
      );
    }
  }
  const json = subscription.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) {
    throw new PushRefused("The browser gave an incomplete subscription; notifications could not be turned on.");
  }
  const body: PushSubscriptionRequest = { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } };
  await api("PUT", "/me/push-subscription", body);
}

/** Turns push off for this device: the server forgets it first, then the browser drops it. */
export async function disablePush(): Promise<void> {
  await api("DELETE", "/me/push-subscription");
  if (!pushSupported()) return;
  const subscription = await currentSubscription().catch(() => null);
  await subscription?.unsubscribe().catch(() => false);
}

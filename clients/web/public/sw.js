// Docket's service worker: an offline shell, and push notifications. It caches the page shell and
// the build's static files so the app opens without a network and says it is offline. It never
// caches the API (/api/...): matter data, documents and sessions are never stored by it. A push
// (sent only to those who turned notifications on) is shown as it came: the firm's name and one
// sentence naming the news and the matter, never content; a click opens that matter.

const CACHE = "docket-shell-v1";
const SHELL = ["/", "/manifest.webmanifest", "/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // Never cached: always the network.
  if (request.mode === "navigate") {
    // The shell from the network when possible (so deploys show at once), else the cached one.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put("/", copy));
          }
          return response;
        })
        .catch(() => caches.match("/").then((cached) => cached || Response.error())),
    );
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    // Content-hashed, so a cached copy is always right.
    event.respondWith(
      caches.match(request).then(
        (cached) =>
          cached ||
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
  }
});

// --- Push notifications ------------------------------------------------------------------------

/** A path on this portal from a notice's `url`; anything else (another origin, nonsense) is "/". */
function portalPath(url) {
  try {
    const parsed = new URL(url, self.location.origin);
    if (parsed.origin === self.location.origin) return parsed.pathname + parsed.search + parsed.hash;
  } catch {
    // Not a URL: fall through.
  }
  return "/";
}

self.addEventListener("push", (event) => {
  let notice = {};
  try {
    notice = (event.data && event.data.json()) || {};
  } catch {
    notice = {};
  }
  const title = typeof notice.title === "string" && notice.title ? notice.title : "Docket";
  const options = {
    body: typeof notice.body === "string" && notice.body ? notice.body : "There is news for you in Docket.",
    icon: "/icon-192.png",
    lang: "en-GB",
    data: { url: portalPath(notice.url), kind: typeof notice.kind === "string" ? notice.kind : undefined },
  };
  if (typeof notice.tag === "string" && notice.tag) {
    // A newer notice about the same thing replaces the older one, and still says so.
    options.tag = notice.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = portalPath(event.notification.data && event.notification.data.url);
  event.waitUntil(openPortal(path));
});

/** Focuses an open Docket window and has it show `path` (without reloading), or opens one there. */
async function openPortal(path) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const mine = windows.filter((w) => new URL(w.url).origin === self.location.origin);
  const open = mine.find((w) => w.focused) || mine.find((w) => w.visibilityState === "visible") || mine[0];
  if (open) {
    const focused = await open.focus().catch(() => open);
    (focused || open).postMessage({ type: "open", path });
    return;
  }
  await self.clients.openWindow(path);
}

// The browser replaced the subscription (some renew them now and then): tell the portal, with the
// session's CSRF token where this browser lets a worker read cookies. Where it does not, the
// device shows as off in Settings → Notifications, and turning it on again mends it.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event).catch(() => undefined));
});

async function resubscribe(event) {
  const old = event.oldSubscription;
  const subscription =
    event.newSubscription || (old && old.options ? await self.registration.pushManager.subscribe(old.options) : null);
  if (!subscription || !self.cookieStore) return;
  const csrf = await self.cookieStore.get("docket_csrf");
  if (!csrf || !csrf.value) return; // Signed out: the next sign-in's settings page offers it again.
  const { endpoint, keys } = subscription.toJSON();
  await fetch("/api/v1/me/push-subscription", {
    method: "PUT",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf.value) },
    body: JSON.stringify({ endpoint, keys }),
  });
}

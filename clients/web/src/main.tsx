// Entry point: render the app and register the service worker (the offline shell, and push
// notifications for those who turn them on). A click on a notification asks an open window to go
// to its matter: it does so without reloading.

import { render } from "preact";
import { App } from "./ui/app";
import { navigate } from "./ui/router";
import "./styles.css";
import "./billing.css";
import "./notifications.css";

const root = document.getElementById("app");
if (root) render(<App />, root);

if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // The portal works without it; only the offline shell and push notifications are lost.
    });
  });
  navigator.serviceWorker.addEventListener("message", (event: MessageEvent) => {
    const data: unknown = event.data;
    if (typeof data !== "object" || data === null) return;
    const { type, path } = data as { type?: unknown; path?: unknown };
    // Only a path on this portal (never `//elsewhere`).
    if (type === "open" && typeof path === "string" && path.startsWith("/") && !path.startsWith("//")) navigate(path);
  });
}

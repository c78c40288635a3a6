// Entry point: render the app and register the service worker (offline shell only).

import { render } from "preact";
import { App } from "./ui/app";
import "./styles.css";
import "./billing.css";

const root = document.getElementById("app");
if (root) render(<App />, root);

if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // The portal works without it; only the offline shell is lost.
    });
  });
}

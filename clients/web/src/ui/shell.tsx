// The frame around signed-in pages: skip link, header with navigation and the connection state,
// and the idle-timeout warning.

import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import type { Alert, CurrentSession } from "../protocol";
import type { ConnectionState } from "../lib/channel";
import { onServerActivity } from "../lib/api";
import { duration } from "../lib/format";
import type { IdleWatch } from "../lib/idle";
import { EscalationAlertText, NoticeAlertText } from "./alerts";
import { PaymentAlertText } from "./billing-cards";
import { follow } from "./router";

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  online: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  ended: "Signed out",
};

export function Shell({
  session,
  billing,
  state,
  path,
  alerts,
  onDismiss,
  onSignOut,
  children,
}: {
  session: CurrentSession;
  /** Whether the client's Account & billing page is for this person. */
  billing: boolean;
  state: ConnectionState;
  path: string;
  alerts: Alert[];
  onDismiss: (alertId: string) => void;
  onSignOut: () => void;
  children: ComponentChildren;
}) {
  const current = (href: string) =>
    (href === "/" ? path === "/" || path.startsWith("/matters") : path === href || path.startsWith(`${href}/`))
      ? "page"
      : undefined;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/" onClick={follow}>
          Docket
        </a>
        <nav aria-label="Main">
          <a href="/" onClick={follow} aria-current={current("/")}>
            Matters
          </a>
          {billing && (
            <a href="/billing" onClick={follow} aria-current={current("/billing")}>
              Billing
            </a>
          )}
          {session.user.kind === "firm" && (
            <a href="/review" onClick={follow} aria-current={current("/review")}>
              Review
            </a>
          )}
          <a href="/settings/notifications" onClick={follow} aria-current={current("/settings")}>
            Settings
          </a>
          <a href="/account" onClick={follow} aria-current={current("/account")}>
            Account
          </a>
        </nav>
        <p class={`connection connection-${state}`} role="status" data-testid="connection">
          <span class="dot" aria-hidden="true" />
          {CONNECTION_TEXT[state]}
        </p>
        <div class="who">
          <span class="who-name">{session.user.display_name}</span>
          <button type="button" class="quiet" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <div class="toasts" role="status" aria-live="polite">
        {alerts.slice(0, 3).map((alert) => (
          <AlertToast key={alert.alert_id} alert={alert} onDismiss={() => onDismiss(alert.alert_id)} />
        ))}
      </div>
      {children}
    </>
  );
}

/** Warns before the server ends an unattended session; activity on the page keeps it alive. */
export function IdleWarning({
  idle,
  onStay,
  onExpired,
}: {
  idle: IdleWatch;
  onStay: () => Promise<void>;
  onExpired: () => void;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const tick = window.setInterval(() => setNow(Date.now()), 1000);
    const unlisten = onServerActivity(() => idle.touched(Date.now()));
    const activity = () => {
      if (idle.shouldTouch(Date.now())) void onStay().catch(() => undefined);
    };
    window.addEventListener("keydown", activity);
    window.addEventListener("pointerdown", activity);
    return () => {
      window.clearInterval(tick);
      unlisten();
      window.removeEventListener("keydown", activity);
      window.removeEventListener("pointerdown", activity);
    };
  }, [idle, onStay]);
  const phase = idle.phase(now);
  useEffect(() => {
    if (phase === "expired") onExpired();
  }, [phase]);
  if (phase !== "warning") return null;
  return <IdleDialog secondsLeft={idle.secondsLeft(now)} onStay={onStay} />;
}

/** A native modal dialog: the page behind is inert and focus stays inside until it closes. */
function IdleDialog({ secondsLeft, onStay }: { secondsLeft: number; onStay: () => Promise<void> }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class="idle"
      role="alertdialog"
      aria-labelledby="idle-title"
      aria-describedby="idle-text"
      onCancel={(e) => {
        // Escape means "I am here".
        e.preventDefault();
        void onStay();
      }}
    >
      <h2 id="idle-title">Are you still there?</h2>
      <p id="idle-text">
        For your security you will be signed out in {duration(secondsLeft)} unless you stay signed in.
      </p>
      <button type="button" class="primary" autoFocus onClick={() => void onStay()}>
        Stay signed in
      </button>
    </dialog>
  );
}

/**
 * One alert as it arrives: news on a matter (a message, a document, something to do), a client
 * waiting for an answer, a client's upload or payment, or a sign-in from a new device.
 */
function AlertToast({ alert, onDismiss }: { alert: Alert; onDismiss: () => void }) {
  const detail = alert.detail;
  return (
    <div class="toast" data-testid="alert-toast">
      {detail.kind === "notice" ? (
        <p>
          <NoticeAlertText detail={detail} onFollow={onDismiss} />
        </p>
      ) : detail.kind === "escalation" ? (
        <p>
          <EscalationAlertText detail={detail} onFollow={onDismiss} />
        </p>
      ) : detail.kind === "client_upload" ? (
        <p>
          {detail.uploaded_by} uploaded{" "}
          <a href={`/matters/${detail.matter_id}/documents`} onClick={(e) => (follow(e), onDismiss())}>
            {detail.title}
          </a>
        </p>
      ) : detail.kind === "payment" ? (
        <p>
          <PaymentAlertText detail={detail} onFollow={onDismiss} />
        </p>
      ) : detail.kind === "mfa_locked" ? (
        <p>
          Security codes on your account were locked after several wrong attempts.{" "}
          <a href="/account" onClick={(e) => (follow(e), onDismiss())}>
            Review your sessions
          </a>
        </p>
      ) : (
        <p>A new device signed in to your account.</p>
      )}
      <button type="button" class="link" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

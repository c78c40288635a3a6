// The account page: the person's sessions and devices, each revocable, and their alerts (new
// devices, locked codes, client uploads and payments, news on a matter, a client waiting for an
// answer), unread first marked, each with a link to its matter where it has one.

import { useEffect, useState } from "preact/hooks";
import type { Alert, CurrentSession, DeviceInfo, SessionInfo } from "../protocol";
import { api, describe } from "../lib/api";
import { deviceName, fullWhen } from "../lib/format";
import { alertPath } from "../lib/notifications";
import { EscalationAlertText, NoticeAlertText } from "./alerts";
import { PaymentAlertText } from "./billing-cards";
import { Notice, PageTitle } from "./page";
import { follow } from "./router";

export function Account({ session, onSignOut }: { session: CurrentSession; onSignOut: () => void }) {
  const [sessions, setSessions] = useState<SessionInfo[]>();
  const [devices, setDevices] = useState<DeviceInfo[]>();
  const [alerts, setAlerts] = useState<Alert[]>();
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();

  const load = () =>
    Promise.all([
      api<SessionInfo[]>("GET", "/me/sessions"),
      api<DeviceInfo[]>("GET", "/me/devices"),
      api<Alert[]>("GET", "/me/alerts"),
    ])
      .then(([s, d, a]) => {
        setSessions(s);
        setDevices(d);
        setAlerts(a);
      })
      .catch((e) => setError(describe(e)));
  useEffect(() => {
    void load();
  }, []);

  const markRead = async (alert: Alert) => {
    setError(undefined);
    try {
      await api("POST", `/me/alerts/${alert.alert_id}/read`, {});
      setAlerts((list) => list?.map((a) => (a.alert_id === alert.alert_id ? { ...a, read: true } : a)));
    } catch (e) {
      setError(describe(e));
    }
  };

  const revoke = async (what: string, path: string) => {
    setError(undefined);
    setDone(undefined);
    try {
      await api("DELETE", path);
      setDone(`${what} signed out.`);
      await load();
    } catch (e) {
      setError(describe(e));
    }
  };

  return (
    <main id="main" class="page account">
      <PageTitle>Your account</PageTitle>
      <dl class="profile">
        <dt>Name</dt>
        <dd>{session.user.display_name}</dd>
        <dt>E-mail</dt>
        <dd>{session.user.email}</dd>
        <dt>This session ends by</dt>
        <dd>{fullWhen(session.expires_at)}</dd>
      </dl>
      <button type="button" class="quiet" onClick={onSignOut}>
        Sign out
      </button>
      <Notice kind="error" text={error} />
      <Notice kind="success" text={done} />

      <section aria-labelledby="sessions-title">
        <h2 id="sessions-title">Where you are signed in</h2>
        {!sessions ? (
          <p class="muted">Loading…</p>
        ) : (
          <ul class="cards">
            {sessions.map((s) => (
              <li key={s.session_id} class="card" data-testid="session">
                <p class="card-title" title={s.device_label}>
                  {deviceName(s.device_label)}
                  {s.current && <span class="tag">This session</span>}
                </p>
                <p class="muted">
                  Signed in {fullWhen(s.created_at)} · last active {fullWhen(s.last_seen_at)}
                  {s.source_ip ? ` · from ${s.source_ip}` : ""}
                </p>
                {!s.current && (
                  <button
                    type="button"
                    class="danger"
                    onClick={() => void revoke("That session was", `/me/sessions/${s.session_id}`)}
                    aria-label={`Sign out this session: ${deviceName(s.device_label)}, signed in ${fullWhen(s.created_at)}`}
                  >
                    Sign out this session
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="devices-title">
        <h2 id="devices-title">Your devices</h2>
        <p class="muted">Removing a device signs it out and asks for a new-device check next time it signs in.</p>
        {!devices ? (
          <p class="muted">Loading…</p>
        ) : (
          <ul class="cards">
            {devices.map((d) => (
              <li key={d.device_id} class="card" data-testid="device">
                <p class="card-title" title={d.label}>
                  {deviceName(d.label)}
                  {d.current && <span class="tag">This device</span>}
                </p>
                <p class="muted">
                  First seen {fullWhen(d.first_seen_at)} · last seen {fullWhen(d.last_seen_at)}
                </p>
                {!d.current && (
                  <button
                    type="button"
                    class="danger"
                    onClick={() => void revoke("That device was", `/me/devices/${d.device_id}`)}
                    aria-label={`Remove device: ${deviceName(d.label)}`}
                  >
                    Remove device
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        <p class="muted">
          Choose which notices reach you, and how, in{" "}
          <a href="/settings/notifications" onClick={follow}>
            notification settings
          </a>
          .
        </p>
        {alerts && alerts.length === 0 && <p class="muted">No alerts.</p>}
        <ul class="cards">
          {alerts?.map((a) => (
            <li key={a.alert_id} class={a.read ? "card alert-read" : "card alert-unread"} data-testid="alert">
              {a.detail.kind === "new_device" ? (
                <p class="card-title">New device signed in: {deviceName(a.detail.device_label)}</p>
              ) : a.detail.kind === "mfa_locked" ? (
                <p class="card-title">
                  Security codes were locked after several wrong attempts. Whoever made them knew your password
                  or was using one of your signed-in sessions: if this was not you, sign out your other
                  sessions and ask the firm to reset your password.
                </p>
              ) : a.detail.kind === "payment" ? (
                <p class="card-title">
                  <PaymentAlertText detail={a.detail} />
                </p>
              ) : a.detail.kind === "notice" ? (
                <p class="card-title">
                  <NoticeAlertText detail={a.detail} plain />
                </p>
              ) : a.detail.kind === "escalation" ? (
                <p class="card-title">
                  <EscalationAlertText detail={a.detail} plain />
                </p>
              ) : (
                <p class="card-title">
                  {a.detail.uploaded_by} uploaded “{a.detail.title}”
                </p>
              )}
              <p class="muted">
                {a.read ? "" : "New · "}
                {fullWhen(a.created_at)}
                {(a.detail.kind === "new_device" || a.detail.kind === "mfa_locked") && a.detail.source_ip
                  ? ` · from ${a.detail.source_ip}`
                  : ""}
              </p>
              <div class="alert-actions">
                {alertPath(a.detail) && (
                  <a href={alertPath(a.detail)} onClick={follow}>
                    Open the matter
                  </a>
                )}
                {!a.read && (
                  <button type="button" class="link" onClick={() => void markRead(a)}>
                    Mark as read<span class="visually-hidden"> ({fullWhen(a.created_at)})</span>
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

// Settings → Notifications: notifications on this device (Web Push, asked for only on a click),
// which notices reach the person on which channel (a grid, saved as each choice is made), and when
// (time zone, the daily digest's hour, and a firm user's quiet hours).

import { useEffect, useRef, useState } from "preact/hooks";
import type { Frequency, NotificationSettings, Preference, UpdateNotificationSettings } from "../protocol";
import { api, describe } from "../lib/api";
import {
  CHANNEL_LABELS,
  CHANNELS,
  cellLabel,
  FREQUENCY_LABELS,
  fixedReason,
  frequencyChoices,
  hasOwnChoices,
  hourLabel,
  NOTICE_KIND_LABELS,
  preferenceRows,
  PUSH_STATE_TEXT,
  type PushFacts,
  pushDeviceState,
  timeZoneChoices,
} from "../lib/notifications";
import { disablePush, enablePush, PushRefused, pushFacts } from "../lib/push";
import { Notice, PageTitle } from "./page";

/** Which section a status line belongs to: it shows there, next to what was changed. */
type Where = "device" | "grid" | "times";

interface Status {
  where: Where;
  kind: "error" | "success";
  text: string;
}

/** A section's own status line: what was saved, or why not. */
function SectionStatus({ where, status }: { where: Where; status?: Status }) {
  const mine = status?.where === where ? status : undefined;
  return (
    <>
      <Notice kind="error" text={mine?.kind === "error" ? mine.text : undefined} />
      <Notice kind="success" text={mine?.kind === "success" ? mine.text : undefined} />
    </>
  );
}

export function NotificationSettingsPage() {
  const [settings, setSettings] = useState<NotificationSettings>();
  const [facts, setFacts] = useState<PushFacts>();
  const [loadError, setLoadError] = useState<string>();
  const [status, setStatus] = useState<Status>();
  // Saves may overlap (each choice saves at once): only the latest answer is shown.
  const latest = useRef(0);

  const show = async (next: NotificationSettings) => {
    setSettings(next);
    setFacts(await pushFacts(next));
  };
  const reload = () =>
    api<NotificationSettings>("GET", "/me/notifications")
      .then(show)
      .catch((e) => setLoadError(describe(e)));
  useEffect(() => {
    void reload();
  }, []);

  /**
   * Sends a change (shown at once as `optimistic`, when given); `saved` says what was saved. A
   * refused change shows the server's words and the settings as the server has them.
   */
  const save = async (where: Where, change: UpdateNotificationSettings, saved: string, optimistic?: NotificationSettings) => {
    const mine = ++latest.current;
    setStatus(undefined);
    if (optimistic) setSettings(optimistic);
    try {
      const next = await api<NotificationSettings>("PATCH", "/me/notifications", change);
      if (mine !== latest.current) return;
      await show(next);
      setStatus({ where, kind: "success", text: saved });
    } catch (e) {
      if (mine !== latest.current) return;
      setStatus({ where, kind: "error", text: describe(e) });
      if (optimistic) await reload();
    }
  };

  /** Runs a device step, then reads the device's state again whatever came of it. */
  const onDevice = async (step: Promise<void>, saved: string): Promise<void> => {
    setStatus(undefined);
    try {
      await step;
      setStatus({ where: "device", kind: "success", text: saved });
    } catch (e) {
      setStatus({ where: "device", kind: "error", text: e instanceof PushRefused ? e.message : describe(e) });
    }
    await reload();
  };

  return (
    <main id="main" class="page notification-settings">
      <p class="eyebrow">Settings</p>
      <PageTitle>Notifications</PageTitle>
      <p class="lede">
        Choose how Docket tells you about news on your matters. A notice says only what happened and on which
        matter, never what a message or document says.
      </p>
      <Notice kind="error" text={loadError} />
      {!settings ? (
        !loadError && <p class="muted">Loading your settings…</p>
      ) : (
        <>
          <DeviceSection
            facts={facts}
            status={status}
            onEnable={(key) => onDevice(enablePush(key), "Notifications are on for this device.")}
            onDisable={() => onDevice(disablePush(), "Notifications are off for this device.")}
          />
          <PreferenceGrid settings={settings} status={status} onSave={save} />
          <ScheduleForm settings={settings} status={status} onSave={save} />
        </>
      )}
    </main>
  );
}

function DeviceSection({
  facts,
  status,
  onEnable,
  onDisable,
}: {
  facts?: PushFacts;
  status?: Status;
  onEnable: (vapidKey: string) => Promise<void>;
  onDisable: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const state = facts && pushDeviceState(facts);
  const key = facts?.vapidKey;
  // `step` starts inside the click itself: the permission prompt needs the person's gesture.
  const run = (step: () => Promise<void>) => {
    setBusy(true);
    void step().finally(() => setBusy(false));
  };
  return (
    <section aria-labelledby="device-title" class="settings-section">
      <h2 id="device-title">This device</h2>
      <p data-testid="push-state" class={`push-state push-${state ?? "loading"}`}>
        <strong>Notifications on this device: </strong>
        {state ? PUSH_STATE_TEXT[state] : "Checking…"}
      </p>
      <SectionStatus where="device" status={status} />
      {state === "off" && key && (
        // The permission prompt is asked for here, on the click, and nowhere else.
        <button type="button" class="primary" disabled={busy} onClick={() => run(() => onEnable(key))}>
          Enable notifications on this device
        </button>
      )}
      {(state === "on" || (facts?.serverSubscribed && state !== "off")) && (
        <button type="button" class="quiet" disabled={busy} onClick={() => run(onDisable)}>
          Turn off on this device
        </button>
      )}
    </section>
  );
}

type Save = (where: Where, change: UpdateNotificationSettings, saved: string, optimistic?: NotificationSettings) => Promise<void>;

function PreferenceGrid({ settings, status, onSave }: { settings: NotificationSettings; status?: Status; onSave: Save }) {
  const rows = preferenceRows(settings.preferences);
  const change = (p: Preference, frequency: Frequency) =>
    void onSave(
      "grid",
      { preferences: [{ kind: p.kind, channel: p.channel, frequency }] },
      `Saved: ${cellLabel(p.kind, p.channel)}, ${FREQUENCY_LABELS[frequency].toLowerCase()}.`,
      {
        ...settings,
        preferences: settings.preferences.map((c) =>
          c.kind === p.kind && c.channel === p.channel ? { ...c, frequency, source: "user" } : c,
        ),
      },
    );
  const restore = () =>
    void onSave(
      "grid",
      {
        preferences: settings.preferences
          .filter((p) => p.source === "user")
          .map((p) => ({ kind: p.kind, channel: p.channel })),
      },
      "Your choices are back to the defaults.",
    );
  return (
    <section aria-labelledby="grid-title" class="settings-section">
      <h2 id="grid-title">What reaches you, and how</h2>
      <p class="muted">
        Push reaches the devices where you turned notifications on. A daily digest gathers the day's notices into
        one e-mail. While you are looking at a matter, its news reaches you nowhere else.
      </p>
      <table class="preferences">
        <caption class="visually-hidden">Notices by kind and channel</caption>
        <thead>
          <tr>
            <th scope="col">Notice</th>
            {CHANNELS.map((c) => (
              <th key={c} scope="col">
                {CHANNEL_LABELS[c]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const fixed = Object.values(row.cells).some((c) => c?.source === "fixed");
            return (
              <tr key={row.kind} data-testid={`preference-${row.kind}`}>
                <th scope="row">
                  <span>{NOTICE_KIND_LABELS[row.kind]}</span>
                  {fixed && (
                    <span id={`fixed-${row.kind}`} class="row-note">
                      {fixedReason(row.kind)}
                    </span>
                  )}
                </th>
                {CHANNELS.map((channel) => {
                  const cell = row.cells[channel];
                  return (
                    <td key={channel} data-channel={CHANNEL_LABELS[channel]}>
                      {cell && <Cell cell={cell} onChange={(f) => change(cell, f)} />}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
      <SectionStatus where="grid" status={status} />
      <button type="button" class="quiet" disabled={!hasOwnChoices(settings)} onClick={restore}>
        Restore the defaults
      </button>
    </section>
  );
}

/** One cell: a choice, or (fixed) the setting shown but disabled, described by its row's note. */
function Cell({ cell, onChange }: { cell: Preference; onChange: (f: Frequency) => void }) {
  const fixed = cell.source === "fixed";
  return (
    <select
      id={`pref-${cell.kind}-${cell.channel}`}
      aria-label={cellLabel(cell.kind, cell.channel)}
      aria-describedby={fixed ? `fixed-${cell.kind}` : undefined}
      value={cell.frequency}
      disabled={fixed}
      onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value as Frequency)}
    >
      {(fixed ? [cell.frequency] : frequencyChoices(cell.channel)).map((f) => (
        <option key={f} value={f}>
          {FREQUENCY_LABELS[f]}
        </option>
      ))}
    </select>
  );
}

function ScheduleForm({ settings, status, onSave }: { settings: NotificationSettings; status?: Status; onSave: Save }) {
  const device = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const supported = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : undefined;
  const zones = timeZoneChoices(settings.time_zone, device, supported);
  const [timeZone, setTimeZone] = useState(settings.time_zone);
  const [digestHour, setDigestHour] = useState(settings.digest_hour);
  const [quiet, setQuiet] = useState(settings.quiet_hours !== null);
  const [start, setStart] = useState(settings.quiet_hours?.start ?? "20:00");
  const [end, setEnd] = useState(settings.quiet_hours?.end ?? "07:30");
  const [saving, setSaving] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const change: UpdateNotificationSettings = { time_zone: timeZone, digest_hour: digestHour };
    if (settings.quiet_hours_allowed) {
      if (quiet) change.quiet_hours = { start, end };
      else if (settings.quiet_hours) change.clear_quiet_hours = true;
    }
    setSaving(true);
    await onSave("times", change, "Your times are saved.");
    setSaving(false);
  };

  return (
    <section aria-labelledby="when-title" class="settings-section">
      <h2 id="when-title">When</h2>
      <form onSubmit={(e) => void submit(e)} class="schedule">
        <label for="time-zone">Time zone</label>
        <select id="time-zone" value={timeZone} onChange={(e) => setTimeZone((e.currentTarget as HTMLSelectElement).value)}>
          {zones.map((z) => (
            <option key={z} value={z}>
              {z.replace(/_/g, " ")}
            </option>
          ))}
        </select>
        {device && device !== timeZone && (
          <p class="muted hint">
            This device is set to {device.replace(/_/g, " ")}.{" "}
            <button type="button" class="link" onClick={() => setTimeZone(device)}>
              Use it
            </button>
          </p>
        )}
        <label for="digest-hour">Send the daily digest at</label>
        <select
          id="digest-hour"
          value={digestHour}
          onChange={(e) => setDigestHour(Number((e.currentTarget as HTMLSelectElement).value))}
        >
          {Array.from({ length: 24 }, (_, h) => (
            <option key={h} value={h}>
              {hourLabel(h)}
            </option>
          ))}
        </select>
        {settings.quiet_hours_allowed && (
          <fieldset class="quiet-hours">
            <legend>Quiet hours</legend>
            <p class="muted">
              Push and e-mail wait until quiet hours end; notices still appear in the app. Security notices are never held
              back.
            </p>
            <div class="check">
              <input
                id="quiet-on"
                type="checkbox"
                checked={quiet}
                onChange={(e) => setQuiet((e.currentTarget as HTMLInputElement).checked)}
              />
              <label for="quiet-on">Hold notices during quiet hours</label>
            </div>
            {quiet && (
              <div class="times">
                <span>
                  <label for="quiet-start">From</label>
                  <input
                    id="quiet-start"
                    type="time"
                    required
                    value={start}
                    onInput={(e) => setStart((e.currentTarget as HTMLInputElement).value)}
                  />
                </span>
                <span>
                  <label for="quiet-end">Until</label>
                  <input
                    id="quiet-end"
                    type="time"
                    required
                    value={end}
                    onInput={(e) => setEnd((e.currentTarget as HTMLInputElement).value)}
                  />
                </span>
              </div>
            )}
          </fieldset>
        )}
        <SectionStatus where="times" status={status} />
        <button type="submit" class="primary" disabled={saving}>
          Save times
        </button>
      </form>
    </section>
  );
}

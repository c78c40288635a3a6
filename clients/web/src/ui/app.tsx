// The application: who is signed in, at what stage, and which page to show. After sign-in one
// channel (one WebSocket) serves every page; an ended session, from a request or from the socket,
// returns the person to the sign-in page with the reason. Finance users land on Account & billing.

import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { CurrentSession, EventPage, MatterId, MatterSummary, SessionGrant } from "../protocol";
import { api, ApiError, describe, onSessionEnded } from "../lib/api";
import { Channel } from "../lib/channel";
import { IdleWatch } from "../lib/idle";
import { AcceptInvitation, Enrol, MfaVerify, SignIn } from "./auth";
import { Account } from "./account";
import { MatterList } from "./matters";
import { ReviewQueue } from "./documents";
import { AccountBilling } from "./billing";
import { MatterView, type MatterTab } from "./matter";
import { NotificationSettingsPage } from "./notifications";
import { navigate, usePath } from "./router";
import { IdleWarning, Shell } from "./shell";

type Auth =
  | { kind: "loading" }
  | { kind: "signed_out"; notice?: string }
  | { kind: "mfa_required" }
  | { kind: "mfa_enrolment_required" }
  | { kind: "active"; session: CurrentSession };

export function App() {
  const path = usePath();
  const [auth, setAuth] = useState<Auth>({ kind: "loading" });

  const signedOut = useCallback((notice?: string) => {
    setAuth({ kind: "signed_out", notice });
    if (location.pathname !== "/accept-invitation") navigate("/sign-in", true);
  }, []);

  const loadSession = useCallback(async () => {
    try {
      const session = await api<CurrentSession>("GET", "/auth/session", undefined, { quiet: true });
      if (session.stage === "active") {
        setAuth({ kind: "active", session });
        if (location.pathname === "/sign-in") navigate(landing(session), true);
      } else {
        setAuth({ kind: session.stage });
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === "session_expired") signedOut(describe(e));
      else if (e instanceof ApiError && e.sessionEnded) signedOut();
      else setAuth({ kind: "signed_out", notice: describe(e) });
    }
  }, [signedOut]);

  useEffect(() => {
    void loadSession();
    return onSessionEnded((e) => signedOut(describe(e)));
  }, [loadSession, signedOut]);

  const onStage = (grant: SessionGrant) => {
    if (grant.stage === "active") void loadSession();
    else setAuth({ kind: grant.stage });
  };
  const restart = () => {
    void api("POST", "/auth/sign-out", undefined, { quiet: true }).catch(() => undefined);
    setAuth({ kind: "signed_out" });
  };

  if (path === "/accept-invitation" && auth.kind !== "active") return <AcceptInvitation />;
  switch (auth.kind) {
    case "loading":
      return (
        <main class="auth" id="main" aria-busy="true">
          <p class="muted">Loading…</p>
        </main>
      );
    case "signed_out":
      return <SignIn notice={auth.notice} onStage={onStage} />;
    case "mfa_required":
      return <MfaVerify onActive={() => void loadSession()} onCancel={restart} />;
    case "mfa_enrolment_required":
      return <Enrol onActive={() => void loadSession()} onCancel={restart} />;
    case "active":
      return <SignedIn session={auth.session} path={path} onSignedOut={signedOut} />;
  }
}

/** Where a person starts after signing in: finance users on the client's billing, others on their matters. */
function landing(session: CurrentSession): string {
  return session.user.kind === "client" && session.user.client_role === "finance" ? "/billing" : "/";
}

const TABS: readonly MatterTab[] = ["documents", "progress", "billing"];

function SignedIn({
  session,
  path,
  onSignedOut,
}: {
  session: CurrentSession;
  path: string;
  onSignedOut: (notice?: string) => void;
}) {
  const me = session.user.user_id;
  const channel = useMemo(
    () =>
      new Channel({
        url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/v1/ws`,
        me,
        openSocket: (url, protocol) => new WebSocket(url, protocol),
        fetchHistory: (matterId, after, limit) =>
          api<EventPage>("GET", `/matters/${matterId}/events?after=${after}&limit=${limit}`),
        newId: () => crypto.randomUUID(),
        setTimeout: (fn, ms) => window.setTimeout(fn, ms),
        clearTimeout: (handle) => window.clearTimeout(handle as number),
        now: () => Date.now(),
      }),
    [me],
  );
  const [, setVersion] = useState(0);
  const [matters, setMatters] = useState<MatterSummary[]>();
  const [listError, setListError] = useState<string>();
  const idle = useMemo(() => new IdleWatch(session.idle_timeout_seconds * 1000, Date.now()), [session]);

  useEffect(() => {
    let frame = 0;
    const unlisten = channel.listen(() => {
      // Coalesce bursts of frames into one render.
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), setVersion((v) => v + 1)));
    });
    channel.connect();
    const online = () => channel.nudge();
    const visibility = () => channel.setPresence(document.hidden ? "away" : "online");
    window.addEventListener("online", online);
    document.addEventListener("visibilitychange", visibility);
    return () => {
      unlisten();
      cancelAnimationFrame(frame);
      window.removeEventListener("online", online);
      document.removeEventListener("visibilitychange", visibility);
      channel.close();
    };
  }, [channel]);

  useEffect(() => {
    if (channel.state === "ended") onSignedOut("Your session has ended. Please sign in again.");
  });

  useEffect(() => {
    api<MatterSummary[]>("GET", "/matters")
      .then((list) => {
        for (const m of list) channel.follow(m.matter_id, m.activity.head_seq, m.activity.read_seq);
        setMatters(list);
      })
      .catch((e) => setListError(describe(e)));
  }, [channel, me, channel.mattersVersion]);

  const signOut = async () => {
    try {
      await api("POST", "/auth/sign-out");
    } finally {
      channel.close();
      onSignedOut("You have signed out.");
    }
  };
  const expired = () => {
    // The server ends it too; signing out now makes sure nothing stays on screen meanwhile.
    void api("POST", "/auth/sign-out", undefined, { quiet: true }).catch(() => undefined);
    channel.close();
    onSignedOut("For your security you were signed out after a period without activity.");
  };
  const keepAlive = async () => {
    await api<CurrentSession>("GET", "/auth/session");
    idle.touched(Date.now());
  };

  // The client's billing page is for finance users and administrators, and for members who see
  // the invoices of at least one matter.
  const billing =
    session.user.kind === "client" &&
    (session.user.client_role !== "member" || !!matters?.some((m) => m.scopes.includes("invoices")));
  const [, , pathMatter, pathTab] = path.split("/");
  const matterId = path.startsWith("/matters/") && pathMatter ? (pathMatter as MatterId) : undefined;

  // "I am looking at this matter": while its page shows in a visible tab, its news is not sent
  // elsewhere (no toast, push or e-mail). A hidden tab, or another page, views no matter.
  useEffect(() => {
    const update = () => channel.setViewing(document.visibilityState === "visible" ? matterId : undefined);
    update();
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, [channel, matterId]);

  let page;
  if (matterId) {
    page = (
      <MatterView
        key={matterId}
        matterId={matterId}
        tab={TABS.find((t) => t === pathTab) ?? "conversation"}
        channel={channel}
        session={session}
        summary={matters?.find((m) => m.matter_id === matterId)}
        onWatch={(m) => channel.follow(m.matter_id, m.activity.head_seq, m.activity.read_seq)}
      />
    );
  } else if (path === "/review" && session.user.kind === "firm") {
    page = <ReviewQueue />;
  } else if (path === "/billing" && session.user.kind === "client") {
    page = <AccountBilling session={session} channel={channel} matters={matters} />;
  } else if (path === "/settings" || path === "/settings/notifications") {
    page = <NotificationSettingsPage />;
  } else if (path === "/account") {
    page = <Account session={session} onSignOut={signOut} />;
  } else {
    page = <MatterList matters={matters} error={listError} channel={channel} firm={session.user.kind === "firm"} />;
  }
  return (
    <Shell
      session={session}
      billing={billing}
      state={channel.state}
      onSignOut={signOut}
      path={path}
      alerts={channel.alerts}
      onDismiss={(id) => channel.dismissAlert(id)}
    >
      {page}
      <IdleWarning idle={idle} onStay={keepAlive} onExpired={expired} />
    </Shell>
  );
}

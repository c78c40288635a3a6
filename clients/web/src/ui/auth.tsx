// Signing in: password, then a TOTP or recovery code; first sign-in enrols an authenticator app
// (QR code and manual key) and shows the recovery codes once; invitation links set a password.

import { useEffect, useState } from "preact/hooks";
import type { JSX } from "preact";
import type {
  AcceptInvitationRequest,
  MfaEnrolled,
  MfaEnrolment,
  MfaVerifyRequest,
  SessionGrant,
  SignInRequest,
} from "../protocol";
import { api, describe } from "../lib/api";
import { Notice, PageTitle } from "./page";
import { QrCode } from "./qr";
import { navigate } from "./router";

function AuthCard({ title, children }: { title: string; children: JSX.Element | JSX.Element[] }) {
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <p class="brand" aria-hidden="true">
          Docket
        </p>
        <PageTitle>{title}</PageTitle>
        {children}
      </div>
    </main>
  );
}

/** Runs a submit handler with a busy flag and a readable error. */
function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

export function SignIn({ notice, onStage }: { notice?: string; onStage: (grant: SessionGrant) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const body: SignInRequest = { email, password, token_delivery: "cookie", device_token: null };
      const grant = await api<SessionGrant>("POST", "/auth/sign-in", body, { quiet: true });
      setPassword("");
      onStage(grant);
    });
  };
  return (
    <AuthCard title="Sign in">
      <p class="lede">Your secure portal for the matters your firm handles for you.</p>
      <Notice kind="info" text={notice} />
      <form onSubmit={submit} noValidate>
        <label for="email">E-mail address</label>
        <input
          id="email"
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <Notice kind="error" text={error} />
        <button type="submit" class="primary" disabled={busy || !email || !password}>
          {busy ? "Signing in…" : "Continue"}
        </button>
      </form>
    </AuthCard>
  );
}

export function MfaVerify({ onActive, onCancel }: { onActive: () => void; onCancel: () => void }) {
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const { busy, error, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const body: MfaVerifyRequest = recovery
        ? { code: null, recovery_code: code.trim() }
        : { code: code.replace(/\s/g, ""), recovery_code: null };
      await api<SessionGrant>("POST", "/auth/mfa/verify", body, { quiet: true });
      onActive();
    });
  };
  return (
    <AuthCard title="Enter your security code">
      <p class="lede">
        {recovery
          ? "Enter one of the recovery codes you saved when you set up your account. Each works once."
          : "Open your authenticator app and enter the six-digit code it shows for Docket."}
      </p>
      <form onSubmit={submit} noValidate>
        <label for="code">{recovery ? "Recovery code" : "Six-digit code"}</label>
        <input
          id="code"
          autocomplete="one-time-code"
          inputMode={recovery ? "text" : "numeric"}
          required
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <Notice kind="error" text={error} />
        <button type="submit" class="primary" disabled={busy || !code}>
          {busy ? "Checking…" : "Verify"}
        </button>
      </form>
      <div class="auth-links">
        <button type="button" class="link" onClick={() => (setRecovery(!recovery), setCode(""))}>
          {recovery ? "Use a code from my app instead" : "Use a recovery code"}
        </button>
        <button type="button" class="link" onClick={onCancel}>
          Start again
        </button>
      </div>
    </AuthCard>
  );
}

export function Enrol({ onActive, onCancel }: { onActive: () => void; onCancel: () => void }) {
  const [enrolment, setEnrolment] = useState<MfaEnrolment>();
  const [codes, setCodes] = useState<string[]>();
  const [saved, setSaved] = useState(false);
  const [code, setCode] = useState("");
  const { busy, error, run, setError } = useSubmit();
  useEffect(() => {
    api<MfaEnrolment>("POST", "/auth/mfa/enrolment", undefined, { quiet: true })
      .then(setEnrolment)
      .catch((e) => setError(describe(e)));
  }, []);
  const confirm = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const done = await api<MfaEnrolled>(
        "POST",
        "/auth/mfa/enrolment/confirm",
        { code: code.replace(/\s/g, "") },
        { quiet: true },
      );
      setCodes(done.recovery_codes);
    });
  };
  if (codes) {
    return (
      <AuthCard title="Save your recovery codes">
        <p class="lede">
          If you lose your phone, each of these codes lets you sign in once. Store them somewhere safe,
          such as a password manager. They will not be shown again.
        </p>
        <ol class="recovery-codes" aria-label="Recovery codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ol>
        <div class="check">
          <input id="saved" type="checkbox" checked={saved} onChange={(e) => setSaved(e.currentTarget.checked)} />
          <label for="saved">I have saved my recovery codes</label>
        </div>
        <button type="button" class="primary" disabled={!saved} onClick={onActive}>
          Continue to the portal
        </button>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Set up two-step verification">
      <p class="lede">
        Every sign-in needs a code from an authenticator app on your phone. Scan this QR code with the
        app, or type the key into it, then enter the code the app shows.
      </p>
      {enrolment ? (
        <div class="enrol">
          <QrCode text={enrolment.otpauth_uri} label="QR code for your authenticator app" />
          <p class="secret-label" id="secret-label">
            Key for manual entry
          </p>
          <p class="secret" aria-labelledby="secret-label">
            <code data-testid="totp-secret">{enrolment.secret.replace(/(.{4})/g, "$1 ").trim()}</code>
          </p>
        </div>
      ) : (
        <p class="muted">{error ? "" : "Preparing your key…"}</p>
      )}
      <form onSubmit={confirm} noValidate>
        <label for="code">Six-digit code from the app</label>
        <input
          id="code"
          autocomplete="one-time-code"
          inputMode="numeric"
          required
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <Notice kind="error" text={error} />
        <button type="submit" class="primary" disabled={busy || !code || !enrolment}>
          {busy ? "Checking…" : "Confirm"}
        </button>
      </form>
      <div class="auth-links">
        <button type="button" class="link" onClick={onCancel}>
          Start again
        </button>
      </div>
    </AuthCard>
  );
}

const MIN_PASSWORD = 12;

export function AcceptInvitation() {
  // Read once: the token is then removed from the address bar.
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get("token") ?? "");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const { busy, error, run, setError } = useSubmit();
  useEffect(() => {
    // The token stays out of history and any later Referer.
    if (location.hash) history.replaceState(null, "", location.pathname);
  }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    if (password.length < MIN_PASSWORD) {
      setError(`Choose a password of at least ${MIN_PASSWORD} characters.`);
      return;
    }
    if (password !== again) {
      setError("The two passwords are not the same.");
      return;
    }
    void run(async () => {
      const body: AcceptInvitationRequest = { token, password };
      await api<void>("POST", "/invitations/accept", body, { quiet: true });
      setDone(true);
    });
  };
  if (done) {
    return (
      <AuthCard title="Your password is set">
        <p class="lede">Sign in with your e-mail address and new password to set up two-step verification.</p>
        <button type="button" class="primary" onClick={() => navigate("/sign-in", true)}>
          Go to sign in
        </button>
      </AuthCard>
    );
  }
  if (!token) {
    return (
      <AuthCard title="Invitation link incomplete">
        <p class="lede">Open the link from your invitation e-mail again, or ask your contact at the firm for a new one.</p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Welcome to your client portal">
      <p class="lede">Choose a password of at least {MIN_PASSWORD} characters. A passphrase of several words works well.</p>
      <form onSubmit={submit} noValidate>
        <label for="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autocomplete="new-password"
          required
          minLength={MIN_PASSWORD}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <label for="repeat-password">Repeat the password</label>
        <input
          id="repeat-password"
          type="password"
          autocomplete="new-password"
          required
          value={again}
          onInput={(e) => setAgain(e.currentTarget.value)}
        />
        <Notice kind="error" text={error} />
        <button type="submit" class="primary" disabled={busy || !password || !again}>
          {busy ? "Saving…" : "Set password"}
        </button>
      </form>
    </AuthCard>
  );
}

// The REST side of the protocol: same-origin JSON requests carrying the HttpOnly session cookie,
// with the CSRF token (readable cookie) echoed on unsafe requests. Errors surface as `ApiError`
// with the server's stable code; an ended session is announced once to whoever listens.

import type { ErrorBody, ErrorCode } from "../protocol";

/** A failed request, with the server's stable code (or `network` when nothing answered). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | "network",
    message: string,
    /** Seconds to wait before retrying (`Retry-After`), when the server said. */
    readonly retryAfter?: number,
    /** Why, as a stable word: for `file_refused` (`executable`, `malware`, …), and `client_money`. */
    readonly reason?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The session is gone (expired, revoked, never there). */
  get sessionEnded(): boolean {
    return this.code === "session_expired" || this.code === "unauthenticated";
  }
}

const CSRF_COOKIE = "docket_csrf";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The CSRF token from `document.cookie` (or any cookie string). */
export function csrfToken(cookies: string): string | undefined {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) {
      const value = rest.join("=");
      return value === "" ? undefined : decodeURIComponent(value);
    }
  }
  return undefined;
}

type Listener = (error: ApiError) => void;
const activityListeners = new Set<() => void>();

/** Called after every request the server answered for a signed-in session (it counts as activity). */
export function onServerActivity(listener: () => void): () => void {
  activityListeners.add(listener);
  return () => activityListeners.delete(listener);
}

const sessionEndedListeners = new Set<Listener>();

/** Called whenever a request finds the session ended. Returns an unsubscribe function. */
export function onSessionEnded(listener: Listener): () => void {
  sessionEndedListeners.add(listener);
  return () => sessionEndedListeners.delete(listener);
}

/** Requests that must not announce an ended session (signing in is expected to fail so). */
export interface RequestOptions {
  quiet?: boolean;
}

/** One JSON request to `/api/v1{path}`. Resolves to the parsed body (undefined for 204). */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) {
    const token = csrfToken(document.cookie);
    if (token) headers["X-CSRF-Token"] = token;
  }
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "The portal cannot be reached. Check your connection.");
  }
  if (response.status === 204) {
    for (const listener of activityListeners) listener();
    return undefined as T;
  }
  const text = await response.text();
  if (response.ok) {
    for (const listener of activityListeners) listener();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  const error = toError(response.status, text, response.headers.get("Retry-After"));
  if (error.sessionEnded && !options.quiet) {
    for (const listener of sessionEndedListeners) listener(error);
  }
  throw error;
}

/** The error a failed response carries (also for uploads made with XMLHttpRequest). */
export function toError(status: number, text: string, retryAfter: string | null): ApiError {
  let body: Partial<ErrorBody> = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    // Not our JSON (a proxy's page); fall through to a generic error.
  }
  const seconds = retryAfter === null ? undefined : Number.parseInt(retryAfter, 10);
  return new ApiError(
    status,
    body.code ?? (status >= 500 ? "internal" : "invalid_input"),
    body.message ?? `The request failed (${status}).`,
    Number.isFinite(seconds) ? seconds : undefined,
    body.reason ?? undefined,
  );
}

/** Words for people, by error code: what happened and what to do. */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  switch (error.code) {
    case "invalid_credentials":
      return "That e-mail address and password do not match. Check them and try again.";
    case "invalid_mfa_code":
      return "That code is not right, or it has already been used. Wait for a new code and try again.";
    case "rate_limited":
      return error.retryAfter
        ? `Too many attempts. Please wait ${formatWait(error.retryAfter)} and try again.`
        : "Too many attempts. Please wait a moment and try again.";
    case "session_expired":
      return "Your session has expired. Please sign in again.";
    case "unauthenticated":
      return "Please sign in.";
    case "invitation_invalid":
      return "This invitation link has expired or was already used. Ask your contact at the firm for a new one.";
    case "network":
    case "file_refused":
      return error.message;
    case "not_found":
      return "This could not be found, or you do not have access to it.";
    case "forbidden":
      return "You do not have permission to do that.";
    case "unavailable":
    case "internal":
      return "The portal could not complete this just now. Please try again shortly.";
    default:
      return error.message;
  }
}

function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

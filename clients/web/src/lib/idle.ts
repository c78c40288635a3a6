// The idle timeout as the page sees it. The server ends a session after `idle_timeout_seconds`
// without a request; the page warns before that, keeps the session alive while the person is
// actually using the page (at most one touch a minute), and says so plainly when it has ended.

export type IdlePhase = "active" | "warning" | "expired";

/** The server records activity at most every 30 s, so the page counts from 30 s earlier. */
const SERVER_GRANULARITY_MS = 30_000;

export class IdleWatch {
  private lastTouch: number;

  constructor(
    private readonly timeoutMs: number,
    now: number,
    private readonly warnBeforeMs = 120_000,
    private readonly touchEveryMs = 60_000,
  ) {
    this.lastTouch = now;
  }

  /** A request reached the server at `now`. */
  touched(now: number): void {
    this.lastTouch = Math.max(this.lastTouch, now);
  }

  /** The person did something at `now`: should the page tell the server? */
  shouldTouch(now: number): boolean {
    return this.phase(now) === "active" && now - this.lastTouch >= this.touchEveryMs;
  }

  /** When the server will end the session, at the earliest. */
  expiresAt(): number {
    return this.lastTouch - SERVER_GRANULARITY_MS + this.timeoutMs;
  }

  phase(now: number): IdlePhase {
    const left = this.expiresAt() - now;
    if (left <= 0) return "expired";
    return left <= this.warnBeforeMs ? "warning" : "active";
  }

  /** Whole seconds left before the session ends. */
  secondsLeft(now: number): number {
    return Math.max(0, Math.ceil((this.expiresAt() - now) / 1000));
  }
}

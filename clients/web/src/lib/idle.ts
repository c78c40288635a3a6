// The idle timeout as the page sees it. The server ends a session after `idle_timeout_seconds`
// without a request; the page warns before that, keeps the session alive while the person is
// actually using the page (at most one touch a minute), and says so plainly when it has ended.

export type IdlePhase = "active" | "warning" | "expired";

/** The server records activity at most every 30 s, so the page counts from 30 s earlier. */
const SERVER_GRANULARITY_MS = 30_000;

export class IdleWatch {
  private lastTouch: number;
  /** Two minutes' warning, or a quarter of a short timeout. */
  private readonly warnBeforeMs: number;
  private readonly touchEveryMs: number;

  constructor(
    private readonly timeoutMs: number,
    now: number,
  ) {
    this.lastTouch = now;
    this.warnBeforeMs = Math.min(120_000, timeoutMs / 4);
    this.touchEveryMs = Math.min(60_000, timeoutMs / 4);
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

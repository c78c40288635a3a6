// Reconnect delays: exponential with full jitter, capped, so a restarted server is not met by
// every client at the same instant.

/** Milliseconds to wait before reconnect attempt `attempt` (0 = first retry). */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = 500;
  const cap = 8_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 10));
  // Never less than a quarter of the ceiling: quick enough, never a tight loop.
  return Math.round(ceiling / 4 + random() * (ceiling * 3) / 4);
}

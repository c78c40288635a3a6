// Dates, times and names for display, in the reader's locale.

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:05" today, "3 Mar" before. */
export function shortWhen(iso: string, now = new Date()): string {
  const at = new Date(iso);
  return at.toDateString() === now.toDateString() ? time.format(at) : day.format(at);
}

/** "3 Mar 2026, 14:05". */
export function fullWhen(iso: string): string {
  return full.format(new Date(iso));
}

/** Up to two initials for an avatar. */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((p) => p[0]?.toUpperCase() ?? "").join("") || "?";
}

/** "2 minutes" / "45 seconds". */
export function duration(seconds: number): string {
  if (seconds >= 90) return `${Math.round(seconds / 60)} minutes`;
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** "Chrome on Linux" from a browser's user-agent string (the device label the server keeps). */
export function deviceName(userAgent: string): string {
  const browser =
    (/Edg(e|A|iOS)?\//.test(userAgent) && "Edge") ||
    (/Firefox\/|FxiOS\//.test(userAgent) && "Firefox") ||
    (/(Headless)?Chrome\/|CriOS\/|Chromium\//.test(userAgent) && "Chrome") ||
    (/Safari\//.test(userAgent) && "Safari") ||
    undefined;
  const system =
    (/iPhone|iPad|iPod/.test(userAgent) && "iOS") ||
    (/Android/.test(userAgent) && "Android") ||
    (/Windows/.test(userAgent) && "Windows") ||
    (/Mac OS X|Macintosh/.test(userAgent) && "macOS") ||
    (/CrOS/.test(userAgent) && "ChromeOS") ||
    (/Linux/.test(userAgent) && "Linux") ||
    undefined;
  if (browser && system) return `${browser} on ${system}`;
  if (browser || system) return (browser ?? system) as string;
  const short = userAgent.trim();
  return short.length > 60 ? `${short.slice(0, 57)}…` : short || "Unknown device";
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/**
 * "£1,234.50" from 123450 pence (integer minor units, as the server keeps every amount). British
 * notation whatever the reader's locale: the firm bills in pounds, and a sum must read the same on
 * a bill, a statement and the screen.
 */
export function money(minor: number, currency = "GBP"): string {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-GB", { style: "currency", currency, minimumFractionDigits: 2 });
    moneyFormats.set(currency, format);
  }
  // Integer pence divided by 100 is exact enough for display: Intl rounds to two places.
  return format.format(minor / 100);
}

// A matter's progress as the Progress tab shows it: status words, dates for people, and the
// things the client has to do, which the page puts first.

import type { Milestone, MilestoneStatus, Timeline } from "../protocol";

export const STATUS_LABELS: Record<MilestoneStatus, string> = {
  upcoming: "Upcoming",
  in_progress: "In progress",
  done: "Done",
  skipped: "Not needed",
};

const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });

/** "12 March 2026" from "2026-03-12" (a calendar date: no time zone shifts it). */
export function formatDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  if (!y || !m || !d) return day;
  return dateFormat.format(new Date(Date.UTC(y, m - 1, d, 12)));
}

const open = (m: Milestone) => !!m.client_action && (m.status === "upcoming" || m.status === "in_progress");

/** What the client must do now (the server decides: the current step's action, and any the fee
 * earner marked due), in timeline order. */
export function pendingActions(timeline: Timeline): Milestone[] {
  return timeline.milestones.filter((m) => open(m) && m.action_needed_now);
}

/** What the client will be asked later: the actions of steps still ahead. */
export function comingUp(timeline: Timeline): Milestone[] {
  return timeline.milestones.filter((m) => open(m) && !m.action_needed_now);
}

/** "3 of 11 steps done" (skipped steps count as behind us). */
export function progressSummary(timeline: Timeline): string {
  const total = timeline.milestones.length;
  const behind = timeline.milestones.filter((m) => m.status === "done" || m.status === "skipped").length;
  return `${behind} of ${total} ${total === 1 ? "step" : "steps"} done`;
}

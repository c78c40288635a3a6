import { describe, expect, it } from "vitest";
import type { Milestone, Timeline } from "../protocol";
import { formatDay, pendingActions, progressSummary } from "./milestones";

const m = (position: number, status: Milestone["status"], client_action: string | null = null): Milestone => ({
  milestone_id: `m${position}`,
  position,
  title: `Step ${position}`,
  note: null,
  status,
  expected_on: null,
  completed_on: null,
  client_action,
  updated_at: "2026-11-29T10:00:00Z",
  updated_by: null,
});

const timeline = (milestones: Milestone[]): Timeline => ({
  matter_id: "x",
  detail_level: "detailed",
  milestones,
  current: null,
});

describe("milestones", () => {
  it("lists only the client's open actions, in order", () => {
    const t = timeline([
      m(1, "done", "Send ID"),
      m(2, "in_progress", "Sign the contract"),
      m(3, "upcoming"),
      m(4, "upcoming", "Arrange the deposit"),
      m(5, "skipped", "Not any more"),
    ]);
    expect(pendingActions(t).map((x) => x.client_action)).toEqual(["Sign the contract", "Arrange the deposit"]);
  });

  it("summarises progress, counting skipped steps as behind", () => {
    expect(progressSummary(timeline([m(1, "done"), m(2, "skipped"), m(3, "upcoming")]))).toBe("2 of 3 steps done");
    expect(progressSummary(timeline([m(1, "upcoming")]))).toBe("0 of 1 step done");
  });

  it("formats calendar dates without a time-zone shift", () => {
    expect(formatDay("2026-03-12")).toMatch(/12/);
    expect(formatDay("2026-03-12")).toMatch(/2026/);
    expect(formatDay("not a date")).toBe("not a date");
  });
});

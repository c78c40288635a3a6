import { describe, expect, it } from "vitest";
import type { Milestone, Timeline } from "../protocol";
import { comingUp, formatDay, pendingActions, progressSummary } from "./milestones";

const m = (
  position: number,
  status: Milestone["status"],
  client_action: string | null = null,
  action_needed_now = status === "in_progress",
): Milestone => ({
  milestone_id: `m${position}`,
  position,
  title: `Step ${position}`,
  note: null,
  status,
  expected_on: null,
  completed_on: null,
  client_action,
  client_action_due: false,
  action_needed_now,
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
  it("asks for what is needed now and shows later steps' actions as coming up", () => {
    const t = timeline([
      m(1, "done", "Send ID"),
      m(2, "in_progress", "Sign the contract"),
      m(3, "upcoming"),
      m(4, "upcoming", "Arrange the deposit"),
      m(5, "upcoming", "Send the insurance certificate", true),
      m(6, "skipped", "Not any more"),
    ]);
    expect(pendingActions(t).map((x) => x.client_action)).toEqual(["Sign the contract", "Send the insurance certificate"]);
    expect(comingUp(t).map((x) => x.client_action)).toEqual(["Arrange the deposit"]);
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

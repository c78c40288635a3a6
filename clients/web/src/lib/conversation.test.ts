import { describe, expect, it } from "vitest";
import type { Event, EventBody } from "../protocol";
import { Conversation } from "./conversation";

const ME = "me";
const THEM = "them";

function event(seq: number, body: EventBody, author: string | null = THEM, clientMsgId?: string): Event {
  return { matter_id: "m", seq, at: `2026-11-29T10:00:${String(seq % 60).padStart(2, "0")}Z`, author_id: author, client_msg_id: clientMsgId, body };
}
const msg = (seq: number, text: string, author: string = THEM, clientMsgId?: string) =>
  event(seq, { kind: "message", text, reply_to: null, deleted: false }, author, clientMsgId);

describe("Conversation", () => {
  it("applies events once and in order", () => {
    const c = new Conversation(ME);
    c.start(0);
    expect(c.apply(msg(1, "a"))).toBeUndefined();
    expect(c.apply(msg(1, "a again"))).toBeUndefined();
    expect(c.apply(msg(2, "b"))).toBeUndefined();
    expect(c.messages().map((m) => m.text)).toEqual(["a", "b"]);
    expect(c.head).toBe(2);
  });

  it("reports a gap and applies the waiting event once the gap is filled", () => {
    const c = new Conversation(ME);
    c.start(0);
    c.apply(msg(1, "a"));
    expect(c.apply(msg(4, "d"))).toEqual({ after: 1, until: 3 });
    expect(c.messages().map((m) => m.seq)).toEqual([1]);
    c.apply(msg(2, "b"));
    c.apply(msg(3, "c"));
    expect(c.messages().map((m) => m.text)).toEqual(["a", "b", "c", "d"]);
    expect(c.head).toBe(4);
  });

  it("skips seqs of events the viewer may not see once a history page shows they are absent", () => {
    const c = new Conversation(ME);
    c.start(1);
    // 3 and 4 are, say, documents this member may not see; 5 arrives live.
    expect(c.apply(msg(5, "five"))).toEqual({ after: 1, until: 4 });
    c.applyPage(1, { events: [msg(2, "two"), msg(5, "five")], head_seq: 5, more: false });
    expect(c.head).toBe(5);
    expect(c.messages().map((m) => m.seq)).toEqual([2, 5]);
    c.apply(msg(6, "six"));
    expect(c.head).toBe(6);
    // The matter's head is past what this viewer sees: the page says so and nothing waits.
    c.applyPage(6, { events: [], head_seq: 8, more: false });
    expect(c.head).toBe(8);
    expect(c.apply(msg(9, "nine"))).toBeUndefined();
  });

  it("shows edits and withdrawals without dropping the entry", () => {
    const c = new Conversation(ME);
    c.start(0);
    c.apply(msg(1, "draft", ME));
    c.apply(event(2, { kind: "edit", target_seq: 1, text: "final" }, ME));
    expect(c.message(1)).toMatchObject({ text: "final", edited: true, deleted: false });
    c.apply(event(3, { kind: "delete", target_seq: 1 }, ME));
    expect(c.message(1)).toMatchObject({ text: null, deleted: true });
    expect(c.messages()).toHaveLength(1);
  });

  it("applies an edit seen before its older target was loaded", () => {
    const c = new Conversation(ME);
    c.start(5);
    c.apply(event(6, { kind: "edit", target_seq: 3, text: "changed" }));
    c.prepend(2, [msg(3, "original"), msg(4, "other")]);
    expect(c.message(3)).toMatchObject({ text: "changed", edited: true });
    expect(c.floor).toBe(3);
    expect(c.hasEarlier).toBe(true);
    // Nothing visible to this viewer before 3: the floor still moves, so "earlier" ends.
    c.prepend(0, []);
    expect(c.hasEarlier).toBe(false);
  });

  it("settles an optimistic message when its own event arrives, whichever comes first", () => {
    const c = new Conversation(ME);
    c.start(0);
    c.addPending("a", "hello", null);
    c.acknowledge("a", 1);
    expect(c.pendingMessages()).toHaveLength(1);
    c.apply(msg(1, "hello", ME, "a"));
    expect(c.pendingMessages()).toHaveLength(0);

    c.addPending("b", "again", null);
    c.apply(msg(2, "again", ME, "b"));
    c.acknowledge("b", 2);
    expect(c.pendingMessages()).toHaveLength(0);
    expect(c.messages().map((m) => m.text)).toEqual(["hello", "again"]);
  });

  it("keeps a refused message as failed until retried or discarded", () => {
    const c = new Conversation(ME);
    c.start(0);
    c.addPending("a", "hello", 3);
    c.fail("a", "too fast");
    expect(c.pendingMessages()[0]).toMatchObject({ state: "failed", error: "too fast", replyTo: 3 });
    expect(c.retry("a")).toMatchObject({ state: "sending", text: "hello" });
    c.discard("a");
    expect(c.pendingMessages()).toHaveLength(0);
  });

  it("counts unread messages by others, from the list's figures and then live", () => {
    const c = new Conversation(ME);
    c.start(10);
    c.noteRead(ME, 7);
    // The list said: head 10, 2 unread (8..10 holds two messages by others).
    expect(c.unread(10, 2)).toBe(2);
    c.apply(msg(11, "new", THEM));
    c.apply(msg(12, "mine", ME));
    expect(c.unread(10, 2)).toBe(3);
    c.apply(event(13, { kind: "delete", target_seq: 11 }, THEM));
    expect(c.unread(10, 2)).toBe(2);
    c.noteRead(ME, 13);
    expect(c.unread(10, 2)).toBe(0);
  });

  it("moves read positions only forward and fades typing", () => {
    const c = new Conversation(ME);
    c.noteRead(THEM, 5);
    c.noteRead(THEM, 3);
    expect(c.reads.get(THEM)).toBe(5);
    c.noteTyping(THEM, 1_000);
    c.noteTyping(ME, 1_000);
    expect(c.typingAt(2_000)).toEqual([THEM]);
    expect(c.typingAt(10_000)).toEqual([]);
  });

  it("skips kinds it does not know but advances past them", () => {
    const c = new Conversation(ME);
    c.start(0);
    c.apply(event(1, { kind: "unknown" }));
    c.apply(msg(2, "after"));
    expect(c.head).toBe(2);
    expect(c.messages().map((m) => m.text)).toEqual(["after"]);
  });

  it("keeps invoice and payment cards in order, apart from unread messages", () => {
    const c = new Conversation(ME);
    c.start(0);
    c.apply(event(1, { kind: "invoice", invoice_id: "i", number: "INV-1", total_minor: 600, amount_due_minor: 600, currency: "GBP", due_on: "2026-12-20" }));
    c.apply(msg(2, "Please see the bill"));
    c.apply(
      event(3, {
        kind: "payment",
        invoice_id: "i",
        invoice_number: "INV-1",
        payment_id: "p",
        status: "succeeded",
        amount_minor: 600,
        balance_minor: 0,
        invoice_status: "paid",
        failure_reason: null,
      }),
    );
    expect(c.messages().map((m) => m.kind)).toEqual(["invoice", "message", "payment"]);
    expect(c.billing().map((b) => [b.seq, b.body.kind])).toEqual([
      [1, "invoice"],
      [3, "payment"],
    ]);
    expect(c.latestBilling()).toBe(3);
    expect(c.unread(0, 0)).toBe(1);
  });
});

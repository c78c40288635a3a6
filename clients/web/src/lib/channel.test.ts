import { describe, expect, it } from "vitest";
import type { ClientFrame, EventPage, ServerFrame } from "../protocol";
import { Channel, type WebSocketLike } from "./channel";

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: ClientFrame[] = [];
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  send(data: string) {
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close() {
    this.readyState = 3;
  }
  hello() {
    this.readyState = 1;
    this.frame({ type: "hello", protocol: "docket.v1", session_id: "s", user_id: "me", heartbeat_seconds: 20, max_frame_bytes: 16384 });
  }
  frame(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" } as CloseEvent);
  }
}

function setup(history: (after: number, limit: number) => EventPage = () => ({ events: [], head_seq: 0, more: false })) {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  let id = 0;
  const channel = new Channel({
    url: "ws://portal/api/v1/ws",
    me: "me",
    openSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    fetchHistory: async (_m, after, limit) => history(after, limit),
    newId: () => `id-${++id}`,
    setTimeout: (fn) => timers.push(fn),
    clearTimeout: () => undefined,
    now: () => 0,
  });
  return { channel, sockets, timers };
}

const message = (seq: number, text: string, author = "them", client_msg_id?: string): ServerFrame => ({
  type: "event",
  event: { matter_id: "m", seq, at: "2026-11-29T10:00:00Z", author_id: author, client_msg_id, body: { kind: "message", text, reply_to: null, deleted: false } },
});

describe("Channel", () => {
  it("resubscribes from the last applied event and re-sends unacknowledged messages after a drop", () => {
    const { channel, sockets, timers } = setup();
    channel.connect();
    channel.watch("m", 4);
    sockets[0].hello();
    expect(sockets[0].sent).toEqual([{ type: "subscribe", matter_id: "m", since: 4 }]);
    sockets[0].frame(message(5, "five"));
    channel.send("m", "are you there?", null);
    expect(sockets[0].sent[1]).toMatchObject({ type: "send", client_msg_id: "id-1" });

    sockets[0].drop();
    expect(channel.state).toBe("reconnecting");
    channel.send("m", "written offline", null);
    timers.shift()!();
    sockets[1].hello();
    expect(sockets[1].sent).toEqual([
      { type: "subscribe", matter_id: "m", since: 5 },
      { type: "send", matter_id: "m", client_msg_id: "id-1", text: "are you there?" },
      { type: "send", matter_id: "m", client_msg_id: "id-2", text: "written offline" },
    ]);
    // The server already had the first: same seq, and the event clears the bubble once.
    sockets[1].frame({ type: "ack", matter_id: "m", client_msg_id: "id-1", seq: 6, duplicate: true });
    sockets[1].frame(message(6, "are you there?", "me", "id-1"));
    sockets[1].frame(message(6, "are you there?", "me", "id-1"));
    const c = channel.conversation("m");
    expect(c.messages().map((m) => m.text)).toEqual(["five", "are you there?"]);
    expect(c.pendingMessages().map((p) => p.text)).toEqual(["written offline"]);
  });

  it("fetches a gap over REST before applying what follows it", async () => {
    const { channel, sockets } = setup((after, limit) => ({
      events: Array.from({ length: limit }, (_, i) => (message(after + 1 + i, `h${after + 1 + i}`) as { event: EventPage["events"][0] }).event),
      head_seq: 9,
      more: false,
    }));
    channel.connect();
    channel.watch("m", 2);
    sockets[0].hello();
    sockets[0].frame(message(6, "six"));
    await new Promise((r) => setTimeout(r, 0));
    expect(channel.conversation("m").messages().map((m) => m.seq)).toEqual([3, 4, 5, 6]);
  });

  it("stops for good when the server ends the session", () => {
    const { channel, sockets, timers } = setup();
    channel.connect();
    sockets[0].hello();
    sockets[0].drop(4001);
    expect(channel.state).toBe("ended");
    expect(timers).toHaveLength(0);
  });

  it("marks a refused send as failed and does not re-send it by itself", () => {
    const { channel, sockets, timers } = setup();
    channel.connect();
    sockets[0].hello();
    const id = channel.send("m", "spam", null);
    sockets[0].frame({ type: "error", code: "rate_limited", message: "slow down", matter_id: "m", client_msg_id: id });
    expect(channel.conversation("m").pendingMessages()[0].state).toBe("failed");
    sockets[0].drop();
    timers.shift()!();
    sockets[1].hello();
    expect(sockets[1].sent.filter((f) => f.type === "send")).toHaveLength(0);
    channel.retry("m", id);
    expect(sockets[1].sent.filter((f) => f.type === "send")).toHaveLength(1);
  });

  it("counts matter-list changes and keeps alerts, newest first", () => {
    const { channel, sockets } = setup();
    channel.connect();
    sockets[0].hello();
    sockets[0].frame({ type: "matters_changed" });
    expect(channel.mattersVersion).toBe(1);
    const alert = (id: string) => ({
      alert_id: id,
      created_at: "2026-11-29T10:00:00Z",
      read: false,
      detail: { kind: "client_upload" as const, matter_id: "m", document_id: "d", title: "T", uploaded_by: "U" },
    });
    sockets[0].frame({ type: "alert", alert: alert("a1") });
    sockets[0].frame({ type: "alert", alert: alert("a2") });
    expect(channel.alerts.map((a) => a.alert_id)).toEqual(["a2", "a1"]);
    channel.dismissAlert("a2");
    expect(channel.alerts.map((a) => a.alert_id)).toEqual(["a1"]);
  });
});

/** A channel on a fake clock: `advance(ms)` runs the timers that fall due, cancelled ones never. */
function clocked() {
  const sockets: FakeSocket[] = [];
  let now = 0;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const channel = new Channel({
    url: "ws://portal/api/v1/ws",
    me: "me",
    openSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    fetchHistory: async () => ({ events: [], head_seq: 0, more: false }),
    newId: () => "id",
    setTimeout: (fn, ms) => {
      timers.set(++nextId, { at: now + ms, fn });
      return nextId;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
    now: () => now,
  });
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = until;
  };
  const viewing = (s: FakeSocket) => s.sent.filter((f) => f.type === "viewing");
  return { channel, sockets, advance, viewing };
}

describe("Channel: viewing a matter", () => {
  it("says so while the matter shows, every 30 s, and says none on leaving", () => {
    const { channel, sockets, advance, viewing } = clocked();
    channel.connect();
    sockets[0].hello();
    channel.setViewing("m");
    channel.setViewing("m");
    expect(viewing(sockets[0])).toEqual([{ type: "viewing", matter_id: "m" }]);
    advance(29_999);
    expect(viewing(sockets[0])).toHaveLength(1);
    advance(1);
    advance(30_000);
    expect(viewing(sockets[0])).toHaveLength(3);

    channel.setViewing(undefined);
    expect(viewing(sockets[0]).at(-1)).toEqual({ type: "viewing" });
    advance(120_000);
    expect(viewing(sockets[0])).toHaveLength(4);
  });

  it("moves to another matter at once and restarts the renewal from then", () => {
    const { channel, sockets, advance, viewing } = clocked();
    channel.connect();
    sockets[0].hello();
    channel.setViewing("a");
    advance(20_000);
    channel.setViewing("b");
    advance(29_000);
    expect(viewing(sockets[0])).toEqual([
      { type: "viewing", matter_id: "a" },
      { type: "viewing", matter_id: "b" },
    ]);
    advance(1_000);
    expect(viewing(sockets[0]).at(-1)).toEqual({ type: "viewing", matter_id: "b" });
  });

  it("says it again on a new connection, and nothing when nothing is viewed", () => {
    const { channel, sockets, advance, viewing } = clocked();
    channel.connect();
    channel.setViewing("m"); // Before the socket is up: said on hello.
    sockets[0].hello();
    expect(viewing(sockets[0])).toEqual([{ type: "viewing", matter_id: "m" }]);
    sockets[0].drop();
    advance(10_000); // The reconnect's back-off.
    sockets[1].hello();
    expect(viewing(sockets[1])).toEqual([{ type: "viewing", matter_id: "m" }]);

    channel.setViewing(undefined);
    sockets[1].drop();
    advance(10_000);
    sockets[2].hello();
    expect(viewing(sockets[2])).toEqual([]);
  });

  it("stops renewing once signed out", () => {
    const { channel, sockets, advance, viewing } = clocked();
    channel.connect();
    sockets[0].hello();
    channel.setViewing("m");
    channel.close();
    advance(120_000);
    expect(viewing(sockets[0])).toHaveLength(1);
  });
});

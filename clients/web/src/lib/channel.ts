// The device's one WebSocket to the portal, multiplexing every matter it watches. It reconnects
// by itself (backing off), resubscribes each matter from the last event it applied so nothing is
// lost or shown twice, re-sends messages that were not acknowledged (the same `client_msg_id`, so
// the server stores each once), and fetches any gap in `seq` over REST before going on.

import { SUBPROTOCOL } from "../protocol";
import type {
  Alert,
  ClientFrame,
  Event as MatterEvent,
  EventPage,
  MatterId,
  PresenceState,
  ServerFrame,
  UserId,
} from "../protocol";
import { reconnectDelay } from "./backoff";
import { Conversation, type Gap } from "./conversation";

/** What the connection indicator shows. */
export type ConnectionState = "connecting" | "online" | "reconnecting" | "offline" | "ended";

/** The close codes the server uses (protocol/README.md). */
const SESSION_ENDED = 4001;
const TOO_MANY_CONNECTIONS = 4029;
const HISTORY_PAGE = 100;

/** What the channel needs from its surroundings (replaced in unit tests). */
export interface ChannelEnv {
  url: string;
  me: UserId;
  openSocket(url: string, protocol: string): WebSocketLike;
  fetchHistory(matterId: MatterId, after: number, limit: number): Promise<EventPage>;
  newId(): string;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

/** The part of `WebSocket` the channel uses. */
export interface WebSocketLike {
  readyState: number;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;

/** How often "I am looking at this matter" is said again: the server forgets it after 75 s. */
export const VIEWING_RENEW_MS = 30_000;

type Outgoing = Extract<ClientFrame, { client_msg_id: string }>;

/** Words for a refused frame. */
function refusal(code: string, message: string): string {
  switch (code) {
    case "rate_limited":
      return "You are sending messages too quickly. Wait a moment, then retry.";
    case "forbidden":
    case "not_found":
      return "You cannot post in this matter.";
    case "payload_too_large":
    case "invalid_input":
      return message || "This message cannot be sent.";
    default:
      return "Not sent. Retry when you are back online.";
  }
}

export class Channel {
  state: ConnectionState = "connecting";
  readonly conversations = new Map<MatterId, Conversation>();
  /** Alerts that arrived while the page was open, newest first. */
  alerts: Alert[] = [];
  /** Moves on whenever the server says the matter list may have changed (grants). */
  mattersVersion = 0;
  private socket?: WebSocketLike;
  private attempt = 0;
  private timer?: unknown;
  private closed = false;
  private readonly watched = new Set<MatterId>();
  private readonly outbox = new Map<string, Outgoing>();
  private readonly filling = new Set<MatterId>();
  private readonly listeners = new Set<() => void>();
  private lastTyping = new Map<MatterId, number>();
  private presence: PresenceState = "online";
  /** The matter on screen now (page visible and showing it), if any. */
  private viewing?: MatterId;
  private viewingTimer?: unknown;

  constructor(private readonly env: ChannelEnv) {}

  /** Subscribes to every change (re-render). Returns the unsubscribe function. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** The conversation of a matter, created on first use. */
  conversation(matterId: MatterId): Conversation {
    let c = this.conversations.get(matterId);
    if (!c) {
      c = new Conversation(this.env.me);
      this.conversations.set(matterId, c);
    }
    return c;
  }

  /**
   * Moves on whenever an invoice or payment card arrives on any matter watched (each matter's
   * newest billing seq only grows, so their sum does too): client-wide balances refetch on it.
   */
  billingVersion(): number {
    let sum = 0;
    for (const c of this.conversations.values()) sum += c.latestBilling();
    return sum;
  }

  /** Opens the socket (once). */
  connect(): void {
    if (this.socket || this.closed) return;
    this.open();
  }

  /**
   * Follows a matter's events from `since` (its newest event when first listed), now and after
   * every reconnect.
   */
  watch(matterId: MatterId, since: number): void {
    this.conversation(matterId).start(since);
    if (this.watched.has(matterId)) return;
    this.watched.add(matterId);
    this.subscribe(matterId);
  }

  /** Follows a matter as the matter list describes it: from its head, read up to `readSeq`. */
  follow(matterId: MatterId, headSeq: number, readSeq: number): void {
    this.watch(matterId, headSeq);
    this.conversation(matterId).noteRead(this.env.me, readSeq);
  }

  /** Posts a message; it shows at once and settles when the server has stored it. */
  send(matterId: MatterId, text: string, replyTo: number | null): string {
    const clientMsgId = this.env.newId();
    this.conversation(matterId).addPending(clientMsgId, text, replyTo);
    const frame: Outgoing = { type: "send", matter_id: matterId, client_msg_id: clientMsgId, text };
    if (replyTo !== null) frame.reply_to = replyTo;
    this.outbox.set(clientMsgId, frame);
    this.transmit(frame);
    this.changed();
    return clientMsgId;
  }

  /** Sends a failed message again under its original id. */
  retry(matterId: MatterId, clientMsgId: string): void {
    const again = this.conversation(matterId).retry(clientMsgId);
    if (!again) return;
    const frame: Outgoing = {
      type: "send",
      matter_id: matterId,
      client_msg_id: clientMsgId,
      text: again.text,
    };
    if (again.replyTo !== null) frame.reply_to = again.replyTo;
    this.outbox.set(clientMsgId, frame);
    this.transmit(frame);
    this.changed();
  }

  /** Gives up on a failed message. */
  discard(matterId: MatterId, clientMsgId: string): void {
    this.outbox.delete(clientMsgId);
    this.conversation(matterId).discard(clientMsgId);
    this.changed();
  }

  /** Changes one's own message. */
  edit(matterId: MatterId, targetSeq: number, text: string): void {
    const frame: Outgoing = {
      type: "edit",
      matter_id: matterId,
      client_msg_id: this.env.newId(),
      target_seq: targetSeq,
      text,
    };
    this.outbox.set(frame.client_msg_id, frame);
    this.transmit(frame);
  }

  /** Withdraws one's own message. */
  withdraw(matterId: MatterId, targetSeq: number): void {
    const frame: Outgoing = {
      type: "delete",
      matter_id: matterId,
      client_msg_id: this.env.newId(),
      target_seq: targetSeq,
    };
    this.outbox.set(frame.client_msg_id, frame);
    this.transmit(frame);
  }

  /** "I have read up to `seq`" (only ever forward). */
  markRead(matterId: MatterId, seq: number): void {
    const c = this.conversation(matterId);
    if ((c.reads.get(this.env.me) ?? 0) >= seq) return;
    c.noteRead(this.env.me, seq);
    this.transmit({ type: "read", matter_id: matterId, seq });
    this.changed();
  }

  /** "I am typing", at most every three seconds. */
  typing(matterId: MatterId): void {
    const now = this.env.now();
    if (now - (this.lastTyping.get(matterId) ?? 0) < 3_000) return;
    this.lastTyping.set(matterId, now);
    this.transmit({ type: "typing", matter_id: matterId });
  }

  /** Online or away (page visible or hidden). */
  setPresence(state: PresenceState): void {
    if (this.presence === state) return;
    this.presence = state;
    this.transmit({ type: "presence", state });
  }

  /**
   * The matter on screen now (the page visible and showing it), or none. While one is, the server
   * tells the person of its news nowhere else; said again every 30 s and after every reconnect.
   */
  setViewing(matterId: MatterId | undefined): void {
    if (this.viewing === matterId) return;
    this.viewing = matterId;
    this.sayViewing();
  }

  private sayViewing(): void {
    if (this.viewingTimer !== undefined) this.env.clearTimeout(this.viewingTimer);
    this.viewingTimer = undefined;
    if (this.closed) return;
    const matterId = this.viewing;
    this.transmit(matterId ? { type: "viewing", matter_id: matterId } : { type: "viewing" });
    if (matterId) {
      this.viewingTimer = this.env.setTimeout(() => {
        this.viewingTimer = undefined;
        this.sayViewing();
      }, VIEWING_RENEW_MS);
    }
  }

  /** Forgets an alert the person has seen. */
  dismissAlert(alertId: string): void {
    this.alerts = this.alerts.filter((a) => a.alert_id !== alertId);
    this.changed();
  }

  /** Fetches up to a page of history before what is loaded. */
  async loadEarlier(matterId: MatterId): Promise<void> {
    const c = this.conversation(matterId);
    if (!c.hasEarlier) return;
    const after = Math.max(0, c.floor - 1 - HISTORY_PAGE);
    const page = await this.env.fetchHistory(matterId, after, c.floor - 1 - after);
    c.prepend(after, page.events);
    this.changed();
  }

  /** The network came back: try now rather than at the next back-off step. */
  nudge(): void {
    if (this.closed || this.state === "online") return;
    if (this.timer !== undefined) this.env.clearTimeout(this.timer);
    this.timer = undefined;
    this.attempt = 0;
    if (!this.socket) this.open();
  }

  /** Closes for good (sign-out). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.env.clearTimeout(this.timer);
    if (this.viewingTimer !== undefined) this.env.clearTimeout(this.viewingTimer);
    this.viewingTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, "signed out");
    }
  }

  // --- The socket --------------------------------------------------------------------------

  private open(): void {
    this.state = this.attempt === 0 && this.state === "connecting" ? "connecting" : "reconnecting";
    this.changed();
    const socket = this.env.openSocket(this.env.url, SUBPROTOCOL);
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      this.receive(frame);
    };
    socket.onclose = (ev) => this.closedBy(ev.code);
    socket.onerror = () => {
      // A close event follows; that is where reconnecting happens.
    };
  }

  private closedBy(code: number): void {
    this.socket = undefined;
    if (this.closed) return;
    if (code === SESSION_ENDED) {
      this.closed = true;
      this.state = "ended";
      this.changed();
      return;
    }
    this.state = "reconnecting";
    this.changed();
    // A socket refused for being one too many waits longer; others back off from the start.
    const attempt = code === TOO_MANY_CONNECTIONS ? Math.max(this.attempt, 4) : this.attempt;
    this.attempt += 1;
    this.timer = this.env.setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, reconnectDelay(attempt));
  }

  private transmit(frame: ClientFrame): void {
    if (this.socket?.readyState === OPEN && this.state === "online") {
      this.socket.send(JSON.stringify(frame));
    }
    // Otherwise: subscriptions, unacknowledged messages, presence and viewing are re-sent on `hello`.
  }

  private subscribe(matterId: MatterId): void {
    const since = this.conversation(matterId).head;
    this.transmit({ type: "subscribe", matter_id: matterId, since });
  }

  private receive(frame: ServerFrame): void {
    switch (frame.type) {
      case "hello":
        this.state = "online";
        this.attempt = 0;
        for (const matterId of this.watched) this.subscribe(matterId);
        if (this.presence !== "online") this.transmit({ type: "presence", state: this.presence });
        // A new connection views nothing until told (and restarts the renewal from now).
        if (this.viewing) this.sayViewing();
        for (const pending of this.outbox.values()) this.transmit(pending);
        break;
      case "event":
        this.applyEvent(frame.event);
        break;
      case "subscribed": {
        const c = this.conversation(frame.matter_id);
        c.presence.clear();
        for (const p of frame.presence) c.presence.set(p.user_id, p.state);
        for (const r of frame.reads) c.noteRead(r.user_id, r.seq);
        if (frame.head_seq > c.head) this.fill(frame.matter_id, { after: c.head, until: frame.head_seq });
        break;
      }
      case "unsubscribed":
        this.watched.delete(frame.matter_id);
        break;
      case "ack": {
        this.outbox.delete(frame.client_msg_id);
        this.conversation(frame.matter_id).acknowledge(frame.client_msg_id, frame.seq);
        break;
      }
      case "error":
        if (frame.client_msg_id) {
          this.outbox.delete(frame.client_msg_id);
          if (frame.matter_id) {
            this.conversation(frame.matter_id).fail(
              frame.client_msg_id,
              refusal(frame.code, frame.message),
            );
          }
        }
        break;
      case "presence":
        this.conversation(frame.matter_id).presence.set(frame.user_id, frame.state);
        break;
      case "typing":
        this.conversation(frame.matter_id).noteTyping(frame.user_id, this.env.now());
        this.changed();
        // Typing fades by itself: re-render when it should disappear.
        this.env.setTimeout(() => this.changed(), 6_100);
        return;
      case "read":
        this.conversation(frame.matter_id).noteRead(frame.user_id, frame.seq);
        break;
      case "alert":
        this.alerts = [frame.alert, ...this.alerts].slice(0, 20);
        break;
      case "matters_changed":
        this.mattersVersion += 1;
        break;
    }
    this.changed();
  }

  private applyEvent(event: MatterEvent): void {
    const gap = this.conversation(event.matter_id).apply(event);
    if (gap) this.fill(event.matter_id, gap);
  }

  /** Fetches the events of a gap over REST, then applies what was waiting behind it. */
  private fill(matterId: MatterId, gap: Gap): void {
    if (this.filling.has(matterId)) return;
    this.filling.add(matterId);
    const run = async () => {
      let after = gap.after;
      const c = this.conversation(matterId);
      while (after < gap.until) {
        const page = await this.env.fetchHistory(matterId, after, Math.min(500, gap.until - after));
        c.applyPage(after, page);
        if (page.events.length === 0 || !page.more) break;
        after = page.events[page.events.length - 1].seq;
      }
    };
    run()
      .catch(() => {
        // The next reconnect's replay covers what could not be fetched now.
      })
      .finally(() => {
        this.filling.delete(matterId);
        this.changed();
      });
  }
}

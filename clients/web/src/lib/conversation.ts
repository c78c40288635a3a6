// One matter's conversation as the screen shows it, built from the channel's events. Pure logic
// (no sockets, no DOM) so the rules are unit-tested: events apply once and in `seq` order, a jump
// in `seq` is reported as a gap to fetch, optimistic bubbles settle when their own event arrives,
// and edits and withdrawals change what is shown but never remove the entry.

import type { Category, DocumentAction, Event, EventPage, MilestoneStatus, PresenceState, UserId } from "../protocol";
import type { BillingEntry, InvoiceCardBody, PaymentCardBody } from "./billing";

/** A document card in the conversation. */
export interface DocumentCard {
  documentId: string;
  version: number;
  title: string;
  category: Category;
  action: DocumentAction;
}

/** A progress card in the conversation. */
export interface MilestoneCard {
  milestoneId: string;
  title: string;
  status: MilestoneStatus;
  clientAction: string | null;
}

/** A message (or portal notice, or document, progress, invoice or payment card) as displayed. */
export interface Message {
  seq: number;
  at: string;
  authorId: UserId | null;
  kind: "message" | "system" | "document" | "milestone" | "invoice" | "payment";
  document?: DocumentCard;
  milestone?: MilestoneCard;
  /** Only for those with the invoices scope (the server sends billing cards to no one else). */
  invoice?: InvoiceCardBody;
  payment?: PaymentCardBody;
  /** Current text; null once withdrawn. */
  text: string | null;
  replyTo: number | null;
  edited: boolean;
  deleted: boolean;
}

/** A message this device sent that the server has not yet shown back as an event. */
export interface Pending {
  clientMsgId: string;
  text: string;
  replyTo: number | null;
  state: "sending" | "failed";
  /** Why it failed, for people. */
  error?: string;
  /** Set once acknowledged: the event is durable and on its way. */
  seq?: number;
}

/** A range of events to fetch: every seq in `after + 1 ..= until`. */
export interface Gap {
  after: number;
  until: number;
}

const TYPING_SHOWN_MS = 6_000;

export class Conversation {
  /** Every event up to here (from `floor`) has been applied. */
  head = 0;
  /** The oldest seq loaded; older history is fetched on demand. */
  floor = 1;
  /** Whether the first window has been positioned. */
  started = false;
  readonly reads = new Map<UserId, number>();
  readonly presence = new Map<UserId, PresenceState>();
  private readonly typing = new Map<UserId, number>();
  private readonly entries = new Map<number, Message>();
  private readonly edits = new Map<number, { seq: number; text: string | null }>();
  private readonly withdrawn = new Set<number>();
  private readonly ahead = new Map<number, Event>();
  private readonly pending = new Map<string, Pending>();

  constructor(readonly me: UserId) {}

  /** Positions an empty conversation to begin after `since` (events ≤ since are history). */
  start(since: number): void {
    if (this.started) return;
    this.started = true;
    this.head = since;
    this.floor = since + 1;
  }

  /**
   * Applies one live or replayed event. Returns the gap to fetch when the event is ahead of what
   * has been seen; the event is kept and applied once the gap is filled.
   */
  apply(event: Event): Gap | undefined {
    if (!this.started) this.start(event.seq - 1);
    if (event.seq <= this.head) return undefined;
    if (event.seq > this.head + 1) {
      this.ahead.set(event.seq, event);
      return { after: this.head, until: event.seq - 1 };
    }
    this.take(event);
    this.head = event.seq;
    for (let next = this.ahead.get(this.head + 1); next; next = this.ahead.get(this.head + 1)) {
      this.ahead.delete(next.seq);
      this.take(next);
      this.head = next.seq;
    }
    return undefined;
  }

  /**
   * Applies a history page fetched to fill a gap: every event after `after` the viewer may see,
   * in order. A `seq` missing between them belongs to an event the viewer may not see (another
   * scope), so it is skipped rather than waited for; so is the rest of the gap up to the matter's
   * head when the page is the last (`more` false).
   */
  applyPage(after: number, page: EventPage): void {
    for (const event of page.events) {
      if (event.seq > this.head + 1 && this.head >= after) this.skipTo(event.seq - 1);
      this.apply(event);
    }
    if (!page.more && this.head >= after) this.skipTo(page.head_seq);
  }

  private skipTo(seq: number): void {
    if (seq <= this.head) return;
    // Anything already received in the skipped range is applied, not dropped.
    for (const waiting of [...this.ahead.keys()].sort((a, b) => a - b)) {
      if (waiting > seq) break;
      this.take(this.ahead.get(waiting) as Event);
      this.ahead.delete(waiting);
    }
    this.head = seq;
    for (let next = this.ahead.get(this.head + 1); next; next = this.ahead.get(this.head + 1)) {
      this.ahead.delete(next.seq);
      this.take(next);
      this.head = next.seq;
    }
  }

  /**
   * Adds older history: every event the viewer may see after `after` and below `floor` (the
   * page asked for exactly that range), e.g. "show earlier messages".
   */
  prepend(after: number, events: Event[]): void {
    for (const event of events) if (event.seq < this.floor && event.seq > after) this.take(event);
    this.floor = Math.min(this.floor, after + 1);
  }

  /** Whether there is history before what is loaded. */
  get hasEarlier(): boolean {
    return this.floor > 1;
  }

  private take(event: Event): void {
    const body = event.body;
    switch (body.kind) {
      case "message":
        this.entries.set(event.seq, {
          seq: event.seq,
          at: event.at,
          authorId: event.author_id,
          kind: "message",
          text: body.text,
          replyTo: body.reply_to,
          edited: false,
          deleted: body.deleted,
        });
        if (event.author_id) this.typing.delete(event.author_id);
        break;
      case "system":
        this.entries.set(event.seq, {
          seq: event.seq,
          at: event.at,
          authorId: null,
          kind: "system",
          text: body.text,
          replyTo: null,
          edited: false,
          deleted: false,
        });
        break;
      case "document":
        this.entries.set(event.seq, {
          seq: event.seq,
          at: event.at,
          authorId: event.author_id,
          kind: "document",
          text: body.title,
          replyTo: null,
          edited: false,
          deleted: false,
          document: {
            documentId: body.document_id,
            version: body.version,
            title: body.title,
            category: body.category,
            action: body.action,
          },
        });
        break;
      case "milestone":
        this.entries.set(event.seq, {
          seq: event.seq,
          at: event.at,
          authorId: event.author_id,
          kind: "milestone",
          text: body.title,
          replyTo: null,
          edited: false,
          deleted: false,
          milestone: {
            milestoneId: body.milestone_id,
            title: body.title,
            status: body.status,
            clientAction: body.client_action,
          },
        });
        break;
      case "invoice":
      case "payment":
        this.entries.set(event.seq, {
          seq: event.seq,
          at: event.at,
          authorId: event.author_id,
          kind: body.kind,
          text: body.kind === "invoice" ? body.number : body.invoice_number,
          replyTo: null,
          edited: false,
          deleted: false,
          ...(body.kind === "invoice" ? { invoice: body } : { payment: body }),
        });
        break;
      case "edit": {
        const known = this.edits.get(body.target_seq);
        if (!known || known.seq < event.seq) {
          this.edits.set(body.target_seq, { seq: event.seq, text: body.text });
        }
        break;
      }
      case "delete":
        this.withdrawn.add(body.target_seq);
        break;
      case "unknown":
        break;
    }
    if (event.client_msg_id && event.author_id === this.me) {
      this.pending.delete(event.client_msg_id);
    }
  }

  /** The messages to show, oldest first, edits and withdrawals applied. */
  messages(): Message[] {
    return [...this.entries.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((m) => this.resolve(m));
  }

  /** The invoice and payment cards loaded, oldest first. */
  billing(): BillingEntry[] {
    const cards: BillingEntry[] = [];
    for (const m of this.entries.values()) {
      const body = m.invoice ?? m.payment;
      if (body) cards.push({ seq: m.seq, body });
    }
    return cards.sort((a, b) => a.seq - b.seq);
  }

  /** The seq of the newest billing card loaded (0 when none): pages showing balances refetch when it moves. */
  latestBilling(): number {
    let latest = 0;
    for (const m of this.entries.values()) if ((m.invoice || m.payment) && m.seq > latest) latest = m.seq;
    return latest;
  }

  /** One message as shown, if loaded. */
  message(seq: number): Message | undefined {
    const m = this.entries.get(seq);
    return m && this.resolve(m);
  }

  private resolve(m: Message): Message {
    if (m.deleted || this.withdrawn.has(m.seq)) {
      return { ...m, text: null, deleted: true, edited: false };
    }
    const edit = this.edits.get(m.seq);
    if (edit) return { ...m, text: edit.text, edited: true, deleted: edit.text === null };
    return m;
  }

  // --- Optimistic sends -------------------------------------------------------------------

  /** Shows a message as sending before the server has it. */
  addPending(clientMsgId: string, text: string, replyTo: number | null): void {
    this.pending.set(clientMsgId, { clientMsgId, text, replyTo, state: "sending" });
  }

  /** The server stored it as `seq`; the bubble stays until the event itself arrives. */
  acknowledge(clientMsgId: string, seq: number): void {
    const p = this.pending.get(clientMsgId);
    if (!p) return;
    if (seq <= this.head && this.entries.has(seq)) {
      this.pending.delete(clientMsgId);
    } else {
      this.pending.set(clientMsgId, { ...p, seq, state: "sending", error: undefined });
    }
  }

  /** The server refused it. */
  fail(clientMsgId: string, error: string): void {
    const p = this.pending.get(clientMsgId);
    if (p) this.pending.set(clientMsgId, { ...p, state: "failed", error });
  }

  /** Marks a failed message as sending again (same id, so a resend cannot duplicate it). */
  retry(clientMsgId: string): Pending | undefined {
    const p = this.pending.get(clientMsgId);
    if (!p) return undefined;
    const again: Pending = { ...p, state: "sending", error: undefined };
    this.pending.set(clientMsgId, again);
    return again;
  }

  /** Gives up on a failed message. */
  discard(clientMsgId: string): void {
    this.pending.delete(clientMsgId);
  }

  /** Messages still on their way, in the order they were written. */
  pendingMessages(): Pending[] {
    return [...this.pending.values()];
  }

  // --- Ephemera ----------------------------------------------------------------------------

  /** Someone is typing (shown for a few seconds unless they post first). */
  noteTyping(userId: UserId, now: number): void {
    if (userId !== this.me) this.typing.set(userId, now + TYPING_SHOWN_MS);
  }

  /** Who is typing at `now`. */
  typingAt(now: number): UserId[] {
    const who: UserId[] = [];
    for (const [user, until] of this.typing) {
      if (until > now) who.push(user);
      else this.typing.delete(user);
    }
    return who;
  }

  /** Someone read up to `seq` (positions only move forward). */
  noteRead(userId: UserId, seq: number): void {
    if ((this.reads.get(userId) ?? 0) < seq) this.reads.set(userId, seq);
  }

  /**
   * Messages by others the viewer has not read. `listedHead` and `listedUnread` are what the
   * matter list said when it was loaded (it counts history this conversation may not hold).
   */
  unread(listedHead: number, listedUnread: number): number {
    const mine = this.reads.get(this.me) ?? 0;
    const from = Math.max(mine, listedHead);
    let count = mine >= listedHead ? 0 : listedUnread;
    for (const m of this.entries.values()) {
      if (m.seq > from && m.kind === "message" && m.authorId !== this.me && !this.resolve(m).deleted) {
        count++;
      }
    }
    return count;
  }

  /** When the newest loaded message or notice was written. */
  lastAt(): string | undefined {
    let latest: Message | undefined;
    for (const m of this.entries.values()) if (!latest || m.seq > latest.seq) latest = m;
    return latest?.at;
  }

  /** The newest message by someone else, for read receipts. */
  latestFromOthers(): number {
    let latest = 0;
    for (const m of this.entries.values()) {
      if (m.authorId !== this.me && m.seq > latest) latest = m.seq;
    }
    return latest;
  }
}

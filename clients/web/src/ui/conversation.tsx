// A matter's Conversation tab: the channel's messages with live updates, optimistic sending,
// edits and withdrawals, replies, read indicators and typing, invoice and payment cards (with Pay
// for those who may pay), and the composer.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { MatterId, UserId } from "../protocol";
import { MAX_MESSAGE_CHARS } from "../protocol";
import type { Channel } from "../lib/channel";
import type { Message } from "../lib/conversation";
import { invoiceCardState } from "../lib/billing";
import { InvoiceCard, PaymentCard } from "./billing-cards";
import { useBilling } from "./billing";
import { Bubble, clip, PendingBubble } from "./bubble";
import { PaySheet } from "./pay";

export function Conversation({
  matterId,
  channel,
  me,
  name,
  canWrite,
  canPay,
}: {
  matterId: MatterId;
  channel: Channel;
  me: UserId;
  name: (id: UserId | null) => string;
  canWrite: boolean;
  /** Client users with the invoices scope: Pay on invoice cards. */
  canPay: boolean;
}) {
  const conversation = channel.conversation(matterId);
  const messages = conversation.messages();
  const pending = conversation.pendingMessages();
  const billing = conversation.billing();
  // For payers, which invoices can be paid by card (client money cannot), kept current by the cards.
  const { summary } = useBilling(canPay ? `/matters/${matterId}/billing` : undefined, conversation.latestBilling());
  const [paying, setPaying] = useState<{ invoiceId: string; number: string }>();
  const [replyTo, setReplyTo] = useState<Message>();
  const [editing, setEditing] = useState<Message>();
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  // Mark as read what is on screen while the page is visible.
  const newest = conversation.latestFromOthers();
  useEffect(() => {
    if (newest > 0 && !document.hidden) channel.markRead(matterId, conversation.head);
  }, [newest, matterId]);
  useEffect(() => {
    const visible = () => {
      if (!document.hidden && conversation.head > 0) channel.markRead(matterId, conversation.head);
    };
    document.addEventListener("visibilitychange", visible);
    return () => document.removeEventListener("visibilitychange", visible);
  }, [matterId]);

  // Keep the newest message in view unless the reader has scrolled up. On wide screens the list
  // scrolls; on phones the page does.
  const listScrolls = () => {
    const el = log.current;
    return !!el && el.scrollHeight > el.clientHeight + 1;
  };
  useLayoutEffect(() => {
    const el = log.current;
    if (!el || !stick.current) return;
    if (listScrolls()) el.scrollTop = el.scrollHeight;
    else window.scrollTo(0, document.documentElement.scrollHeight);
  });
  const onScroll = () => {
    const el = log.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };
  useEffect(() => {
    const onPageScroll = () => {
      if (listScrolls()) return;
      const page = document.documentElement;
      stick.current = page.scrollHeight - window.scrollY - window.innerHeight < 120;
    };
    window.addEventListener("scroll", onPageScroll, { passive: true });
    return () => window.removeEventListener("scroll", onPageScroll);
  }, []);

  // "Seen by" under the newest of my messages each other reader has reached.
  const seen = new Map<number, string[]>();
  const mine = messages.filter((m) => m.authorId === me && !m.deleted);
  for (const [user, seq] of conversation.reads) {
    if (user === me) continue;
    const last = [...mine].reverse().find((m) => m.seq <= seq);
    if (last) seen.set(last.seq, [...(seen.get(last.seq) ?? []), name(user)]);
  }
  const typing = conversation.typingAt(Date.now()).map(name);

  const billingCard = (m: Message) => {
    const invoice = m.invoice;
    if (invoice) {
      return (
        <InvoiceCard
          key={m.seq}
          matterId={matterId}
          message={m}
          state={invoiceCardState({ seq: m.seq, body: invoice }, billing)}
          invoice={summary?.invoices.find((i) => i.invoice_id === invoice.invoice_id)}
          onPay={canPay ? () => setPaying({ invoiceId: invoice.invoice_id, number: invoice.number }) : undefined}
        />
      );
    }
    return m.payment ? <PaymentCard key={m.seq} message={m} /> : undefined;
  };

  const earlier = async () => {
    setLoadingEarlier(true);
    stick.current = false;
    try {
      await channel.loadEarlier(matterId);
    } finally {
      setLoadingEarlier(false);
    }
  };

  return (
    <section class="conversation" aria-label="Conversation">
      <div class="messages" ref={log} onScroll={onScroll} role="log" aria-live="polite" aria-label="Messages" tabIndex={0}>
      <ol class="message-list">
        {conversation.hasEarlier && (
          <li class="earlier">
            <button type="button" class="quiet" onClick={earlier} disabled={loadingEarlier}>
              {loadingEarlier ? "Loading…" : "Show earlier messages"}
            </button>
          </li>
        )}
        {messages.length === 0 && pending.length === 0 && !conversation.hasEarlier && (
          <li class="empty">No messages yet. Questions about this matter can be asked here.</li>
        )}
        {messages.map(
          (m) =>
            billingCard(m) ?? (
              <Bubble
                key={m.seq}
                matterId={matterId}
                message={m}
                own={m.authorId === me}
                author={name(m.authorId)}
                quoted={m.replyTo ? conversation.message(m.replyTo) : undefined}
                quotedAuthor={(q) => name(q.authorId)}
                seenBy={seen.get(m.seq)}
                canWrite={canWrite}
                onReply={() => (setEditing(undefined), setReplyTo(m))}
                onEdit={() => (setReplyTo(undefined), setEditing(m))}
                onWithdraw={() => {
                  if (confirm("Withdraw this message? Others will see that a message was withdrawn.")) {
                    channel.withdraw(matterId, m.seq);
                  }
                }}
              />
            ),
        )}
        {pending.map((p) => (
          <PendingBubble
            key={p.clientMsgId}
            pending={p}
            quoted={p.replyTo ? conversation.message(p.replyTo) : undefined}
            onRetry={() => channel.retry(matterId, p.clientMsgId)}
            onDiscard={() => channel.discard(matterId, p.clientMsgId)}
          />
        ))}
      </ol>
      </div>
      <p class="typing" aria-live="polite">
        {typing.length === 1 ? `${typing[0]} is typing…` : typing.length > 1 ? `${typing.join(" and ")} are typing…` : ""}
      </p>
      {paying && <PaySheet {...paying} matterId={matterId} channel={channel} onClose={() => setPaying(undefined)} />}
      {canWrite ? (
        <Composer
          key={editing?.seq ?? "new"}
          initial={editing?.text ?? ""}
          editing={editing}
          replyTo={replyTo}
          replyAuthor={replyTo ? name(replyTo.authorId) : ""}
          onCancel={() => (setReplyTo(undefined), setEditing(undefined))}
          onTyping={() => channel.typing(matterId)}
          onSubmit={(text) => {
            stick.current = true;
            if (editing) channel.edit(matterId, editing.seq, text);
            else channel.send(matterId, text, replyTo?.seq ?? null);
            setReplyTo(undefined);
            setEditing(undefined);
          }}
        />
      ) : (
        <p class="muted composer-closed">This matter is closed to new messages.</p>
      )}
    </section>
  );
}

function Composer({
  initial,
  editing,
  replyTo,
  replyAuthor,
  onCancel,
  onTyping,
  onSubmit,
}: {
  initial: string;
  editing?: Message;
  replyTo?: Message;
  replyAuthor: string;
  onCancel: () => void;
  onTyping: () => void;
  onSubmit: (text: string) => void;
}) {
  const [text, setText] = useState(initial);
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (editing || replyTo) input.current?.focus();
  }, [editing, replyTo]);
  const trimmed = text.trim();
  const tooLong = [...text].length > MAX_MESSAGE_CHARS;
  const submit = (e?: Event) => {
    e?.preventDefault();
    if (!trimmed || tooLong) return;
    onSubmit(trimmed);
    setText("");
  };
  return (
    <form class="composer" onSubmit={submit}>
      {(editing || replyTo) && (
        <div class="composer-context">
          <p>{editing ? "Editing your message" : `Replying to ${replyAuthor}: ${clip(replyTo?.text ?? "")}`}</p>
          <button type="button" class="link" onClick={onCancel}>
            Cancel
          </button>
        </div>
      )}
      <label for="composer-text" class="visually-hidden">
        {editing ? "Edit message" : "Message"}
      </label>
      <div class="composer-row">
        <textarea
          id="composer-text"
          ref={input}
          rows={2}
          value={text}
          placeholder="Write a message"
          aria-describedby="composer-hint"
          onInput={(e) => {
            setText(e.currentTarget.value);
            onTyping();
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
            if (e.key === "Escape" && (editing || replyTo)) onCancel();
          }}
        />
        <button type="submit" class="primary" disabled={!trimmed || tooLong}>
          {editing ? "Save" : "Send"}
        </button>
      </div>
      <p id="composer-hint" class={`hint${tooLong ? " hint-error" : ""}`}>
        {tooLong
          ? `Too long: ${[...text].length} of ${MAX_MESSAGE_CHARS} characters.`
          : "Enter sends; Shift+Enter starts a new line."}
      </p>
    </form>
  );
}

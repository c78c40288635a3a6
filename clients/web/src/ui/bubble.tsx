// How one entry of a conversation is drawn: a message bubble with its quote and actions, a
// document or milestone card, a system line, and a message still being sent. (Invoice and
// payment cards are in billing-cards.tsx.)

import type { MatterId } from "../protocol";
import type { Message, Pending } from "../lib/conversation";
import { fullWhen, shortWhen } from "../lib/format";
import { categoryLabel } from "../lib/documents";
import { STATUS_LABELS } from "../lib/milestones";
import { follow } from "./router";

/** Who wrote it and when (and whether it was edited), above every bubble and card. */
export function BubbleHead({ author, at, edited = false }: { author: string; at: string; edited?: boolean }) {
  return (
    <p class="bubble-head">
      <span class="author">{author}</span>{" "}
      <time dateTime={at} title={fullWhen(at)}>
        {shortWhen(at)}
      </time>
      {edited && <span class="edited"> · edited</span>}
    </p>
  );
}

function Quote({ message, author }: { message?: Message; author: string }) {
  if (!message) return <p class="quote">Reply to an earlier message</p>;
  return (
    <p class="quote">
      <span class="quote-author">{author}</span> {message.deleted ? "Message withdrawn" : clip(message.text ?? "")}
    </p>
  );
}

export function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export function Bubble({
  matterId,
  message,
  own,
  author,
  quoted,
  quotedAuthor,
  seenBy,
  canWrite,
  onReply,
  onEdit,
  onWithdraw,
}: {
  matterId: MatterId;
  message: Message;
  own: boolean;
  author: string;
  quoted?: Message;
  quotedAuthor: (m: Message) => string;
  seenBy?: string[];
  canWrite: boolean;
  onReply: () => void;
  onEdit: () => void;
  onWithdraw: () => void;
}) {
  if (message.kind === "document" && message.document) {
    const card = message.document;
    return (
      <li class="doc-card" data-seq={message.seq} data-testid="document-card">
        <BubbleHead author={author} at={message.at} />
        <p>
          {card.action === "uploaded" ? "Uploaded" : card.version > 1 ? `Published version ${card.version} of` : "Published"}{" "}
          <a href={`/matters/${matterId}/documents`} onClick={follow}>
            {card.title}
          </a>{" "}
          <span class="muted">({categoryLabel(card.category)})</span>
        </p>
      </li>
    );
  }
  if (message.kind === "milestone" && message.milestone) {
    const step = message.milestone;
    return (
      <li class="doc-card milestone-card" data-seq={message.seq} data-testid="milestone-card">
        <BubbleHead author={author} at={message.at} />
        <p>
          <a href={`/matters/${matterId}/progress`} onClick={follow}>
            {step.title}
          </a>
          : {STATUS_LABELS[step.status].toLowerCase()}
        </p>
        {step.clientAction && (step.status === "upcoming" || step.status === "in_progress") && (
          <p class="step-action">
            <strong>Your action:</strong> {step.clientAction}
          </p>
        )}
      </li>
    );
  }
  if (message.kind === "system") {
    return (
      <li class="system" data-seq={message.seq}>
        {message.text}
      </li>
    );
  }
  return (
    <li class={`bubble ${own ? "own" : "theirs"}${message.deleted ? " withdrawn" : ""}`} data-seq={message.seq} data-testid="message">
      <BubbleHead author={author} at={message.at} edited={message.edited} />
      {message.replyTo !== null && !message.deleted && <Quote message={quoted} author={quoted ? quotedAuthor(quoted) : ""} />}
      {message.deleted ? (
        <p class="text withdrawn-text">Message withdrawn</p>
      ) : (
        <p class="text" data-testid="message-text">
          {message.text}
        </p>
      )}
      {canWrite && !message.deleted && (
        <p class="actions">
          <button type="button" class="link" onClick={onReply} aria-label={`Reply to ${author}`}>
            Reply
          </button>
          {own && (
            <>
              <button type="button" class="link" onClick={onEdit} aria-label="Edit your message">
                Edit
              </button>
              <button type="button" class="link" onClick={onWithdraw} aria-label="Withdraw your message">
                Withdraw
              </button>
            </>
          )}
        </p>
      )}
      {seenBy && <p class="seen">Seen by {seenBy.join(", ")}</p>}
    </li>
  );
}

export function PendingBubble({
  pending,
  quoted,
  onRetry,
  onDiscard,
}: {
  pending: Pending;
  quoted?: Message;
  onRetry: () => void;
  onDiscard: () => void;
}) {
  return (
    <li class={`bubble own pending ${pending.state}`} data-testid="pending">
      <p class="bubble-head">
        <span class="author">You</span>
      </p>
      {pending.replyTo !== null && <Quote message={quoted} author="" />}
      <p class="text">{pending.text}</p>
      {pending.state === "sending" ? (
        <p class="status">Sending…</p>
      ) : (
        <div class="status failed-status" role="alert">
          <p>{pending.error}</p>
          <button type="button" class="link" onClick={onRetry}>
            Retry
          </button>
          <button type="button" class="link" onClick={onDiscard}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}

// The matter list: what this person may see, newest activity first, with unread counts that move
// as messages arrive.

import type { MatterSummary } from "../protocol";
import { MAX_UNREAD } from "../protocol";
import type { Channel } from "../lib/channel";
import { shortWhen, fullWhen } from "../lib/format";
import { Notice, PageTitle } from "./page";
import { follow } from "./router";

interface Row {
  summary: MatterSummary;
  unread: number;
  lastAt?: string;
}

export function MatterList({
  matters,
  error,
  channel,
  firm,
}: {
  matters?: MatterSummary[];
  error?: string;
  channel: Channel;
  /** Firm users see which client each matter is for. */
  firm: boolean;
}) {
  const rows: Row[] = (matters ?? []).map((summary) => {
    const c = channel.conversation(summary.matter_id);
    const listed = summary.activity;
    const live = c.lastAt();
    const lastAt =
      live && (!listed.last_activity_at || live > listed.last_activity_at) ? live : listed.last_activity_at ?? undefined;
    return { summary, unread: c.unread(listed.head_seq, listed.unread), lastAt };
  });
  rows.sort((a, b) => (b.lastAt ?? b.summary.opened_at).localeCompare(a.lastAt ?? a.summary.opened_at));
  return (
    <main id="main" class="page">
      <PageTitle>Your matters</PageTitle>
      <Notice kind="error" text={error} />
      {!matters && !error && <p class="muted">Loading your matters…</p>}
      {matters && matters.length === 0 && (
        <p class="empty">There are no matters to show yet. Your firm will let you know when one is opened for you.</p>
      )}
      <ul class="matters" aria-label="Matters">
        {rows.map(({ summary, unread, lastAt }) => (
          <li key={summary.matter_id}>
            <a href={`/matters/${summary.matter_id}`} onClick={follow} class="matter-row">
              <span class="matter-main">
                <span class="matter-title">{summary.title}</span>
                <span class="matter-meta">
                  {summary.reference} · {summary.practice_area}
                  {firm ? ` · ${summary.client_name}` : ""}
                </span>
                <span class="matter-meta">Handled by {summary.responsible_fee_earner.display_name}</span>
                {summary.current_stage && (
                  <span class="matter-stage" data-testid="current-stage">
                    Now: {summary.current_stage}
                  </span>
                )}
              </span>
              <span class="matter-side">
                {lastAt && (
                  <time dateTime={lastAt} title={fullWhen(lastAt)}>
                    {shortWhen(lastAt)}
                  </time>
                )}
                {unread > 0 ? (
                  <span class="badge" data-testid="unread">
                    {unread > MAX_UNREAD ? `${MAX_UNREAD}+` : unread}
                    <span class="visually-hidden"> unread</span>
                  </span>
                ) : null}
                {summary.status === "closed" && <span class="tag">Closed</span>}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </main>
  );
}

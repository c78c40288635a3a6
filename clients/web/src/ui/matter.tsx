// One matter's page: its heading, who is on the matter and who is here now, and the tabs
// (Conversation, Progress, Documents, Billing), each only for those with its scope. Firm users also
// see which client users are on the matter, and whether the client waits for the firm's answer.
// Without the messages scope (finance users) the matter opens on Billing.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { AwaitingReply, CurrentSession, MatterDetail, MatterId, MatterSummary, UserId } from "../protocol";
import { api, ApiError, describe } from "../lib/api";
import type { Channel } from "../lib/channel";
import { fullWhen, initials } from "../lib/format";
import { escalationStep } from "../lib/notifications";
import { Conversation } from "./conversation";
import { BillingTab } from "./billing";
import { DocumentsTab } from "./documents";
import { Notice, PageTitle } from "./page";
import { TimelineTab } from "./timeline";
import { follow } from "./router";

export type MatterTab = "conversation" | "documents" | "progress" | "billing";

export function MatterView({
  matterId,
  tab: asked,
  channel,
  session,
  summary,
  onWatch,
}: {
  matterId: MatterId;
  tab: MatterTab;
  channel: Channel;
  session: CurrentSession;
  summary?: MatterSummary;
  onWatch: (summary: MatterSummary) => void;
}) {
  const [detail, setDetail] = useState<MatterDetail>();
  const [missing, setMissing] = useState<string>();
  const [historyError, setHistoryError] = useState<string>();
  const me = session.user.user_id;

  useEffect(() => {
    api<MatterDetail>("GET", `/matters/${matterId}`)
      .then((d) => {
        setDetail(d);
        onWatch(d);
        return channel.loadEarlier(matterId);
      })
      .catch((e) => {
        if (e instanceof ApiError && (e.code === "not_found" || e.code === "forbidden" || e.code === "invalid_input")) {
          setMissing(describe(new ApiError(404, "not_found", "")));
        } else {
          setHistoryError(describe(e));
        }
      });
  }, [matterId]);

  // On a phone the tabs scroll sideways: keep the current one in view.
  const tabs = useRef<HTMLElement>(null);
  useLayoutEffect(() => {
    const nav = tabs.current;
    const current = nav?.querySelector('[aria-current="page"]');
    if (!nav || !current) return;
    const [row, link] = [nav.getBoundingClientRect(), current.getBoundingClientRect()];
    if (link.right > row.right) nav.scrollLeft += link.right - row.right;
    else if (link.left < row.left) nav.scrollLeft -= row.left - link.left;
  }, [asked, !!(detail ?? summary)]);

  if (missing) {
    return (
      <main id="main" class="page">
        <PageTitle>Matter not found</PageTitle>
        <p>{missing}</p>
        <p>
          <a href="/" onClick={follow}>
            Back to your matters
          </a>
        </p>
      </main>
    );
  }
  const heading = detail ?? summary;
  const names = new Map<UserId, string>();
  if (detail) {
    for (const p of detail.participants) names.set(p.user_id, p.display_name);
    for (const p of detail.team) names.set(p.user_id, p.display_name);
    for (const g of detail.grants) names.set(g.user_id, g.display_name);
    names.set(detail.responsible_fee_earner.user_id, detail.responsible_fee_earner.display_name);
  }
  names.set(me, "You");
  const name = (id: UserId | null) => (id ? names.get(id) ?? "Another participant" : "Docket");
  const canWrite = !!heading && heading.scopes.includes("messages") && heading.status === "open";
  // Until the scopes are known every tab but Progress and Billing is offered, as before.
  const may = (scope: "messages" | "documents" | "milestones" | "invoices") =>
    heading ? heading.scopes.includes(scope) : scope === "messages" || scope === "documents";
  const tab: MatterTab = asked === "conversation" && heading && !may("messages") && may("invoices") ? "billing" : asked;
  const canPay = session.user.kind === "client" && may("invoices");

  return (
    <main id="main" class="page matter">
      <div class="matter-head">
        <a href="/" onClick={follow} class="back">
          <span aria-hidden="true">‹</span> Matters
        </a>
        <PageTitle>{heading?.title ?? "Matter"}</PageTitle>
        {heading && (
          <p class="matter-meta">
            {heading.reference} · {heading.practice_area}
            {session.user.kind === "firm" ? ` · ${heading.client_name}` : ""} · Handled by{" "}
            {heading.responsible_fee_earner.display_name}
          </p>
        )}
        {detail && <People detail={detail} channel={channel} me={me} firm={session.user.kind === "firm"} />}
        {detail?.awaiting_reply && session.user.kind === "firm" && (
          <AwaitingBanner detail={detail} awaiting={detail.awaiting_reply} channel={channel} onConversation={tab !== "conversation"} />
        )}
      </div>
      <nav class="tabs" aria-label="Matter" ref={tabs}>
        {may("messages") && (
          <a href={`/matters/${matterId}`} onClick={follow} aria-current={tab === "conversation" ? "page" : undefined}>
            Conversation
          </a>
        )}
        {may("milestones") && (
          <a href={`/matters/${matterId}/progress`} onClick={follow} aria-current={tab === "progress" ? "page" : undefined}>
            Progress
          </a>
        )}
        {may("documents") && (
          <a href={`/matters/${matterId}/documents`} onClick={follow} aria-current={tab === "documents" ? "page" : undefined}>
            Documents
          </a>
        )}
        {may("invoices") && (
          <a href={`/matters/${matterId}/billing`} onClick={follow} aria-current={tab === "billing" ? "page" : undefined}>
            Billing
          </a>
        )}
      </nav>
      <Notice kind="error" text={historyError} />
      {tab === "progress" ? (
        <TimelineTab
          matterId={matterId}
          session={session}
          canEdit={session.user.kind === "firm" && heading?.status === "open"}
        />
      ) : tab === "documents" ? (
        <DocumentsTab
          matterId={matterId}
          session={session}
          canUpload={!!heading && heading.status === "open" && heading.scopes.includes("documents")}
        />
      ) : tab === "billing" ? (
        heading && !may("invoices") ? (
          <p class="empty">Invoices on this matter are not shared with you.</p>
        ) : (
          <BillingTab matterId={matterId} channel={channel} canPay={canPay} />
        )
      ) : heading && !may("messages") ? (
        <p class="empty">Messages on this matter are not shared with you.</p>
      ) : (
        <Conversation matterId={matterId} channel={channel} me={me} name={name} canWrite={canWrite} canPay={canPay} />
      )}
    </main>
  );
}

/**
 * The client has waited for the firm's answer since their first unanswered message (firm users
 * only). Gone once someone at the firm answers on this page.
 */
function AwaitingBanner({
  detail,
  awaiting,
  channel,
  onConversation,
}: {
  detail: MatterDetail;
  awaiting: AwaitingReply;
  channel: Channel;
  /** Whether to offer a link to the conversation (another tab is showing). */
  onConversation: boolean;
}) {
  const firm = new Set<UserId>(detail.participants.filter((p) => p.kind === "firm").map((p) => p.user_id));
  for (const p of detail.team) firm.add(p.user_id);
  const answered = channel
    .conversation(detail.matter_id)
    .messages()
    .some((m) => m.kind === "message" && m.seq > awaiting.since_seq && m.authorId !== null && firm.has(m.authorId));
  if (answered) return null;
  const step = escalationStep(awaiting.escalation_level);
  return (
    <div class={`awaiting awaiting-${Math.min(awaiting.escalation_level, 2)}`} data-testid="awaiting-reply">
      <p>
        <strong>
          The client has waited for an answer since <time dateTime={awaiting.since}>{fullWhen(awaiting.since)}</time>.
        </strong>
        {step ? ` ${step}` : ""}
      </p>
      {onConversation && (
        <p>
          <a href={`/matters/${detail.matter_id}`} onClick={follow}>
            Go to the conversation
          </a>
        </p>
      )}
    </div>
  );
}

/** Who is on the matter and who is here now. */
function People({ detail, channel, me, firm }: { detail: MatterDetail; channel: Channel; me: UserId; firm: boolean }) {
  const presence = channel.conversation(detail.matter_id).presence;
  const others = detail.participants.filter((p) => p.user_id !== me);
  const clients = detail.participants.filter((p) => p.kind === "client");
  return (
    <div class="people">
      <ul class="presence" aria-label="People on this matter">
        {others.map((p) => {
          const state = presence.get(p.user_id) ?? "offline";
          return (
            <li key={p.user_id} class={`person person-${state}`}>
              <span class="avatar" aria-hidden="true">
                {initials(p.display_name)}
              </span>
              <span class="person-name">{p.display_name}</span>
              <span class="visually-hidden">, {state === "online" ? "online now" : state === "away" ? "away" : "offline"}</span>
            </li>
          );
        })}
      </ul>
      {firm && (
        <details class="client-users">
          <summary>Client users on this matter ({clients.length})</summary>
          <ul>
            {clients.map((p) => {
              const grant = detail.grants.find((g) => g.user_id === p.user_id);
              return (
                <li key={p.user_id}>
                  {p.display_name}
                  <span class="muted"> — {grant ? `sees ${grant.scopes.join(", ")}` : "client administrator"}</span>
                </li>
              );
            })}
          </ul>
        </details>
      )}
    </div>
  );
}

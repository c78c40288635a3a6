// The words of a notice alert (news on a matter) and of an escalation (a client waiting for the
// firm's answer), as toasts and the account page show them: what happened and on which matter,
// never the content, with a link to the matter unless `plain`.

import { fullWhen } from "../lib/format";
import {
  type EscalationAlert,
  escalationWords,
  matterLabel,
  type NoticeAlert,
  noticePath,
  noticeWords,
} from "../lib/notifications";
import { follow } from "./router";

function MatterLink({ href, label, plain, onFollow }: { href: string; label: string; plain?: boolean; onFollow?: () => void }) {
  if (plain) return <>{label}</>;
  return (
    <a href={href} onClick={(e) => (follow(e), onFollow?.())}>
      {label}
    </a>
  );
}

/** "New message on CP-1001 — Lease renewal", "3 new messages on CP-1001". */
export function NoticeAlertText({ detail, plain, onFollow }: { detail: NoticeAlert; plain?: boolean; onFollow?: () => void }) {
  const words = noticeWords(detail.notice, detail.count);
  if (!detail.matter_id || !detail.reference) return <>{words}</>;
  return (
    <>
      {words} on{" "}
      <MatterLink
        href={noticePath(detail.notice, detail.matter_id)}
        label={matterLabel(detail.reference, detail.title)}
        plain={plain}
        onFollow={onFollow}
      />
    </>
  );
}

/** "Reminder: a client has waited for your answer on CP-1001 since 3 Mar 2026, 14:05." */
export function EscalationAlertText({
  detail,
  plain,
  onFollow,
}: {
  detail: EscalationAlert;
  plain?: boolean;
  onFollow?: () => void;
}) {
  return (
    <>
      {escalationWords(detail.level)} on{" "}
      <MatterLink href={`/matters/${detail.matter_id}`} label={detail.reference} plain={plain} onFollow={onFollow} /> since{" "}
      <time dateTime={detail.waiting_since}>{fullWhen(detail.waiting_since)}</time>.
    </>
  );
}

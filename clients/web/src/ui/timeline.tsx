// A matter's Progress tab: the timeline in the client's language, with what the client must do
// first; for the firm, editing each step (status, dates, note, client action) and adding steps.

import { useEffect, useState } from "preact/hooks";
import type {
  CurrentSession,
  MatterId,
  Milestone,
  MilestoneStatus,
  NewMilestoneRequest,
  Timeline,
  UpdateMilestoneRequest,
} from "../protocol";
import { api, describe } from "../lib/api";
import { comingUp, formatDay, pendingActions, progressSummary, STATUS_LABELS } from "../lib/milestones";
import { Notice } from "./page";

const STATUSES: MilestoneStatus[] = ["upcoming", "in_progress", "done", "skipped"];

export function TimelineTab({ matterId, session, canEdit }: { matterId: MatterId; session: CurrentSession; canEdit: boolean }) {
  const [timeline, setTimeline] = useState<Timeline>();
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const firm = session.user.kind === "firm";
  useEffect(() => {
    api<Timeline>("GET", `/matters/${matterId}/milestones`)
      .then(setTimeline)
      .catch((e) => setError(describe(e)));
  }, [matterId]);

  const change = async (work: () => Promise<Timeline>, message: string) => {
    setError(undefined);
    setDone(undefined);
    try {
      setTimeline(await work());
      setDone(message);
      return true;
    } catch (e) {
      setError(describe(e));
      return false;
    }
  };

  if (!timeline) {
    return (
      <section class="timeline" aria-label="Progress">
        <Notice kind="error" text={error} />
        {!error && <p class="muted">Loading progress…</p>}
      </section>
    );
  }
  const actions = pendingActions(timeline);
  const later = comingUp(timeline);
  return (
    <section class="timeline" aria-label="Progress">
      <p class="muted">{progressSummary(timeline)}</p>
      {actions.length > 0 && (
        <div class="client-actions" role="region" aria-labelledby="actions-title">
          <h2 id="actions-title">{firm ? "Waiting for the client" : "What we need from you"}</h2>
          <ul>
            {actions.map((m) => (
              <li key={m.milestone_id}>
                <strong>{m.client_action}</strong>
                <span class="muted"> — {m.title}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      {later.length > 0 && (
        <div class="client-actions client-actions-later" role="region" aria-labelledby="later-title">
          <h2 id="later-title">Coming up</h2>
          <ul>
            {later.map((m) => (
              <li key={m.milestone_id}>
                {m.client_action}
                <span class="muted"> — {m.title}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <Notice kind="error" text={error} />
      <Notice kind="success" text={done} />
      {timeline.milestones.length === 0 && <p class="empty">No progress steps have been set out for this matter yet.</p>}
      <ol class="steps">
        {timeline.milestones.map((m) => (
          <Step
            key={m.milestone_id}
            milestone={m}
            current={timeline.current === m.milestone_id}
            canEdit={canEdit}
            onSave={(req) =>
              change(
                () => api<Timeline>("PATCH", `/matters/${matterId}/milestones/${m.milestone_id}`, req),
                `“${req.title ?? m.title}” was updated.`,
              )
            }
            onRemove={() =>
              change(() => api<Timeline>("DELETE", `/matters/${matterId}/milestones/${m.milestone_id}`), `“${m.title}” was removed.`)
            }
          />
        ))}
      </ol>
      {canEdit && (
        <AddStep
          onAdd={(req) => change(() => api<Timeline>("POST", `/matters/${matterId}/milestones`, req), `“${req.title}” was added.`)}
        />
      )}
    </section>
  );
}

function Step({
  milestone: m,
  current,
  canEdit,
  onSave,
  onRemove,
}: {
  milestone: Milestone;
  current: boolean;
  canEdit: boolean;
  onSave: (req: UpdateMilestoneRequest) => Promise<boolean>;
  onRemove: () => Promise<boolean>;
}) {
  const [editing, setEditing] = useState(false);
  return (
    <li class={`step step-${m.status}${current ? " step-current" : ""}`} data-testid="milestone" aria-current={current ? "step" : undefined}>
      <span class="step-marker" aria-hidden="true" />
      <div class="step-body">
        <p class="step-title">
          {m.title} <span class={`tag status-${m.status}`}>{STATUS_LABELS[m.status]}</span>
        </p>
        {m.completed_on && m.status === "done" ? (
          <p class="muted">Completed {formatDay(m.completed_on)}</p>
        ) : m.expected_on && m.status !== "skipped" ? (
          <p class="muted">Expected by {formatDay(m.expected_on)}</p>
        ) : null}
        {m.note && <p class="step-note">{m.note}</p>}
        {m.client_action && (m.status === "upcoming" || m.status === "in_progress") && (
          <p class={m.action_needed_now ? "step-action" : "step-action step-action-later"}>
            <strong>{m.action_needed_now ? "Your action:" : "Coming up:"}</strong> {m.client_action}
          </p>
        )}
        {canEdit && !editing && (
          <button type="button" class="link" onClick={() => setEditing(true)}>
            Edit<span class="visually-hidden"> {m.title}</span>
          </button>
        )}
        {canEdit && editing && (
          <EditStep
            milestone={m}
            onCancel={() => setEditing(false)}
            onSave={async (req) => {
              if (await onSave(req)) setEditing(false);
            }}
            onRemove={async () => {
              if (confirm(`Remove “${m.title}” from this matter's progress?`)) await onRemove();
            }}
          />
        )}
      </div>
    </li>
  );
}

function EditStep({
  milestone: m,
  onCancel,
  onSave,
  onRemove,
}: {
  milestone: Milestone;
  onCancel: () => void;
  onSave: (req: UpdateMilestoneRequest) => Promise<void>;
  onRemove: () => Promise<void>;
}) {
  const [title, setTitle] = useState(m.title);
  const [status, setStatus] = useState<MilestoneStatus>(m.status);
  const [expected, setExpected] = useState(m.expected_on ?? "");
  const [completed, setCompleted] = useState(m.completed_on ?? "");
  const [note, setNote] = useState(m.note ?? "");
  const [action, setAction] = useState(m.client_action ?? "");
  const [due, setDue] = useState(m.client_action_due);
  const id = (field: string) => `${field}-${m.milestone_id}`;
  return (
    <form
      class="step-edit"
      onSubmit={(e) => {
        e.preventDefault();
        void onSave({
          title: title.trim(),
          status,
          expected_on: expected,
          completed_on: completed,
          note: note.trim(),
          client_action: action.trim(),
          client_action_due: due,
        });
      }}
    >
      <label for={id("title")}>Title the client sees</label>
      <input id={id("title")} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for={id("status")}>Status</label>
      <select id={id("status")} value={status} onChange={(e) => setStatus(e.currentTarget.value as MilestoneStatus)}>
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {STATUS_LABELS[s]}
          </option>
        ))}
      </select>
      <div class="dates">
        <div>
          <label for={id("expected")}>Expected by</label>
          <input id={id("expected")} type="date" value={expected} onInput={(e) => setExpected(e.currentTarget.value)} />
        </div>
        <div>
          <label for={id("completed")}>Completed on</label>
          <input id={id("completed")} type="date" value={completed} onInput={(e) => setCompleted(e.currentTarget.value)} />
        </div>
      </div>
      <label for={id("note")}>Note for the client</label>
      <textarea id={id("note")} rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      <label for={id("action")}>What the client must do (leave empty if nothing)</label>
      <input id={id("action")} value={action} onInput={(e) => setAction(e.currentTarget.value)} />
      <label class="checkbox">
        <input type="checkbox" checked={due} onChange={(e) => setDue(e.currentTarget.checked)} />
        Needed from the client now, ahead of this step
      </label>
      <div class="step-edit-buttons">
        <button type="submit" class="primary" disabled={!title.trim()}>
          Save
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => void onRemove()}>
          Remove step
        </button>
      </div>
    </form>
  );
}

function AddStep({ onAdd }: { onAdd: (req: NewMilestoneRequest) => Promise<boolean> }) {
  const [title, setTitle] = useState("");
  const [action, setAction] = useState("");
  return (
    <form
      class="card add-step"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await onAdd({ title: title.trim(), note: null, client_action: action.trim() || null, expected_on: null, position: null });
        if (ok) {
          setTitle("");
          setAction("");
        }
      }}
    >
      <h2>Add a step</h2>
      <label for="new-step-title">Title the client sees</label>
      <input id="new-step-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for="new-step-action">What the client must do (optional)</label>
      <input id="new-step-action" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
      <button type="submit" class="primary" disabled={!title.trim()}>
        Add step
      </button>
    </form>
  );
}

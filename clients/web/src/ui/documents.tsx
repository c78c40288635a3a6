// A matter's Documents tab (by category, latest version first, history, upload with progress,
// download and inline view; for the firm the review actions) and the firm's review queue.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Category, CurrentSession, Document as MatterDocument, DocumentVersion, MatterId, ReviewItem } from "../protocol";
import { api, describe } from "../lib/api";
import { byCategory, categoryLabel, CATEGORIES, formatSize, uploadFile } from "../lib/documents";
import { fullWhen, shortWhen } from "../lib/format";
import { Notice, PageTitle } from "./page";
import { follow } from "./router";

const STATE_LABELS = { internal: "Internal", pending_review: "Pending review", published: "Published" } as const;

function contentUrl(doc: MatterDocument, v: DocumentVersion, inline: boolean): string {
  return `/api/v1/documents/${doc.document_id}/versions/${v.number}/content${inline ? "?disposition=inline" : ""}`;
}

export function DocumentsTab({
  matterId,
  session,
  canUpload,
}: {
  matterId: MatterId;
  session: CurrentSession;
  canUpload: boolean;
}) {
  const firm = session.user.kind === "firm";
  const [documents, setDocuments] = useState<MatterDocument[]>();
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const load = () =>
    api<MatterDocument[]>("GET", `/matters/${matterId}/documents`)
      .then(setDocuments)
      .catch((e) => setError(describe(e)));
  useEffect(() => {
    void load();
  }, [matterId]);

  const act = async (doc: MatterDocument, v: DocumentVersion, step: "submit" | "publish" | "send-back", body?: unknown) => {
    setError(undefined);
    setDone(undefined);
    try {
      await api("POST", `/documents/${doc.document_id}/versions/${v.number}/${step}`, body ?? {});
      setDone(
        step === "submit"
          ? `“${doc.title}” was submitted for review.`
          : step === "publish"
            ? `“${doc.title}” is now visible to the client.`
            : `“${doc.title}” was sent back.`,
      );
      await load();
    } catch (e) {
      setError(describe(e));
    }
  };

  return (
    <section class="documents" aria-label="Documents">
      {canUpload && (
        <Upload
          matterId={matterId}
          firm={firm}
          onUploaded={(doc) => {
            setDone(firm ? `“${doc.title}” was added as an internal draft.` : `“${doc.title}” was shared with your solicitor.`);
            void load();
          }}
        />
      )}
      <Notice kind="error" text={error} />
      <Notice kind="success" text={done} />
      {!documents && !error && <p class="muted">Loading documents…</p>}
      {documents && documents.length === 0 && <p class="empty">No documents have been shared on this matter yet.</p>}
      {documents &&
        byCategory(documents).map((group) => (
          <section key={group.category} aria-labelledby={`cat-${group.category}`} class="category">
            <h2 id={`cat-${group.category}`}>{group.label}</h2>
            <ul class="cards">
              {group.documents.map((doc) => (
                <DocumentCard key={doc.document_id} doc={doc} firm={firm} onAct={act} />
              ))}
            </ul>
          </section>
        ))}
    </section>
  );
}

function DocumentCard({
  doc,
  firm,
  onAct,
}: {
  doc: MatterDocument;
  firm: boolean;
  onAct: (doc: MatterDocument, v: DocumentVersion, step: "submit" | "publish" | "send-back", body?: unknown) => Promise<void>;
}) {
  const v = doc.current;
  const [reason, setReason] = useState("");
  const [sendingBack, setSendingBack] = useState(false);
  const latest = doc.versions[0];
  return (
    <li class="card document" data-testid="document">
      <p class="card-title">
        {doc.title}
        {firm && <span class={`tag state-${latest.state}`}>{STATE_LABELS[latest.state]}</span>}
      </p>
      <p class="muted">
        Version {v.number} · {formatSize(v.size_bytes)} · {v.uploaded_by.display_name},{" "}
        <time dateTime={v.uploaded_at} title={fullWhen(v.uploaded_at)}>
          {shortWhen(v.uploaded_at)}
        </time>
      </p>
      <p class="doc-actions">
        <a href={contentUrl(doc, v, false)} download={v.filename} class="button-link">
          Download<span class="visually-hidden"> {doc.title}</span>
        </a>
        {v.inline_viewable && (
          <a href={contentUrl(doc, v, true)} target="_blank" rel="noopener" class="button-link">
            View<span class="visually-hidden"> {doc.title}</span>
          </a>
        )}
      </p>
      {firm && latest.review?.sent_back_reason && latest.state === "internal" && (
        <p class="notice notice-info">Sent back: {latest.review.sent_back_reason}</p>
      )}
      {firm && latest.state === "internal" && (
        <button type="button" onClick={() => void onAct(doc, latest, "submit")}>
          Submit version {latest.number} for review
        </button>
      )}
      {firm && latest.state === "pending_review" && (
        <div class="review-actions">
          <button type="button" class="primary" onClick={() => void onAct(doc, latest, "publish")}>
            Publish version {latest.number}
          </button>
          {!sendingBack ? (
            <button type="button" onClick={() => setSendingBack(true)}>
              Send back
            </button>
          ) : (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void onAct(doc, latest, "send-back", { reason });
              }}
            >
              <label for={`reason-${doc.document_id}`}>Why is it going back?</label>
              <textarea id={`reason-${doc.document_id}`} rows={2} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
              <button type="submit" disabled={!reason.trim()}>
                Send back
              </button>
            </form>
          )}
        </div>
      )}
      {doc.versions.length > 1 && (
        <details class="history">
          <summary>Version history ({doc.versions.length})</summary>
          <ol reversed>
            {doc.versions.map((version) => (
              <li key={version.version_id}>
                <a href={contentUrl(doc, version, false)} download={version.filename}>
                  Version {version.number}
                </a>{" "}
                · {fullWhen(version.uploaded_at)}
                {firm ? ` · ${STATE_LABELS[version.state]}` : ""}
              </li>
            ))}
          </ol>
        </details>
      )}
    </li>
  );
}

function Upload({ matterId, firm, onUploaded }: { matterId: MatterId; firm: boolean; onUploaded: (doc: MatterDocument) => void }) {
  const [category, setCategory] = useState<Category | "">("");
  const [file, setFile] = useState<File>();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<string>();
  const input = useRef<HTMLInputElement>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file || !category) return;
    setError(undefined);
    setProgress(0);
    try {
      const params = new URLSearchParams({ filename: file.name, category });
      const doc = await uploadFile<MatterDocument>(`/matters/${matterId}/documents?${params}`, file, setProgress);
      setFile(undefined);
      if (input.current) input.current.value = "";
      onUploaded(doc);
    } catch (err) {
      setError(describe(err));
    } finally {
      setProgress(undefined);
    }
  };
  return (
    <form class="upload card" onSubmit={submit}>
      <h2 class="upload-title">{firm ? "Add a document" : "Send a document to your solicitor"}</h2>
      <label for="upload-file">File</label>
      <input
        id="upload-file"
        ref={input}
        type="file"
        accept=".pdf,.docx,.xlsx,.pptx,.jpg,.jpeg,.png,.gif,.tif,.tiff,.webp,.heic,.txt,.eml,.msg"
        onChange={(e) => setFile(e.currentTarget.files?.[0])}
        aria-describedby="upload-hint"
      />
      <p id="upload-hint" class="hint">
        PDF, Word, Excel, PowerPoint, images, text or e-mail files. Every file is checked for viruses.
      </p>
      <label for="upload-category">Category</label>
      <select id="upload-category" value={category} onChange={(e) => setCategory(e.currentTarget.value as Category)}>
        <option value="">Choose a category</option>
        {CATEGORIES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      {progress !== undefined && (
        <p class="progress-line">
          <progress max={1} value={progress} aria-label="Upload progress" /> {Math.round(progress * 100)}%
        </p>
      )}
      <Notice kind="error" text={error} />
      <button type="submit" class="primary" disabled={!file || !category || progress !== undefined}>
        {progress !== undefined ? "Uploading…" : "Upload"}
      </button>
    </form>
  );
}

/** The firm's queue of versions waiting for review. */
export function ReviewQueue() {
  const [items, setItems] = useState<ReviewItem[]>();
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const load = () =>
    api<ReviewItem[]>("GET", "/documents/review-queue")
      .then(setItems)
      .catch((e) => setError(describe(e)));
  useEffect(() => {
    void load();
  }, []);
  const decide = async (item: ReviewItem, step: "publish" | "send-back", reason?: string) => {
    setError(undefined);
    setDone(undefined);
    try {
      await api("POST", `/documents/${item.document_id}/versions/${item.version.number}/${step}`, reason ? { reason } : {});
      setDone(step === "publish" ? `“${item.title}” is now visible to the client.` : `“${item.title}” was sent back.`);
      await load();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <main id="main" class="page">
      <PageTitle>Documents to review</PageTitle>
      <Notice kind="error" text={error} />
      <Notice kind="success" text={done} />
      {items && items.length === 0 && <p class="empty">Nothing is waiting for review.</p>}
      <ul class="cards">
        {items?.map((item) => (
          <li key={item.version.version_id} class="card" data-testid="review-item">
            <p class="card-title">
              {item.title} <span class="tag">{categoryLabel(item.category)}</span>
            </p>
            <p class="muted">
              <a href={`/matters/${item.matter_id}/documents`} onClick={follow}>
                {item.matter_reference} · {item.matter_title}
              </a>{" "}
              · version {item.version.number} · submitted by {item.version.review?.submitted_by?.display_name ?? "—"}
            </p>
            {item.can_publish ? (
              <ReviewDecision item={item} onDecide={decide} />
            ) : (
              <p class="muted">Needs another reviewer (four eyes).</p>
            )}
          </li>
        ))}
      </ul>
    </main>
  );
}

function ReviewDecision({
  item,
  onDecide,
}: {
  item: ReviewItem;
  onDecide: (item: ReviewItem, step: "publish" | "send-back", reason?: string) => Promise<void>;
}) {
  const [sendingBack, setSendingBack] = useState(false);
  const [reason, setReason] = useState("");
  const id = `reason-${item.version.version_id}`;
  return (
    <div class="review-actions">
      <button type="button" class="primary" onClick={() => void onDecide(item, "publish")}>
        Publish<span class="visually-hidden"> {item.title}</span>
      </button>
      {!sendingBack ? (
        <button type="button" onClick={() => setSendingBack(true)}>
          Send back<span class="visually-hidden"> {item.title}</span>
        </button>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void onDecide(item, "send-back", reason.trim());
          }}
        >
          <label for={id}>Why is it going back?</label>
          <textarea id={id} rows={2} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <button type="submit" disabled={!reason.trim()}>
            Send back with this reason
          </button>
        </form>
      )}
    </div>
  );
}

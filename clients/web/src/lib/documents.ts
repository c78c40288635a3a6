// Documents as the pages show them: category names and order, sizes, grouping, and uploads with
// progress (XMLHttpRequest, because fetch cannot report upload progress).

import type { Category, Document } from "../protocol";
import { ApiError, csrfToken, toError } from "./api";

/** Every category, in the order the Documents tab shows them, with its name for people. */
export const CATEGORIES: { value: Category; label: string }[] = [
  { value: "correspondence", label: "Correspondence" },
  { value: "contracts", label: "Contracts" },
  { value: "court_documents", label: "Court documents" },
  { value: "financial", label: "Financial" },
  { value: "identity_verification", label: "Identity and verification" },
  { value: "other", label: "Other" },
];

export function categoryLabel(category: Category): string {
  return CATEGORIES.find((c) => c.value === category)?.label ?? category;
}

/** "1.2 MB", "340 KB", "12 bytes". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? "" : "s"}`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The documents by category (in category order), newest version first within each. */
export function byCategory(documents: Document[]): { category: Category; label: string; documents: Document[] }[] {
  return CATEGORIES.map(({ value, label }) => ({
    category: value,
    label,
    documents: documents
      .filter((d) => d.category === value)
      .sort((a, b) => b.current.uploaded_at.localeCompare(a.current.uploaded_at)),
  })).filter((group) => group.documents.length > 0);
}

/** Uploads `file` as the raw body of a POST to `/api/v1{path}`, reporting progress 0..1. */
export function uploadFile<T>(path: string, file: Blob, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1${path}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    const token = csrfToken(document.cookie);
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText) as T);
      } else {
        reject(toError(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload was interrupted. Check your connection and try again."));
    xhr.send(file);
  });
}

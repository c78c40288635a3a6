// Pieces every page uses: its focused main heading, and notices in a live region.

import { useEffect, useRef } from "preact/hooks";

/** The page's main heading, focused when the page appears so screen readers announce it. */
export function PageTitle({ children }: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · Docket`;
    ref.current?.focus();
  }, [children]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** An error or notice in a live region. */
export function Notice({ kind, text }: { kind: "error" | "info" | "success"; text?: string }) {
  return (
    <p class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} hidden={!text}>
      {text}
    </p>
  );
}

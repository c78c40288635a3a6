// Billing pages: a matter's Billing tab, and the client's Account & billing page across all
// their matters (where finance users land). Both follow the channel: when an invoice or payment
// card arrives they fetch the summary again, so a payment shows as the server recorded it.

import { useEffect, useState } from "preact/hooks";
import type { CurrentSession, MatterId, MatterSummary } from "../protocol";
import type { BillingSummary, Invoice } from "../protocol";
import { api, ApiError, describe } from "../lib/api";
import { byMatter } from "../lib/billing";
import type { Channel } from "../lib/channel";
import { Balance, InvoiceList, PaymentList, Schedule, TimeEntries } from "./invoices";
import { Notice, PageTitle } from "./page";
import { PaySheet } from "./pay";
import { follow } from "./router";

/** A billing summary from `path` (none fetched while undefined), fetched again when `refresh` moves. */
export function useBilling(path: string | undefined, refresh: number) {
  const [summary, setSummary] = useState<BillingSummary>();
  const [error, setError] = useState<string>();
  const [forbidden, setForbidden] = useState(false);
  const [again, setAgain] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    api<BillingSummary>("GET", path)
      .then((s) => {
        if (!live) return;
        setSummary(s);
        setError(undefined);
      })
      .catch((e) => {
        if (!live) return;
        if (e instanceof ApiError && e.code === "forbidden") setForbidden(true);
        else setError(describe(e));
      });
    return () => {
      live = false;
    };
  }, [path, refresh, again]);
  return { summary, error, forbidden, reload: () => setAgain((n) => n + 1) };
}

/** Whom a Pay press is for. */
interface Paying {
  invoiceId: string;
  number: string;
  matterId: MatterId;
}

export function BillingTab({ matterId, channel, canPay }: { matterId: MatterId; channel: Channel; canPay: boolean }) {
  const { summary, error, forbidden, reload } = useBilling(`/matters/${matterId}/billing`, channel.conversation(matterId).latestBilling());
  const [paying, setPaying] = useState<Paying>();
  const pay = (i: Invoice) => setPaying({ invoiceId: i.invoice_id, number: i.number, matterId });
  return (
    <section class="billing" aria-label="Billing">
      <Notice kind="error" text={error} />
      {forbidden && <p class="empty">Invoices on this matter are not shared with you.</p>}
      {!summary && !error && !forbidden && <p class="muted">Loading billing…</p>}
      {summary && (
        <>
          <Balance summary={summary} statement={{ of: "matters", id: matterId }} />
          <h2>Invoices</h2>
          <InvoiceList invoices={summary.invoices} canPay={canPay} onPay={pay} />
          <h2>Payments</h2>
          <PaymentList payments={summary.payments} currency={summary.currency} />
          <h2>Planned bills</h2>
          <Schedule items={summary.schedule} currency={summary.currency} />
          {summary.time_entries && (
            <>
              <h2>Time recorded</h2>
              <TimeEntries entries={summary.time_entries} currency={summary.currency} />
            </>
          )}
        </>
      )}
      {paying && <PaySheet {...paying} channel={channel} onClose={() => (setPaying(undefined), reload())} />}
    </section>
  );
}

/** The client's Account & billing page: every matter whose invoices the viewer may see. */
export function AccountBilling({ session, channel, matters }: { session: CurrentSession; channel: Channel; matters?: MatterSummary[] }) {
  const clientId = session.user.client_id ?? undefined;
  const { summary, error, forbidden, reload } = useBilling(clientId && `/clients/${clientId}/billing`, channel.billingVersion());
  const [paying, setPaying] = useState<Paying>();
  const matter = (id: string) => matters?.find((m) => m.matter_id === id);
  const label = (id: string) => matter(id)?.reference ?? "another matter";
  const canPay = session.user.kind === "client";
  return (
    <main id="main" class="page billing-page">
      <PageTitle>Account & billing</PageTitle>
      {matters?.[0] && <p class="muted">{matters[0].client_name}: what is owed across your matters, and why.</p>}
      <Notice kind="error" text={error} />
      {(forbidden || !clientId) && (
        <p class="empty">
          Invoices are not shared with you. Your firm or your organisation's administrator can give you access.
        </p>
      )}
      {!summary && !error && !forbidden && clientId && <p class="muted">Loading billing…</p>}
      {summary && clientId && (
        <>
          <Balance summary={summary} statement={{ of: "clients", id: clientId }} />
          <h2>Invoices</h2>
          {summary.invoices.length === 0 && <p class="empty">No invoices yet.</p>}
          {byMatter(summary)
            .filter((g) => g.invoices.length > 0)
            .map((g) => (
              <section key={g.matterId} class="matter-bills" aria-labelledby={`bills-${g.matterId}`}>
                <h3 id={`bills-${g.matterId}`}>
                  {g.reference}
                  {matter(g.matterId) && <span class="muted"> · {matter(g.matterId)?.title}</span>}
                </h3>
                <p class="muted">
                  <a href={`/matters/${g.matterId}/billing`} onClick={follow}>
                    Billing on {g.reference}
                  </a>
                </p>
                <InvoiceList
                  invoices={g.invoices}
                  canPay={canPay}
                  onPay={(i) => setPaying({ invoiceId: i.invoice_id, number: i.number, matterId: i.matter_id })}
                />
              </section>
            ))}
          <h2>Payments</h2>
          <PaymentList payments={summary.payments} currency={summary.currency} matterLabel={label} />
          <h2>Planned bills</h2>
          <Schedule items={summary.schedule} currency={summary.currency} matterLabel={label} />
          {summary.time_entries && summary.time_entries.length > 0 && (
            <>
              <h2>Time recorded</h2>
              <TimeEntries entries={summary.time_entries} currency={summary.currency} matterLabel={label} />
            </>
          )}
        </>
      )}
      {paying && <PaySheet {...paying} channel={channel} onClose={() => (setPaying(undefined), reload())} />}
    </main>
  );
}

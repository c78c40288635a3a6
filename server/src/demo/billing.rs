//! The demo firm's billing: service accounts for its billing system and DMS (their tokens kept in
//! the demo folder so the demo's own scripts and tests can call the integration endpoints), and
//! invoices in the state a real month leaves them: one part-paid by bank transfer with time
//! entries and planned stages, a request for money on account (client money: not payable by
//! card), one paid, and the private client's outstanding bill.

use docket_protocol::billing::{
    InvoiceKind, LineKind, NewInvoice, NewInvoiceLine, NewScheduleItem, NewTimeEntry, NewTransfer,
    ScheduleKind,
};
use docket_protocol::ids::{MatterId, UserId};
use docket_protocol::integrations::{NewServiceAccountRequest, ServiceScope};
use time::{Duration, OffsetDateTime};

use super::demo_text;
use crate::billing::record;
use crate::dates::format_date;
use crate::db::{RequestContext, Tenant};
use crate::startup::AppState;
use crate::{admin, integrations, practice_areas};

/// A service account's token, shown once at its creation.
#[derive(Debug, Clone)]
pub struct DemoToken {
    pub name: String,
    pub scopes: String,
    pub token: String,
}

/// Creates the billing system's and the DMS's accounts; returns their tokens.
pub async fn service_accounts(
    tenant: &mut Tenant,
    now: OffsetDateTime,
) -> anyhow::Result<(UserId, Vec<DemoToken>)> {
    let mut tokens = Vec::new();
    let mut billing = None;
    for (name, scope) in [
        ("Billing system", ServiceScope::Billing),
        ("Document management", ServiceScope::Dms),
    ] {
        let created = integrations::create(
            tenant,
            &NewServiceAccountRequest {
                name: demo_text(name),
                scopes: vec![scope],
                expires_at: None,
            },
            now,
        )
        .await?;
        if scope == ServiceScope::Billing {
            billing = Some(created.account.service_id);
        }
        tokens.push(DemoToken {
            name: name.into(),
            scopes: scope.as_str().into(),
            token: created.token,
        });
    }
    Ok((billing.expect("a billing account"), tokens))
}

fn line(kind: LineKind, description: &str, pence: i64, paid: Option<bool>) -> NewInvoiceLine {
    NewInvoiceLine {
        kind,
        description: demo_text(description),
        amount_minor: pence,
        paid,
    }
}

/// Seeds the invoices, acting as the billing system's account (so the cards and the audit trail
/// name it, as they would for real imports).
pub async fn invoices(app: &AppState, billing: UserId, now: OffsetDateTime) -> anyhow::Result<()> {
    let ctx = RequestContext {
        actor: Some(billing),
        ..Default::default()
    };
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, ctx).await?;
    let lease = admin::matter_by_reference(&mut tenant, "CP-1001").await?.0;
    let northgate = admin::matter_by_reference(&mut tenant, "CP-1002").await?.0;
    let flat = admin::matter_by_reference(&mut tenant, "CP-3001").await?.0;
    let today = now.date();
    let bill = |matter: MatterId, issued: i64, kind, lines| NewInvoice {
        matter_id: matter,
        kind,
        issued_on: format_date(today - Duration::days(issued)),
        due_on: format_date(today - Duration::days(issued) + Duration::days(30)),
        currency: None,
        lines,
        amendment: None,
    };
    let invoices = [
        (
            "INV-1001",
            bill(
                lease,
                21,
                InvoiceKind::Bill,
                vec![
                    line(
                        LineKind::Fee,
                        "Acting on the lease: negotiating heads of terms and the draft lease",
                        200_000,
                        None,
                    ),
                    line(LineKind::Vat, "VAT at 20% on fees", 40_000, None),
                    line(
                        LineKind::Disbursement,
                        "Land Registry official copies",
                        1_400,
                        Some(true),
                    ),
                ],
            ),
        ),
        (
            "OA-1001",
            bill(
                lease,
                7,
                InvoiceKind::OnAccount,
                vec![line(
                    LineKind::Fee,
                    "Money on account of costs to completion",
                    500_000,
                    None,
                )],
            ),
        ),
        (
            "INV-1002",
            bill(
                northgate,
                45,
                InvoiceKind::Bill,
                vec![
                    line(
                        LineKind::Fee,
                        "Due diligence report on the Northgate office block",
                        350_000,
                        None,
                    ),
                    line(LineKind::Vat, "VAT at 20% on fees", 70_000, None),
                ],
            ),
        ),
        (
            "INV-3001",
            bill(
                flat,
                10,
                InvoiceKind::Bill,
                vec![
                    line(
                        LineKind::Fee,
                        "Purchase of the flat: searches, enquiries and report on title",
                        95_000,
                        None,
                    ),
                    line(LineKind::Vat, "VAT at 20% on fees", 19_000, None),
                    line(
                        LineKind::Disbursement,
                        "Local authority search",
                        11_000,
                        Some(true),
                    ),
                ],
            ),
        ),
    ];
    for (number, invoice) in &invoices {
        record::issue_invoice(&mut tenant, None, number, invoice, now).await?;
    }
    for (external_id, number, pence) in [
        ("BANK-20451", "INV-1001", 100_000),
        ("BANK-20467", "INV-1002", 420_000),
    ] {
        let transfer = NewTransfer {
            invoice_number: demo_text(number),
            amount_minor: pence,
        };
        record::record_transfer(&mut tenant, None, external_id, &transfer, now).await?;
    }
    for (n, (days_ago, minutes, description)) in [
        (30, 90, "Reviewing the landlord's heads of terms"),
        (27, 48, "Call with the client on the break clause"),
        (24, 150, "Drafting comments on the draft lease"),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = NewTimeEntry {
            matter_id: lease,
            invoice_number: Some(demo_text("INV-1001")),
            worked_on: format_date(today - Duration::days(days_ago)),
            fee_earner: demo_text("Fee Earner A"),
            description: demo_text(description),
            minutes: minutes as u32,
            value_minor: i64::from(minutes) * 25_000 / 60,
        };
        record::time_entry(&mut tenant, None, &format!("T-{}", n + 1), &entry, now).await?;
    }
    for (external_id, days_ahead, pence, description) in [
        (
            "S-1001-2",
            30,
            150_000,
            "Stage 2: agreeing the lease and exchange",
        ),
        (
            "S-1001-3",
            60,
            90_000,
            "Stage 3: completion and registration",
        ),
    ] {
        let item = NewScheduleItem {
            matter_id: lease,
            planned_on: format_date(today + Duration::days(days_ahead)),
            amount_minor: pence,
            description: demo_text(description),
            kind: ScheduleKind::Phase,
            status: None,
            invoice_number: None,
        };
        record::schedule_item(&mut tenant, None, external_id, &item, now).await?;
    }
    tenant.commit().await?;
    Ok(())
}

/// Shows time entries to clients in the practice area the invoices are in.
pub async fn show_time_entries(tenant: &mut Tenant) -> anyhow::Result<()> {
    let id = sqlx::query_scalar!(
        "select practice_area_id from practice_area where name = 'Commercial property'"
    )
    .fetch_one(tenant.conn())
    .await?;
    practice_areas::set_show_time_entries(tenant, id.into(), true).await?;
    Ok(())
}

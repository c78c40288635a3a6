//! `docket admin billing reconcile`: the payments of a period as CSV for the firm's accounts, with
//! what Stripe kept and paid out for each card payment.

use std::fmt::Write as _;

use time::Time;

use super::statement::csv_cell;
use crate::dates::{format_date, required_date};
use crate::db::Tenant;
use crate::startup::AppState;

/// The CSV of payments recorded from `from` to `to` (inclusive dates); fees, nets and payouts are
/// asked of Stripe (and kept on the payment rows) when card payments are configured.
pub async fn reconcile(
    app: &AppState,
    tenant: &mut Tenant,
    from: &str,
    to: &str,
) -> anyhow::Result<String> {
    let from = required_date(from, "--from").map_err(|e| anyhow::anyhow!("{e}"))?;
    let to = required_date(to, "--to").map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(from <= to, "--from must not be after --to");
    let start = from.with_time(Time::MIDNIGHT).assume_utc();
    let end = (to + time::Duration::days(1))
        .with_time(Time::MIDNIGHT)
        .assume_utc();
    if let Some(gateway) = &app.payments {
        let charges: Vec<String> = sqlx::query_scalar!(
            r#"select charge_id as "charge_id!" from payment
               where created_at >= $1 and created_at < $2 and charge_id is not null
                 and (fee_minor is null or payout_id is null)"#,
            start,
            end
        )
        .fetch_all(tenant.conn())
        .await?;
        if !charges.is_empty() {
            let settled = gateway
                .settlements(&charges, start.unix_timestamp())
                .await
                .map_err(|e| anyhow::anyhow!("asking Stripe: {}", e.public_body().message))?;
            for (charge, settlement) in settled {
                sqlx::query!(
                    "update payment set fee_minor = $2, payout_id = coalesce($3, payout_id) where charge_id = $1",
                    charge,
                    settlement.fee_minor,
                    settlement.payout_id,
                )
                .execute(tenant.conn())
                .await?;
            }
        }
    }
    let rows = sqlx::query!(
        r#"select p.payment_id, p.created_at, i.number, m.reference, p.method, p.status, p.amount_minor,
                  p.refunded_minor, p.fee_minor, p.payout_id, p.payment_intent_id, p.charge_id, p.external_id
           from payment p join invoice i using (invoice_id) join matter m on m.matter_id = p.matter_id
           where p.created_at >= $1 and p.created_at < $2
           order by p.created_at, p.payment_id"#,
        start,
        end
    )
    .fetch_all(tenant.conn())
    .await?;
    let money = |minor: i64| {
        format!(
            "{}{}.{:02}",
            if minor < 0 { "-" } else { "" },
            minor.unsigned_abs() / 100,
            minor.unsigned_abs() % 100
        )
    };
    let mut out = String::from(
        "date,payment_id,invoice,matter,method,status,amount,refunded,stripe_fee,net,payout_id,payment_intent,charge,reference\r\n",
    );
    for r in rows {
        let received =
            if r.status == "succeeded" || r.status == "refunded" || r.status == "disputed" {
                r.amount_minor - r.refunded_minor
            } else {
                0
            };
        let cells = [
            format_date(r.created_at.date()),
            r.payment_id.to_string(),
            r.number,
            r.reference,
            r.method,
            r.status,
            money(r.amount_minor),
            money(r.refunded_minor),
            r.fee_minor.map(money).unwrap_or_default(),
            money(received - r.fee_minor.unwrap_or(0)),
            r.payout_id.unwrap_or_default(),
            r.payment_intent_id.unwrap_or_default(),
            r.charge_id.unwrap_or_default(),
            r.external_id.unwrap_or_default(),
        ];
        let _ = write!(
            out,
            "{}\r\n",
            cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    Ok(out.trim_end().to_owned())
}

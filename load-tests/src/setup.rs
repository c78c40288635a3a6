//! Signing in the demo users the scenarios act as, and creating matters for the many-matter runs.

use std::time::Duration;

use anyhow::{bail, Context};
use docket_client::Client;
use docket_server::auth::totp;

use crate::{Cli, Scenario};

/// What the parent hands to its workers.
#[derive(Debug)]
pub struct Prepared {
    /// `subscriber_token,publisher_token`.
    pub tokens: String,
    /// Between everyone being ready and the measured run starting.
    pub warmup: Duration,
}

struct Login {
    email: String,
    secret: Vec<u8>,
}

fn logins(path: &std::path::Path) -> anyhow::Result<Vec<Login>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| l.contains("TOTP secret"))
        .map(|l| {
            let email = l.split_whitespace().next().context("email")?.to_owned();
            let secret = l.rsplit(' ').next().context("secret")?;
            Ok(Login {
                email,
                secret: data_encoding::BASE32_NOPAD.decode(secret.as_bytes())?,
            })
        })
        .collect()
}

/// Signs in a demo user by e-mail prefix; returns the session token.
async fn sign_in(cli: &Cli, who: &str) -> anyhow::Result<String> {
    let logins = logins(&cli.common.logins)?;
    let login = logins
        .iter()
        .find(|l| l.email.starts_with(who))
        .with_context(|| format!("no demo user {who}"))?;
    let mut client = Client::new(&cli.common.url);
    client
        .sign_in(&login.email, docket_server::demo::DEMO_PASSWORD)
        .await?;
    // A run moments ago may have used this step's code (refused as a replay): then the next
    // one, and failing both, wait for a fresh step.
    for _ in 0..3 {
        let step = totp::step_at(time::OffsetDateTime::now_utc());
        for candidate in [step, step + 1] {
            if client
                .verify_totp(&totp::code_for_step(&login.secret, candidate))
                .await
                .is_ok()
            {
                return Ok(client.token().context("token")?.to_owned());
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    bail!("{who} could not complete MFA")
}

/// Signs in the partner (who sees every matter: the subscribers) and a fee earner (publisher).
pub async fn prepare(cli: &Cli) -> anyhow::Result<Prepared> {
    let subscriber = sign_in(cli, "partner@").await?;
    let publisher = sign_in(cli, "fee.earner.a@").await?;
    if let Scenario::Matters { matters, .. }
    | Scenario::Sends { matters, .. }
    | Scenario::Idle { matters, .. } = &cli.scenario
    {
        if *matters > 0 {
            ensure_matters(cli, &subscriber, *matters).await?;
        }
    }
    let warmup = Duration::from_secs(1);
    Ok(Prepared {
        tokens: format!("{subscriber},{publisher}"),
        warmup,
    })
}

/// Makes sure at least `count` benchmark matters (reference `BENCH-<n>`) exist.
async fn ensure_matters(cli: &Cli, partner_token: &str, count: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", cli.common.url))
            .bearer_auth(partner_token)
            .send()
    };
    let matters: serde_json::Value = get("/api/v1/matters").await?.json().await?;
    let existing = matters.as_array().map_or(0, |m| {
        m.iter()
            .filter(|m| {
                m["reference"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("BENCH-"))
            })
            .count()
    });
    if existing >= count {
        return Ok(());
    }
    let clients: serde_json::Value = get("/api/v1/clients").await?.json().await?;
    let areas: serde_json::Value = get("/api/v1/practice-areas").await?.json().await?;
    let fee_earner_a = matters
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["responsible_fee_earner"]["display_name"] == "Fee Earner A")
        })
        .context("a matter of Fee Earner A")?["responsible_fee_earner"]["user_id"]
        .clone();
    let area = areas
        .as_array()
        .and_then(|a| a.iter().find(|a| a["portal_enabled"] == true))
        .context("an enabled area")?["practice_area_id"]
        .clone();
    let client = clients[0]["client_id"].clone();
    for n in existing..count {
        let body = serde_json::json!({
            "reference": format!("BENCH-{n}"), "title": format!("Benchmark matter {n}"), "client_id": client,
            "practice_area_id": area, "responsible_fee_earner_id": fee_earner_a,
        });
        let response = http
            .post(format!("{}/api/v1/matters", cli.common.url))
            .bearer_auth(partner_token)
            .json(&body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("creating a benchmark matter: {}", response.text().await?);
        }
    }
    Ok(())
}

/// The benchmark matters' ids (or, with none requested, one demo matter of Fee Earner A).
pub async fn matter_ids(
    cli: &Cli,
    token: &str,
    count: usize,
) -> anyhow::Result<Vec<docket_protocol::ids::MatterId>> {
    let client = Client::with_token(&cli.common.url, token);
    let matters = client.matters().await?;
    let mut ids: Vec<_> = matters
        .iter()
        .filter(|m| m.reference.starts_with("BENCH-"))
        .map(|m| m.matter_id)
        .collect();
    if count <= 1 || ids.is_empty() {
        ids = matters
            .iter()
            .filter(|m| m.reference == "CP-1001")
            .map(|m| m.matter_id)
            .collect();
    }
    ids.truncate(count.max(1));
    Ok(ids)
}

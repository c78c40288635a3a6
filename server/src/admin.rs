//! What a practice manager does from the command line before the web admin exists: practice
//! areas, firm users, clients, client users, matters and grants; service accounts; and key
//! rotation.
//!
//! Commands run on the owner connection (the server machine's operator is trusted with the whole
//! database), but through the same domain functions as the API, so validation and audit rows are
//! identical. Audit rows written here have no actor: the operator acted, not a portal user.

use anyhow::Context;
use docket_protocol::directory::{
    ClientKind, ClientRole, CreateClientRequest, CreateMatterRequest, DetailLevel, FirmRole, Scope,
    Sensitivity,
};
use docket_protocol::ids::{ClientId, MatterId, PracticeAreaId, UserId};
use docket_protocol::integrations::{NewServiceAccountRequest, ServiceAccount, ServiceScope};
use docket_protocol::text::Text;

use crate::audit::{self, AuditRecord};
use crate::auth::rekey;
use crate::billing::admin as billing_admin;
use crate::clients::{self, NewUser};
use crate::db::{RequestContext, Tenant};
use crate::outbox::{self, Announcement, Control};
use crate::startup::AppState;
use crate::{access, billing, integrations, matters, practice_areas, vault, Error};

/// One admin command.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Add a practice area.
    CreatePracticeArea {
        #[arg(long)]
        name: String,
        /// Switch the client portal on for this area now.
        #[arg(long)]
        portal_enabled: bool,
        #[arg(long, default_value = "high_level", value_parser = parse_wire::<DetailLevel>)]
        detail_level: DetailLevel,
    },
    /// Switch the portal on or off for a practice area (the phased rollout).
    SetPortal {
        #[arg(long)]
        practice_area: String,
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// Show or hide the time entries of a practice area's matters to clients (audited).
    SetTimeEntries {
        #[arg(long)]
        practice_area: String,
        #[arg(long, action = clap::ArgAction::Set)]
        show: bool,
    },
    /// Invite a member of the firm (the invitation e-mail goes to the mail spool).
    CreateFirmUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_wire::<FirmRole>)]
        role: FirmRole,
    },
    /// Add a client.
    CreateClient {
        #[arg(long, value_parser = parse_wire::<ClientKind>)]
        kind: ClientKind,
        #[arg(long, value_parser = parse_text)]
        name: Text,
    },
    /// Invite a user of a client.
    InviteClientUser {
        /// The client's name or id.
        #[arg(long)]
        client: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_wire::<ClientRole>)]
        role: ClientRole,
    },
    /// Open a matter.
    CreateMatter {
        #[arg(long, value_parser = parse_text)]
        reference: Text,
        #[arg(long, value_parser = parse_text)]
        title: Text,
        /// The client's name or id.
        #[arg(long)]
        client: String,
        /// The practice area's name.
        #[arg(long)]
        practice_area: String,
        /// The responsible fee earner's e-mail.
        #[arg(long)]
        responsible: String,
        /// Further team members' e-mails.
        #[arg(long)]
        team: Vec<String>,
        #[arg(long, default_value = "standard", value_parser = parse_wire::<Sensitivity>)]
        sensitivity: Sensitivity,
    },
    /// Grant a client user (member) scopes on a matter.
    Grant {
        /// The matter's reference.
        #[arg(long)]
        matter: String,
        /// The client user's e-mail.
        #[arg(long)]
        user: String,
        /// Comma-separated: messages,documents,milestones,invoices.
        #[arg(long, value_delimiter = ',', value_parser = parse_wire::<Scope>)]
        scopes: Vec<Scope>,
    },
    /// Revoke a client user's grant on a matter.
    Revoke {
        #[arg(long)]
        matter: String,
        #[arg(long)]
        user: String,
    },
    /// After replacing the key-encryption key (old one in DOCKET_PREVIOUS_KEY_ENCRYPTION_KEYS):
    /// re-seal every matter key and TOTP secret under the current key.
    RotateKeys,
    /// The outbox of announcements awaiting delivery.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Service accounts for the firm's systems (billing, DMS).
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Invoices and payments.
    #[command(subcommand)]
    Billing(BillingCommand),
}

/// `docket admin billing ...`.
#[derive(Debug, clap::Subcommand)]
pub enum BillingCommand {
    /// Import invoices from a JSON file: an array of invoices as the billing API takes them, each
    /// with its `number` and its matter as `matter` (the reference) or `matter_id`. All or
    /// nothing, and idempotent: an invoice already issued with the same contents changes nothing.
    /// Acted as the firm's (oldest active) billing service account, like an API import.
    Import {
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Payments received between two dates (inclusive) as CSV, with Stripe's fee, the net amount
    /// and the payout that carried each card payment (asked of Stripe when it is configured).
    Reconcile {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
    },
}

/// `docket admin service ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ServiceCommand {
    /// Create a service account and print its token (shown this once; stored only as a digest).
    Create {
        /// How the audit trail names it, e.g. "Billing system".
        #[arg(long, value_parser = parse_text)]
        name: Text,
        /// Comma-separated: billing,dms.
        #[arg(long, value_delimiter = ',', value_parser = parse_wire::<ServiceScope>, required = true)]
        scopes: Vec<ServiceScope>,
        /// When the token stops working (RFC 3339, e.g. 2027-06-30T00:00:00Z).
        #[arg(long, value_parser = parse_time)]
        expires_at: Option<time::OffsetDateTime>,
    },
    /// List the service accounts (never their tokens).
    List,
    /// Revoke a service account's token at once.
    Revoke {
        /// The account's id, from `list`.
        service_id: uuid::Uuid,
    },
}

/// `docket admin outbox ...`.
#[derive(Debug, clap::Subcommand)]
pub enum OutboxCommand {
    /// List the rows still pending and those dead-lettered, with their last error.
    List,
    /// Make a row due again with a fresh count of attempts (after fixing its cause).
    Replay {
        /// The row's id, from `list`.
        #[arg(required_unless_present = "dead", conflicts_with = "dead")]
        outbox_id: Option<uuid::Uuid>,
        /// Every dead row instead.
        #[arg(long)]
        dead: bool,
    },
}

/// One outbox row on one line: its state, id, kind and attempts, and why it last failed.
fn describe_row(row: &outbox::admin::Row) -> String {
    let at = rfc3339;
    format!(
        "{} {} {} consumer={} matter={} attempts={} created={} next={}{}",
        row.state,
        row.outbox_id,
        row.kind,
        row.consumer,
        row.matter_id.map_or("-".to_owned(), |m| m.to_string()),
        row.attempts,
        at(row.created_at),
        at(row.next_attempt_at),
        row.last_error
            .as_deref()
            .map_or(String::new(), |e| format!(" error={e:?}")),
    )
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2027-06-30T00:00:00Z)"))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One service account on one line.
fn describe_account(account: &ServiceAccount) -> String {
    let scopes: Vec<&str> = account.scopes.iter().map(|s| s.as_str()).collect();
    format!(
        "{} {:?} scopes={} created={} expires={} revoked={} last_used={}",
        account.service_id,
        account.name,
        scopes.join(","),
        rfc3339(account.created_at),
        account.expires_at.map_or("-".to_owned(), rfc3339),
        account.revoked_at.map_or("-".to_owned(), rfc3339),
        account.last_used_at.map_or("-".to_owned(), rfc3339),
    )
}

/// Command-line text is held to the same rules as text from the API.
fn parse_text(s: &str) -> Result<Text, String> {
    Text::new(s).map_err(|e| e.to_string())
}

fn parse_wire<T: std::str::FromStr<Err = docket_protocol::directory::UnknownName>>(
    s: &str,
) -> Result<T, String> {
    s.parse()
        .map_err(|e: docket_protocol::directory::UnknownName| e.to_string())
}

/// Runs one command on `app` (whose pool is the owner's) and returns what to print.
pub async fn run(app: &AppState, command: AdminCommand) -> anyhow::Result<String> {
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, RequestContext::system()).await?;
    let mut mail = None;
    let output = match command {
        AdminCommand::CreatePracticeArea {
            name,
            portal_enabled,
            detail_level,
        } => {
            let id =
                practice_areas::insert(tenant.conn(), &name, portal_enabled, detail_level).await?;
            format!("practice area {id}")
        }
        AdminCommand::SetPortal {
            practice_area,
            enabled,
        } => {
            tenant.announce(Announcement::Control(Control::PolicyChanged));
            practice_areas::set_portal_enabled(tenant.conn(), &practice_area, enabled)
                .await
                .context("no such practice area")?;
            format!(
                "portal {} for {practice_area}",
                if enabled { "enabled" } else { "disabled" }
            )
        }
        AdminCommand::SetTimeEntries {
            practice_area,
            show,
        } => {
            let id = practice_area_id(&mut tenant, &practice_area).await?;
            practice_areas::set_show_time_entries(&mut tenant, id, show).await?;
            format!(
                "time entries {} to clients in {practice_area}",
                if show { "shown" } else { "hidden" }
            )
        }
        AdminCommand::CreateFirmUser { email, name, role } => {
            let (invited, email) =
                clients::invite_user(app, &mut tenant, NewUser::Firm { role }, &email, &name)
                    .await?;
            mail = Some(email);
            format!(
                "firm user {} invited (invitation e-mail in the mail spool)",
                invited.user_id
            )
        }
        AdminCommand::CreateClient { kind, name } => {
            let client =
                clients::insert_client(&mut tenant, &CreateClientRequest { kind, name }).await?;
            format!("client {}", client.client_id)
        }
        AdminCommand::InviteClientUser {
            client,
            email,
            name,
            role,
        } => {
            let client_id = client_id(&mut tenant, &client).await?;
            let (invited, email) = clients::invite_user(
                app,
                &mut tenant,
                NewUser::Client { client_id, role },
                &email,
                &name,
            )
            .await?;
            mail = Some(email);
            format!(
                "client user {} invited (invitation e-mail in the mail spool)",
                invited.user_id
            )
        }
        AdminCommand::CreateMatter {
            reference,
            title,
            client,
            practice_area,
            responsible,
            team,
            sensitivity,
        } => {
            let request = CreateMatterRequest {
                reference,
                title,
                client_id: client_id(&mut tenant, &client).await?,
                practice_area_id: practice_area_id(&mut tenant, &practice_area).await?,
                responsible_fee_earner_id: user_id(&mut tenant, &responsible).await?,
                sensitivity,
                team: {
                    let mut ids = Vec::new();
                    for email in &team {
                        ids.push(user_id(&mut tenant, email).await?);
                    }
                    ids
                },
            };
            format!(
                "matter {}",
                matters::insert_matter(&mut tenant, &request).await?
            )
        }
        AdminCommand::Grant {
            matter,
            user,
            scopes,
        } => {
            let (matter_id, client) = matter_by_reference(&mut tenant, &matter).await?;
            let user_id = user_id(&mut tenant, &user).await?;
            access::upsert_grant(&mut tenant, matter_id, client, user_id, scopes).await?;
            format!("granted {user} on {matter}")
        }
        AdminCommand::Revoke { matter, user } => {
            let (matter_id, client) = matter_by_reference(&mut tenant, &matter).await?;
            let user_id = user_id(&mut tenant, &user).await?;
            access::delete_grant(&mut tenant, matter_id, client, user_id).await?;
            format!("revoked {user} on {matter}")
        }
        AdminCommand::RotateKeys => rotate_keys(app, &mut tenant).await?,
        AdminCommand::Outbox(OutboxCommand::List) => {
            let rows = outbox::admin::list(tenant.conn()).await?;
            if rows.is_empty() {
                "the outbox is empty".to_owned()
            } else {
                rows.iter().map(describe_row).collect::<Vec<_>>().join("\n")
            }
        }
        AdminCommand::Outbox(OutboxCommand::Replay { outbox_id, .. }) => {
            let replayed = outbox::admin::replay(tenant.conn(), outbox_id)
                .await
                .map_err(|e| match e {
                    Error::NotFound => anyhow::anyhow!("no such outbox row"),
                    other => other.into(),
                })?;
            audit::record(
                &mut tenant,
                AuditRecord::new("outbox.replayed").detail(serde_json::json!({ "rows": replayed })),
            )
            .await?;
            format!("{} outbox row(s) due again", replayed.len())
        }
        AdminCommand::Service(ServiceCommand::Create {
            name,
            scopes,
            expires_at,
        }) => {
            let request = NewServiceAccountRequest {
                name,
                scopes,
                expires_at,
            };
            let created = integrations::create(&mut tenant, &request, app.clock.now()).await?;
            format!(
                "{}\ntoken (shown once, keep it in the system's secret store): {}",
                describe_account(&created.account),
                created.token
            )
        }
        AdminCommand::Billing(BillingCommand::Import { file }) => {
            import_invoices(app, &mut tenant, &file).await?
        }
        AdminCommand::Billing(BillingCommand::Reconcile { from, to }) => {
            billing_admin::reconcile(app, &mut tenant, &from, &to).await?
        }
        AdminCommand::Service(ServiceCommand::List) => integrations::list(&mut tenant)
            .await?
            .iter()
            .map(describe_account)
            .collect::<Vec<_>>()
            .join("\n"),
        AdminCommand::Service(ServiceCommand::Revoke { service_id }) => {
            let account = integrations::revoke(&mut tenant, UserId(service_id), app.clock.now())
                .await
                .map_err(|e| match e {
                    Error::NotFound => anyhow::anyhow!("no such service account"),
                    other => other.into(),
                })?;
            describe_account(&account)
        }
    };
    tenant.commit().await?;
    if let Some(email) = mail {
        app.mailer.send(email).await?;
    }
    Ok(output)
}

/// Imports invoices from a JSON file in the caller's transaction (all or nothing).
async fn import_invoices(
    app: &AppState,
    tenant: &mut Tenant,
    file: &std::path::Path,
) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&text).context("the file must be a JSON array of invoices")?;
    // The invoices are the billing system's acts: the import acts as its service account, so
    // the cards, the audit trail and the record name it as if it had called the API.
    let billing_account = sqlx::query_scalar!(
        "select c.user_id from service_credential c join user_account u using (user_id)
         where 'billing' = any(c.scopes) and c.revoked_at is null and u.status = 'active'
           and (c.expires_at is null or c.expires_at > $1)
         order by c.created_at, c.user_id limit 1",
        app.clock.now()
    )
    .fetch_optional(tenant.conn())
    .await?
    .context(
        "no billing service account: create one first (docket admin service create --name \"Billing system\" --scopes billing)",
    )?;
    tenant.act_as(Some(UserId(billing_account))).await?;
    let mut report = Vec::new();
    for (i, mut item) in items.into_iter().enumerate() {
        let number = item["number"]
            .as_str()
            .with_context(|| format!("invoice {i}: no number"))?
            .to_owned();
        if let Some(reference) = item["matter"].as_str().map(str::to_owned) {
            let (matter_id, _) = matter_by_reference(tenant, &reference).await?;
            item["matter_id"] = serde_json::json!(matter_id);
        }
        let invoice: docket_protocol::billing::NewInvoice = serde_json::from_value(item)
            .with_context(|| format!("invoice {number} is not an invoice"))?;
        let (outcome, _) =
            billing::record::issue_invoice(tenant, None, &number, &invoice, app.clock.now())
                .await
                .map_err(|e| anyhow::anyhow!("invoice {number}: {}", e.public_body().message))?;
        report.push(format!(
            "{number}: {}",
            match outcome {
                billing::record::Outcome::Created => "issued",
                billing::record::Outcome::Changed => "amended",
                billing::record::Outcome::Unchanged => "unchanged",
            }
        ));
    }
    Ok(report.join("\n"))
}

/// Re-seals everything a previous KEK sealed under the current one, in the caller's transaction,
/// so a rotation completes wholly or not at all; audited with the counts only.
async fn rotate_keys(app: &AppState, tenant: &mut Tenant) -> anyhow::Result<String> {
    let matter_keys = vault::rewrap_matter_keys(tenant.conn(), &app.keyring).await?;
    let totp_secrets = rekey::reseal_totp_secrets(tenant.conn(), &app.keyring).await?;
    let server_secrets =
        crate::notify::push::reseal_server_secrets(tenant.conn(), &app.keyring).await?;
    audit::record(
        tenant,
        AuditRecord::new("keys.rotated").detail(serde_json::json!({
            "matter_keys": matter_keys,
            "totp_secrets": totp_secrets,
            "server_secrets": server_secrets,
        })),
    )
    .await?;
    Ok(format!(
        "re-wrapped {matter_keys} matter keys, re-sealed {totp_secrets} TOTP secrets and \
         {server_secrets} server secrets; the previous keys are no longer needed"
    ))
}

/// A client by id or exact name.
pub async fn client_id(tenant: &mut Tenant, name_or_id: &str) -> anyhow::Result<ClientId> {
    let id = name_or_id.parse::<uuid::Uuid>().ok();
    sqlx::query_scalar!(
        "select client_id from client where client_id = $1 or name = $2",
        id,
        name_or_id
    )
    .fetch_optional(tenant.conn())
    .await?
    .map(ClientId)
    .with_context(|| format!("no client {name_or_id:?}"))
}

async fn practice_area_id(tenant: &mut Tenant, name: &str) -> anyhow::Result<PracticeAreaId> {
    sqlx::query_scalar!(
        "select practice_area_id from practice_area where name = $1",
        name
    )
    .fetch_optional(tenant.conn())
    .await?
    .map(PracticeAreaId)
    .with_context(|| format!("no practice area {name:?}"))
}

/// A user by e-mail.
pub async fn user_id(tenant: &mut Tenant, email: &str) -> anyhow::Result<UserId> {
    let email = email.trim().to_lowercase();
    sqlx::query_scalar!("select user_id from user_account where email = $1", email)
        .fetch_optional(tenant.conn())
        .await?
        .map(UserId)
        .with_context(|| format!("no user {email:?}"))
}

/// A matter (and its client) by reference.
pub async fn matter_by_reference(
    tenant: &mut Tenant,
    reference: &str,
) -> anyhow::Result<(MatterId, ClientId)> {
    let row = sqlx::query!(
        "select matter_id, client_id from matter where reference = $1",
        reference
    )
    .fetch_optional(tenant.conn())
    .await?
    .with_context(|| format!("no matter {reference:?}"))?;
    Ok((row.matter_id.into(), row.client_id.into()))
}

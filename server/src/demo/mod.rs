//! `docket demo`: a demo firm on one machine. Seeds practice areas, staff, two clients with their
//! users and several matters with grants, all signed-in-ready: every demo user has a password and
//! an enrolled TOTP secret, written to a logins file so a person (or `oathtool`) can sign in.
//! Also the firm's billing system and DMS as service accounts, and invoices ([`billing`]).

pub mod billing;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use docket_protocol::directory::{
    ClientKind, ClientRole, CreateClientRequest, CreateMatterRequest, DetailLevel, FirmRole, Scope,
    Sensitivity,
};
use docket_protocol::ids::{ClientId, MatterId, UserId};
use docket_protocol::text::Text;
use secrecy::SecretString;

use crate::auth::{password, totp};
use crate::db::{RequestContext, Tenant};
use crate::keyring::Purpose;
use crate::startup::AppState;
use crate::{access, admin, clients, matters, practice_areas};

/// The password every demo user has. Demo data only; never a real deployment's.
pub const DEMO_PASSWORD: &str = "docket-demo-password";

/// One seeded user's sign-in details.
#[derive(Debug)]
pub struct DemoLogin {
    pub email: String,
    pub name: String,
    pub role: String,
    pub totp_secret: String,
}

struct Person {
    email: &'static str,
    name: &'static str,
    firm_role: Option<FirmRole>,
    client: Option<(usize, ClientRole)>,
}

const PEOPLE: &[Person] = &[
    Person {
        email: "partner@firm.docket-demo.test",
        name: "Demo Partner",
        firm_role: Some(FirmRole::Partner),
        client: None,
    },
    Person {
        email: "fee.earner.a@firm.docket-demo.test",
        name: "Fee Earner A",
        firm_role: Some(FirmRole::FeeEarner),
        client: None,
    },
    Person {
        email: "fee.earner.b@firm.docket-demo.test",
        name: "Fee Earner B",
        firm_role: Some(FirmRole::FeeEarner),
        client: None,
    },
    Person {
        email: "gc@manufacturing.docket-demo.test",
        name: "General Counsel",
        firm_role: None,
        client: Some((0, ClientRole::ClientAdmin)),
    },
    Person {
        email: "finance@manufacturing.docket-demo.test",
        name: "Finance Team",
        firm_role: None,
        client: Some((0, ClientRole::Finance)),
    },
    Person {
        email: "property.head@manufacturing.docket-demo.test",
        name: "Head of Property",
        firm_role: None,
        client: Some((0, ClientRole::Member)),
    },
    Person {
        email: "private.client@docket-demo.test",
        name: "Private Client",
        firm_role: None,
        client: Some((1, ClientRole::ClientAdmin)),
    },
];

/// The demo's own constant text, which passes the checks every supplied text does.
fn demo_text(text: &str) -> Text {
    Text::new(text).expect("demo text has no control characters")
}

/// What seeding left: every login, and the service accounts' tokens if they were made just now
/// (a token is shown once; the demo keeps it in its folder).
#[derive(Debug)]
pub struct Seeded {
    pub logins: Vec<DemoLogin>,
    pub new_tokens: Vec<billing::DemoToken>,
}

/// Seeds the demo firm unless it is already there; returns the logins either way.
pub async fn seed(app: &AppState) -> anyhow::Result<Seeded> {
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, RequestContext::system()).await?;
    let seeded = sqlx::query_scalar!(
        r#"select exists (select 1 from user_account where email = $1) as "e!""#,
        PEOPLE[0].email
    )
    .fetch_one(tenant.conn())
    .await?;
    let now = app.clock.now();
    let mut new_tokens = Vec::new();
    let mut billing_account = None;
    if !seeded {
        seed_firm(app, &mut tenant).await?;
        let (account, tokens) = billing::service_accounts(&mut tenant, now).await?;
        billing::show_time_entries(&mut tenant).await?;
        billing_account = Some(account);
        new_tokens = tokens;
    }
    let logins = logins(app, &mut tenant).await?;
    tenant.commit().await?;
    if let Some(account) = billing_account {
        billing::invoices(app, account, now).await?;
    }
    Ok(Seeded { logins, new_tokens })
}

async fn seed_firm(app: &AppState, tenant: &mut Tenant) -> anyhow::Result<()> {
    let property = practice_areas::insert(
        tenant.conn(),
        "Commercial property",
        true,
        DetailLevel::Detailed,
    )
    .await?;
    let advisory = practice_areas::insert(
        tenant.conn(),
        "Corporate advisory",
        true,
        DetailLevel::HighLevel,
    )
    .await?;
    practice_areas::insert(tenant.conn(), "Employment", false, DetailLevel::HighLevel).await?;
    let client_ids: Vec<ClientId> = vec![
        clients::insert_client(
            tenant,
            &CreateClientRequest {
                kind: ClientKind::Corporate,
                name: demo_text("Demo Manufacturing Ltd"),
            },
        )
        .await?
        .client_id,
        clients::insert_client(
            tenant,
            &CreateClientRequest {
                kind: ClientKind::Private,
                name: demo_text("Demo Private Client"),
            },
        )
        .await?
        .client_id,
    ];
    let hash = password::hash(SecretString::from(DEMO_PASSWORD)).await?;
    let mut ids = Vec::new();
    for person in PEOPLE {
        let who = match (person.firm_role, person.client) {
            (Some(role), _) => clients::NewUser::Firm { role },
            (None, Some((client, role))) => clients::NewUser::Client {
                client_id: client_ids[client],
                role,
            },
            (None, None) => unreachable!("every demo person is firm or client"),
        };
        let (invited, _unsent) =
            clients::invite_user(app, tenant, who, person.email, person.name).await?;
        let secret = totp::new_secret();
        let sealed = app
            .keyring
            .seal(Purpose::TotpSecret, invited.user_id.0.as_bytes(), &secret);
        sqlx::query!(
            "update user_account set status = 'active' where user_id = $1",
            invited.user_id.0
        )
        .execute(tenant.conn())
        .await?;
        sqlx::query!(
            "update user_credential set password_hash = $2, totp_secret_sealed = $3, totp_enrolled_at = now()
             where user_id = $1",
            invited.user_id.0,
            hash,
            sealed
        )
        .execute(tenant.conn())
        .await?;
        sqlx::query!(
            "update invitation set accepted_at = now() where user_id = $1",
            invited.user_id.0
        )
        .execute(tenant.conn())
        .await?;
        ids.push(invited.user_id);
    }
    let [partner, fee_a, fee_b, _gc, _finance, dept_head, _private]: [UserId; 7] =
        ids.try_into()
            .map_err(|_| anyhow::anyhow!("seven demo people"))?;
    let matter =
        |reference: &str, title: &str, client: usize, area, responsible, team: Vec<UserId>| {
            CreateMatterRequest {
                reference: demo_text(reference),
                title: demo_text(title),
                client_id: client_ids[client],
                practice_area_id: area,
                responsible_fee_earner_id: responsible,
                sensitivity: Sensitivity::Standard,
                team,
            }
        };
    let lease = matters::insert_matter(
        tenant,
        &matter(
            "CP-1001",
            "Lease of the Riverside warehouse",
            0,
            property,
            fee_a,
            vec![],
        ),
    )
    .await?;
    matters::insert_matter(
        tenant,
        &matter(
            "CP-1002",
            "Acquisition of the Northgate office block",
            0,
            property,
            fee_a,
            vec![fee_b],
        ),
    )
    .await?;
    matters::insert_matter(
        tenant,
        &matter(
            "CA-2001",
            "Share purchase: supplier acquisition",
            0,
            advisory,
            partner,
            vec![fee_b],
        ),
    )
    .await?;
    matters::insert_matter(
        tenant,
        &matter(
            "CP-3001",
            "Purchase of a residential investment flat",
            1,
            property,
            fee_b,
            vec![],
        ),
    )
    .await?;
    lease_progress(tenant, lease).await?;
    access::upsert_grant(
        tenant,
        lease,
        client_ids[0],
        dept_head,
        vec![Scope::Messages, Scope::Documents, Scope::Milestones],
    )
    .await?;
    Ok(())
}

/// The lease matter a few weeks in: the first three steps done, the draft contract in progress
/// with something for the client to do, the rest expected over the coming weeks.
async fn lease_progress(tenant: &mut Tenant, lease: MatterId) -> anyhow::Result<()> {
    sqlx::query!(
        "update matter_milestone set
             status = case when position <= 3 then 'done' when position = 4 then 'in_progress' else status end,
             completed_on = case when position <= 3 then current_date - (5 - position) * 7 end,
             expected_on = case when position >= 4 then current_date + (position - 3) * 14 end,
             client_action = case when position = 4 then 'Please read the draft lease and send us your comments'
                                  else client_action end
         where matter_id = $1",
        lease.0
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}

async fn logins(app: &AppState, tenant: &mut Tenant) -> anyhow::Result<Vec<DemoLogin>> {
    let mut logins = Vec::new();
    for person in PEOPLE {
        let user_id = admin::user_id(tenant, person.email).await?;
        let sealed = sqlx::query_scalar!(
            "select totp_secret_sealed from user_credential where user_id = $1",
            user_id.0
        )
        .fetch_one(tenant.conn())
        .await?
        .context("demo user without TOTP secret")?;
        let secret = app
            .keyring
            .open(Purpose::TotpSecret, user_id.0.as_bytes(), &sealed)?;
        let role = match (person.firm_role, person.client) {
            (Some(role), _) => format!("firm {role}"),
            (_, Some((_, role))) => format!("client {role}"),
            _ => String::new(),
        };
        logins.push(DemoLogin {
            email: person.email.into(),
            name: person.name.into(),
            role,
            totp_secret: totp::encode_secret(&secret),
        });
    }
    Ok(logins)
}

/// Keeps newly made service-account tokens in the demo folder (mode 0600), one per line.
pub fn save_tokens(path: &Path, tokens: &[billing::DemoToken]) -> anyhow::Result<()> {
    let mut text = String::new();
    for token in tokens {
        let _ = writeln!(
            text,
            "{:<22} {:<8} {}",
            token.name, token.scopes, token.token
        );
    }
    write_private(path, &text)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(())
}

/// Writes the logins file (mode 0600): every demo user, and the service accounts' tokens kept in
/// `tokens` (the file [`save_tokens`] wrote), if any.
pub fn write_logins(
    path: &Path,
    url: &str,
    logins: &[DemoLogin],
    tokens: Option<&Path>,
) -> anyhow::Result<()> {
    let mut text = format!(
        "Docket demo logins for {url}\n\nEvery demo user's password: {DEMO_PASSWORD}\n\
         The second factor is TOTP: add the secret to an authenticator app, or run\n  oathtool --totp -b <secret>\n\n"
    );
    for login in logins {
        let _ = writeln!(
            text,
            "{:<46} {:<18} {:<20} TOTP secret {}",
            login.email, login.name, login.role, login.totp_secret
        );
    }
    if let Some(saved) = tokens.and_then(|t| std::fs::read_to_string(t).ok()) {
        let _ = write!(
            text,
            "\nService accounts of the firm's systems (Authorization: Bearer <token> on the\n\
             integration endpoints, e.g. PUT /api/v1/billing/invoices/{{number}}):\n{saved}"
        );
    }
    write_private(path, &text)
}

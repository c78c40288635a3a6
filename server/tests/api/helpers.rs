//! Test harness: a fresh database cloned from a migrated template, the application on port 0 with
//! a manual clock and an in-memory mailer, a seeded firm, and HTTP clients that sign in.

use std::str::FromStr;

use docket_protocol::auth::{SessionGrant, SessionStage};
use docket_protocol::directory::{
    ClientKind, ClientRole, CreateClientRequest, CreateMatterRequest, DetailLevel, FirmRole, Scope,
    Sensitivity,
};
use docket_protocol::ids::{ClientId, MatterId, UserId};
use docket_protocol::integrations::{NewServiceAccountRequest, ServiceScope};
use docket_protocol::text::Text;
use docket_server::auth::{password, totp};
use docket_server::clients::{self, NewUser};
use docket_server::clock::Clock;
use docket_server::config::Config;
use docket_server::db::{self, RequestContext, Tenant};
use docket_server::keyring::Purpose;
use docket_server::mail::Mailer;
use docket_server::startup::{AppState, Application};
use docket_server::{access, matters, practice_areas};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use time::Duration;
use tokio::sync::OnceCell;

pub const PASSWORD: &str = "correct horse battery staple";

/// The test cluster's maintenance database, as the owner: `DOCKET_TEST_DATABASE_URL`, else the
/// local Postgres on 5432 if it answers, else a private cluster this harness starts (and leaves
/// running for the next run) from the installed PostgreSQL binaries.
pub async fn cluster_url() -> &'static str {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(|| async {
        if let Ok(url) = std::env::var("DOCKET_TEST_DATABASE_URL") {
            return url;
        }
        let local = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
        let options = PgConnectOptions::from_str(&local).expect("url");
        let reachable = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            PgConnection::connect_with(&options),
        )
        .await;
        if matches!(reachable, Ok(Ok(_))) {
            return local;
        }
        let dir = std::env::temp_dir().join("docket-test-postgres");
        tokio::task::spawn_blocking(move || {
            db::embedded::EmbeddedPostgres::start(&dir, 55432)
                .map(|pg| pg.url("postgres", "postgres"))
        })
        .await
        .expect("task")
        .expect("no Postgres on 127.0.0.1:5432 and the private test cluster did not start")
    })
    .await
}

async fn cluster_options() -> PgConnectOptions {
    PgConnectOptions::from_str(cluster_url().await).expect("a Postgres URL")
}

/// Builds (once per run, and once per set of migrations across runs) a migrated template database,
/// and drops databases left behind by earlier runs whose process has gone.
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let fingerprint: i64 = db::MIGRATOR
                .iter()
                .map(|m| {
                    m.version
                        ^ (m.checksum.len() as i64)
                        ^ m.checksum.iter().map(|b| *b as i64).sum::<i64>()
                })
                .sum();
            let name = format!("docket_tpl_{:x}", fingerprint);
            let mut conn = PgConnection::connect_with(&cluster_options().await)
                .await
                .expect("test Postgres reachable (see make test)");
            // Serialise template creation across concurrently running test processes.
            sqlx::query("select pg_advisory_lock(7215001)")
                .execute(&mut conn)
                .await
                .expect("lock");
            let leftovers: Vec<String> = sqlx::query_scalar(
                "select datname::text from pg_database where datname like 'docket_test_%'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("list");
            for db in leftovers {
                let pid = db
                    .trim_start_matches("docket_test_")
                    .split('_')
                    .next()
                    .unwrap_or("");
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    sqlx::query(&format!("drop database if exists {db} with (force)"))
                        .execute(&mut conn)
                        .await
                        .ok();
                }
            }
            let exists: bool =
                sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut conn)
                    .await
                    .expect("query");
            if !exists {
                let building = format!("{name}_building");
                sqlx::query(&format!("drop database if exists {building}"))
                    .execute(&mut conn)
                    .await
                    .expect("drop");
                sqlx::query(&format!("create database {building}"))
                    .execute(&mut conn)
                    .await
                    .expect("create template");
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(cluster_options().await.database(&building))
                    .await
                    .expect("connect");
                db::migrate(&pool).await.expect("migrations apply");
                pool.close().await;
                sqlx::query(&format!("alter database {building} rename to {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("rename");
            }
            sqlx::query("select pg_advisory_unlock(7215001)")
                .execute(&mut conn)
                .await
                .expect("unlock");
            conn.close().await.ok();
            name
        })
        .await
}

/// A fresh database for one test; returns (owner pool, runtime pool).
async fn fresh_database() -> (PgPool, PgPool, String) {
    let template = template().await;
    let name = format!(
        "docket_test_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let mut conn = PgConnection::connect_with(&cluster_options().await)
        .await
        .expect("connect");
    sqlx::query(&format!("create database {name} template {template}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    // Function call counts, for tests that check how often the server asks Postgres something.
    sqlx::query(&format!(
        "alter database {name} set track_functions = 'all'"
    ))
    .execute(&mut conn)
    .await
    .expect("track functions");
    conn.close().await.ok();
    let owner = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(cluster_options().await.database(&name))
        .await
        .expect("owner pool");
    let runtime = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(
            cluster_options()
                .await
                .database(&name)
                .username("docket_app")
                .password(""),
        )
        .await
        .expect("runtime pool");
    (owner, runtime, name)
}

/// A user the fixture created, ready to sign in.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub user_id: UserId,
    pub email: String,
    pub totp_secret: Vec<u8>,
}

/// The seeded firm: ids a test refers to.
#[derive(Clone, Debug)]
pub struct Firm {
    pub admin: TestUser,
    pub partner: TestUser,
    /// Responsible for matters A1, A2 and B1.
    pub fee_earner: TestUser,
    /// On no team.
    pub other_fee_earner: TestUser,
    pub client_a: ClientId,
    pub gc: TestUser,
    pub finance: TestUser,
    /// A member of client A granted messages and documents on A1 only.
    pub dept_head: TestUser,
    pub client_b: ClientId,
    pub private_client: TestUser,
    /// Client A, commercial property (portal enabled).
    pub matter_a1: MatterId,
    /// Client A, commercial property, no grants.
    pub matter_a2: MatterId,
    /// Client A, employment (portal not enabled).
    pub matter_a_disabled: MatterId,
    /// Client B, commercial property.
    pub matter_b1: MatterId,
}

pub struct TestApp {
    /// The running server's state (to reach its hub, e.g. to drain sockets).
    pub state: AppState,
    /// The configuration it runs with.
    pub config: Config,
    pub base: String,
    pub clock: Clock,
    pub mailer: Mailer,
    /// Owner connection to this test's database (bypasses RLS): for arranging and for tampering.
    pub owner: PgPool,
    /// Runtime-role pool (subject to RLS), as the server uses it.
    pub runtime: PgPool,
    pub firm: Firm,
    pub db_name: String,
}

/// The Redis the tests use (`DOCKET_TEST_REDIS_URL`, default the local one); each test app gets
/// its own key prefix.
pub fn redis_url() -> String {
    std::env::var("DOCKET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Starts the application with default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application after `configure` adjusts the configuration.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (owner, runtime, db_name) = fresh_database().await;
    let mut config = Config::defaults();
    config.cookie_secure = false;
    config.redis_url = Some(redis_url().into());
    config.redis_prefix = format!("docket-test:{}:", uuid::Uuid::new_v4().simple());
    config.channels.recheck_seconds = 1;
    // Local state (document blobs) of its own, outside the source tree.
    config.data_dir =
        std::env::temp_dir().join(format!("docket-test-{}", uuid::Uuid::new_v4().simple()));
    configure(&mut config);
    let clock = Clock::manual();
    // Mail stays in memory unless the test points the app at an SMTP server.
    let mailer = match &config.smtp_url {
        Some(_) => Mailer::from_config(&config).expect("the SMTP transport"),
        None => Mailer::memory(),
    };
    let owner_state = AppState::build(owner.clone(), config.clone(), clock.clone(), mailer.clone())
        .await
        .expect("state");
    let firm = seed(&owner_state).await;
    start(owner, runtime, db_name, firm, config, clock, mailer).await
}

/// Runs the server on `runtime` and wraps it with what a test needs.
async fn start(
    owner: PgPool,
    runtime: PgPool,
    db_name: String,
    firm: Firm,
    config: Config,
    clock: Clock,
    mailer: Mailer,
) -> TestApp {
    let state = AppState::build(
        runtime.clone(),
        config.clone(),
        clock.clone(),
        mailer.clone(),
    )
    .await
    .expect("state");
    db::check_runtime_role(&runtime)
        .await
        .expect("the runtime role is unprivileged");
    let app = Application::bind("127.0.0.1:0".parse().expect("addr"), state.clone())
        .await
        .expect("bind");
    let addr = app.local_addr();
    tokio::spawn(app.run(std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        clock,
        mailer,
        owner,
        runtime,
        firm,
        db_name,
        state,
        config,
    }
}

async fn seed(app: &AppState) -> Firm {
    let mut t = Tenant::begin(&app.pool, &app.outbox, RequestContext::system())
        .await
        .expect("tenant");
    let property =
        practice_areas::insert(t.conn(), "Commercial property", true, DetailLevel::Detailed)
            .await
            .expect("area");
    let employment = practice_areas::insert(t.conn(), "Employment", false, DetailLevel::HighLevel)
        .await
        .expect("area");
    let client_a = clients::insert_client(
        &mut t,
        &CreateClientRequest {
            kind: ClientKind::Corporate,
            name: text("Client A Ltd"),
        },
    )
    .await
    .expect("client")
    .client_id;
    let client_b = clients::insert_client(
        &mut t,
        &CreateClientRequest {
            kind: ClientKind::Private,
            name: text("Client B"),
        },
    )
    .await
    .expect("client")
    .client_id;
    let hash = password::hash(SecretString::from(PASSWORD))
        .await
        .expect("hash");
    let mut users = Vec::new();
    for (email, who) in [
        (
            "admin@firm.test",
            NewUser::Firm {
                role: FirmRole::Admin,
            },
        ),
        (
            "partner@firm.test",
            NewUser::Firm {
                role: FirmRole::Partner,
            },
        ),
        (
            "fee.earner@firm.test",
            NewUser::Firm {
                role: FirmRole::FeeEarner,
            },
        ),
        (
            "other.fee.earner@firm.test",
            NewUser::Firm {
                role: FirmRole::FeeEarner,
            },
        ),
        (
            "gc@client-a.test",
            NewUser::Client {
                client_id: client_a,
                role: ClientRole::ClientAdmin,
            },
        ),
        (
            "finance@client-a.test",
            NewUser::Client {
                client_id: client_a,
                role: ClientRole::Finance,
            },
        ),
        (
            "dept.head@client-a.test",
            NewUser::Client {
                client_id: client_a,
                role: ClientRole::Member,
            },
        ),
        (
            "me@client-b.test",
            NewUser::Client {
                client_id: client_b,
                role: ClientRole::ClientAdmin,
            },
        ),
    ] {
        users.push(active_user(app, &mut t, who, email, &hash).await);
    }
    let [admin, partner, fee_earner, other_fee_earner, gc, finance, dept_head, private_client]: [TestUser; 8] =
        users.try_into().expect("eight users");
    let matter = |reference: &str, client_id, practice_area_id| CreateMatterRequest {
        reference: text(reference),
        title: text(&format!("Matter {reference}")),
        client_id,
        practice_area_id,
        responsible_fee_earner_id: fee_earner.user_id,
        sensitivity: Sensitivity::Standard,
        team: vec![],
    };
    let matter_a1 = matters::insert_matter(&mut t, &matter("A-1", client_a, property))
        .await
        .expect("matter");
    let matter_a2 = matters::insert_matter(&mut t, &matter("A-2", client_a, property))
        .await
        .expect("matter");
    let matter_a_disabled = matters::insert_matter(&mut t, &matter("A-3", client_a, employment))
        .await
        .expect("matter");
    let matter_b1 = matters::insert_matter(&mut t, &matter("B-1", client_b, property))
        .await
        .expect("matter");
    access::upsert_grant(
        &mut t,
        matter_a1,
        client_a,
        dept_head.user_id,
        vec![Scope::Messages, Scope::Documents],
    )
    .await
    .expect("grant");
    t.commit().await.expect("commit");
    Firm {
        admin,
        partner,
        fee_earner,
        other_fee_earner,
        client_a,
        gc,
        finance,
        dept_head,
        client_b,
        private_client,
        matter_a1,
        matter_a2,
        matter_a_disabled,
        matter_b1,
    }
}

/// Inserts an active user with a password and an enrolled TOTP secret.
async fn active_user(
    app: &AppState,
    t: &mut Tenant,
    who: NewUser,
    email: &str,
    hash: &str,
) -> TestUser {
    let (invited, _) = clients::invite_user(app, t, who, email, email)
        .await
        .expect("user");
    let secret = totp::new_secret();
    let sealed = app
        .keyring
        .seal(Purpose::TotpSecret, invited.user_id.0.as_bytes(), &secret);
    sqlx::query("update user_account set status = 'active' where user_id = $1")
        .bind(invited.user_id.0)
        .execute(t.conn())
        .await
        .expect("activate");
    sqlx::query("update user_credential set password_hash = $2, totp_secret_sealed = $3, totp_enrolled_at = now() where user_id = $1")
        .bind(invited.user_id.0)
        .bind(hash)
        .bind(sealed)
        .execute(t.conn())
        .await
        .expect("credentials");
    TestUser {
        user_id: invited.user_id,
        email: email.into(),
        totp_secret: secret,
    }
}

impl TestApp {
    /// Another server on this app's database, clock, mailer and blob storage, as after a restart
    /// with this app's configuration adjusted by `configure` (e.g. a new key-encryption key).
    pub async fn restarted_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        configure(&mut config);
        start(
            self.owner.clone(),
            self.runtime.clone(),
            self.db_name.clone(),
            self.firm.clone(),
            config,
            self.clock.clone(),
            self.mailer.clone(),
        )
        .await
    }

    /// Runs an admin command as `docket admin` does: on the owner connection, with this app's
    /// configuration.
    pub async fn admin(
        &self,
        command: docket_server::admin::AdminCommand,
    ) -> anyhow::Result<String> {
        let state = AppState::build(
            self.owner.clone(),
            self.config.clone(),
            self.clock.clone(),
            self.mailer.clone(),
        )
        .await?;
        docket_server::admin::run(&state, command).await
    }

    /// A client with no session (cookie jar, like a browser).
    pub fn browser(&self) -> Client {
        Client::new(&self.base, true)
    }

    /// A code for `user` that has not been used: time moves on a step first, so no two sign-ins
    /// in one test reuse a step (which the server rightly refuses as a replay).
    pub fn fresh_code(&self, secret: &[u8]) -> String {
        self.clock.advance(Duration::seconds(totp::STEP_SECONDS));
        totp::code_for_step(secret, totp::step_at(self.clock.now()))
    }

    /// Signs `user` in fully, as a browser (cookies and CSRF token).
    pub async fn signed_in(&self, user: &TestUser) -> Client {
        let mut client = self.browser();
        self.complete_sign_in(&mut client, user).await;
        client
    }

    /// Signs `user` in fully with an existing client (keeping its device cookie).
    pub async fn complete_sign_in(&self, client: &mut Client, user: &TestUser) {
        let grant = client.sign_in(&user.email, PASSWORD).await;
        assert_eq!(grant.stage, SessionStage::MfaRequired);
        let (status, body) = client
            .post(
                "/api/v1/auth/mfa/verify",
                serde_json::json!({ "code": self.fresh_code(&user.totp_secret) }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        client.csrf = body["csrf_token"].as_str().map(str::to_owned);
    }

    /// Signs `user` in fully as an SDK would, with a bearer token.
    pub async fn bearer(&self, user: &TestUser) -> Client {
        let mut client = Client::new(&self.base, false);
        let (status, body) = client
            .post("/api/v1/auth/sign-in", serde_json::json!({ "email": user.email, "password": PASSWORD, "token_delivery": "bearer" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        client.bearer = body["token"].as_str().map(str::to_owned);
        let (status, body) = client
            .post(
                "/api/v1/auth/mfa/verify",
                serde_json::json!({ "code": self.fresh_code(&user.totp_secret) }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        client.bearer = body["token"].as_str().map(str::to_owned);
        client
    }

    /// A service account for one of the firm's systems, made as `docket admin service create`
    /// makes it (owner connection, system actor); returns its id and token.
    pub async fn service_account(&self, name: &str, scopes: &[ServiceScope]) -> (UserId, String) {
        let mut tenant = Tenant::begin(&self.owner, &self.state.outbox, RequestContext::system())
            .await
            .expect("tenant");
        let request = NewServiceAccountRequest {
            name: text(name),
            scopes: scopes.to_vec(),
            expires_at: None,
        };
        let created = docket_server::integrations::create(&mut tenant, &request, self.clock.now())
            .await
            .expect("service account");
        tenant.commit().await.expect("commit");
        (created.account.service_id, created.token)
    }

    /// An HTTP client calling as a service account (its bearer token, no cookies).
    pub fn service(&self, token: &str) -> Client {
        let mut client = Client::new(&self.base, false);
        client.bearer = Some(token.to_owned());
        client
    }

    /// Runs `sql` in a tenant transaction acting as `user`, on the runtime pool, and returns the rows
    /// as JSON (via `to_jsonb`).
    pub async fn select_as(&self, user: &TestUser, sql: &str) -> Vec<Value> {
        let mut t = Tenant::begin(
            &self.runtime,
            &self.state.outbox,
            RequestContext {
                actor: Some(user.user_id),
                ..Default::default()
            },
        )
        .await
        .expect("tenant");
        let rows: Vec<Value> = sqlx::query_scalar(&format!("select to_jsonb(x) from ({sql}) x"))
            .fetch_all(t.conn())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        t.commit().await.expect("commit");
        rows
    }

    /// The invitation token in the last e-mail sent to `email`.
    pub fn invitation_token(&self, email: &str) -> String {
        let sent = self.mailer.sent();
        let message = sent
            .iter()
            .rev()
            .find(|m| m.to == email)
            .expect("an e-mail to the invitee");
        message
            .body
            .split("#token=")
            .nth(1)
            .expect("a link with a token")
            .split_whitespace()
            .next()
            .expect("token")
            .to_owned()
    }
}

/// An HTTP client: a browser (cookies + CSRF) or an SDK (bearer token).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    fn new(base: &str, cookies: bool) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(cookies)
            .user_agent("docket-tests/1")
            .build()
            .expect("client");
        Self {
            http,
            base: base.to_owned(),
            csrf: None,
            bearer: None,
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// The same credentials against another server (another node on the same database).
    pub fn at(&self, base: &str) -> Client {
        Client {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// The server's address, for requests built by hand (e.g. raw upload bodies).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    /// The password step; panics unless it succeeds.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> SessionGrant {
        let (status, body) = self
            .post(
                "/api/v1/auth/sign-in",
                serde_json::json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let grant: SessionGrant = serde_json::from_value(body).expect("a session grant");
        self.csrf = grant.csrf_token.clone();
        grant
    }
}

/// The error code of an error body.
pub fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("<no code>")
}

/// Waits (up to ten seconds) for the first update that `wanted` accepts, skipping others.
pub async fn next_matching(
    channel: &mut docket_client::Channel,
    what: &str,
    wanted: impl Fn(&docket_client::Update) -> bool,
) -> docket_client::Update {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, channel.next()).await {
            Ok(Some(update)) if wanted(&update) => return update,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the channel stopped while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

impl TestApp {
    /// `user` signed in through the SDK (bearer token), with an open channel.
    pub async fn sdk(&self, user: &TestUser) -> (docket_client::Client, docket_client::Channel) {
        let token = self.bearer(user).await.bearer.expect("a bearer token");
        let client = docket_client::Client::with_token(&self.base, &token);
        let mut channel = client.connect().expect("a channel");
        next_matching(&mut channel, "connection", |u| {
            matches!(u, docket_client::Update::Connected { .. })
        })
        .await;
        (client, channel)
    }
}

/// Subscribes and waits until the subscription is live; returns the head `seq`.
pub async fn subscribed(
    channel: &mut docket_client::Channel,
    matter_id: MatterId,
    since: Option<u64>,
) -> u64 {
    channel.subscribe(matter_id, since);
    match next_matching(channel, "subscribed", |u| matches!(u, docket_client::Update::Subscribed { matter_id: m, .. } | docket_client::Update::Error { matter_id: Some(m), .. } if *m == matter_id)).await {
        docket_client::Update::Subscribed { head_seq, .. } => head_seq,
        other => panic!("subscription refused: {other:?}"),
    }
}

/// Waits until the server ends the subscription to `matter_id` because access was revoked.
pub async fn revoked(channel: &mut docket_client::Channel, matter_id: MatterId) {
    let gone = next_matching(channel, "the unsubscription", |u| {
        matches!(u, docket_client::Update::Unsubscribed { .. })
    })
    .await;
    assert_eq!(
        gone,
        docket_client::Update::Unsubscribed {
            matter_id,
            reason: docket_protocol::channel::UnsubscribeReason::AccessRevoked
        }
    );
}

/// The text of a message event, if `update` is one.
pub fn message_text(update: &docket_client::Update) -> Option<String> {
    match update {
        docket_client::Update::Event(docket_protocol::channel::Event {
            body: docket_protocol::channel::EventBody::Message { text, .. },
            ..
        }) => text.clone(),
        _ => None,
    }
}

impl TestApp {
    /// A connection string to this test's database as `user` (e.g. `docket_app`, `postgres`).
    pub async fn database_url(&self, user: &str) -> String {
        let (prefix, _) = cluster_url()
            .await
            .rsplit_once('/')
            .expect("a URL with a database");
        let (scheme, rest) = prefix.split_once("://").expect("scheme");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{user}@{host}/{}", self.db_name)
    }
}

/// Sends `count` numbered messages from `sender` in the background, pausing between them;
/// resolves to the acknowledged seqs in order (every send must be acknowledged).
pub fn send_in_background(
    sender: docket_client::Channel,
    matter_id: MatterId,
    count: usize,
    pause: std::time::Duration,
) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut acked = Vec::with_capacity(count);
        for i in 0..count {
            let sent = sender.send(matter_id, &format!("message {i}")).await;
            acked.push(sent.expect("every send is acknowledged").seq);
            tokio::time::sleep(pause).await;
        }
        acked
    })
}

/// Checked text for a test's own constant strings.
pub fn text(s: &str) -> Text {
    Text::new(s).expect("test text")
}

/// A minimal PDF (the type is decided by its content).
pub fn pdf(marker: &str) -> Vec<u8> {
    format!("%PDF-1.7\n1 0 obj\n<< /Title ({marker}) >>\nendobj\ntrailer\n<< >>\n%%EOF\n")
        .into_bytes()
}

/// A new document (a small PDF) on `matter`, uploaded by `client`.
pub async fn upload_pdf(client: &Client, matter: MatterId, category: &str) -> (StatusCode, Value) {
    new_document(client, matter, category, "document.pdf", pdf("isolation")).await
}

/// Sends `bytes` as the raw body of a POST/PUT with the client's credentials.
pub async fn upload(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let base = client.base();
    let mut request = client
        .raw()
        .request(method, format!("{base}{path}"))
        .body(bytes);
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    if let Some(csrf) = &client.csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let response = request.send().await.expect("upload");
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A new document on `matter`, uploaded by `client` as `name` in `category`.
pub async fn new_document(
    client: &Client,
    matter: MatterId,
    category: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    upload(
        client,
        reqwest::Method::POST,
        &format!("/api/v1/matters/{matter}/documents?filename={name}&category={category}"),
        bytes,
    )
    .await
}

//! The `docket` binary: `serve`, `migrate`, `demo`, `admin ...` and `audit ...`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use docket_server::audit::chain::{self, Verdict};
use docket_server::billing::fake_stripe::FakeStripe;
use docket_server::clock::Clock;
use docket_server::config::{Config, Payments, StripeSettings};
use docket_server::db::{self, embedded::EmbeddedPostgres, RequestContext, Tenant};
use docket_server::mail::Mailer;
use docket_server::startup::{shutdown_signal, AppState, Application};
use docket_server::{admin, audit, demo, telemetry};
use secrecy::SecretString;

/// The demo's key for its fake Stripe: a test key in form, which reaches nothing real.
const DEMO_STRIPE_KEY: &str = "sk_test_docket_demo";

/// mimalloc rather than glibc's malloc: with glibc, memory freed by one of the runtime's threads
/// stays in that thread's arena, and ten thousand idle sockets cost a third more resident memory
/// (decision 0027).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Docket: a secure client portal for law firms.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// A TOML configuration file (else DOCKET_CONFIG); environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (runtime role in DATABASE_URL).
    Serve,
    /// Apply database migrations (owner role in DOCKET_MIGRATION_DATABASE_URL).
    Migrate,
    /// Run a demo firm on this machine, with a private PostgreSQL unless DATABASE_URL is set.
    Demo {
        /// Where the demo keeps its database, mail spool and logins file.
        #[arg(long, default_value = ".docket-demo")]
        dir: PathBuf,
        /// Port of the private PostgreSQL cluster.
        #[arg(long, default_value_t = 54329)]
        postgres_port: u16,
    },
    /// Administer firm users, clients, matters and grants.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain; name the first row that does not verify.
    Verify,
    /// Print one matter's audit trail as JSON lines.
    Export {
        /// The matter's reference.
        #[arg(long)]
        matter: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let owner = db::connect(owner_url(&config)?, 2).await?;
            db::migrate(&owner).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo { dir, postgres_port } => run_demo(config, dir, postgres_port).await,
        Command::Admin(command) => {
            let app = owner_state(config).await?;
            println!("{}", admin::run(&app, command).await?);
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let owner = db::connect(owner_url(&config)?, 2).await?;
            match chain::verify(&owner).await? {
                Verdict::Intact { rows } => {
                    println!("audit chain intact: {rows} rows verified");
                    Ok(())
                }
                Verdict::Broken { seq, reason } => {
                    eprintln!("audit chain broken at row {seq}: {reason}");
                    std::process::exit(1);
                }
            }
        }
        Command::Audit(AuditCommand::Export { matter }) => {
            let app = owner_state(config).await?;
            let mut tenant =
                Tenant::begin(&app.pool, &app.outbox, RequestContext::system()).await?;
            let (matter_id, client_id) = admin::matter_by_reference(&mut tenant, &matter).await?;
            let entries = audit::export::matter_trail(&mut tenant, matter_id).await?;
            audit::record(
                &mut tenant,
                audit::AuditRecord::new("audit.matter.exported")
                    .matter(matter_id)
                    .client(client_id)
                    .detail(serde_json::json!({ "rows": entries.len(), "via": "cli" })),
            )
            .await?;
            tenant.commit().await?;
            print!("{}", audit::export::to_json_lines(&entries));
            Ok(())
        }
    }
}

fn owner_url(config: &Config) -> anyhow::Result<&SecretString> {
    config
        .migration_database_url
        .as_ref()
        .context("set DOCKET_MIGRATION_DATABASE_URL (or DATABASE_URL) to the owner role")
}

fn spool(config: &Config) -> Mailer {
    Mailer::Spool(config.data_dir.join("mail"))
}

async fn owner_state(config: Config) -> anyhow::Result<AppState> {
    let owner = db::connect(owner_url(&config)?, 2).await?;
    let mailer = Mailer::from_config(&config)?;
    AppState::build(owner, config, Clock::System, mailer).await
}

async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_production_safety()?;
    if config.key_is_default {
        tracing::warn!(
            "DOCKET_KEY_ENCRYPTION_KEY is not set: using the demo key (allowed on localhost only)"
        );
    }
    let url = config
        .database_url
        .as_ref()
        .context("set DATABASE_URL to the docket_app role's connection")?;
    let pool = db::connect(url, 20).await?;
    db::check_runtime_role(&pool).await?;
    let mailer = Mailer::from_config(&config)?;
    let listen = config.listen;
    let app = Application::bind(
        listen,
        AppState::build(pool, config, Clock::System, mailer).await?,
    )
    .await?;
    tracing::info!(addr = %app.local_addr(), "listening");
    app.run(shutdown_signal()).await
}

async fn run_demo(mut config: Config, dir: PathBuf, postgres_port: u16) -> anyhow::Result<()> {
    std::fs::create_dir_all(&dir)?;
    let embedded = match &config.database_url {
        Some(_) => None,
        None => {
            println!(
                "starting a private PostgreSQL in {} ...",
                dir.join("postgres").display()
            );
            let pg = EmbeddedPostgres::start(&dir.join("postgres"), postgres_port)?;
            pg.create_database("docket")?;
            config.migration_database_url = Some(pg.url("postgres", "docket").into());
            config.database_url = Some(pg.url("docket_app", "docket").into());
            Some(pg)
        }
    };
    let result = demo_with_database(config, &dir).await;
    if let Some(pg) = embedded {
        println!("stopping the private PostgreSQL ...");
        pg.stop()?;
    }
    result
}

async fn demo_with_database(mut config: Config, dir: &std::path::Path) -> anyhow::Result<()> {
    config.data_dir = dir.to_path_buf();
    if config.listen.ip().is_loopback() && std::env::var_os("DOCKET_COOKIE_SECURE").is_none() {
        // Plain HTTP on localhost: browsers would drop Secure cookies.
        config.cookie_secure = false;
    }
    config.check_production_safety()?;
    let owner = db::connect(owner_url(&config)?, 2).await?;
    db::migrate(&owner).await?;
    // Card payments without keys: Docket's fake Stripe on its own loopback port, so the whole
    // payment journey works offline (the web client says "test mode").
    let fake_stripe = match config.payments {
        Payments::Off => {
            let webhook_secret = format!("whsec_demo_{}", uuid::Uuid::new_v4().simple());
            let fake = FakeStripe::spawn(DEMO_STRIPE_KEY, &webhook_secret).await?;
            config.payments = Payments::Stripe(StripeSettings {
                secret_key: DEMO_STRIPE_KEY.to_owned().into(),
                publishable_key: "pk_test_docket_demo".into(),
                webhook_secret: webhook_secret.into(),
                api_base: Some(fake.url()),
                stand_in: Some(fake.url()),
            });
            Some(fake)
        }
        Payments::Stripe(_) => None,
    };
    let seeding =
        AppState::build(owner.clone(), config.clone(), Clock::System, spool(&config)).await?;
    let seeded = demo::seed(&seeding).await?;
    let tokens_path = dir.join("demo-service-tokens.txt");
    if !seeded.new_tokens.is_empty() {
        demo::save_tokens(&tokens_path, &seeded.new_tokens)?;
    }
    let logins = seeded.logins;
    // The seeding's cards were announced through the outbox, whose deleter clears delivered rows
    // within a fifth of a second: let it, before its pool closes.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    owner.close().await;
    let pool = db::connect(config.database_url.as_ref().context("database URL")?, 10).await?;
    db::check_runtime_role(&pool).await?;
    let mailer = Mailer::from_config(&config)?;
    let app = Application::bind(
        config.listen,
        AppState::build(pool, config.clone(), Clock::System, mailer).await?,
    )
    .await?;
    let url = format!("http://{}", app.local_addr());
    if let Some(fake) = &fake_stripe {
        fake.connect(&format!("{url}/api/v1/stripe/webhook"), Clock::System);
    }
    let logins_path = dir.join("demo-logins.txt");
    demo::write_logins(&logins_path, &url, &logins, Some(&tokens_path))?;
    println!("\nDocket demo is running at {url}");
    println!("  Portal:   {url}  (open it in a browser and sign in as a user below)");
    println!("  API:      {url}/api/v1/  (OpenAPI: {url}/api/v1/openapi.json)");
    println!(
        "  Logins:   {} (password and TOTP secret for each demo user)",
        logins_path.display()
    );
    for login in &logins {
        println!("            {:<46} {}", login.email, login.role);
    }
    println!("  E-mails:  {}", dir.join("mail").display());
    match &fake_stripe {
        Some(fake) => println!(
            "  Payments: test mode: Docket's stand-in for Stripe at {} (no money moves; try card \
             pm_card_visa, or pm_card_chargeDeclined to see a decline)",
            fake.url()
        ),
        None => println!("  Payments: Stripe, with the configured keys"),
    }
    println!("Press Ctrl-C to stop.\n");
    app.run(shutdown_signal()).await
}

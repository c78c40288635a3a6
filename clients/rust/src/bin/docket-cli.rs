//! `docket-cli`: sign in, list matters, tail a matter channel, send a message.
//!
//! The session is kept in `$DOCKET_CLI_SESSION` (default `~/.docket-cli-session`, mode 0600).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use docket_client::protocol::billing::pounds;
use docket_client::protocol::channel::EventBody;
use docket_client::protocol::ids::MatterId;
use docket_client::{Client, Update};
use serde::{Deserialize, Serialize};

/// Docket from the command line.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in (password, then a TOTP code) and keep the session.
    SignIn {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long, env = "DOCKET_URL")]
        url: String,
        #[arg(long)]
        email: String,
        /// The password (else read from the terminal's first line on stdin).
        #[arg(long, env = "DOCKET_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The current TOTP code (else read from stdin).
        #[arg(long)]
        code: Option<String>,
    },
    /// List the matters you may see.
    Matters,
    /// Print a matter's channel, then follow it live.
    Tail {
        /// The matter's reference or id.
        matter: String,
        /// Start after this seq (default: the whole history).
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// Send a message to a matter.
    Send {
        /// The matter's reference or id.
        matter: String,
        text: String,
    },
    /// End the session.
    SignOut,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    url: String,
    token: String,
    device_token: Option<String>,
}

fn session_path() -> PathBuf {
    std::env::var_os("DOCKET_CLI_SESSION")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into()))
                .join(".docket-cli-session")
        })
}

fn load() -> anyhow::Result<Saved> {
    let text = std::fs::read_to_string(session_path())
        .context("not signed in: run `docket-cli sign-in`")?;
    Ok(serde_json::from_str(&text)?)
}

fn save(saved: &Saved) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(session_path())?;
    file.write_all(serde_json::to_string(saved)?.as_bytes())?;
    Ok(())
}

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

async fn resolve_matter(client: &Client, matter: &str) -> anyhow::Result<MatterId> {
    if let Ok(id) = matter.parse() {
        return Ok(id);
    }
    let matters = client.matters().await?;
    matters
        .iter()
        .find(|m| m.reference == matter)
        .map(|m| m.matter_id)
        .with_context(|| format!("no matter {matter:?} visible to you"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::SignIn {
            url,
            email,
            password,
            code,
        } => {
            let previous = load().ok().filter(|s| s.url == url);
            let mut client = Client::new(&url);
            if let Some(device) = previous.and_then(|s| s.device_token) {
                client.remember_device(&device);
            }
            let password = match password {
                Some(p) => p,
                None => prompt("password")?,
            };
            client.sign_in(&email, &password).await?;
            let code = match code {
                Some(c) => c,
                None => prompt("authenticator code")?,
            };
            client.verify_totp(&code).await?;
            save(&Saved {
                url,
                token: client.token().context("no token")?.to_owned(),
                device_token: client.device_token().map(str::to_owned),
            })?;
            println!("signed in as {email}");
        }
        Command::Matters => {
            let saved = load()?;
            let client = Client::with_token(&saved.url, &saved.token);
            for m in client.matters().await? {
                println!("{:<12} {:<50} {}", m.reference, m.title, m.client_name);
            }
        }
        Command::Tail { matter, since } => {
            let saved = load()?;
            let client = Client::with_token(&saved.url, &saved.token);
            let matter_id = resolve_matter(&client, &matter).await?;
            let mut channel = client.connect()?;
            channel.subscribe(matter_id, Some(since));
            while let Some(update) = channel.next().await {
                match update {
                    Update::Event(event) => {
                        let author = event
                            .author_id
                            .map(|a| a.to_string())
                            .unwrap_or_else(|| "system".into());
                        let text = match event.body {
                            EventBody::Message {
                                text: Some(text), ..
                            } => text,
                            EventBody::Message { text: None, .. } => "(deleted)".into(),
                            EventBody::Edit { target_seq, text } => {
                                format!("(edited #{target_seq}) {}", text.unwrap_or_default())
                            }
                            EventBody::Delete { target_seq } => format!("(deleted #{target_seq})"),
                            EventBody::System { text } => text,
                            EventBody::Document {
                                title,
                                version,
                                action,
                                ..
                            } => format!("(document {action:?}: {title}, version {version})"),
                            EventBody::Milestone {
                                title,
                                status,
                                client_action,
                                ..
                            } => match client_action {
                                Some(action) => format!("(milestone {status}: {title}; {action})"),
                                None => format!("(milestone {status}: {title})"),
                            },
                            EventBody::Invoice {
                                number,
                                amount_due_minor,
                                due_on,
                                ..
                            } => format!(
                                "(invoice {number}: {} due by {due_on})",
                                pounds(amount_due_minor)
                            ),
                            EventBody::Payment {
                                invoice_number,
                                status,
                                amount_minor,
                                balance_minor,
                                failure_reason,
                                ..
                            } => format!(
                                "(payment {status} on {invoice_number}: {}; {} owed{})",
                                pounds(amount_minor),
                                pounds(balance_minor),
                                failure_reason.map(|r| format!("; {r}")).unwrap_or_default()
                            ),
                            EventBody::Unknown => "(an event this version cannot show)".into(),
                        };
                        println!("#{:<6} {} {}: {}", event.seq, event.at, author, text);
                    }
                    Update::Error { message, .. } => bail!("{message}"),
                    Update::SessionEnded => bail!("the session has ended; sign in again"),
                    Update::Disconnected { reason } => {
                        eprintln!("(disconnected: {reason}; reconnecting)")
                    }
                    _ => {}
                }
            }
        }
        Command::Send { matter, text } => {
            let saved = load()?;
            let client = Client::with_token(&saved.url, &saved.token);
            let matter_id = resolve_matter(&client, &matter).await?;
            let mut channel = client.connect()?;
            channel.subscribe(matter_id, None);
            // Wait until subscribed so a refusal is reported rather than hanging.
            loop {
                match channel.next().await {
                    Some(Update::Subscribed { .. }) => break,
                    Some(Update::Error { message, .. }) => bail!("{message}"),
                    Some(Update::SessionEnded) | None => {
                        bail!("the session has ended; sign in again")
                    }
                    _ => {}
                }
            }
            let sent = channel.send(matter_id, &text).await?;
            println!("sent as #{}", sent.seq);
        }
        Command::SignOut => {
            let saved = load()?;
            Client::with_token(&saved.url, &saved.token)
                .sign_out()
                .await?;
            std::fs::remove_file(session_path())?;
            println!("signed out");
        }
    }
    Ok(())
}

//! Outgoing e-mail: over SMTP when `DOCKET_SMTP_URL` is set (STARTTLS or TLS to a relay; plain
//! SMTP only to this machine), otherwise into a spool folder, one file per message, readable only by
//! the server's user (the demo's default). Every message has a text and an HTML part, signed with
//! the firm's name. Invitation links carry one-time tokens, so a message body never goes to the log.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Config;

/// One message. Serialisable: notices go through the outbox ([`crate::outbox::Announcement`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    /// Plain text, paragraphs separated by blank lines; the HTML part is made from it.
    pub body: String,
}

/// Where messages go.
#[derive(Clone, Debug)]
pub enum Mailer {
    /// Files in this folder (mode 0600).
    Spool(PathBuf),
    /// Kept in memory, for tests to read. A std `Mutex`: never held across an await.
    Memory(Arc<Mutex<Vec<Email>>>),
    /// An SMTP relay.
    Smtp(Arc<Smtp>),
}

/// The SMTP relay and who the mail is from.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    firm: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the relay's credentials: never printed.
        f.debug_struct("Smtp")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer that keeps messages in memory.
    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    /// The configured transport: SMTP if `DOCKET_SMTP_URL` is set, else the spool folder under the
    /// data directory.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let Some(url) = &config.smtp_url else {
            return Ok(Self::Spool(config.data_dir.join("mail")));
        };
        let host = url::Url::parse(url.expose_secret())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .context(
                "DOCKET_SMTP_URL is not a URL (smtp://host:port?tls=required, smtps://host:465)",
            )?;
        let hello = url::Url::parse(&config.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .with_context(|| format!("DOCKET_SMTP_URL for {host} is not usable"))?
            .hello_name(ClientId::Domain(hello))
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let from: Mailbox = config.mail_from.parse().with_context(|| {
            format!("DOCKET_MAIL_FROM {:?} is not an address", config.mail_from)
        })?;
        Ok(Self::Smtp(Arc::new(Smtp {
            transport,
            from,
            firm: config.firm_name.clone(),
        })))
    }

    /// Sends a message.
    pub async fn send(&self, email: Email) -> anyhow::Result<()> {
        match self {
            Self::Spool(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating mail spool {}", dir.display()))?;
                let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
                let mut file = open_private(&path)?;
                write!(
                    file,
                    "To: {}\r\nSubject: {}\r\n\r\n{}",
                    email.to, email.subject, email.body
                )?;
                tracing::info!(to = %email.to, subject = %email.subject, file = %path.display(), "e-mail spooled");
                Ok(())
            }
            Self::Memory(sent) => {
                sent.lock().unwrap_or_else(|e| e.into_inner()).push(email);
                Ok(())
            }
            Self::Smtp(smtp) => {
                let message = smtp.message(&email)?;
                smtp.transport
                    .send(message)
                    .await
                    .context("the SMTP relay refused the message")?;
                tracing::info!(to = %email.to, subject = %email.subject, "e-mail sent");
                Ok(())
            }
        }
    }

    /// Messages sent so far (memory mailer only).
    pub fn sent(&self) -> Vec<Email> {
        match self {
            Self::Memory(sent) => sent.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            Self::Spool(_) | Self::Smtp(_) => Vec::new(),
        }
    }
}

impl Smtp {
    /// The message: a text part and an HTML part made from it, both signed with the firm's name.
    fn message(&self, email: &Email) -> anyhow::Result<Message> {
        let to: Mailbox = email
            .to
            .parse()
            .with_context(|| format!("{:?} is not an e-mail address", email.to))?;
        let body = email.body.replace("\r\n", "\n");
        let text = format!("{}\n\n-- \n{}\n", body.trim_end(), self.firm);
        let html = html(&email.subject, &body, &self.firm);
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(text, html))?)
    }
}

/// The HTML part: the text's paragraphs, escaped, in a plain layout.
pub fn html(subject: &str, body: &str, firm: &str) -> String {
    let paragraphs: String = body
        .replace("\r\n", "\n")
        .trim()
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5; max-width: 40em\">{paragraphs}\
         <p style=\"color: #555\">{}</p></body></html>",
        escape(subject),
        escape(firm)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_the_text() {
        let page = html(
            "Hi <b>",
            "Line one\nline two\n\n<script>x</script> & more",
            "Firm & Co",
        );
        assert!(page.contains("<p>Line one<br>line two</p>"), "{page}");
        assert!(
            page.contains("&lt;script&gt;x&lt;/script&gt; &amp; more"),
            "{page}"
        );
        assert!(page.contains("<title>Hi &lt;b&gt;</title>") && page.contains("Firm &amp; Co"));
        assert!(!page.contains("<script>"));
    }
}

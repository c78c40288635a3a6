//! Outgoing e-mail. Until a mail transport is configured (the notifications work), messages are
//! written to a spool folder, one file each, readable only by the server's user, and the log says
//! where. Invitation links carry one-time tokens, so a message body never goes to the log.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where messages go.
#[derive(Clone, Debug)]
pub enum Mailer {
    /// Files in this folder (mode 0600).
    Spool(PathBuf),
    /// Kept in memory, for tests to read. A std `Mutex`: never held across an await.
    Memory(Arc<Mutex<Vec<Email>>>),
}

impl Mailer {
    /// A mailer that keeps messages in memory.
    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    /// Sends (spools) a message.
    pub fn send(&self, email: Email) -> anyhow::Result<()> {
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
        }
    }

    /// Messages sent so far (memory mailer only).
    pub fn sent(&self) -> Vec<Email> {
        match self {
            Self::Memory(sent) => sent.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            Self::Spool(_) => Vec::new(),
        }
    }
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

//! ClamAV's daemon, spoken to directly: `zPING` and `zINSTREAM` over TCP or a unix socket.
//!
//! A [`ScanSession`] is opened before an upload is read and fed each plaintext chunk as it
//! arrives, so the scan runs alongside the upload and the verdict follows its last byte. Anything
//! but a clear `OK` or `... FOUND` is an error, never a clean verdict: the caller keeps the file in
//! quarantine. clamd's `StreamMaxLength` (25 MB by default) must be at least the upload limit,
//! or clamd ends the stream with an error.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long to wait for clamd to accept, answer a ping or take a chunk.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a verdict may take once the stream is complete (large archives take a while).
const VERDICT_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest chunk sent in one INSTREAM frame.
const FRAME: usize = 64 * 1024;
/// Longest reply we read.
const MAX_REPLY: u64 = 4096;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clamd {
    /// `host:port`, or a unix socket path (anything with a `/`, or `unix:<path>`).
    addr: String,
}

/// The outcome of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanVerdict {
    /// Nothing found.
    Clean,
    /// Malware found.
    Infected {
        /// ClamAV's name for it, e.g. `Win.Test.EICAR_HDB-1`.
        signature: String,
    },
}

/// A byte stream to clamd, TCP or unix.
trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// An open `INSTREAM` scan; dropping it abandons the scan.
pub struct ScanSession {
    /// The connection, after the `zINSTREAM` command.
    conn: Box<dyn Connection>,
    /// Bytes sent so far, for error messages.
    sent: u64,
}

impl std::fmt::Debug for ScanSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanSession")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Clamd {
    /// A client for clamd at `addr` (`host:port` or a unix socket path); connects per request.
    pub fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
        }
    }

    /// Checks that clamd answers `PONG`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.connect().await?;
        timeout(conn.write_all(b"zPING\0"), "sending PING").await?;
        let reply = timeout(read_reply(&mut conn), "waiting for PONG").await?;
        if reply != "PONG" {
            bail!("clamd at {} answered {reply:?} to PING", self.addr);
        }
        Ok(())
    }

    /// Starts an INSTREAM session; feed plaintext chunks as they arrive (so a scan runs while an
    /// upload streams); [`ScanSession::finish`] returns the verdict.
    pub async fn session(&self) -> anyhow::Result<ScanSession> {
        let mut conn = self.connect().await?;
        timeout(conn.write_all(b"zINSTREAM\0"), "starting INSTREAM").await?;
        Ok(ScanSession { conn, sent: 0 })
    }

    async fn connect(&self) -> anyhow::Result<Box<dyn Connection>> {
        let what = || format!("connecting to clamd at {}", self.addr);
        let unix_path = self
            .addr
            .strip_prefix("unix:")
            .or_else(|| self.addr.contains('/').then_some(self.addr.as_str()));
        match unix_path {
            #[cfg(unix)]
            Some(path) => {
                let conn = tokio::time::timeout(IO_TIMEOUT, tokio::net::UnixStream::connect(path))
                    .await
                    .context("timed out")
                    .with_context(what)?
                    .with_context(what)?;
                Ok(Box::new(conn))
            }
            #[cfg(not(unix))]
            Some(_) => bail!("unix sockets are not available on this platform"),
            None => {
                let conn =
                    tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(&self.addr))
                        .await
                        .context("timed out")
                        .with_context(what)?
                        .with_context(what)?;
                Ok(Box::new(conn))
            }
        }
    }
}

impl ScanSession {
    /// Sends the next plaintext bytes.
    pub async fn feed(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        for chunk in bytes.chunks(FRAME) {
            let len = u32::try_from(chunk.len()).context("chunk length")?;
            let sent = async {
                self.conn.write_all(&len.to_be_bytes()).await?;
                self.conn.write_all(chunk).await
            };
            if let Err(e) = timeout(sent, "sending to clamd").await {
                // clamd closes the stream when it refuses it (size limit): say why if it said so.
                let reply = tokio::time::timeout(IO_TIMEOUT, read_reply(&mut self.conn)).await;
                if let Ok(Ok(reply)) = reply {
                    bail!(
                        "clamd refused the stream after {} bytes: {reply}",
                        self.sent
                    );
                }
                return Err(e);
            }
            self.sent += chunk.len() as u64;
        }
        Ok(())
    }

    /// Ends the stream and waits for the verdict.
    pub async fn finish(mut self) -> anyhow::Result<ScanVerdict> {
        timeout(
            self.conn.write_all(&0u32.to_be_bytes()),
            "ending the stream",
        )
        .await?;
        let reply = tokio::time::timeout(VERDICT_TIMEOUT, read_reply(&mut self.conn))
            .await
            .context("timed out waiting for clamd's verdict")??;
        parse_verdict(&reply)
    }
}

/// Reads one reply (up to the NUL that ends it in the `z` protocol, or end of stream).
async fn read_reply(conn: &mut Box<dyn Connection>) -> std::io::Result<String> {
    let mut reply = Vec::new();
    let mut limited = conn.take(MAX_REPLY);
    let mut byte = [0u8; 1];
    while limited.read(&mut byte).await? == 1 && byte[0] != 0 {
        reply.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&reply).trim().to_owned())
}

/// `stream: OK`, `stream: <name> FOUND`; anything else (`... ERROR`) is an error.
fn parse_verdict(reply: &str) -> anyhow::Result<ScanVerdict> {
    let result = reply.strip_prefix("stream:").unwrap_or(reply).trim();
    if result == "OK" {
        return Ok(ScanVerdict::Clean);
    }
    if let Some(signature) = result.strip_suffix(" FOUND") {
        return Ok(ScanVerdict::Infected {
            signature: signature.trim().to_owned(),
        });
    }
    bail!("clamd gave no verdict: {reply:?}")
}

async fn timeout<T>(
    fut: impl std::future::Future<Output = std::io::Result<T>>,
    what: &str,
) -> anyhow::Result<T> {
    tokio::time::timeout(IO_TIMEOUT, fut)
        .await
        .with_context(|| format!("clamd: timed out {what}"))?
        .with_context(|| format!("clamd: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_parsed_and_errors_are_not_clean() {
        assert_eq!(parse_verdict("stream: OK").expect("ok"), ScanVerdict::Clean);
        assert_eq!(
            parse_verdict("stream: Win.Test.EICAR_HDB-1 FOUND").expect("found"),
            ScanVerdict::Infected {
                signature: "Win.Test.EICAR_HDB-1".into()
            }
        );
        assert!(parse_verdict("INSTREAM size limit exceeded. ERROR").is_err());
        assert!(parse_verdict("").is_err());
    }

    #[tokio::test]
    async fn an_unreachable_daemon_is_an_error() {
        let clamd = Clamd::new("/nonexistent/docket-clamd.sock");
        assert!(clamd.ping().await.is_err());
        assert!(clamd.session().await.is_err());
    }
}

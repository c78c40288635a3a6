//! `docket-load`: measures Docket's matter channels against a running server.
//!
//! Scenarios (see `load-tests/README.md` for the commands and the figures):
//! - `idle`: N authenticated, idle sockets; reports the server's resident memory per socket.
//! - `fanout`: K subscribers in one matter, one open-loop publisher at R msg/s; reports delivery
//!   latency percentiles and the server's CPU time per delivery.
//! - `matters`: M small matters with P subscribers each, publishers spread over them.
//! - `sends`: C senders, open-loop at R msg/s in total over M matters; reports acknowledged
//!   messages per second and ack latency.
//!
//! Publishing is open-loop: every message carries its *scheduled* send time, and latency is
//! measured from that, so a saturated server cannot hide its latency by slowing the sender.
//! With `--processes N` the generator runs as N worker processes, since one process may hold at
//! most 20,000 open files here. Each worker connects and subscribes, says READY; once all have,
//! the parent tells them when to start (GO), then merges their samples.

mod scenarios;
mod setup;
mod stats;

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Load generator for Docket.
#[derive(Debug, Parser, Clone)]
#[command(version)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// Options every scenario shares.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// The demo logins file written by `docket demo`.
    #[arg(long, default_value = ".docket-bench/demo-logins.txt", global = true)]
    pub logins: std::path::PathBuf,
    /// The server's process id, to read its memory and CPU time.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// The Postgres postmaster's process id, to read the CPU time of the whole local Postgres
    /// (the postmaster and every child, live or reaped) over the measured window.
    #[arg(long, global = true)]
    pub postgres_pid: Option<u32>,
    /// Generator processes.
    #[arg(long, default_value_t = 2, global = true)]
    pub processes: usize,
    /// Internal: this process is worker `i` of `processes`.
    #[arg(long, hide = true, global = true)]
    pub worker: Option<usize>,
    /// Internal: session tokens handed to workers (comma-separated: subscriber,publisher).
    #[arg(long, hide = true, global = true)]
    pub tokens: Option<String>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum Scenario {
    /// Idle authenticated sockets: memory per socket, time to open them, and (with
    /// `--postgres-pid`) what holding them costs Postgres.
    Idle {
        #[arg(long)]
        sockets: usize,
        /// Subscribe each socket to one of this many matters (0: no subscription).
        #[arg(long, default_value_t = 0)]
        matters: usize,
        /// How long to hold the sockets once open, measuring Postgres meanwhile.
        #[arg(long, default_value_t = 3)]
        hold_seconds: u64,
    },
    /// K subscribers in one matter, one publisher at a fixed rate.
    Fanout {
        #[arg(long)]
        subscribers: usize,
        #[arg(long)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Many small matters with a few subscribers each.
    Matters {
        #[arg(long)]
        matters: usize,
        #[arg(long, default_value_t = 5)]
        per_matter: usize,
        #[arg(long)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Durable sends: acknowledged messages per second and ack latency.
    Sends {
        #[arg(long, default_value_t = 50)]
        senders: usize,
        #[arg(long)]
        rate: f64,
        #[arg(long, default_value_t = 1)]
        matters: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
}

/// The server's memory and CPU now, if its pid was given.
fn server_sample(cli: &Cli) -> anyhow::Result<Option<stats::ProcessSample>> {
    cli.common
        .server_pid
        .map(stats::ProcessSample::read)
        .transpose()
}

/// The Postgres cluster's CPU time so far (µs), if its postmaster's pid was given.
fn postgres_cpu_us(cli: &Cli) -> anyhow::Result<Option<u64>> {
    cli.common.postgres_pid.map(stats::tree_cpu_us).transpose()
}

/// Unix time in microseconds.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(index) = cli.common.worker {
        let result = scenarios::run_worker(&cli, index).await?;
        println!("RESULT {}", serde_json::to_string(&result)?);
        return Ok(());
    }
    let prepared = setup::prepare(&cli).await?;
    let mut before = server_sample(&cli)?;
    let opening = std::time::Instant::now();
    let mut children = Vec::new();
    for index in 0..cli.common.processes.max(1) {
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command
            .args(std::env::args().skip(1))
            .arg("--worker")
            .arg(index.to_string())
            .arg("--tokens")
            .arg(&prepared.tokens)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        children.push(command.spawn().context("starting a worker")?);
    }
    let mut results = Vec::new();
    let mut readers = Vec::new();
    for child in &mut children {
        readers.push(BufReader::new(child.stdout.take().context("worker stdout")?).lines());
    }
    // Every worker first connects and subscribes, then says READY.
    for lines in &mut readers {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("READY") {
                break;
            }
        }
    }
    // Idle: sample memory while the sockets are held, then release them.
    if let Scenario::Idle { hold_seconds, .. } = cli.scenario {
        let opened_in = opening.elapsed();
        let postgres_before = postgres_cpu_us(&cli)?;
        let holding = std::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(hold_seconds.max(1))).await;
        let held = server_sample(&cli)?;
        let postgres_after = postgres_cpu_us(&cli)?;
        let postgres_share = postgres_before
            .zip(postgres_after)
            .map(|(b, a)| a.saturating_sub(b) as f64 / holding.elapsed().as_micros().max(1) as f64);
        stats::report_idle(
            &cli,
            before.as_ref(),
            held.as_ref(),
            opened_in,
            postgres_share,
        );
        for child in &mut children {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.shutdown().await.ok();
            }
        }
        return Ok(());
    }
    // Everyone is ready: start together, shortly, and measure the server from now.
    let start_at_ms = now_micros() / 1000 + prepared.warmup.as_millis() as u64;
    before = server_sample(&cli)?;
    let postgres_before = postgres_cpu_us(&cli)?;
    for child in &mut children {
        if let Some(stdin) = child.stdin.as_mut() {
            stdin
                .write_all(format!("GO {start_at_ms}\n").as_bytes())
                .await?;
            stdin.flush().await?;
        }
    }
    for lines in &mut readers {
        while let Some(line) = lines.next_line().await? {
            if let Some(json) = line.strip_prefix("RESULT ") {
                results.push(serde_json::from_str::<stats::WorkerResult>(json)?);
                break;
            }
        }
    }
    let after = server_sample(&cli)?;
    let postgres_after = postgres_cpu_us(&cli)?;
    let postgres = postgres_before
        .zip(postgres_after)
        .map(|(b, a)| a.saturating_sub(b));
    stats::report(&cli, &results, before.as_ref(), after.as_ref(), postgres);
    Ok(())
}

//! Samples, percentiles and the server's resource use (from /proc).

use serde::{Deserialize, Serialize};

use crate::{Cli, Scenario};

/// What one worker measured.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    /// Delivery (fan-out) or acknowledgement (sends) latencies, microseconds.
    pub latencies_us: Vec<u64>,
    /// Messages published (fan-out) or acknowledged (sends).
    pub messages: u64,
    /// Sends that failed.
    pub errors: u64,
    /// Length of the measured window, seconds.
    pub seconds: f64,
}

/// A process's resident memory and CPU time.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    pub rss_kib: u64,
    /// User + system CPU, microseconds.
    pub cpu_us: u64,
}

impl ProcessSample {
    /// Reads /proc/<pid>/status and /proc/<pid>/stat.
    pub fn read(pid: u32) -> anyhow::Result<Self> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let fields = stat_fields(pid)?;
        let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        // CLK_TCK is 100 on Linux.
        Ok(Self {
            rss_kib,
            cpu_us: ticks * 10_000,
        })
    }
}

/// CPU time of a process tree, microseconds: the process's own and its reaped children's, plus
/// every live child's (how the Postgres postmaster and its backends are counted).
pub fn tree_cpu_us(pid: u32) -> anyhow::Result<u64> {
    let fields = stat_fields(pid)?;
    let field = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    let mut ticks = field(11) + field(12) + field(13) + field(14);
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A child that ended meanwhile is already in the parent's reaped time.
        if let Ok(f) = stat_fields(child) {
            if f.get(1).and_then(|v| v.parse::<u32>().ok()) == Some(pid) {
                let field =
                    |i: usize| -> u64 { f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
                ticks += field(11) + field(12);
            }
        }
    }
    // CLK_TCK is 100 on Linux.
    Ok(ticks * 10_000)
}

/// The fields of /proc/<pid>/stat after the command name (which may contain spaces).
fn stat_fields(pid: u32) -> anyhow::Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    Ok(stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Prints the memory per idle socket.
pub fn report_idle(
    cli: &Cli,
    before: Option<&ProcessSample>,
    held: Option<&ProcessSample>,
    opened_in: std::time::Duration,
    postgres_share: Option<f64>,
) {
    let Scenario::Idle {
        sockets,
        matters,
        hold_seconds,
    } = cli.scenario
    else {
        return;
    };
    let memory = match (before, held) {
        (Some(before), Some(held)) => {
            let delta = held.rss_kib.saturating_sub(before.rss_kib);
            format!(
                "server_rss_before={} KiB server_rss_held={} KiB per_socket={:.2} KiB",
                before.rss_kib,
                held.rss_kib,
                delta as f64 / sockets as f64
            )
        }
        _ => "(pass --server-pid to measure memory)".into(),
    };
    let postgres = postgres_share.map_or_else(
        || "(pass --postgres-pid to measure Postgres)".into(),
        |share| format!("postgres_cpu={:.2}% over {hold_seconds} s", share * 100.0),
    );
    println!(
        "idle sockets={sockets} subscribed_to={matters} matters opened_in={:.2} s {memory} {postgres}",
        opened_in.as_secs_f64()
    );
}

/// Prints latency percentiles, throughput and CPU per delivery.
pub fn report(
    cli: &Cli,
    results: &[WorkerResult],
    before: Option<&ProcessSample>,
    after: Option<&ProcessSample>,
    postgres_cpu_us: Option<u64>,
) {
    let mut latencies: Vec<u64> = results
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let messages: u64 = results.iter().map(|r| r.messages).sum();
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    let seconds = results.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let cpu = match (before, after) {
        (Some(b), Some(a)) => Some(a.cpu_us.saturating_sub(b.cpu_us)),
        _ => None,
    };
    let (label, per) = match cli.scenario {
        Scenario::Sends { .. } => ("ack", messages.max(1)),
        _ => ("delivery", latencies.len().max(1) as u64),
    };
    println!(
        "{label}s={} messages={messages} errors={errors} rate={:.0}/s p50={:.2}ms p99={:.2}ms p999={:.2}ms max={:.2}ms{}",
        latencies.len(),
        messages as f64 / seconds.max(0.001),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        latencies.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
        cpu.map_or(String::new(), |cpu| format!(" server_cpu={:.2}s cpu_per_{label}={:.1}us", cpu as f64 / 1e6, cpu as f64 / per as f64)),
    );
    // Every message published or acknowledged is one stored row: Postgres's cost per message.
    if let Some(pg) = postgres_cpu_us {
        println!(
            "postgres_cpu={:.2}s postgres_cpu_pct={:.1} postgres_cpu_per_message={:.1}us",
            pg as f64 / 1e6,
            pg as f64 / 1e4 / seconds.max(0.001),
            pg as f64 / messages.max(1) as f64,
        );
    }
}

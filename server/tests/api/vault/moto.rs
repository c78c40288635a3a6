//! A real S3-compatible server for the vault's S3 tests: moto (`moto_server`, from PyPI), started
//! once per test binary on a free port and stopped by a watchdog soon after the binary exits.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where moto_server may be: `$DOCKET_MOTO_SERVER`, `PATH`, and where `scripts/ensure-moto.sh`
/// installs it.
fn find_moto() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut candidates: Vec<PathBuf> = std::env::var_os("DOCKET_MOTO_SERVER")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.extend(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("moto_server")),
    );
    candidates.push(home.join(".cache/docket-venv/bin/moto_server"));
    candidates.push(home.join(".local/bin/moto_server"));
    candidates.into_iter().find(|path| {
        Command::new(path)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The endpoint (`http://127.0.0.1:<port>`) of this test binary's moto server.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let moto = find_moto().unwrap_or_else(|| {
            panic!(
                "moto_server (an S3-compatible test server) was not found; run scripts/ensure-moto.sh \
                 (or set DOCKET_MOTO_SERVER to its path)"
            )
        });
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // The shell keeps moto only as long as this process lives: cargo test exits without
        // dropping statics, and moto must not outlive the run.
        let watchdog = format!(
            "\"$0\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & moto=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $moto 2>/dev/null; do sleep 1; done; \
             kill $moto 2>/dev/null",
            parent = std::process::id()
        );
        // Never waited on: it lives as long as the test binary, and init reaps it afterwards.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &watchdog])
            .arg(&moto)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server ({}) did not listen on port {port} within a minute",
                moto.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
}

/// A new, empty bucket on the moto server; returns its name.
pub async fn bucket() -> String {
    let endpoint = tokio::task::spawn_blocking(endpoint).await.expect("task");
    let name = format!("docket-test-{}", uuid::Uuid::new_v4().simple());
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let create = client.put(format!("{endpoint}/{name}")).body(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>eu-west-2</LocationConstraint></CreateBucketConfiguration>",
        );
        match create.send().await {
            Ok(response) if response.status().is_success() => return name,
            outcome if Instant::now() > deadline => {
                panic!("creating a bucket on moto: {outcome:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

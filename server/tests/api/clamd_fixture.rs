//! A private clamd for the tests, started once per test binary: its own directory, a one-line
//! signature database generated here for the EICAR test string (never a downloaded one, never
//! committed), a unix socket, and a watchdog shell that stops clamd and removes the directory
//! once this test process has gone. clamd missing is a failure that says how to install it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The standard 68-byte EICAR anti-virus test string: harmless, detected by design.
pub const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The name our generated signature gives it (clamd appends `.UNOFFICIAL` to local ones).
pub const SIGNATURE: &str = "Docket.Test.EICAR";

/// How long clamd may take to load its database and answer `PING`.
const STARTUP: Duration = Duration::from_secs(60);

/// The socket of this test binary's clamd, started on first use.
pub async fn clamd_socket() -> &'static str {
    static SOCKET: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(|| SOCKET.get_or_init(start).as_str())
        .await
        .expect("clamd fixture")
}

fn clamd_binary() -> PathBuf {
    let candidates = ["/usr/sbin/clamd", "/usr/local/sbin/clamd", "/usr/bin/clamd"];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "clamd is not installed, so the malware-scanning tests cannot run: \
                 run scripts/ensure-deps.sh --clamd (installs Debian's clamav-daemon)"
            )
        })
}

fn start() -> String {
    let clamd = clamd_binary();
    let dir = std::env::temp_dir().join(format!(
        "docket-clamd-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let db = dir.join("db");
    std::fs::create_dir_all(&db).expect("clamd directory");
    // A SHA-256 hash signature, `hash:size:name`: matches the EICAR string exactly, raw or as an
    // archive member (ScanArchive).
    let hash = data_encoding::HEXLOWER.encode(&Sha256::digest(EICAR));
    std::fs::write(
        db.join("docket.hsb"),
        format!("{hash}:{}:{SIGNATURE}\n", EICAR.len()),
    )
    .expect("signature database");
    let socket = dir.join("clamd.sock");
    let config = dir.join("clamd.conf");
    std::fs::write(
        &config,
        format!(
            "LocalSocket {socket}\nDatabaseDirectory {db}\nTemporaryDirectory {dir}\n\
             Foreground yes\nScanArchive yes\nStreamMaxLength 200M\n",
            socket = socket.display(),
            db = db.display(),
            dir = dir.display(),
        ),
    )
    .expect("clamd.conf");
    spawn_with_watchdog(&clamd, &config, &dir);
    wait_for_pong(&socket, &dir);
    socket.to_str().expect("a UTF-8 path").to_owned()
}

/// Runs clamd under a shell that polls for this process and, once it has gone, stops clamd and
/// removes the directory (a static is never dropped, so nothing else would).
fn spawn_with_watchdog(clamd: &Path, config: &Path, dir: &Path) {
    let script = r#"
        "$1" --config-file="$2" >"$3/clamd.out" 2>&1 &
        child=$!
        trap 'kill $child 2>/dev/null; wait $child 2>/dev/null; rm -rf "$3"' EXIT
        while kill -0 "$4" 2>/dev/null; do sleep 1; done
    "#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "docket-clamd-watchdog"])
        .arg(clamd)
        .arg(config)
        .arg(dir)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start clamd");
    // Reaps the watchdog should it end before this process does.
    std::thread::spawn(move || watchdog.wait());
}

/// Polls the socket until clamd has loaded its database and answers `PING`.
fn wait_for_pong(socket: &Path, dir: &Path) {
    let deadline = Instant::now() + STARTUP;
    while Instant::now() < deadline {
        if ping(socket).is_ok_and(|reply| reply == b"PONG\0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join("clamd.out")).unwrap_or_default();
    panic!("clamd did not answer PING within {STARTUP:?}; its output:\n{log}");
}

fn ping(socket: &Path) -> std::io::Result<Vec<u8>> {
    let mut conn = UnixStream::connect(socket)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(b"zPING\0")?;
    let mut reply = Vec::new();
    conn.take(16).read_to_end(&mut reply)?;
    Ok(reply)
}

//! A fake push service for the notification tests: an HTTP server on a free loopback port that
//! records every push request (endpoint path, headers, body) and answers 201, or 410 for a path
//! under `/gone/`, or 500 for one under `/failing/`; under `/slow/` it answers after three
//! seconds while [`PushService::set_slow`] holds. `push_check.py` plays the browser: it makes a
//! subscription's keys and decrypts what was recorded, independently of the server's code.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub struct PushService {
    pub origin: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    slow: Arc<AtomicBool>,
}

impl PushService {
    pub async fn start() -> Self {
        let recorded: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let sink = recorded.clone();
        let slow = Arc::new(AtomicBool::new(true));
        let slow_now = slow.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            let slow_now = slow_now.clone();
            async move {
                let path = uri.path().to_owned();
                sink.lock().expect("lock").push(Recorded {
                    path: path.clone(),
                    headers,
                    body: body.to_vec(),
                });
                if path.starts_with("/slow/") && slow_now.load(Ordering::SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                }
                if path.starts_with("/gone/") {
                    StatusCode::GONE
                } else if path.starts_with("/failing/") {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::CREATED
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            origin,
            recorded,
            slow,
        }
    }

    /// Whether `/slow/` paths answer slowly.
    pub fn set_slow(&self, slow: bool) {
        self.slow.store(slow, Ordering::SeqCst);
    }

    /// The value for `DOCKET_PUSH_SERVICES` that admits this service.
    pub fn allowed(&self) -> String {
        self.origin.clone()
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("lock").clone()
    }

    /// Requests to `path` so far.
    pub fn to(&self, path: &str) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits (up to ten seconds) until `count` requests reached `path`.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Recorded> {
        for _ in 0..200 {
            let got = self.to(path);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "{count} push(es) to {path} did not arrive: {:?}",
            self.to(path).len()
        );
    }
}

fn python() -> PathBuf {
    std::env::var_os("DOCKET_TEST_PYTHON").map_or_else(
        || {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/docket-venv/bin/python")
        },
        PathBuf::from,
    )
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/push_check.py")
}

/// A browser's subscription keys, and the private key to read its pushes.
#[derive(Clone, Debug)]
pub struct BrowserKeys {
    pub p256dh: String,
    pub auth: String,
    private: String,
}

impl BrowserKeys {
    pub fn generate() -> Self {
        let out = Command::new(python())
            .arg(script())
            .arg("keygen")
            .output()
            .expect("push_check.py (http-ece and cryptography; `make test` installs them)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        Self {
            p256dh: v["p256dh"].as_str().expect("p256dh").into(),
            auth: v["auth"].as_str().expect("auth").into(),
            private: v["private"].as_str().expect("private").into(),
        }
    }

    /// The subscription a browser would send for `endpoint`.
    pub fn subscription(&self, endpoint: &str) -> Value {
        json!({ "endpoint": endpoint, "keys": { "p256dh": self.p256dh, "auth": self.auth } })
    }

    /// Decrypts and verifies `requests` as the browser: each one's payload, VAPID claims and key.
    pub fn open(&self, requests: &[Recorded]) -> Vec<Value> {
        use std::io::Write;
        let input: Vec<Value> = requests
            .iter()
            .map(|r| {
                json!({
                    "endpoint": r.path,
                    "headers": r.headers.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.to_str().unwrap_or("").into())))
                        .collect::<serde_json::Map<_, _>>(),
                    "body": data_encoding::BASE64URL_NOPAD.encode(&r.body),
                })
            })
            .collect();
        let mut child = Command::new(python())
            .arg(script())
            .arg("open")
            .arg(&self.private)
            .arg(&self.auth)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("push_check.py");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&serde_json::to_vec(&input).expect("json"))
            .expect("write");
        let out = child.wait_with_output().expect("runs");
        assert!(
            out.status.success(),
            "the browser could not open the pushes: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("json")
    }
}

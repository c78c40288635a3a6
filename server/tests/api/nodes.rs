//! Other `docket serve` processes beside the in-process app, on its database: for tests of
//! several nodes, of a node killed with SIGKILL, and of Redis going away under them.

use std::process::Stdio;
use std::time::Duration;

use docket_client::{Channel, ChannelOptions, Update};
use tokio::process::{Child, Command};

use crate::helpers::{next_matching, TestApp};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A private Redis the test can stop and start.
pub struct PrivateRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("docket-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut redis = Self {
            port: free_port(),
            dir,
            child: None,
        };
        redis.up().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn up(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server runs (make test installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis did not start");
    }

    pub async fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis");
        }
    }
}

/// One `docket serve` process against the test's database and `redis`.
pub struct Node {
    pub base: String,
    child: Child,
}

impl Node {
    pub async fn start(app: &TestApp, redis: &str) -> Self {
        Self::start_with(app, redis, &[]).await
    }

    /// A node with further settings in its environment (`DOCKET_OUTBOX_GRACE_MS`, ...), which
    /// override the defaults below.
    pub async fn start_with(app: &TestApp, redis: &str, settings: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_docket"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", app.database_url("docket_app").await)
            .env("REDIS_URL", redis)
            .env("DOCKET_REDIS_PREFIX", &app.config.redis_prefix)
            .env("DOCKET_LISTEN", format!("127.0.0.1:{port}"))
            // The test's own data directory (vault, spool), shared by its nodes like a volume.
            .env("DOCKET_DATA_DIR", &app.config.data_dir)
            .env("DOCKET_COOKIE_SECURE", "false")
            .env("DOCKET_WS_RECHECK_SECONDS", "1")
            .env("DOCKET_WS_HEARTBEAT_SECONDS", "2")
            .env("DOCKET_SEND_RATE", "1000")
            .env("RUST_LOG", "error")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().expect("docket serve starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Self { base, child };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node on {base} did not become ready");
    }

    /// SIGKILL: no goodbye, no drain.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill");
    }
}

/// A channel for `token` that prefers `urls[0]` and fails over to the rest.
pub async fn channel(urls: &[&Node], token: &str) -> Channel {
    let mut options = ChannelOptions::new(
        urls.iter().map(|n| n.base.clone()).collect(),
        token.to_owned(),
    );
    options.reconnect_max = Duration::from_millis(500);
    let mut channel = Channel::connect(options);
    next_matching(&mut channel, "connection", |u| {
        matches!(u, Update::Connected { .. })
    })
    .await;
    channel
}

pub async fn token(app: &TestApp, user: &crate::helpers::TestUser) -> String {
    app.bearer(user).await.bearer.expect("a bearer token")
}

//! The `docket` binary: refusing unsafe configurations and roles, and the admin commands.

use std::process::{Command, Output};

use crate::helpers::spawn_app;

fn docket(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docket"));
    command.args(args).env("RUST_LOG", "error");
    for var in [
        "DATABASE_URL",
        "DOCKET_MIGRATION_DATABASE_URL",
        "DOCKET_KEY_ENCRYPTION_KEY",
        "DOCKET_LISTEN",
        "DOCKET_PUBLIC_URL",
        "DOCKET_COOKIE_SECURE",
        "DOCKET_CONFIG",
    ] {
        command.env_remove(var);
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("docket runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_refuses_the_demo_key_off_localhost_and_says_what_to_fix() {
    let output = docket(
        &["serve"],
        &[
            ("DOCKET_LISTEN", "0.0.0.0:0"),
            ("DOCKET_PUBLIC_URL", "https://portal.example"),
        ],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("DOCKET_KEY_ENCRYPTION_KEY"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn serve_refuses_a_config_file_with_unknown_settings() {
    let dir = std::env::temp_dir().join(format!("docket-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("docket.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\nidle_timeout_minuts = 5\n").expect("write");
    let output = docket(&["--config", path.to_str().expect("utf-8"), "serve"], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("idle_timeout_minuts"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn serve_refuses_a_role_that_bypasses_row_level_security() {
    let app = spawn_app().await;
    let owner = app.database_url("postgres").await;
    let output = docket(
        &["serve"],
        &[("DATABASE_URL", &owner), ("DOCKET_LISTEN", "127.0.0.1:0")],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("bypasses row-level security"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn admin_commands_administer_the_firm_with_audit_rows() {
    let app = spawn_app().await;
    let owner = app.database_url("postgres").await;
    let data_dir = std::env::temp_dir().join(format!("docket-admin-{}", uuid::Uuid::new_v4()));
    let env = [
        ("DOCKET_MIGRATION_DATABASE_URL", owner.as_str()),
        ("DOCKET_DATA_DIR", data_dir.to_str().expect("utf-8")),
    ];
    let run = |args: &[&str]| {
        let output = docket(args, &env);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(&[
        "admin",
        "create-practice-area",
        "--name",
        "Private client",
        "--portal-enabled",
    ]);
    run(&[
        "admin",
        "create-client",
        "--kind",
        "private",
        "--name",
        "Client C",
    ]);
    run(&[
        "admin",
        "create-firm-user",
        "--email",
        "new.fee.earner@firm.test",
        "--name",
        "New Fee Earner",
        "--role",
        "fee_earner",
    ]);
    run(&[
        "admin",
        "invite-client-user",
        "--client",
        "Client C",
        "--email",
        "c@client-c.test",
        "--name",
        "C",
        "--role",
        "member",
    ]);
    run(&[
        "admin",
        "create-matter",
        "--reference",
        "C-1",
        "--title",
        "Will",
        "--client",
        "Client C",
        "--practice-area",
        "Private client",
        "--responsible",
        &app.firm.fee_earner.email,
    ]);
    run(&[
        "admin",
        "grant",
        "--matter",
        "C-1",
        "--user",
        "c@client-c.test",
        "--scopes",
        "messages,documents",
    ]);
    let scopes: Vec<String> = sqlx::query_scalar("select unnest(scopes) from matter_grant g join matter m using (matter_id) where m.reference = 'C-1'")
        .fetch_all(&app.owner)
        .await
        .expect("grant");
    assert_eq!(scopes, vec!["messages", "documents"]);
    // Both invitations went to the spool, not to the output or the log.
    let spooled = std::fs::read_dir(data_dir.join("mail"))
        .expect("spool")
        .count();
    assert_eq!(spooled, 2);
    let export = run(&["audit", "export", "--matter", "C-1"]);
    let actions: Vec<String> = export
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["action"]
                .as_str()
                .expect("action")
                .to_owned()
        })
        .collect();
    assert_eq!(actions, vec!["matter.created", "access.grant.changed"]);
    // A bad scope is refused by the argument parser, naming the problem.
    let output = docket(
        &[
            "admin",
            "grant",
            "--matter",
            "C-1",
            "--user",
            "c@client-c.test",
            "--scopes",
            "everything",
        ],
        &env,
    );
    assert!(!output.status.success() && stderr(&output).contains("everything"));
}

/// `docket-cli`, built alongside the tests by `cargo test --workspace` (as `make test` runs it).
fn docket_cli() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let cli = dir.join("docket-cli");
    assert!(
        cli.exists(),
        "{} is missing: build the workspace (cargo test --workspace)",
        cli.display()
    );
    cli
}

#[tokio::test]
async fn the_cli_signs_in_lists_sends_and_tails() {
    let app = spawn_app().await;
    let user = &app.firm.dept_head;
    let session = std::env::temp_dir().join(format!("docket-cli-{}", uuid::Uuid::new_v4()));
    let cli = |args: &[&str]| {
        // Async: the server under test runs on this test's runtime thread.
        let mut command = tokio::process::Command::new(docket_cli());
        command
            .args(args)
            .env("DOCKET_CLI_SESSION", &session)
            .env_remove("DOCKET_URL")
            .env_remove("DOCKET_PASSWORD");
        command
    };
    let code = app.fresh_code(&user.totp_secret);
    let output = cli(&[
        "sign-in",
        "--url",
        &app.base,
        "--email",
        &user.email,
        "--password",
        crate::helpers::PASSWORD,
        "--code",
        &code,
    ])
    .output()
    .await
    .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&session)
            .expect("session file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let output = cli(&["matters"]).output().await.expect("runs");
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        listing.contains("A-1") && !listing.contains("B-1"),
        "{listing}"
    );

    let output = cli(&["send", "A-1", "Sent from the command line"])
        .output()
        .await
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "sent as #1",
        "{}",
        stderr(&output)
    );

    let mut child = cli(&["tail", "A-1"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
        .await
        .expect("a line in time")
        .expect("read")
        .expect("a line");
    assert!(
        first.starts_with("#1") && first.ends_with("Sent from the command line"),
        "{first}"
    );

    let output = cli(&["matters"])
        .env("DOCKET_CLI_SESSION", "/nonexistent/session")
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success() && stderr(&output).contains("not signed in"));
}

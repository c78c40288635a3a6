//! The audit trail: append-only for the server, hash-chained, verifiable, exportable per matter.

use docket_server::audit::chain::{self, Verdict};
use docket_server::db::{RequestContext, Tenant};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{cluster_url, code, spawn_app, TestApp};

async fn owner_url(app: &TestApp) -> String {
    let (prefix, _) = cluster_url()
        .await
        .rsplit_once('/')
        .expect("a URL with a database");
    format!("{prefix}/{}", app.db_name)
}

/// Runs `docket audit verify` against the test database.
async fn verify_command(app: &TestApp) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_docket"))
        .args(["audit", "verify"])
        .env("DOCKET_MIGRATION_DATABASE_URL", owner_url(app).await)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "error")
        .output()
        .expect("docket runs")
}

#[tokio::test]
async fn the_chain_verifies_and_names_the_first_tampered_row() {
    let app = spawn_app().await;
    app.signed_in(&app.firm.gc).await;
    let Verdict::Intact { rows } = chain::verify(&app.owner).await.expect("verify") else {
        panic!("fresh chain is intact")
    };
    assert!(rows > 10, "{rows}");
    let output = verify_command(&app).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("{rows} rows verified")));

    // The owner can rewrite history; the chain shows where.
    sqlx::query("update audit_event set target = 'user:someone-else' where seq = 7")
        .execute(&app.owner)
        .await
        .expect("tamper");
    assert_eq!(
        chain::verify(&app.owner).await.expect("verify"),
        Verdict::Broken {
            seq: 7,
            reason: "its content does not match its hash".into()
        }
    );
    let output = verify_command(&app).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("broken at row 7"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_deleted_row_breaks_the_chain_at_the_gap() {
    let app = spawn_app().await;
    app.signed_in(&app.firm.gc).await;
    sqlx::query("delete from audit_event where seq = 4")
        .execute(&app.owner)
        .await
        .expect("delete");
    let Verdict::Broken { seq, .. } = chain::verify(&app.owner).await.expect("verify") else {
        panic!("a gap is detected")
    };
    assert_eq!(seq, 4);
}

#[tokio::test]
async fn the_runtime_role_can_append_but_never_change_the_trail() {
    let app = spawn_app().await;
    let ctx = RequestContext {
        actor: Some(app.firm.partner.user_id),
        ..Default::default()
    };
    for statement in [
        "update audit_event set target = 'x'",
        "delete from audit_event",
        "truncate audit_event",
    ] {
        let mut tenant = Tenant::begin(&app.runtime, &app.state.outbox, ctx.clone())
            .await
            .expect("tenant");
        let err = sqlx::query(statement)
            .execute(tenant.conn())
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains("permission denied"),
            "{statement}: {err}"
        );
    }
    // Nor can it forge the chain columns.
    let mut tenant = Tenant::begin(&app.runtime, &app.state.outbox, ctx)
        .await
        .expect("tenant");
    let err = sqlx::query(
        "insert into audit_event (action, row_hash, prev_hash) values ('x.y', '\\x00', '\\x00')",
    )
    .execute(tenant.conn())
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn a_matter_trail_exports_as_json_lines_to_those_entitled() {
    let app = spawn_app().await;
    let f = &app.firm;
    let path = format!("/api/v1/matters/{}/audit", f.matter_a1);
    let fee_earner = app.signed_in(&f.fee_earner).await;
    let response = fee_earner
        .raw()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.expect("body");
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(entries
        .iter()
        .all(|e| e["matter_id"] == serde_json::json!(f.matter_a1)));
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, vec!["matter.created", "access.grant.changed"]);
    assert!(entries
        .iter()
        .all(|e| e["row_hash"].as_str().expect("hash").len() == 64));

    // The export itself is on the record, by whom.
    let exported: Option<uuid::Uuid> = sqlx::query_scalar("select actor_id from audit_event where action = 'audit.matter.exported' and matter_id = $1")
        .bind(f.matter_a1.0)
        .fetch_one(&app.owner)
        .await
        .expect("export audited");
    assert_eq!(exported, Some(f.fee_earner.user_id.0));

    // Clients may see the matter but not its trail.
    let gc = app.signed_in(&f.gc).await;
    let (status, body) = gc.get(&path).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
}

#[tokio::test]
async fn sign_in_failures_and_successes_are_recorded_with_address() {
    let app = spawn_app().await;
    let client = app.browser();
    client
        .post(
            "/api/v1/auth/sign-in",
            serde_json::json!({ "email": app.firm.gc.email, "password": "wrong password" }),
        )
        .await;
    app.signed_in(&app.firm.gc).await;
    type Row = (String, Option<uuid::Uuid>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "select action, actor_id, host(source_ip), target from audit_event where action like 'auth.sign_in.%' order by seq",
    )
    .fetch_all(&app.owner)
    .await
    .expect("rows");
    let failed = rows
        .iter()
        .find(|r| r.0 == "auth.sign_in.failed")
        .expect("failure recorded");
    assert_eq!(failed.1, None, "no actor before the password is verified");
    assert_eq!(failed.2.as_deref(), Some("127.0.0.1"));
    assert_eq!(failed.3, Some(format!("user:{}", app.firm.gc.user_id)));
    let succeeded = rows
        .iter()
        .find(|r| r.0 == "auth.sign_in.succeeded")
        .expect("success recorded");
    assert_eq!(succeeded.1, Some(app.firm.gc.user_id.0));
}

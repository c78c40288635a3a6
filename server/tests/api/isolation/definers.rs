//! Defence in depth, at the SQL level, as the runtime role: what one server bug (a query run
//! without the tenant transaction, a definer function called with someone else's id) could reach
//! if the database did not stop it.

use docket_protocol::ids::UserId;
use docket_server::db::{RequestContext, Tenant};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

/// SQLSTATE of "permission denied" (insufficient_privilege).
const DENIED: &str = "42501";

/// Runs `sql` as `docket_app` in a transaction acting as `actor`; rows as JSON, or the SQLSTATE.
async fn select(app: &TestApp, actor: Option<UserId>, sql: &str) -> Result<Vec<Value>, String> {
    let mut t = tenant(app, actor).await;
    sqlx::query_scalar(&format!("select to_jsonb(x) from ({sql}) x"))
        .fetch_all(t.conn())
        .await
        .map_err(sqlstate)
}

/// Executes `sql` as `docket_app` acting as `actor`, and commits; rows affected, or the SQLSTATE.
async fn execute(app: &TestApp, actor: Option<UserId>, sql: &str) -> Result<u64, String> {
    let mut t = tenant(app, actor).await;
    let done = sqlx::query(sql).execute(t.conn()).await.map_err(sqlstate)?;
    t.commit().await.map_err(|e| e.to_string())?;
    Ok(done.rows_affected())
}

async fn tenant(app: &TestApp, actor: Option<UserId>) -> Tenant {
    Tenant::begin(
        &app.runtime,
        &app.state.outbox,
        RequestContext {
            actor,
            ..Default::default()
        },
    )
    .await
    .expect("tenant")
}

/// A row's column names, sorted.
fn columns(row: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = row
        .as_object()
        .expect("row")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

fn sqlstate(err: sqlx::Error) -> String {
    match err.as_database_error().and_then(|e| e.code()) {
        Some(code) => code.into_owned(),
        None => err.to_string(),
    }
}

#[tokio::test]
async fn no_tenant_reads_another_users_credentials_and_clients_see_firm_staff_by_name_only() {
    let app = spawn_app().await;
    let f = &app.firm;
    for user in [&f.gc, &f.private_client, &f.fee_earner, &f.admin] {
        let rows = select(
            &app,
            Some(user.user_id),
            "select user_id from user_credential",
        )
        .await
        .expect("select");
        assert_eq!(
            rows.len(),
            1,
            "{} reads only their own credentials",
            user.email
        );
        assert_eq!(rows[0]["user_id"], user.user_id.0.to_string());
    }
    let rows = select(&app, None, "select * from user_credential")
        .await
        .expect("select");
    assert!(rows.is_empty(), "nobody reads no credentials");
    // The credential columns are gone from the directory row altogether.
    let err = select(
        &app,
        Some(f.admin.user_id),
        "select password_hash from user_account",
    )
    .await
    .expect_err("no such column");
    assert_eq!(err, "42703");

    // A client user reads no firm staff directory row, but names them through `person`.
    let staff = select(
        &app,
        Some(f.gc.user_id),
        "select * from user_account where kind = 'firm'",
    )
    .await
    .expect("select");
    assert!(staff.is_empty(), "{staff:?}");
    let named = select(
        &app,
        Some(f.gc.user_id),
        "select * from person where kind = 'firm'",
    )
    .await
    .expect("select");
    assert!(named
        .iter()
        .any(|p| p["user_id"] == f.fee_earner.user_id.0.to_string()));
    for person in &named {
        assert_eq!(columns(person), ["display_name", "kind", "user_id"]);
    }
    // Nor does `person` name another client's users, or anyone to nobody.
    let foreign = select(
        &app,
        Some(f.gc.user_id),
        &format!(
            "select * from person where user_id = '{}'",
            f.private_client.user_id
        ),
    )
    .await
    .expect("select");
    assert!(foreign.is_empty());
    assert!(select(&app, None, "select * from person")
        .await
        .expect("select")
        .is_empty());
}

#[tokio::test]
async fn the_sign_in_look_up_returns_no_hash_and_nothing_inside_a_tenant() {
    let app = spawn_app().await;
    let f = &app.firm;
    let lookup = format!(
        "select * from docket_sign_in_account('{}')",
        f.partner.email
    );
    let rows = select(&app, None, &lookup).await.expect("select");
    assert_eq!(rows.len(), 1);
    assert_eq!(columns(&rows[0]), ["mfa_enrolled", "status", "user_id"]);
    let inside = select(&app, Some(f.gc.user_id), &lookup)
        .await
        .expect("select");
    assert!(
        inside.is_empty(),
        "a signed-in request cannot probe the directory"
    );
}

#[tokio::test]
async fn audit_rows_name_the_transactions_actor_and_no_one_else() {
    let app = spawn_app().await;
    let f = &app.firm;
    let forge = format!(
        "insert into audit_event (actor_id, action) values ('{}', 'test.forged')",
        f.partner.user_id
    );
    // Naming an actor is refused with an actor set, and with none.
    assert_eq!(execute(&app, None, &forge).await, Err(DENIED.into()));
    assert_eq!(
        execute(&app, Some(f.gc.user_id), &forge).await,
        Err(DENIED.into())
    );
    // Without the column, the database writes the transaction's actor (or none).
    execute(
        &app,
        Some(f.gc.user_id),
        "insert into audit_event (action) values ('test.attributed')",
    )
    .await
    .expect("insert");
    execute(
        &app,
        None,
        "insert into audit_event (action) values ('test.anonymous')",
    )
    .await
    .expect("insert");
    let rows: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(
        "select action, actor_id from audit_event where action like 'test.%' order by seq",
    )
    .fetch_all(&app.owner)
    .await
    .expect("rows");
    assert_eq!(
        rows,
        [
            ("test.attributed".to_owned(), Some(f.gc.user_id.0)),
            ("test.anonymous".to_owned(), None)
        ]
    );
}

#[tokio::test]
async fn channel_definer_functions_are_the_channel_roles_alone() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (b1, gc) = (f.matter_b1.0, f.gc.user_id.0);
    let calls = [
        format!("select * from channel_delivery_events('{b1}', 0, 100)"),
        format!("select docket_user_matter_scopes('{}', '{b1}')", f.private_client.user_id),
        format!("select * from channel_allocate(array['{b1}']::uuid[], array[1])"),
        format!("select channel_last_seq('{b1}')"),
        format!(
            "select * from channel_find_sent(array['{b1}']::uuid[], array['{gc}']::uuid[], array['{gc}']::uuid[])"
        ),
        // The writer's batch: a request could otherwise post as any author with access (the
        // firm's admin here, who may post on every matter).
        format!(
            "select * from channel_write(array['{b1}']::uuid[], array[1], array['{b1}']::uuid[], \
             array[0]::bigint[], array['message'], array['messages'], array['{}']::uuid[], \
             array[null]::uuid[], array[gen_random_uuid()], array['{{}}']::jsonb[], now(), \
             gen_random_uuid(), 0)",
            f.admin.user_id
        ),
        // The socket watch and authoriser: other people's sessions, scopes and read positions.
        format!("select * from socket_session_states(array['{gc}']::uuid[])"),
        format!("select socket_touch_sessions(array['{gc}']::uuid[], array[now()])"),
        format!(
            "select * from socket_scopes(array['{}']::uuid[], array['{b1}']::uuid[])",
            f.private_client.user_id
        ),
        format!(
            "select * from socket_read_positions(array['{}']::uuid[], array['{b1}']::uuid[])",
            f.private_client.user_id
        ),
    ];
    for call in &calls {
        for actor in [None, Some(f.gc.user_id), Some(f.admin.user_id)] {
            assert_eq!(
                select(&app, actor, call).await.map(|_| ()),
                Err(DENIED.into()),
                "{call} as {actor:?}"
            );
        }
    }
    // The actor-bound replacements answer nothing for a matter the actor cannot see, and change
    // nothing: client A's general counsel cannot move client B's channel head.
    let head = || async {
        sqlx::query_scalar::<_, i64>("select last_seq from channel_head where matter_id = $1")
            .bind(b1)
            .fetch_one(&app.owner)
            .await
            .expect("head")
    };
    let before = head().await;
    let next = select(
        &app,
        Some(f.gc.user_id),
        &format!("select channel_next_seq('{b1}') as seq"),
    )
    .await
    .expect("select");
    assert_eq!(next[0]["seq"], Value::Null);
    assert_eq!(head().await, before);
    let readers = select(
        &app,
        Some(f.gc.user_id),
        &format!("select * from matter_message_readers('{b1}')"),
    )
    .await
    .expect("select");
    assert!(readers.is_empty());
}

#[tokio::test]
async fn the_runtime_role_cannot_write_a_message_as_someone_else_even_with_no_actor() {
    let app = spawn_app().await;
    let f = &app.firm;
    let insert = |author: UserId| {
        format!(
            "insert into channel_event (matter_id, seq, kind, scope, author_id, body)
             values ('{}', 999, 'message', 'messages', '{author}', '{{}}')",
            f.matter_a1
        )
    };
    // With no actor set, the runtime role (as opposed to the channel writer's role) writes no
    // message at all; with one, only as that actor.
    assert_eq!(
        execute(&app, None, &insert(f.fee_earner.user_id)).await,
        Err(DENIED.into())
    );
    assert_eq!(
        execute(&app, Some(f.gc.user_id), &insert(f.fee_earner.user_id)).await,
        Err(DENIED.into())
    );
}

#[tokio::test]
async fn no_function_is_executable_by_public() {
    let app = spawn_app().await;
    let open: Vec<String> = sqlx::query_scalar(
        "select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace = 'public'::regnamespace
           and (p.proacl is null
                or exists (select 1 from aclexplode(p.proacl) a
                           where a.grantee = 0 and a.privilege_type = 'EXECUTE'))",
    )
    .fetch_all(&app.owner)
    .await
    .expect("functions");
    assert!(open.is_empty(), "executable by PUBLIC: {open:?}");
}

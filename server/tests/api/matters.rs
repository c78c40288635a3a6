//! Every role's view of the matters, grants, and opening matters.

use std::collections::BTreeMap;

use docket_protocol::ids::MatterId;
use docket_server::practice_areas;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, spawn_app, Client, TestApp, TestUser};

/// The matters `user` sees, by id, with their scopes.
async fn view(app: &TestApp, user: &TestUser) -> BTreeMap<MatterId, Vec<String>> {
    let client = app.signed_in(user).await;
    view_with(&client).await
}

async fn view_with(client: &Client) -> BTreeMap<MatterId, Vec<String>> {
    let (status, body) = client.get("/api/v1/matters").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .expect("list")
        .iter()
        .map(|m| {
            let id: MatterId = serde_json::from_value(m["matter_id"].clone()).expect("id");
            let scopes = m["scopes"]
                .as_array()
                .expect("scopes")
                .iter()
                .map(|s| s.as_str().expect("scope").to_owned())
                .collect();
            (id, scopes)
        })
        .collect()
}

fn all_scopes() -> Vec<String> {
    ["messages", "documents", "milestones", "invoices"]
        .map(String::from)
        .to_vec()
}

#[tokio::test]
async fn each_role_sees_exactly_its_matters_and_scopes() {
    let app = spawn_app().await;
    let f = &app.firm;
    let everything: Vec<MatterId> =
        vec![f.matter_a1, f.matter_a2, f.matter_a_disabled, f.matter_b1];

    // Firm: partner and admin see all; the responsible fee earner sees theirs; another sees none.
    for supervisor in [&f.partner, &f.admin] {
        assert_eq!(
            view(&app, supervisor)
                .await
                .keys()
                .copied()
                .collect::<Vec<_>>()
                .len(),
            everything.len()
        );
    }
    assert_eq!(view(&app, &f.fee_earner).await.len(), 4);
    assert!(
        view(&app, &f.other_fee_earner).await.is_empty(),
        "a fee earner not on the team sees nothing"
    );

    // General counsel: every matter of client A in enabled practice areas, every scope.
    let gc = view(&app, &f.gc).await;
    assert_eq!(
        gc.keys().copied().collect::<Vec<_>>(),
        sorted(vec![f.matter_a1, f.matter_a2])
    );
    assert!(gc.values().all(|s| *s == all_scopes()));
    // Finance: the same matters, invoices only.
    let finance = view(&app, &f.finance).await;
    assert_eq!(
        finance.keys().copied().collect::<Vec<_>>(),
        sorted(vec![f.matter_a1, f.matter_a2])
    );
    assert!(finance.values().all(|s| *s == vec!["invoices".to_owned()]));
    // Department head: only the granted matter, in the granted scopes.
    let head = view(&app, &f.dept_head).await;
    assert_eq!(
        head.into_iter().collect::<Vec<_>>(),
        vec![(
            f.matter_a1,
            vec!["messages".to_owned(), "documents".to_owned()]
        )]
    );
    // The private client: their own matter only.
    assert_eq!(
        view(&app, &f.private_client)
            .await
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![f.matter_b1]
    );
}

fn sorted(mut ids: Vec<MatterId>) -> Vec<MatterId> {
    ids.sort();
    ids
}

#[tokio::test]
async fn enabling_a_practice_area_reveals_its_matters_to_clients() {
    let app = spawn_app().await;
    let gc = app.signed_in(&app.firm.gc).await;
    let (status, _) = gc
        .get(&format!("/api/v1/matters/{}", app.firm.matter_a_disabled))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut conn = app.owner.acquire().await.expect("conn");
    practice_areas::set_portal_enabled(&mut conn, "Employment", true)
        .await
        .expect("enable");
    let (status, body) = gc
        .get(&format!("/api/v1/matters/{}", app.firm.matter_a_disabled))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn matter_detail_shows_firm_users_every_grant_and_clients_only_their_own() {
    let app = spawn_app().await;
    let path = format!("/api/v1/matters/{}", app.firm.matter_a1);
    let (_, firm_view) = app.signed_in(&app.firm.fee_earner).await.get(&path).await;
    assert_eq!(firm_view["grants"].as_array().expect("grants").len(), 1);
    let (_, gc_view) = app.signed_in(&app.firm.gc).await.get(&path).await;
    assert_eq!(
        gc_view["grants"],
        json!([]),
        "the GC does not see the department head's grant"
    );
    let (_, head_view) = app.signed_in(&app.firm.dept_head).await.get(&path).await;
    assert_eq!(
        head_view["grants"][0]["user_id"],
        json!(app.firm.dept_head.user_id)
    );
}

#[tokio::test]
async fn granting_and_revoking_changes_what_a_member_sees() {
    let app = spawn_app().await;
    let f = &app.firm;
    let fee_earner = app.signed_in(&f.fee_earner).await;
    let head = app.signed_in(&f.dept_head).await;
    let grant_path = format!(
        "/api/v1/matters/{}/grants/{}",
        f.matter_a2, f.dept_head.user_id
    );

    let (status, body) = fee_earner
        .put(
            &grant_path,
            json!({ "scopes": ["milestones", "messages", "milestones"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scopes"], json!(["messages", "milestones"]));
    assert_eq!(
        view_with(&head).await.get(&f.matter_a2),
        Some(&vec!["messages".to_owned(), "milestones".to_owned()])
    );

    let (status, _) = fee_earner.delete(&grant_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!view_with(&head).await.contains_key(&f.matter_a2));
    assert_eq!(
        fee_earner.delete(&grant_path).await.0,
        StatusCode::NOT_FOUND,
        "already revoked"
    );

    // Invalid grants: no scopes, unknown scope, a client admin (sees by role), another client's user.
    assert_eq!(
        code(&fee_earner.put(&grant_path, json!({ "scopes": [] })).await.1),
        "invalid_input"
    );
    assert_eq!(
        code(
            &fee_earner
                .put(&grant_path, json!({ "scopes": ["everything"] }))
                .await
                .1
        ),
        "invalid_input"
    );
    let gc_path = format!("/api/v1/matters/{}/grants/{}", f.matter_a2, f.gc.user_id);
    assert_eq!(
        code(
            &fee_earner
                .put(&gc_path, json!({ "scopes": ["messages"] }))
                .await
                .1
        ),
        "invalid_input"
    );
    let foreign_path = format!(
        "/api/v1/matters/{}/grants/{}",
        f.matter_a2, f.private_client.user_id
    );
    assert_eq!(
        fee_earner
            .put(&foreign_path, json!({ "scopes": ["messages"] }))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Clients cannot grant, even on matters they see.
    let gc = app.signed_in(&f.gc).await;
    assert_eq!(
        code(
            &gc.put(&grant_path, json!({ "scopes": ["messages"] }))
                .await
                .1
        ),
        "forbidden"
    );

    let changes: i64 = sqlx::query_scalar("select count(*) from audit_event where action in ('access.grant.changed', 'access.grant.revoked') and matter_id = $1")
        .bind(f.matter_a2.0)
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(changes, 2);
}

#[tokio::test]
async fn the_database_refuses_a_grant_across_clients_even_from_the_owner() {
    let app = spawn_app().await;
    let err = sqlx::query(
        "insert into matter_grant (matter_id, user_id, scopes) values ($1, $2, '{messages}')",
    )
    .bind(app.firm.matter_a1.0)
    .bind(app.firm.private_client.user_id.0)
    .execute(&app.owner)
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("matter's client"), "{err}");
}

#[tokio::test]
async fn partners_open_matters_and_fee_earners_cannot() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (_, areas) = app
        .signed_in(&f.partner)
        .await
        .get("/api/v1/practice-areas")
        .await;
    let area = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["name"] == "Commercial property")
        .expect("area")["practice_area_id"]
        .clone();
    let request = json!({
        "reference": "A-9", "title": "New lease", "client_id": f.client_a, "practice_area_id": area,
        "responsible_fee_earner_id": f.other_fee_earner.user_id, "team": [f.fee_earner.user_id],
    });
    let fee_earner = app.signed_in(&f.fee_earner).await;
    assert_eq!(
        code(&fee_earner.post("/api/v1/matters", request.clone()).await.1),
        "forbidden"
    );

    let partner = app.signed_in(&f.partner).await;
    let (status, body) = partner.post("/api/v1/matters", request.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["team"][0]["user_id"], json!(f.fee_earner.user_id));
    let (status, body) = partner.post("/api/v1/matters", request.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "references are unique"
    );

    // The new responsible fee earner now sees it; a client user cannot be made responsible.
    assert_eq!(view(&app, &f.other_fee_earner).await.len(), 1);
    let mut bad: Value = request.clone();
    bad["reference"] = json!("A-10");
    bad["responsible_fee_earner_id"] = json!(f.gc.user_id);
    assert_eq!(
        code(&partner.post("/api/v1/matters", bad).await.1),
        "invalid_input"
    );
}

#[tokio::test]
async fn no_matter_can_claim_end_to_end_encryption_before_docket_provides_it() {
    let app = spawn_app().await;
    let f = &app.firm;
    let partner = app.signed_in(&f.partner).await;
    let (_, areas) = partner.get("/api/v1/practice-areas").await;
    let area = areas[0]["practice_area_id"].clone();
    let request = json!({
        "reference": "E-1", "title": "Sensitive acquisition", "client_id": f.client_a,
        "practice_area_id": area, "responsible_fee_earner_id": f.fee_earner.user_id,
        "sensitivity": "e2ee",
    });
    let (status, body) = partner.post("/api/v1/matters", request).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not available yet")),
        "the refusal says why: {body}"
    );
    let written: i64 = sqlx::query_scalar(
        "select (select count(*) from matter where reference = 'E-1')
              + (select count(*) from audit_event where detail::jsonb ->> 'reference' = 'E-1')",
    )
    .fetch_one(&app.owner)
    .await
    .expect("count");
    assert_eq!(written, 0, "nothing is written");

    // Nor can anything with the database's owner rights mark an existing matter so.
    let refused = sqlx::query("update matter set sensitivity = 'e2ee' where matter_id = $1")
        .bind(f.matter_a1.0)
        .execute(&app.owner)
        .await
        .expect_err("the database refuses the mark");
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.constraint().map(str::to_owned)),
        Some("matter_sensitivity_check".to_owned())
    );
}

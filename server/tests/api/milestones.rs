//! Milestones end to end: practice-area templates by detail level, a new matter's copy, who sees
//! the timeline, live milestone cards, the audit trail and the rules on what may be stored.

use docket_protocol::channel::EventBody;
use docket_protocol::ids::{MatterId, MilestoneId};
use docket_protocol::milestones::{MilestoneStatus, UpdateMilestoneRequest};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{code, next_matching, spawn_app, subscribed, Client, TestApp};

/// The id of the practice area called `name`.
async fn area(app: &TestApp, name: &str) -> String {
    let admin = app.bearer(&app.firm.admin).await;
    let (_, areas) = admin.get("/api/v1/practice-areas").await;
    areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["name"] == name)
        .and_then(|a| a["practice_area_id"].as_str())
        .expect("the area")
        .to_owned()
}

fn titles(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|m| m["title"].as_str().expect("title"))
        .collect()
}

pub async fn timeline(client: &Client, matter: MatterId) -> (StatusCode, Value) {
    client
        .get(&format!("/api/v1/matters/{matter}/milestones"))
        .await
}

pub async fn patch(
    client: &Client,
    matter: MatterId,
    milestone: &str,
    body: Value,
) -> (StatusCode, Value) {
    client
        .send(
            Method::PATCH,
            &format!("/api/v1/matters/{matter}/milestones/{milestone}"),
            Some(body),
        )
        .await
}

fn milestone_id(timeline: &Value, index: usize) -> String {
    timeline["milestones"][index]["milestone_id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn audit_actions(app: &TestApp, target: &str) -> Vec<(String, uuid::Uuid)> {
    sqlx::query_as("select action, actor_id from audit_event where target = $1 order by seq")
        .bind(target)
        .fetch_all(&app.owner)
        .await
        .expect("audit")
}

#[tokio::test]
async fn each_area_has_a_template_at_its_detail_level_and_only_admins_edit_it() {
    let app = spawn_app().await;
    let firm = &app.firm;
    let (property, employment) = (
        area(&app, "Commercial property").await,
        area(&app, "Employment").await,
    );
    let fee = app.bearer(&firm.fee_earner).await;
    let path = |id: &str| format!("/api/v1/practice-areas/{id}/milestone-template");

    let (status, detailed) = fee.get(&path(&property)).await;
    assert_eq!(status, StatusCode::OK, "{detailed}");
    assert_eq!(detailed["detail_level"], "detailed");
    let steps = titles(&detailed["items"]);
    assert_eq!(steps.len(), 10, "{steps:?}");
    assert!(steps.contains(&"Contract drafted and sent for review"));
    assert!(steps.contains(&"Registered at the Land Registry"));
    assert_eq!(
        detailed["items"][0]["client_action"],
        "Please send two forms of ID"
    );
    let (_, high) = fee.get(&path(&employment)).await;
    assert_eq!(high["detail_level"], "high_level");
    assert_eq!(
        titles(&high["items"]),
        [
            "We have your instructions",
            "We are reviewing the documents",
            "We are negotiating the terms",
            "Completed"
        ]
    );

    let edit = json!({ "items": [
        { "title": "We have your instructions" },
        { "title": "Advice sent to you", "client_action": "Please tell us how you want to proceed" },
    ] });
    let (status, body) = fee.put(&path(&employment), edit.clone()).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let gc = app.bearer(&firm.gc).await;
    let (status, _) = gc.get(&path(&employment)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = app.bearer(&firm.admin).await;
    let (status, body) = admin.put(&path(&employment), json!({ "items": [] })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    let (status, body) = admin.put(&path(&employment), edit).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        titles(&body["items"]),
        ["We have your instructions", "Advice sent to you"]
    );
    let audited = audit_actions(&app, &format!("practice_area:{employment}")).await;
    assert_eq!(
        audited,
        [(
            "milestone_template.updated".to_owned(),
            firm.admin.user_id.0
        )]
    );

    // A matter opened now starts from the edited template; the older one keeps its copy.
    let (status, matter) = admin
        .post(
            "/api/v1/matters",
            json!({
                "reference": "E-9", "title": "Settlement agreement", "client_id": firm.client_a,
                "practice_area_id": employment, "responsible_fee_earner_id": firm.fee_earner.user_id,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{matter}");
    let new_matter: MatterId = serde_json::from_value(matter["matter_id"].clone()).expect("id");
    let (_, fresh) = timeline(&fee, new_matter).await;
    assert_eq!(
        titles(&fresh["milestones"]),
        ["We have your instructions", "Advice sent to you"]
    );
    assert_eq!(
        fresh["milestones"][1]["client_action"],
        "Please tell us how you want to proceed"
    );
    let (_, older) = timeline(&fee, firm.matter_a_disabled).await;
    assert_eq!(titles(&older["milestones"]).len(), 4);
}

#[tokio::test]
async fn a_new_matter_starts_from_its_areas_template_at_its_detail_level() {
    let app = spawn_app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let (status, detailed) = timeline(&fee, firm.matter_a1).await;
    assert_eq!(status, StatusCode::OK, "{detailed}");
    assert_eq!(detailed["detail_level"], "detailed");
    let steps = detailed["milestones"].as_array().expect("milestones");
    assert_eq!(steps.len(), 10);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(step["position"], i + 1);
        assert_eq!(step["status"], "upcoming");
        assert_eq!(step["updated_by"], Value::Null);
    }
    assert_eq!(detailed["current"], steps[0]["milestone_id"]);
    let (_, high) = timeline(&fee, firm.matter_a_disabled).await;
    assert_eq!(high["detail_level"], "high_level");
    assert_eq!(high["milestones"].as_array().expect("stages").len(), 4);
}

#[tokio::test]
async fn only_clients_with_the_milestones_scope_see_the_timeline_or_its_cards() {
    let app = spawn_app().await;
    let firm = &app.firm;
    let gc = app.bearer(&firm.gc).await;
    let (status, seen) = timeline(&gc, firm.matter_a1).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["milestones"].as_array().expect("milestones").len(), 10);
    // A member granted messages and documents only: refused, and nothing in the list either.
    let member = app.bearer(&firm.dept_head).await;
    let (status, body) = timeline(&member, firm.matter_a1).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (_, list) = member.get("/api/v1/matters").await;
    assert_eq!(list[0]["matter_id"], json!(firm.matter_a1));
    assert_eq!(list[0]["current_stage"], Value::Null);
    let rows = app
        .select_as(&firm.dept_head, "select * from matter_milestone")
        .await;
    assert!(
        rows.is_empty(),
        "the database shows no milestones: {rows:?}"
    );
    // Another client's matter does not exist for them.
    let other = app.bearer(&firm.private_client).await;
    let (status, _) = timeline(&other, firm.matter_a1).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, mut channel) = app.sdk(&firm.dept_head).await;
    subscribed(&mut channel, firm.matter_a1, None).await;
    let (fee, mut fee_channel) = app.sdk(&firm.fee_earner).await;
    subscribed(&mut fee_channel, firm.matter_a1, None).await;
    let first = fee
        .timeline(firm.matter_a1)
        .await
        .expect("timeline")
        .milestones[0]
        .milestone_id;
    let update = UpdateMilestoneRequest {
        status: Some(MilestoneStatus::InProgress),
        ..Default::default()
    };
    fee.update_milestone(firm.matter_a1, first, &update)
        .await
        .expect("update");
    fee_channel
        .send(firm.matter_a1, "after the milestone")
        .await
        .expect("send");
    // The member's stream goes straight from before the update to the message.
    let update = next_matching(&mut channel, "the message", |u| {
        matches!(u, docket_client::Update::Event(e) if !matches!(e.body, EventBody::Message { .. }))
            || crate::helpers::message_text(u).as_deref() == Some("after the milestone")
    })
    .await;
    assert_eq!(
        crate::helpers::message_text(&update).as_deref(),
        Some("after the milestone"),
        "no milestone card reaches a member without the scope: {update:?}"
    );
}

#[tokio::test]
async fn a_fee_earners_update_arrives_live_and_is_audited() {
    let app = spawn_app().await;
    let firm = &app.firm;
    let (client, mut channel) = app.sdk(&firm.gc).await;
    subscribed(&mut channel, firm.matter_a1, None).await;
    let (fee, _fee_channel) = app.sdk(&firm.fee_earner).await;
    let before = fee.timeline(firm.matter_a1).await.expect("timeline");
    let step: MilestoneId = before.milestones[6].milestone_id;
    let update = UpdateMilestoneRequest {
        status: Some(MilestoneStatus::InProgress),
        client_action: Some(crate::helpers::text("Please sign and return the contract")),
        ..Default::default()
    };
    let after = fee
        .update_milestone(firm.matter_a1, step, &update)
        .await
        .expect("update");
    assert_eq!(after.current, Some(step));
    assert_eq!(
        after.milestones[6].updated_by.as_ref().map(|p| p.user_id),
        Some(firm.fee_earner.user_id)
    );

    let card = next_matching(&mut channel, "the milestone card", |u| {
        matches!(u, docket_client::Update::Event(e) if matches!(e.body, EventBody::Milestone { .. }))
    })
    .await;
    let docket_client::Update::Event(event) = card else {
        unreachable!()
    };
    assert_eq!(event.author_id, Some(firm.fee_earner.user_id));
    assert_eq!(
        event.body,
        EventBody::Milestone {
            milestone_id: step,
            title: before.milestones[6].title.clone(),
            status: MilestoneStatus::InProgress,
            client_action: Some("Please sign and return the contract".into()),
        }
    );
    let audited = audit_actions(&app, &format!("milestone:{step}")).await;
    assert_eq!(
        audited,
        [("milestone.updated".to_owned(), firm.fee_earner.user_id.0)]
    );
    // The client sees it in the timeline and in the matter list; it may not change anything.
    let seen = client.timeline(firm.matter_a1).await.expect("timeline");
    assert_eq!(
        seen.milestones[6].client_action.as_deref(),
        Some("Please sign and return the contract")
    );
    let list = client.matters().await.expect("matters");
    let a1 = list
        .iter()
        .find(|m| m.matter_id == firm.matter_a1)
        .expect("a1");
    assert_eq!(
        a1.current_stage.as_deref(),
        Some(before.milestones[6].title.as_str())
    );
    match client.update_milestone(firm.matter_a1, step, &update).await {
        Err(docket_client::Error::Api { status: 403, .. }) => {}
        other => panic!("a client may not update a milestone: {other:?}"),
    }
    let other = app.bearer(&firm.private_client).await;
    let (status, _) = patch(
        &other,
        firm.matter_a1,
        &step.to_string(),
        json!({ "status": "done" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn done_records_the_day_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let (_, start) = timeline(&fee, firm.matter_a1).await;
    let first = milestone_id(&start, 0);
    let today = app.clock.now().date();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );

    let (status, body) = patch(
        &fee,
        firm.matter_a1,
        &first,
        json!({ "status": "done", "note": "ID checked" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["milestones"][0]["status"], "done");
    assert_eq!(body["milestones"][0]["completed_on"], today.as_str());
    assert_eq!(body["milestones"][0]["note"], "ID checked");
    assert_eq!(body["current"], body["milestones"][1]["milestone_id"]);
    let (_, list) = fee.get("/api/v1/matters").await;
    let a1 = list
        .as_array()
        .expect("matters")
        .iter()
        .find(|m| m["matter_id"] == json!(firm.matter_a1))
        .expect("a1");
    assert_eq!(a1["current_stage"], body["milestones"][1]["title"]);

    // An empty string clears; an absent field stays.
    let (_, body) = patch(
        &fee,
        firm.matter_a1,
        &first,
        json!({ "note": "", "expected_on": "2027-01-31" }),
    )
    .await;
    assert_eq!(body["milestones"][0]["note"], Value::Null);
    assert_eq!(body["milestones"][0]["expected_on"], "2027-01-31");
    assert_eq!(body["milestones"][0]["completed_on"], today.as_str());

    for bad in [
        json!({ "expected_on": "2027-13-01" }),
        json!({ "completed_on": "next week" }),
        json!({ "title": "" }),
        json!({ "title": "x".repeat(201) }),
        json!({ "client_action": "x".repeat(1001) }),
    ] {
        let (status, body) = patch(&fee, firm.matter_a1, &first, bad.clone()).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{bad}"
        );
    }
    let (status, body) = fee
        .post(
            &format!("/api/v1/matters/{}/milestones", firm.matter_a1),
            json!({ "title": "Lease plan agreed", "expected_on": "31/01/2027" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );

    // Adding at a position moves the later ones down; removing closes the gap.
    let (status, body) = fee
        .post(
            &format!("/api/v1/matters/{}/milestones", firm.matter_a1),
            json!({ "title": "Lease plan agreed", "position": 2, "client_action": "Please check the plan" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["milestones"].as_array().expect("list").len(), 11);
    assert_eq!(body["milestones"][1]["title"], "Lease plan agreed");
    assert_eq!(body["milestones"][2]["position"], 3);
    let added = milestone_id(&body, 1);
    let (status, body) = fee
        .delete(&format!(
            "/api/v1/matters/{}/milestones/{added}",
            firm.matter_a1
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let positions: Vec<u64> = body["milestones"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(positions, (1..=10).collect::<Vec<_>>());
    let audited = audit_actions(&app, &format!("milestone:{added}")).await;
    let actions: Vec<&str> = audited.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["milestone.added", "milestone.removed"]);
}

#[tokio::test]
async fn only_the_current_steps_action_and_those_marked_due_are_needed_now_the_rest_are_coming_up()
{
    let app = spawn_app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let gc = app.bearer(&firm.gc).await;
    let (_, t) = timeline(&fee, firm.matter_a1).await;
    let steps: Vec<String> = t["milestones"]
        .as_array()
        .expect("milestones")
        .iter()
        .map(|m| m["milestone_id"].as_str().expect("id").to_owned())
        .collect();
    assert!(steps.len() >= 3, "{t}");
    let (first, last) = (&steps[0], steps.last().expect("last"));
    // The current step (nothing in progress: the first upcoming) asks for something; so does the
    // last, months away.
    for (step, action) in [(first, "Send us your ID"), (last, "Arrange the deposit")] {
        let (status, body) = patch(
            &fee,
            firm.matter_a1,
            step,
            json!({ "client_action": action }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let needed = |t: &Value| -> Vec<(String, bool)> {
        t["milestones"]
            .as_array()
            .expect("milestones")
            .iter()
            .filter(|m| m["client_action"].is_string())
            .map(|m| {
                (
                    m["client_action"].as_str().expect("action").to_owned(),
                    m["action_needed_now"].as_bool().expect("flag"),
                )
            })
            .collect()
    };
    let now_needed = |t: &Value| -> Vec<String> {
        needed(t)
            .into_iter()
            .filter(|(_, now)| *now)
            .map(|(a, _)| a)
            .collect()
    };
    let (_, t) = timeline(&gc, firm.matter_a1).await;
    assert_eq!(
        now_needed(&t),
        ["Send us your ID"],
        "later steps' actions are coming up: {:?}",
        needed(&t)
    );
    assert!(
        needed(&t).len() > 2,
        "the template's later actions are listed as coming up"
    );
    // The fee earner marks the deposit as needed now: the client is asked, and a card says so.
    let (_, mut channel) = app.sdk(&firm.gc).await;
    subscribed(&mut channel, firm.matter_a1, None).await;
    let (status, body) = patch(
        &fee,
        firm.matter_a1,
        last,
        json!({ "client_action_due": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, t) = timeline(&gc, firm.matter_a1).await;
    assert_eq!(now_needed(&t), ["Send us your ID", "Arrange the deposit"]);
    next_matching(&mut channel, "the milestone card", |u| {
        matches!(u, docket_client::Update::Event(e) if matches!(&e.body, EventBody::Milestone { client_action: Some(a), .. } if a == "Arrange the deposit"))
    })
    .await;
    // Once the first step is done, the next one is current and a done step asks nothing.
    patch(&fee, firm.matter_a1, first, json!({ "status": "done" })).await;
    let (_, t) = timeline(&gc, firm.matter_a1).await;
    let second = &t["milestones"][1];
    let mut expected: Vec<String> = second["client_action"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    expected.push("Arrange the deposit".to_owned());
    assert_eq!(now_needed(&t), expected);
}

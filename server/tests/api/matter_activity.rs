//! What the matter list and the matter page say about the channel: unread counts, read positions
//! and the names of the people who take part.

use docket_client::Update;
use docket_protocol::ids::{MatterId, UserId};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{next_matching, spawn_app, subscribed, Client};

/// The viewer's activity on `matter_id` in their matter list.
async fn activity(client: &Client, matter_id: MatterId) -> Value {
    let (status, body) = client.get("/api/v1/matters").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .expect("list")
        .iter()
        .find(|m| m["matter_id"] == json!(matter_id))
        .unwrap_or_else(|| panic!("{matter_id} is listed"))["activity"]
        .clone()
}

fn unread(activity: &Value) -> u64 {
    activity["unread"].as_u64().expect("a count")
}

#[tokio::test]
async fn unread_counts_follow_messages_from_others_deletions_and_reads() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (_, mut solicitor) = app.sdk(&f.fee_earner).await;
    let (_, mut client) = app.sdk(&f.dept_head).await;
    subscribed(&mut solicitor, f.matter_a1, None).await;
    subscribed(&mut client, f.matter_a1, None).await;
    let head = app.signed_in(&f.dept_head).await;
    let fee_earner = app.signed_in(&f.fee_earner).await;
    assert_eq!(
        activity(&head, f.matter_a1).await,
        json!({ "head_seq": 0, "read_seq": 0, "unread": 0, "last_activity_at": null })
    );

    // Three messages from the solicitor count; the client's own message does not.
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(solicitor.send(f.matter_a1, text).await.expect("ack").seq);
    }
    let own = client.send(f.matter_a1, "mine").await.expect("ack").seq;
    let seen = activity(&head, f.matter_a1).await;
    assert_eq!((unread(&seen), seen["head_seq"].as_u64()), (3, Some(own)));
    assert!(seen["last_activity_at"].is_string(), "{seen}");
    assert_eq!(
        unread(&activity(&fee_earner, f.matter_a1).await),
        1,
        "the firm has the client's message to read"
    );

    // A deleted message no longer waits to be read.
    let deletion = solicitor.delete(f.matter_a1, sent[1]).await.expect("ack");
    let seen = activity(&head, f.matter_a1).await;
    assert_eq!(
        (unread(&seen), seen["head_seq"].as_u64()),
        (2, Some(deletion.seq))
    );

    // Reading to the end clears the count (the firm seeing the read position means it is stored).
    client.read(f.matter_a1, deletion.seq);
    next_matching(
        &mut solicitor,
        "the client's read position",
        |u| matches!(u, Update::Read { user_id, .. } if *user_id == f.dept_head.user_id),
    )
    .await;
    let seen = activity(&head, f.matter_a1).await;
    assert_eq!(
        (unread(&seen), seen["read_seq"].as_u64()),
        (0, Some(deletion.seq))
    );

    // The next message counts again, in the list and on the matter page.
    solicitor.send(f.matter_a1, "four").await.expect("ack");
    assert_eq!(unread(&activity(&head, f.matter_a1).await), 1);
    let (_, detail) = head.get(&format!("/api/v1/matters/{}", f.matter_a1)).await;
    assert_eq!(unread(&detail["activity"]), 1, "{detail}");
}

#[tokio::test]
async fn without_the_messages_scope_nothing_is_unread_and_nothing_leaks() {
    let app = spawn_app().await;
    let f = &app.firm;
    let fee_earner = app.signed_in(&f.fee_earner).await;
    let (status, body) = fee_earner
        .put(
            &format!(
                "/api/v1/matters/{}/grants/{}",
                f.matter_a2, f.dept_head.user_id
            ),
            json!({ "scopes": ["documents"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, mut solicitor) = app.sdk(&f.fee_earner).await;
    subscribed(&mut solicitor, f.matter_a2, None).await;
    solicitor
        .send(f.matter_a2, "For the general counsel only")
        .await
        .expect("ack");

    let empty = json!({ "head_seq": 0, "read_seq": 0, "unread": 0, "last_activity_at": null });
    let head = app.signed_in(&f.dept_head).await;
    assert_eq!(activity(&head, f.matter_a2).await, empty);
    let finance = app.signed_in(&f.finance).await;
    assert_eq!(activity(&finance, f.matter_a2).await, empty);
    let gc = app.signed_in(&f.gc).await;
    let seen = activity(&gc, f.matter_a2).await;
    assert_eq!((unread(&seen), seen["head_seq"].as_u64()), (1, Some(1)));

    // The database function behind it answers another client's user with nothing at all.
    let foreign = app
        .select_as(
            &f.private_client,
            &format!(
                "select * from matter_activity(array['{}', '{}']::uuid[], 999)",
                f.matter_a1, f.matter_a2
            ),
        )
        .await;
    assert_eq!(foreign, Vec::<Value>::new());
}

/// The participants of `matter_id` as `client` sees them: (user id, name, kind).
async fn participants(client: &Client, matter_id: MatterId) -> Vec<(UserId, String, String)> {
    let (status, body) = client.get(&format!("/api/v1/matters/{matter_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| {
            let mut keys: Vec<&str> = p
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, ["display_name", "kind", "user_id"], "names only: {p}");
            (
                serde_json::from_value(p["user_id"].clone()).expect("id"),
                p["display_name"].as_str().expect("name").to_owned(),
                p["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn participants_name_the_firm_and_the_clients_readers_and_no_other_client() {
    let app = spawn_app().await;
    let f = &app.firm;
    sqlx::query("insert into matter_team (matter_id, user_id) values ($1, $2)")
        .bind(f.matter_a1.0)
        .bind(f.other_fee_earner.user_id.0)
        .execute(&app.owner)
        .await
        .expect("team");
    let ids = |people: &[(UserId, String, String)], kind: &str| {
        let mut ids: Vec<UserId> = people.iter().filter(|p| p.2 == kind).map(|p| p.0).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<UserId>| {
        v.sort();
        v
    };

    // The department head (a member) sees the firm's people, the general counsel and
    // themselves; not finance (no messages) and nobody of client B.
    let head = app.signed_in(&f.dept_head).await;
    let seen = participants(&head, f.matter_a1).await;
    assert_eq!(
        ids(&seen, "firm"),
        sorted(vec![f.fee_earner.user_id, f.other_fee_earner.user_id])
    );
    assert_eq!(
        ids(&seen, "client"),
        sorted(vec![f.gc.user_id, f.dept_head.user_id])
    );
    assert!(seen
        .iter()
        .any(|p| p.0 == f.fee_earner.user_id && p.1 == f.fee_earner.email));
    assert_eq!(
        seen.first().map(|p| p.2.as_str()),
        Some("firm"),
        "firm first"
    );
    // The firm sees the same people.
    let fee_earner = app.signed_in(&f.fee_earner).await;
    assert_eq!(participants(&fee_earner, f.matter_a1).await, seen);

    // Client B's matter names the fee earner and client B's user only.
    let private = app.signed_in(&f.private_client).await;
    let seen = participants(&private, f.matter_b1).await;
    assert_eq!(ids(&seen, "firm"), vec![f.fee_earner.user_id]);
    assert_eq!(ids(&seen, "client"), vec![f.private_client.user_id]);
    // And a matter without grants names client A's general counsel, not the department head.
    let gc = app.signed_in(&f.gc).await;
    assert_eq!(
        ids(&participants(&gc, f.matter_a2).await, "client"),
        vec![f.gc.user_id]
    );
}

#[tokio::test]
async fn a_partner_who_writes_in_a_matter_is_named_to_its_clients() {
    let app = spawn_app().await;
    let f = &app.firm;
    let head = app.signed_in(&f.dept_head).await;
    let before = participants(&head, f.matter_a1).await;
    assert!(
        !before.iter().any(|p| p.0 == f.partner.user_id),
        "not named before writing"
    );
    let (_sdk, channel) = app.sdk(&f.partner).await;
    channel
        .send(f.matter_a1, "I am supervising this matter.")
        .await
        .expect("ack");
    let after = participants(&head, f.matter_a1).await;
    assert!(
        after
            .iter()
            .any(|p| p.0 == f.partner.user_id && p.2 == "firm"),
        "{after:?}"
    );
    // Still nobody from another client's matter.
    let private = app.signed_in(&f.private_client).await;
    let seen = participants(&private, f.matter_b1).await;
    assert!(!seen.iter().any(|p| p.0 == f.partner.user_id));
}

#[tokio::test]
async fn a_new_grant_tells_the_clients_open_sockets_to_reload_their_matters() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (_sdk, mut channel) = app.sdk(&f.dept_head).await;
    let fee = app.signed_in(&f.fee_earner).await;
    let (status, _) = fee
        .put(
            &format!(
                "/api/v1/matters/{}/grants/{}",
                f.matter_a2, f.dept_head.user_id
            ),
            serde_json::json!({ "scopes": ["messages"] }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    crate::helpers::next_matching(&mut channel, "matters changed", |u| {
        matches!(u, docket_client::Update::MattersChanged)
    })
    .await;
}

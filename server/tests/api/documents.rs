//! Documents end to end against real Postgres (and real storage on disk): the review-and-publish
//! lifecycle, who sees which version, client uploads, hostile files, downloads with ranges, the
//! DMS mirror, and crypto-shredding.

use std::path::{Path, PathBuf};

use docket_protocol::channel::{DocumentAction, EventBody};
use docket_protocol::ids::MatterId;
use docket_protocol::integrations::ServiceScope;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    code, new_document, next_matching, pdf, spawn_app_with, subscribed, upload, Client, TestApp,
};

/// An app whose blobs live in a folder of their own, so a test can read what is on disk.
async fn app() -> (TestApp, PathBuf) {
    app_with(|_| {}).await
}

async fn app_with(
    configure: impl FnOnce(&mut docket_server::config::Config),
) -> (TestApp, PathBuf) {
    let dir = std::env::temp_dir().join(format!("docket-docs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("blob dir");
    let blobs = dir.clone();
    let app = spawn_app_with(move |config| {
        config.blob_store = Some(format!("file://{}", blobs.display()));
        configure(config);
    })
    .await;
    (app, dir)
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn client_base(client: &Client) -> String {
    client.base().to_owned()
}

async fn download(client: &Client, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client.raw().get(format!("{}{path}", client_base(client)));
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("download")
}

/// Submits version `number` of document `id` and publishes it, as the fee earner `fee`.
async fn submit_and_publish(fee: &Client, id: &str, number: u32) {
    for step in ["submit", "publish"] {
        let (status, body) = fee
            .post(
                &format!("/api/v1/documents/{id}/versions/{number}/{step}"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
    }
}

#[tokio::test]
async fn a_document_reaches_the_client_only_once_published_and_each_version_in_turn() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let client = app.bearer(&firm.dept_head).await;
    let (_sdk, mut channel) = app.sdk(&firm.dept_head).await;
    subscribed(&mut channel, firm.matter_a1, None).await;

    let (status, doc) = new_document(
        &fee,
        firm.matter_a1,
        "contracts",
        "Lease%20draft.pdf",
        pdf("v1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["current"]["state"], "internal");
    assert_eq!(doc["current"]["filename"], "Lease draft.pdf");
    assert_eq!(doc["current"]["media_type"], "application/pdf");
    let id = doc["document_id"].as_str().expect("id").to_owned();

    // Internal and pending versions are invisible to the client: by list, by id, by number.
    let invisible = |client: &Client| {
        let client = client.clone();
        let id = id.clone();
        let matter = firm.matter_a1;
        async move {
            let (status, list) = client
                .get(&format!("/api/v1/matters/{matter}/documents"))
                .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(list, json!([]));
            let (status, body) = client.get(&format!("/api/v1/documents/{id}")).await;
            assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
            let response = download(
                &client,
                &format!("/api/v1/documents/{id}/versions/1/content"),
                &[],
            )
            .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
    };
    invisible(&client).await;
    let (status, _) = fee
        .post(
            &format!("/api/v1/documents/{id}/versions/1/submit"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    invisible(&client).await;

    // Sent back with a reason, then submitted again and published.
    let (status, doc) = fee
        .post(
            &format!("/api/v1/documents/{id}/versions/1/send-back"),
            json!({ "reason": "Wrong rent figure on page 2" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["current"]["state"], "internal");
    assert_eq!(
        doc["current"]["review"]["sent_back_reason"],
        "Wrong rent figure on page 2"
    );
    let (status, body) = fee
        .post(
            &format!("/api/v1/documents/{id}/versions/1/publish"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "an internal version cannot be published"
    );
    fee.post(
        &format!("/api/v1/documents/{id}/versions/1/submit"),
        json!({}),
    )
    .await;
    let (status, doc) = fee
        .post(
            &format!("/api/v1/documents/{id}/versions/1/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(
        doc["current"]["review"]["reviewed_by"]["user_id"],
        json!(firm.fee_earner.user_id)
    );

    // The client's channel shows the card; the client now sees version 1 and its content.
    let card = next_matching(&mut channel, "a document card", |u| matches!(u, docket_client::Update::Event(e) if matches!(e.body, EventBody::Document { .. }))).await;
    let docket_client::Update::Event(event) = card else {
        unreachable!()
    };
    assert!(matches!(
        event.body,
        EventBody::Document {
            action: DocumentAction::Published,
            version: 1,
            ..
        }
    ));
    let (status, seen) = client.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(
        seen["current"].get("review").is_none(),
        "clients do not see the review trail"
    );
    let response = download(
        &client,
        &format!("/api/v1/documents/{id}/versions/1/content"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), pdf("v1"));

    // Version 2 stays with the firm until it is published in turn.
    let (status, doc) = upload(
        &fee,
        reqwest::Method::POST,
        &format!("/api/v1/documents/{id}/versions?filename=Lease%20final.pdf"),
        pdf("v2"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["versions"].as_array().expect("versions").len(), 2);
    let (_, seen) = client.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(seen["current"]["number"], 1);
    assert_eq!(seen["versions"].as_array().expect("versions").len(), 1);
    let response = download(
        &client,
        &format!("/api/v1/documents/{id}/versions/2/content"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    submit_and_publish(&fee, &id, 2).await;
    let (_, seen) = client.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(seen["current"]["number"], 2);
    assert_eq!(
        seen["versions"].as_array().expect("versions").len(),
        2,
        "earlier published versions stay openable"
    );

    // Every act is in the audit trail.
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_event where target = $1 order by seq")
            .bind(format!("document:{id}"))
            .fetch_all(&app.owner)
            .await
            .expect("audit");
    for expected in [
        "document.uploaded",
        "document.submitted",
        "document.sent_back",
        "document.published",
        "document.version_added",
        "document.viewed",
        "document.downloaded",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn four_eyes_areas_need_a_second_reviewer() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    sqlx::query("update practice_area set review_four_eyes = true")
        .execute(&app.owner)
        .await
        .expect("four eyes");
    let fee = app.bearer(&firm.fee_earner).await;
    let partner = app.bearer(&firm.partner).await;
    let (_, doc) = new_document(
        &fee,
        firm.matter_a1,
        "correspondence",
        "letter.pdf",
        pdf("letter"),
    )
    .await;
    let id = doc["document_id"].as_str().expect("id");
    fee.post(
        &format!("/api/v1/documents/{id}/versions/1/submit"),
        json!({}),
    )
    .await;
    let (status, body) = fee
        .post(
            &format!("/api/v1/documents/{id}/versions/1/publish"),
            json!({}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (_, queue) = partner.get("/api/v1/documents/review-queue").await;
    assert_eq!(queue[0]["can_publish"], true, "{queue}");
    let (_, queue) = fee.get("/api/v1/documents/review-queue").await;
    assert_eq!(queue[0]["can_publish"], false, "{queue}");
    let (status, doc) = partner
        .post(
            &format!("/api/v1/documents/{id}/versions/1/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["current"]["state"], "published");
}

#[tokio::test]
async fn a_client_upload_is_shared_at_once_announced_in_the_channel_and_audited() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let client = app.bearer(&firm.dept_head).await;
    let fee = app.bearer(&firm.fee_earner).await;
    let (_sdk, mut channel) = app.sdk(&firm.fee_earner).await;
    subscribed(&mut channel, firm.matter_a1, None).await;
    let (status, doc) = new_document(
        &client,
        firm.matter_a1,
        "identity_verification",
        "passport.pdf",
        pdf("passport"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["current"]["state"], "published");
    assert_eq!(doc["current"]["origin"], "client");
    let card = next_matching(&mut channel, "a document card", |u| matches!(u, docket_client::Update::Event(e) if matches!(e.body, EventBody::Document { .. }))).await;
    let docket_client::Update::Event(event) = card else {
        unreachable!()
    };
    assert!(matches!(
        event.body,
        EventBody::Document {
            action: DocumentAction::Uploaded,
            ..
        }
    ));
    assert_eq!(event.author_id, Some(firm.dept_head.user_id));
    // The responsible fee earner is alerted on their socket, and the alert is kept.
    let alert = next_matching(&mut channel, "an upload alert", |u| {
        matches!(u, docket_client::Update::Alert(_))
    })
    .await;
    let docket_client::Update::Alert(alert) = alert else {
        unreachable!()
    };
    assert!(matches!(
        alert.detail,
        docket_protocol::auth::AlertDetail::ClientUpload { ref title, .. } if title == "passport"
    ));
    let (_, alerts) = fee.get("/api/v1/me/alerts").await;
    assert_eq!(alerts[0]["detail"]["kind"], "client_upload", "{alerts}");
    let (_, list) = fee
        .get(&format!("/api/v1/matters/{}/documents", firm.matter_a1))
        .await;
    assert_eq!(list.as_array().expect("list").len(), 1);
    // Clients never act on the review lifecycle.
    let id = doc["document_id"].as_str().expect("id");
    let (status, _) = client
        .post(
            &format!("/api/v1/documents/{id}/versions/1/submit"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn finance_users_see_only_financial_documents_and_other_clients_see_nothing() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let mut ids = Vec::new();
    for (category, name) in [
        ("financial", "completion-statement.pdf"),
        ("contracts", "lease.pdf"),
    ] {
        let (_, doc) = new_document(&fee, firm.matter_a1, category, name, pdf(name)).await;
        let id = doc["document_id"].as_str().expect("id").to_owned();
        submit_and_publish(&fee, &id, 1).await;
        ids.push(id);
    }
    let finance = app.bearer(&firm.finance).await;
    let (status, list) = finance
        .get(&format!("/api/v1/matters/{}/documents", firm.matter_a1))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let categories: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["category"].as_str())
        .collect();
    assert_eq!(categories, ["financial"]);
    let response = download(
        &finance,
        &format!("/api/v1/documents/{}/versions/1/content", ids[0]),
        &[],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "finance may download the financial document"
    );
    let (status, _) = finance.get(&format!("/api/v1/documents/{}", ids[1])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another client: every id answers exactly like a missing one.
    let other = app.bearer(&firm.private_client).await;
    let missing = uuid::Uuid::now_v7();
    for id in [ids[0].as_str(), ids[1].as_str(), &missing.to_string()] {
        let (status, body) = other.get(&format!("/api/v1/documents/{id}")).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
        let response = download(
            &other,
            &format!("/api/v1/documents/{id}/versions/1/content"),
            &[],
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let (status, _) = other
        .get(&format!("/api/v1/matters/{}/documents", firm.matter_a1))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = new_document(&other, firm.matter_a1, "other", "x.pdf", pdf("x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A ZIP holding `entries`.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).expect("entry");
            zip.write_all(bytes).expect("write");
        }
        zip.finish().expect("zip");
    }
    out.into_inner()
}

const CONTENT_TYPES_DOCM: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>"#;

#[tokio::test]
async fn hostile_uploads_are_refused_with_their_reason_and_leave_nothing_behind() {
    let (app, dir) = app_with(|c| c.max_upload_mb = 1).await;
    let firm = &app.firm;
    let client = app.bearer(&firm.dept_head).await;
    let mut executable = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    executable.resize(4096, 0);
    let bomb = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", &vec![b'a'; 200 * 1024 * 1024]),
    ]);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "invoice.pdf",
            executable,
            StatusCode::UNPROCESSABLE_ENTITY,
            "executable",
        ),
        (
            "notes.docm",
            zip_of(&[
                ("[Content_Types].xml", CONTENT_TYPES_DOCM),
                ("word/document.xml", b"<w/>"),
                ("word/vbaProject.bin", b"macros"),
            ]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "macro_enabled",
        ),
        (
            "bomb.docx",
            bomb,
            StatusCode::UNPROCESSABLE_ENTITY,
            "decompression_bomb",
        ),
        (
            "empty.pdf",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
        (
            "big.pdf",
            {
                let mut b = pdf("big");
                b.resize(2 * 1024 * 1024, b' ');
                b
            },
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "page.pdf",
            b"<html><script>alert(1)</script></html>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "script",
        ),
        (
            "archive.zip",
            zip_of(&[("inner.zip", &zip_of(&[("a.txt", b"a")]))]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "archive",
        ),
    ];
    for (name, bytes, status, reason) in cases {
        let (got, body) = new_document(&client, firm.matter_a1, "other", name, bytes).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(code(&body), "file_refused", "{name}: {body}");
        assert_eq!(body["reason"], reason, "{name}: {body}");
    }
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from document) + (select count(*) from document_version)",
    )
    .fetch_one(&app.owner)
    .await
    .expect("count");
    assert_eq!(rows, 0, "no rows for refused files");
    assert_eq!(
        files(&dir),
        Vec::<PathBuf>::new(),
        "no blobs for refused files"
    );
}

#[tokio::test]
async fn downloads_support_ranges_etags_and_safe_inline_viewing_and_blobs_hold_no_plaintext() {
    let (app, dir) = app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let marker = "WITHOUT-PREJUDICE-OFFER-ZX81";
    let mut bytes = pdf(marker);
    bytes.extend(std::iter::repeat_n(b'%', 200_000));
    bytes.extend(marker.as_bytes());
    let (_, doc) = new_document(
        &fee,
        firm.matter_a1,
        "contracts",
        "Offer%20%C3%A9t%C3%A9.pdf",
        bytes.clone(),
    )
    .await;
    let id = doc["document_id"].as_str().expect("id");
    let path = format!("/api/v1/documents/{id}/versions/1/content");

    let full = download(&fee, &path, &[]).await;
    assert_eq!(full.status(), StatusCode::OK);
    let etag = full.headers()["etag"].to_str().expect("etag").to_owned();
    let disposition = full.headers()["content-disposition"]
        .to_str()
        .expect("cd")
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Offer%20%C3%A9t%C3%A9.pdf"),
        "{disposition}"
    );
    assert_eq!(full.bytes().await.expect("bytes").to_vec(), bytes);

    let part = download(&fee, &path, &[("range", "bytes=100000-100099")]).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100000-100099/{}", bytes.len()).as_str()
    );
    assert_eq!(
        part.bytes().await.expect("bytes").to_vec(),
        bytes[100_000..100_100].to_vec()
    );
    let tail = download(&fee, &path, &[("range", "bytes=-28")]).await;
    assert_eq!(
        tail.bytes().await.expect("bytes").to_vec(),
        marker.as_bytes()
    );
    let bad = download(&fee, &path, &[("range", "bytes=999999999-")]).await;
    assert_eq!(bad.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let cached = download(&fee, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    let inline = download(&fee, &format!("{path}?disposition=inline"), &[]).await;
    assert!(inline.headers()["content-disposition"]
        .to_str()
        .expect("cd")
        .starts_with("inline"));
    let csp = inline.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );

    // On disk: ciphertext only.
    let stored = files(&dir);
    assert_eq!(stored.len(), 1);
    let raw = std::fs::read(&stored[0]).expect("blob");
    assert!(raw.len() > bytes.len());
    assert!(
        !raw.windows(marker.len()).any(|w| w == marker.as_bytes()),
        "the marker is not on disk"
    );
    assert!(
        !raw.windows(5).any(|w| w == b"%PDF-"),
        "no plaintext header on disk"
    );
    let path_text = stored[0].display().to_string();
    assert!(
        !path_text.contains("Offer"),
        "file names are never storage paths: {path_text}"
    );
}

#[tokio::test]
async fn a_destroyed_matter_key_makes_every_document_of_the_matter_unreadable() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let (_, doc) = new_document(&fee, firm.matter_a1, "contracts", "lease.pdf", pdf("lease")).await;
    let id = doc["document_id"].as_str().expect("id");
    let path = format!("/api/v1/documents/{id}/versions/1/content");
    assert_eq!(download(&fee, &path, &[]).await.status(), StatusCode::OK);
    let mut conn = app.owner.acquire().await.expect("conn");
    docket_server::vault::destroy_matter_key(&mut conn, firm.matter_a1, app.clock.now())
        .await
        .expect("destroy");
    let response = download(&fee, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "not_found");
    let (status, _) =
        new_document(&fee, firm.matter_a1, "contracts", "again.pdf", pdf("again")).await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "no new content for a shredded matter"
    );
}

#[tokio::test]
async fn the_dms_push_is_idempotent_on_its_id_and_version() {
    let (app, dir) = app().await;
    let firm = &app.firm;
    let (_, token) = app
        .service_account("Document management", &[ServiceScope::Dms])
        .await;
    let dms = app.service(&token);
    let push = |version: u32, marker: &'static str| {
        let fee = dms.clone();
        let matter = firm.matter_a1;
        async move {
            upload(
                &fee,
                reqwest::Method::PUT,
                &format!("/api/v1/matters/{matter}/dms/IMAN-4471/versions/{version}?filename=Heads.pdf&category=contracts&title=Heads%20of%20terms"),
                pdf(marker),
            )
            .await
        }
    };
    let (status, first) = push(1, "one").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["external_id"], "IMAN-4471");
    let (status, again) = push(1, "one").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["current"]["version_id"],
        first["current"]["version_id"]
    );
    let (status, second) = push(2, "two").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(second["document_id"], first["document_id"]);
    assert_eq!(second["versions"].as_array().expect("versions").len(), 2);
    assert_eq!(files(&dir).len(), 2, "the repeat stored nothing");
    let client = app.bearer(&firm.dept_head).await;
    let (status, _) = push_as(&client, firm.matter_a1).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "clients cannot push as the DMS"
    );
    let fee = app.bearer(&firm.fee_earner).await;
    let (status, body) = push_as(&fee, firm.matter_a1).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "nor can a fee earner's session: the DMS has an account of its own"
    );
    let uploaded_by = app
        .select_as(
            &firm.fee_earner,
            &format!(
                "select distinct uploaded_by from document_version where document_id = '{}'",
                first["document_id"].as_str().expect("id")
            ),
        )
        .await;
    assert_eq!(uploaded_by.len(), 1);
    assert_eq!(
        uploaded_by[0]["uploaded_by"],
        first["current"]["uploaded_by"]["user_id"]
    );
    assert_eq!(
        first["current"]["uploaded_by"]["display_name"],
        "Document management"
    );
}

async fn push_as(client: &Client, matter: MatterId) -> (StatusCode, Value) {
    upload(
        client,
        reqwest::Method::PUT,
        &format!("/api/v1/matters/{matter}/dms/X/versions/1?filename=a.pdf&category=other&title=A"),
        pdf("a"),
    )
    .await
}

#[tokio::test]
async fn an_interrupted_upload_leaves_nothing_behind() {
    let (app, dir) = app().await;
    let firm = &app.firm;
    let client = app.bearer(&firm.dept_head).await;
    let first = bytes::Bytes::from(pdf("start"));
    let filler = bytes::Bytes::from(vec![b' '; 256 * 1024]);
    let body = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(first),
        Ok(filler.clone()),
        Ok(filler),
        Err(std::io::Error::other("the phone lost its signal")),
    ]);
    let url = format!(
        "{}/api/v1/matters/{}/documents?filename=a.pdf&category=other",
        client.base(),
        firm.matter_a1
    );
    let mut request = client
        .raw()
        .post(url)
        .body(reqwest::Body::wrap_stream(body));
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    assert!(request.send().await.is_err(), "the upload breaks off");
    // The server notices the broken body and cleans up; give it a moment to get there.
    for _ in 0..50 {
        if files(&dir).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(files(&dir), Vec::<PathBuf>::new());
    let rows: i64 = sqlx::query_scalar("select count(*) from document_version")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn malware_is_refused_by_a_real_clamd_raw_and_zipped_and_kept_nowhere() {
    let socket = crate::clamd_fixture::clamd_socket().await;
    let (app, dir) = app_with(|c| c.clamd = Some(socket.to_owned())).await;
    let firm = &app.firm;
    let client = app.bearer(&firm.dept_head).await;
    let zipped = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/media/eicar.txt", crate::clamd_fixture::EICAR),
    ]);
    for (name, bytes) in [
        ("eicar.txt", crate::clamd_fixture::EICAR.to_vec()),
        ("report.docx", zipped),
    ] {
        let (status, body) =
            new_document(&client, firm.matter_a1, "correspondence", name, bytes).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("malware")),
            "{name}: {body}"
        );
    }
    assert_eq!(
        files(&dir),
        Vec::<PathBuf>::new(),
        "nothing infected is kept"
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from document_version")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(rows, 0);
    // A clean file goes through the same scanner.
    let (status, body) = new_document(
        &client,
        firm.matter_a1,
        "correspondence",
        "clean.pdf",
        pdf("clean"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_member_without_the_documents_scope_sees_and_sends_no_documents() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let (status, _) = fee
        .put(
            &format!(
                "/api/v1/matters/{}/grants/{}",
                firm.matter_a1, firm.dept_head.user_id
            ),
            json!({ "scopes": ["messages"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, doc) = new_document(&fee, firm.matter_a1, "contracts", "lease.pdf", pdf("lease")).await;
    let id = doc["document_id"].as_str().expect("id");
    submit_and_publish(&fee, id, 1).await;

    let member = app.bearer(&firm.dept_head).await;
    let (status, list) = member
        .get(&format!("/api/v1/matters/{}/documents", firm.matter_a1))
        .await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, _) = member.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = download(
        &member,
        &format!("/api/v1/documents/{id}/versions/1/content"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, body) =
        new_document(&member, firm.matter_a1, "other", "mine.pdf", pdf("mine")).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
}

#[tokio::test]
async fn the_sdk_uploads_reviews_publishes_and_downloads_by_stream() {
    use docket_protocol::documents::{Category, VersionState};
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let fee_token = app.bearer(&firm.fee_earner).await.bearer.expect("token");
    let client_token = app.bearer(&firm.dept_head).await.bearer.expect("token");
    let fee = docket_client::Client::with_token(&app.base, &fee_token);
    let client = docket_client::Client::with_token(&app.base, &client_token);

    // A body that arrives in pieces, as a file read from disk would.
    let mut bytes = pdf("sdk");
    bytes.extend(std::iter::repeat_n(b'.', 300_000));
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(65_000).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
    let doc = fee
        .upload_document(
            firm.matter_a1,
            "Report on title.pdf",
            Category::Contracts,
            None,
            body,
        )
        .await
        .expect("upload");
    assert_eq!(doc.title, "Report on title");
    assert_eq!(doc.current.state, VersionState::Internal);
    fee.submit(doc.document_id, 1).await.expect("submit");
    assert_eq!(fee.review_queue().await.expect("queue").len(), 1);
    fee.send_back(doc.document_id, 1, "Add the plan")
        .await
        .expect("send back");
    fee.submit(doc.document_id, 1).await.expect("submit again");
    let published = fee.publish(doc.document_id, 1).await.expect("publish");
    assert_eq!(published.current.state, VersionState::Published);

    let seen = client.documents(firm.matter_a1).await.expect("list");
    assert_eq!(seen.len(), 1);
    let mut out = Vec::new();
    let written = client
        .download_to(doc.document_id, 1, &mut out)
        .await
        .expect("download");
    assert_eq!((written as usize, out), (bytes.len(), bytes.clone()));
    let part = client
        .download_range(doc.document_id, 1, 200_000..200_010)
        .await
        .expect("range");
    assert_eq!(part, bytes[200_000..200_010].to_vec());

    let mut program = b"\x7fELF\x02\x01\x01".to_vec();
    program.resize(1024, 0);
    match client
        .upload_document(firm.matter_a1, "notes.pdf", Category::Other, None, program)
        .await
    {
        Err(docket_client::Error::Refused { reason, .. }) => assert_eq!(reason, "executable"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (_, dms_token) = app.service_account("DMS", &[ServiceScope::Dms]).await;
    let dms = docket_client::Client::with_token(&app.base, &dms_token);
    let pushed = dms
        .dms_push(
            firm.matter_a1,
            "DMS/77 a",
            3,
            ("Plan.pdf", Category::Contracts, "Site plan"),
            pdf("plan"),
        )
        .await
        .expect("dms");
    assert_eq!(pushed.external_id.as_deref(), Some("DMS/77 a"));
}

#[tokio::test]
async fn the_review_queue_lists_each_pending_version_once_oldest_first() {
    let (app, _dir) = app().await;
    let firm = &app.firm;
    let fee = app.bearer(&firm.fee_earner).await;
    let (_, doc) = new_document(&fee, firm.matter_a1, "contracts", "lease.pdf", pdf("v1")).await;
    let id = doc["document_id"].as_str().expect("id");
    fee.post(
        &format!("/api/v1/documents/{id}/versions/1/submit"),
        json!({}),
    )
    .await;
    let (status, _) = upload(
        &fee,
        reqwest::Method::POST,
        &format!("/api/v1/documents/{id}/versions?filename=lease.pdf"),
        pdf("v2"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.clock.advance(time::Duration::minutes(1));
    fee.post(
        &format!("/api/v1/documents/{id}/versions/2/submit"),
        json!({}),
    )
    .await;
    let (_, other) = new_document(&fee, firm.matter_a2, "financial", "fees.pdf", pdf("fees")).await;
    let other_id = other["document_id"].as_str().expect("id");
    app.clock.advance(time::Duration::minutes(1));
    fee.post(
        &format!("/api/v1/documents/{other_id}/versions/1/submit"),
        json!({}),
    )
    .await;

    let (status, queue) = fee.get("/api/v1/documents/review-queue").await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<(String, u64)> = queue
        .as_array()
        .expect("queue")
        .iter()
        .map(|i| {
            (
                i["document_id"].as_str().expect("id").to_owned(),
                i["version"]["number"].as_u64().expect("number"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (id.to_owned(), 1),
            (id.to_owned(), 2),
            (other_id.to_owned(), 1)
        ]
    );
    // A client has no queue.
    let client = app.bearer(&firm.dept_head).await;
    let (status, _) = client.get("/api/v1/documents/review-queue").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

//! E-mail over SMTP, received by a real SMTP server (aiosmtpd) and read back with Python's own
//! e-mail package: the invitation arrives with a text and an HTML part from the firm, and its link
//! works.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::smtp_fixture::SmtpSink;

#[tokio::test]
async fn an_invitation_goes_out_over_smtp_with_text_and_html_and_its_link_works() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(move |config| {
        config.smtp_url = Some(url.into());
        config.mail_from = "Smith & Partners <portal@smith.example>".into();
        config.firm_name = "Smith & Partners".into();
        config.public_url = "https://portal.smith.example".into();
    })
    .await;
    let fee = app.bearer(&app.firm.fee_earner).await;
    let (status, body) = fee
        .post(
            &format!("/api/v1/clients/{}/users", app.firm.client_a),
            json!({ "email": "invitee@client-a.test", "display_name": "Ann <Invitee>", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let received = sink.wait_for(1).await;
    let mail = &received[0];
    assert_eq!(mail["rcpt_tos"], json!(["invitee@client-a.test"]));
    assert_eq!(mail["mail_from"], "portal@smith.example");
    assert_eq!(mail["from"], "Smith & Partners <portal@smith.example>");
    assert_eq!(
        mail["subject"],
        "Your invitation to the Smith & Partners client portal"
    );
    assert_eq!(mail["content_type"], "multipart/alternative");
    let text = mail["text"].as_str().expect("a text part");
    let html = mail["html"].as_str().expect("an HTML part");
    assert!(
        text.contains("Dear Ann <Invitee>") && text.trim_end().ends_with("Smith & Partners"),
        "{text}"
    );
    assert!(
        html.contains("Dear Ann &lt;Invitee&gt;") && !html.contains("<Invitee>"),
        "{html}"
    );
    let token = text
        .split("https://portal.smith.example/accept-invitation#token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the link")
        .to_owned();
    assert!(html.contains(&token), "the same link in both parts");
    let (status, body) = app
        .browser()
        .post(
            "/api/v1/invitations/accept",
            json!({ "token": token, "password": "a long and private passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_told_to_the_owner_by_email_which_no_session_can_take_back()
{
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(move |config| {
        config.smtp_url = Some(url.into());
        config.firm_name = "Smith & Partners".into();
        config.outbox.poll_ms = 50;
    })
    .await;
    let gc = &app.firm.gc;
    // The first device is the account being set up: no notice.
    app.signed_in(gc).await;
    let queued: i64 = sqlx::query_scalar("select count(*) from outbox where consumer = 'email'")
        .fetch_one(&app.owner)
        .await
        .expect("outbox");
    let sent: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'auth.device.registered'
         and detail::jsonb ->> 'first_device' = 'true'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("audit");
    assert_eq!(
        (queued, sent),
        (0, 1),
        "the first device committed and queued no notice"
    );
    assert!(sink.received().is_empty(), "{:?}", sink.received());
    // A second browser: its password step alone sends the notice, before any second factor.
    let mut intruder = app.browser();
    intruder.sign_in(&gc.email, crate::helpers::PASSWORD).await;
    let received = sink.wait_for(1).await;
    let mail = &received[0];
    assert_eq!(mail["rcpt_tos"], json!([gc.email]));
    assert_eq!(
        mail["subject"],
        "New sign-in to your Smith & Partners portal account"
    );
    let text = mail["text"].as_str().expect("text");
    assert!(
        text.contains("docket-tests/1") && text.contains("127.0.0.1"),
        "{text}"
    );
    for secret in ["token", "code", "password:"] {
        assert!(!text.to_lowercase().contains(secret), "{secret} in {text}");
    }
    let outbox: i64 = sqlx::query_scalar("select count(*) from outbox where consumer = 'email'")
        .fetch_one(&app.owner)
        .await
        .expect("outbox");
    assert_eq!(outbox, 0, "sent once, and the row is gone");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'auth.device.registered'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("audit");
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn a_notice_the_relay_refuses_is_retried_until_it_goes() {
    // No relay listening yet: the dispatcher keeps the row and retries with back-off.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let app = spawn_app_with(move |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
        config.outbox.poll_ms = 50;
        config.outbox.retry_base_ms = 100;
    })
    .await;
    app.signed_in(&app.firm.gc).await;
    let mut second = app.browser();
    second
        .sign_in(&app.firm.gc.email, crate::helpers::PASSWORD)
        .await;
    let mut attempts = 0;
    for _ in 0..100 {
        attempts =
            sqlx::query_scalar::<_, i32>("select attempts from outbox where consumer = 'email'")
                .fetch_optional(&app.owner)
                .await
                .expect("outbox")
                .unwrap_or(0);
        if attempts > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(attempts > 0, "the failed send is kept for another attempt");
    let error: Option<String> =
        sqlx::query_scalar("select last_error from outbox where consumer = 'email'")
            .fetch_one(&app.owner)
            .await
            .expect("error");
    assert!(
        !error.unwrap_or_default().contains("New sign-in"),
        "the error never quotes the message"
    );
}

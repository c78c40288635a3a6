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

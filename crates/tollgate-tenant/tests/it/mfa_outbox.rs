//! The development outbox: `RunningTenant::outbox`, `GET /dev/outbox`, `GET /dev/outbox.json`
//! and the push approve/deny endpoints.

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tollgate_tenant::{OutboxChannel, PushState, UserConfig};

#[tokio::test]
async fn messages_are_listed_in_rust_json_and_html() {
    let tenant = start_with(mfa_config().with_user(
        UserConfig::new("eve@example.com", "eve-password-1").with_push_device("<b>Eve's</b> phone"),
    ))
    .await;
    let http = browser();
    let (status, html_before) = {
        let response = http.get(url(&tenant, "dev/outbox")).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(html_before.contains("No messages yet."));
    assert_eq!(
        http.get(url(&tenant, "dev/outbox.json"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );

    let (carol, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    assert_eq!(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": carol, "challenge_type": "oob"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let (eve, _, _) = mfa_token_for(&tenant, "eve@example.com", "eve-password-1").await;
    assert_eq!(
        mfa_challenge(&tenant, json!({"mfa_token": eve, "challenge_type": "oob"}))
            .await
            .status(),
        StatusCode::OK
    );

    // In Rust: oldest first.
    let messages = tenant.outbox();
    assert_eq!(messages.len(), 2);
    let (sms, push) = (&messages[0], &messages[1]);
    assert_eq!(
        (sms.channel, sms.to.as_str(), sms.user_email.as_str()),
        (OutboxChannel::Sms, CAROL_PHONE, CAROL)
    );
    assert_eq!(sms.code.as_ref().unwrap().len(), 6);
    assert_eq!(sms.state, None);
    assert_eq!(push.channel, "push");
    assert_eq!(push.state.unwrap(), "pending");
    assert!(push.code.is_none());
    assert!(sms.created_at <= now() && sms.created_at + 60 > now());
    assert!(sms.id.starts_with("msg_"));

    // As JSON: newest first, with exactly these fields.
    let response = http
        .get(url(&tenant, "dev/outbox.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let list: Value = response.json().await.unwrap();
    assert_eq!(
        list,
        json!([
            {"id": push.id, "channel": "push", "to": "<b>Eve's</b> phone", "user": "eve@example.com",
             "code": null, "created_at": push.created_at, "state": "pending"},
            {"id": sms.id, "channel": "sms", "to": CAROL_PHONE, "user": CAROL,
             "code": sms.code, "created_at": sms.created_at, "state": null},
        ])
    );

    // As HTML: escaped, with Approve and Deny buttons for the pending push.
    let html = http
        .get(url(&tenant, "dev/outbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "<html lang=\"en\">",
        "<title>Development outbox</title>",
        "<main class=\"wide\">",
        "<h1>Development outbox</h1>",
        "<caption>Messages, newest first</caption>",
        &format!("<code>{}</code>", sms.code.as_ref().unwrap()),
        "&lt;b&gt;Eve&#39;s&lt;/b&gt; phone",
        &format!(
            "<form method=\"post\" action=\"/dev/outbox/push/{}/approve\"><button type=\"submit\">Approve</button></form>",
            push.id
        ),
        &format!(
            "<form method=\"post\" action=\"/dev/outbox/push/{}/deny\"><button type=\"submit\">Deny</button></form>",
            push.id
        ),
    ] {
        assert!(html.contains(needle), "outbox page lacks {needle}: {html}");
    }
    assert!(!html.contains("<b>Eve"));
    assert!(
        html.find(&push.id).unwrap() < html.find(&sms.id).unwrap(),
        "newest first"
    );

    // Approve through HTTP: back to the page; the state changes once.
    let approve = url(&tenant, &format!("dev/outbox/push/{}/approve", push.id));
    // As the page's buttons do in a browser, with the tenant's Origin.
    let origin = crate::common::origin(&tenant);
    let response = http
        .post(approve.clone())
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/dev/outbox");
    assert_eq!(tenant.outbox()[1].state, Some(PushState::Approved));
    assert_eq!(
        http.post(approve)
            .header("origin", &origin)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let deny_sms = url(&tenant, &format!("dev/outbox/push/{}/deny", sms.id));
    assert_eq!(
        http.post(deny_sms)
            .header("origin", &origin)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert!(!tenant.deny_push("msg_unknown"));
    let html = http
        .get(url(&tenant, "dev/outbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<td>approved</td>"));
}

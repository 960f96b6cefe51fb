//! Connected Accounts over HTTP against the local tenant's My Account API: `/auth/connect` (off by
//! default), the ticket, the provider's consent page, the `connect_code` callback that completes
//! the link and shows it to `on_callback`, listing and unlinking, and every refusal on the way.

mod common;

use common::{Browser, json};

#[tokio::test]
async fn the_connect_route_is_off_by_default() {
    let app = common::start().await;
    let mut b = Browser::default();
    b.login(&app, "").await;
    let r = b
        .get(&app.url("/auth/connect?connection=google-oauth2"))
        .await;
    assert_eq!(r.status, 404, "{r:?}");
}

#[tokio::test]
async fn bad_connect_requests_are_refused_before_any_call() {
    let app = common::start_with(|c| c.enable_connect_account_endpoint(true)).await;
    let mut b = Browser::default();

    // No session.
    let r = b
        .get(&app.url("/auth/connect?connection=google-oauth2"))
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(json(&r.body)["error"]["code"], "missing_session");

    b.login(&app, "").await;
    // No connection.
    let r = b.get(&app.url("/auth/connect?returnTo=%2F")).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        json(&r.body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection")
    );
    // A parameter the My Account API does not accept, and a bad prompt.
    for q in [
        "connection=google-oauth2&redirect_uri=https%3A%2F%2Fevil.example.com",
        "connection=google-oauth2&prompt=always",
        "connection=google-oauth2&max_age=soon",
    ] {
        let r = b.get(&app.url(&format!("/auth/connect?{q}"))).await;
        assert_eq!(r.status, 400, "{q}: {r:?}");
        assert_eq!(json(&r.body)["error"]["code"], "invalid_request", "{q}");
        assert!(b.txn_cookies().is_empty(), "{q}: no transaction started");
    }
}

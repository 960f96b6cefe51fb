//! `Auth::access_token_for_connection` in an axum handler: the Token Vault exchange, the token
//! cached in the session cookie and reused, and the answers without a session or a linked account.

use crate::common;

use crate::common::{BOB, HttpBrowser, json};
use tollgate_tenant::UserConfig;

async fn start() -> common::TestApp {
    common::start_tenant(
        |t| {
            t.with_user(
                UserConfig::new("dave@example.com", "dave-password-1")
                    .with_connection("google-oauth2"),
            )
        },
        |c| c,
    )
    .await
}

#[tokio::test]
async fn the_connection_token_is_fetched_once_and_cached_in_the_session() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    let back = b
        .login_until_callback(&app, "", ("dave@example.com", "dave-password-1"))
        .await;
    b.get(back.location().as_str()).await;
    assert!(b.has_session());

    let first = b.get(&app.url("/api/calendar")).await;
    assert_eq!(first.status, 200, "{first:?}");
    let token = json(&first.body);
    assert_eq!(token["connection"], "google-oauth2");
    assert!(token["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        first.set_cookies.iter().any(|c| c.starts_with("__session")),
        "the new connection token is saved with the session: {:?}",
        first.set_cookies
    );

    let second = b.get(&app.url("/api/calendar")).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(
        json(&second.body)["token"],
        token["token"],
        "served from the session"
    );
    assert!(
        !second
            .set_cookies
            .iter()
            .any(|c| c.starts_with("__session") && !c.contains("Max-Age=0")),
        "nothing new to save: {:?}",
        second.set_cookies
    );
}

#[tokio::test]
async fn without_a_session_or_a_linked_account_there_is_no_token() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    let r = b.get(&app.url("/api/calendar")).await;
    assert_eq!(r.status, 401, "{r:?}");

    // Bob has no account at the connection: the tenant refuses the exchange, nothing is cached.
    let back = b.login_until_callback(&app, "", BOB).await;
    b.get(back.location().as_str()).await;
    let r = b.get(&app.url("/api/calendar")).await;
    assert_eq!(r.status, 502, "{r:?}");
    let body = json(&r.body);
    assert!(
        body["error"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(
        !r.set_cookies.iter().any(|c| c.starts_with("__session")),
        "no failed token is cached: {:?}",
        r.set_cookies
    );
}

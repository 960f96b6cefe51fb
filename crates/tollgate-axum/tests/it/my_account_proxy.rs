//! The My Account (`/me/*`) and My Organization (`/my-org/*`) proxies, over HTTP against the
//! local tenant's APIs: the token for the API's audience and the `scope` header, refresh saved,
//! CORS preflights without credentials, and the refusals (no session, MFA, cross-origin writes,
//! traversal, switched off).

use crate::common;

use crate::common::{HttpBrowser, json};

/// `GET {path}` through the app with a `scope` header (and any `extra` headers).
async fn get_with_scope(
    b: &mut HttpBrowser,
    app: &common::TestApp,
    path: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> common::Resp {
    let mut headers = vec![("scope", scope)];
    headers.extend_from_slice(extra);
    b.request("GET", &app.url(path), &headers, None).await
}

const METHODS: &str = "/me/v1/authentication-methods";
const READ_METHODS: &str = "read:me:authentication_methods";

/// How many refresh-token exchanges the tenant has done.
fn refreshes(app: &common::TestApp) -> usize {
    app.tenant.events_of_type("sertft").len()
}

#[tokio::test]
async fn without_a_session_the_proxy_answers_401_and_calls_nothing() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    let r = get_with_scope(&mut b, &app, METHODS, READ_METHODS, &[]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(json(&r.body)["error"]["code"], "missing_session");
    let r = get_with_scope(&mut b, &app, "/my-org/details", "read:my_org:details", &[]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(refreshes(&app), 0);
}

#[tokio::test]
async fn a_signed_in_user_reads_their_authentication_methods_through_the_proxy() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = get_with_scope(
        &mut b,
        &app,
        METHODS,
        READ_METHODS,
        &[("accept", "application/json")],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let body = json(&r.body);
    let methods = body["authentication_methods"].as_array().unwrap();
    assert!(
        methods.iter().any(|m| m["type"] == "totp"),
        "Alice's TOTP enrollment is listed: {body}"
    );
    // The new My Account token was saved with the session: a second call reuses it.
    assert_eq!(refreshes(&app), 1);
    assert!(
        r.set_cookies.iter().any(|c| c.starts_with("__session")),
        "the session with the new token is saved: {:?}",
        r.set_cookies
    );
    let again = get_with_scope(&mut b, &app, METHODS, READ_METHODS, &[]).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(
        refreshes(&app),
        1,
        "the cached token served the second call"
    );
}

#[tokio::test]
async fn the_apis_own_errors_pass_through_unchanged() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    // A token without the needed scope: the API's 403 problem document comes back as it is.
    let r = get_with_scope(&mut b, &app, METHODS, "read:me:connected_accounts", &[]).await;
    assert_eq!(r.status, 403, "{r:?}");
    let problem = json(&r.body);
    assert_eq!(problem["status"], 403, "{problem}");
    assert!(problem["title"].is_string(), "{problem}");
}

#[tokio::test]
async fn cross_origin_writes_are_refused_before_any_token_is_fetched() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = b
        .request(
            "DELETE",
            &app.url("/me/v1/authentication-methods/totp|1"),
            &[
                ("scope", "delete:me:authentication_methods"),
                ("origin", "https://evil.example.com"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(json(&r.body)["error"]["code"], "cross_origin_request");
    assert!(r.set_cookies.is_empty(), "no token was fetched or saved");
}

/// Sends `GET {path}` as written (an HTTP client would normalise dot segments first); returns the
/// status line and body.
async fn raw_get(app: &common::TestApp, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = format!(
        "{}:{}",
        app.base.host_str().unwrap(),
        app.base.port().unwrap()
    );
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.base.host_str().unwrap()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn paths_that_climb_out_of_the_api_are_refused() {
    let app = common::start().await;
    for path in [
        "/me/v1/../../oauth/token",
        "/me/v1/%2e%2e/%2e%2e/oauth/token",
        "/me/v1/a%2Fb",
        "/my-org/%2E%2E/userinfo",
        "/my-org/./details",
    ] {
        let answer = raw_get(&app, path).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("\"invalid_request\""), "{path}: {answer}");
    }
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused_with_413() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let huge = "x".repeat(1024 * 1024 + 1);
    let r = b
        .request(
            "PATCH",
            &app.url("/my-org/details"),
            &[("scope", "update:my_org:details")],
            Some(&huge),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.status);
    assert_eq!(json(&r.body)["error"]["code"], "request_too_large");
    assert_eq!(refreshes(&app), 0, "refused before any token was fetched");
}

#[tokio::test]
async fn the_proxies_can_be_switched_off() {
    let app = common::start_with(|c| c.api_proxies(false)).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = b
        .request("GET", &app.url("/me/v1/authentication-methods"), &[], None)
        .await;
    assert_eq!(r.status, 404, "{r:?}");
}

#[tokio::test]
async fn the_proxies_can_live_under_other_paths() {
    let mut routes = tollgate::Routes::default();
    routes.my_account = "/account-api".into();
    let app = common::start_routes(routes).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let moved = get_with_scope(
        &mut b,
        &app,
        "/account-api/v1/authentication-methods",
        READ_METHODS,
        &[],
    )
    .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    assert!(json(&moved.body)["authentication_methods"].is_array());
    let old = get_with_scope(&mut b, &app, METHODS, READ_METHODS, &[]).await;
    assert_eq!(old.status, 404, "{old:?}");
}

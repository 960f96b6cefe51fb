//! Every HTML page of the tenant forbids framing and everything it does not need: a strict
//! `Content-Security-Policy` (the pages' inline style by its hash), `X-Frame-Options: DENY`,
//! `nosniff` and `no-referrer`.

use crate::common::mfa::*;
use crate::common::*;
use base64::Engine as _;
use reqwest::{Client, Response, StatusCode, header};
use sha2::{Digest, Sha256};
use tollgate_tenant::UserConfig;

/// Asserts the page headers of an HTML answer; returns the body.
async fn assert_page_headers(what: &str, response: Response) -> String {
    let headers = response.headers().clone();
    let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: {content_type}"
    );
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing in {csp}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{what}: {csp}"
    );
    // The only inline style is allowed by its hash.
    let style = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style)
        .unwrap_or_else(|| panic!("{what}: no style"));
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    assert!(
        csp.contains(&format!("style-src 'sha256-{hash}'")),
        "{what}: {csp}"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{what}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{what}");
    html
}

async fn get(http: &Client, url: impl reqwest::IntoUrl) -> Response {
    http.get(url).send().await.unwrap()
}

#[tokio::test]
async fn login_error_logout_and_dev_pages_send_the_page_headers() {
    let tenant = start().await;
    let http = browser();
    let response = authorize(&http, &tenant, &authorize_params(&[])).await;
    let login = location(&response);
    let html = assert_page_headers("login page", get(&http, login.clone()).await).await;
    assert!(html.contains("<h1>Log in</h1>"));
    // The form's redirect to the callback is allowed by form-action.
    let csp = get(&http, login.clone()).await.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:3000"),
        "{csp}"
    );
    let state = query(&login)["state"].clone();
    assert_page_headers(
        "wrong password",
        submit_login(&http, &tenant, &state, EMAIL, "wrong").await,
    )
    .await;
    assert_page_headers(
        "expired transaction",
        get(&http, url(&tenant, "u/login")).await,
    )
    .await;
    assert_page_headers(
        "authorize error",
        get(&http, url(&tenant, "authorize?client_id=nope")).await,
    )
    .await;
    assert_page_headers(
        "refused post",
        submit_login(&Client::new(), &tenant, &state, EMAIL, PASSWORD).await,
    )
    .await;
    assert_page_headers(
        "logout confirmation",
        get(&http, url(&tenant, "oidc/logout")).await,
    )
    .await;
    assert_page_headers("logged out", get(&http, url(&tenant, "v2/logout")).await).await;
    assert_page_headers("event log", get(&http, url(&tenant, "dev/logs")).await).await;
    assert_page_headers("outbox", get(&http, url(&tenant, "dev/outbox")).await).await;
    let ended = http
        .post(url(&tenant, "dev/users/logout"))
        .header("origin", origin(&tenant))
        .form(&[("email", EMAIL)])
        .send()
        .await
        .unwrap();
    assert_page_headers("sessions ended", ended).await;
    // JSON is not a page: no page policy needed there.
    let json = get(&http, url(&tenant, "dev/logs.json")).await;
    assert!(
        json.headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .is_none()
    );
    let off = start_with(config().with_dev_pages(false)).await;
    let response = get(&http, url(&off, "dev/logs")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_page_headers("dev pages off", response).await;
}

#[tokio::test]
async fn mfa_challenge_enrollment_and_recovery_pages_send_the_page_headers() {
    let tenant = start_mfa().await;
    let http = browser();
    let response = login_as(&http, &tenant, EMAIL, PASSWORD, &[("acr_values", MFA_ACR)]).await;
    let mfa = location(&response);
    let state = query(&mfa)["state"].clone();
    assert_page_headers("challenge", get(&http, mfa.clone()).await).await;
    let wrong = http
        .post(url(&tenant, "u/mfa"))
        .form(&[("state", state.as_str()), ("method", "otp"), ("code", "12")])
        .send()
        .await
        .unwrap();
    assert_page_headers("wrong code", wrong).await;
    let recovery = http
        .post(url(&tenant, "u/mfa"))
        .form(&[
            ("state", state.as_str()),
            ("method", "recovery-code"),
            ("code", ALICE_RECOVERY),
        ])
        .send()
        .await
        .unwrap();
    let html = assert_page_headers("new recovery code", recovery).await;
    assert!(html.contains("recovery-code"));

    let bob = browser();
    let response = login_as(&bob, &tenant, BOB, BOB_PASSWORD, &[("acr_values", MFA_ACR)]).await;
    let mfa = location(&response);
    let enroll = location(&get(&bob, mfa).await);
    assert_eq!(enroll.path(), "/u/mfa-enroll");
    let html = assert_page_headers("enrollment", get(&bob, enroll).await).await;
    assert!(
        html.contains("<svg"),
        "the QR code is inline SVG, which the policy allows"
    );
}

#[tokio::test]
async fn the_consent_page_sends_the_page_headers() {
    let tenant =
        start_with(config().with_user(UserConfig::new("dave@example.com", "dave-pw-1"))).await;
    // An unknown ticket's error page is enough for the headers; the full page is covered by
    // the consent tests, which read it.
    let response = get(
        &browser(),
        url(&tenant, "connected-accounts/connect?ticket=unknown"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_page_headers("consent error", response).await;
}

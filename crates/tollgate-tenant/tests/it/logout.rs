//! `/v2/logout` and `/oidc/logout`.

use crate::common::*;
use reqwest::{Client, StatusCode, header};
use tollgate_tenant::RunningTenant;

/// Asserts that the browser's SSO session is gone (prompt=none now fails).
async fn assert_logged_out(http: &Client, tenant: &RunningTenant) {
    let response = authorize(http, tenant, &authorize_params(&[("prompt", "none")])).await;
    assert_eq!(query(&location(&response))["error"], "login_required");
}

/// Asserts that the browser still has its SSO session.
async fn assert_logged_in(http: &Client, tenant: &RunningTenant) {
    let response = authorize(http, tenant, &authorize_params(&[("prompt", "none")])).await;
    assert!(query(&location(&response)).contains_key("code"));
}

fn clears_cookie(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| {
            v.to_str()
                .is_ok_and(|v| v.starts_with("auth0=;") && v.contains("Max-Age=0"))
        })
}

#[tokio::test]
async fn v2_logout_ends_the_session_and_returns() {
    let tenant = start().await;
    let http = browser();
    login_with(&http, &tenant, &[]).await;

    // A returnTo outside the allow-list: a page, and the session survives.
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("returnTo", "https://evil.example.com/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert_logged_in(&http, &tenant).await;

    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("returnTo", "http://127.0.0.1:3000/goodbye"),
            ("federated", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).as_str(),
        "http://127.0.0.1:3000/goodbye"
    );
    assert!(clears_cookie(&response));
    assert_logged_out(&http, &tenant).await;
}

#[tokio::test]
async fn v2_logout_defaults_and_unknown_client() {
    let tenant = start().await;
    let http = browser();
    // client_id without returnTo: the first Allowed Logout URL.
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).as_str(), LOGOUT_URL);
    // No client: returnTo must be allowed for some client.
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("returnTo", LOGOUT_URL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // Nothing at all: a logged-out page.
    let response = http.get(url(&tenant, "v2/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("logged out"));
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", "nobody"), ("returnTo", LOGOUT_URL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oidc_logout_with_id_token_hint() {
    let tenant = start().await;
    let http = browser();
    let tokens = exchange(&http, &tenant, &login_code(&http, &tenant).await).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = claims(id_token)["sid"].as_str().unwrap().to_owned();

    // Mismatched client_id or logout_hint: refused, session intact.
    for extra in [
        [("client_id", "leeway-client")],
        [("logout_hint", "another-sid")],
    ] {
        let mut params = vec![
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", LOGOUT_URL),
        ];
        params.extend_from_slice(&extra);
        let response = http
            .get(url(&tenant, "oidc/logout"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{extra:?}");
        assert_logged_in(&http, &tenant).await;
    }
    // A forged hint is refused.
    let forged = format!("{id_token}x");
    let response = http
        .get(url(&tenant, "oidc/logout"))
        .query(&[("id_token_hint", forged.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // A redirect outside the allow-list is refused.
    let response = http
        .get(url(&tenant, "oidc/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "https://evil.example.com/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_logged_in(&http, &tenant).await;

    let response = http
        .get(url(&tenant, "oidc/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("client_id", CLIENT_ID),
            ("logout_hint", sid.as_str()),
            ("post_logout_redirect_uri", "http://127.0.0.1:3000/goodbye"),
            ("state", "bye state"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).as_str(),
        "http://127.0.0.1:3000/goodbye?state=bye+state"
    );
    assert!(clears_cookie(&response));
    assert_logged_out(&http, &tenant).await;
}

#[tokio::test]
async fn oidc_logout_accepts_an_expired_hint_and_post() {
    let tenant = start().await;
    let http = browser();
    tenant.set_id_token_fault(Some(tollgate_tenant::IdTokenFault::Expired));
    let tokens = exchange(&http, &tenant, &login_code(&http, &tenant).await).await;
    tenant.set_id_token_fault(None);
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(claims(id_token)["exp"].as_u64().unwrap() < now());

    let response = http
        .post(url(&tenant, "oidc/logout"))
        .form(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // No post_logout_redirect_uri: the client's first logout URL.
    assert_eq!(location(&response).as_str(), LOGOUT_URL);
    assert_logged_out(&http, &tenant).await;
}

#[tokio::test]
async fn oidc_logout_without_hint_asks_for_confirmation() {
    let tenant = start().await;
    let http = browser();
    login_with(&http, &tenant, &[]).await;

    let response = http
        .get(url(&tenant, "oidc/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("post_logout_redirect_uri", LOGOUT_URL),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<form method=\"post\" action=\"/oidc/logout\">"));
    assert!(html.contains("<button type=\"submit\">"));
    assert!(html.contains("name=\"state\" value=\"s1\""));
    assert_logged_in(&http, &tenant).await;

    // Submitting the confirmation form logs out.
    let response = http
        .post(url(&tenant, "oidc/logout"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("post_logout_redirect_uri", LOGOUT_URL),
            ("state", "s1"),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).as_str(),
        "http://127.0.0.1:3000/?state=s1"
    );
    assert_logged_out(&http, &tenant).await;
}

#[tokio::test]
async fn oidc_logout_with_matching_logout_hint_skips_confirmation() {
    let tenant = start().await;
    let http = browser();
    let tokens = exchange(&http, &tenant, &login_code(&http, &tenant).await).await;
    let sid = claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    // A logout_hint that is not this browser's session: confirmation page.
    let response = http
        .get(url(&tenant, "oidc/logout"))
        .query(&[("client_id", CLIENT_ID), ("logout_hint", "someone-else")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = http
        .get(url(&tenant, "oidc/logout"))
        .query(&[("client_id", CLIENT_ID), ("logout_hint", sid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).as_str(), LOGOUT_URL);
    assert_logged_out(&http, &tenant).await;
}

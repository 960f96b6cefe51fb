//! Login CSRF: every form post of a login transaction (the password, each MFA post, MFA
//! cancel) and the consent post must come from the browser that started it (its binding
//! cookie) and from the tenant's own origin. Refused posts consume nothing.

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{Client, StatusCode, header};
use tollgate_tenant::RunningTenant;

/// `/authorize` in `http`; returns the transaction's state and its binding `Set-Cookie` pair.
async fn start_login(
    http: &Client,
    tenant: &RunningTenant,
    extra: &[(&str, &str)],
) -> (String, String) {
    let response = authorize(http, tenant, &authorize_params(extra)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let binding = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tollgate_txn_"))
        .expect("/authorize sets the transaction's binding cookie");
    assert!(
        binding.contains("; Path=/")
            && binding.contains("; HttpOnly")
            && binding.contains("; SameSite=Lax"),
        "{binding}"
    );
    assert!(!binding.contains("Secure"), "the issuer is http: {binding}");
    let state = query(&location(&response))["state"].clone();
    (state, binding.split(';').next().unwrap().to_owned())
}

/// A client without cookies of its own that sends `cookie` (if any) and `extra` headers.
fn other_browser(cookie: Option<&str>, extra: &[(&'static str, &str)]) -> Client {
    let mut headers = header::HeaderMap::new();
    if let Some(cookie) = cookie {
        headers.insert(header::COOKIE, cookie.parse().unwrap());
    }
    for (name, value) in extra {
        headers.insert(*name, value.parse().unwrap());
    }
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn assert_refused(response: reqwest::Response, needle: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .next()
            .is_none(),
        "a refused post sets no cookie"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<h1>Request refused</h1>") && html.contains(needle),
        "{html}"
    );
}

const NOT_THIS_BROWSER: &str = "was not started in this browser";

#[tokio::test]
async fn a_password_post_without_the_browsers_cookie_is_refused_and_consumes_nothing() {
    let tenant = start().await;
    let victim = browser();
    let (state, _) = start_login(&victim, &tenant, &[]).await;
    // The same post from a browser without the transaction's cookie (a cross-site form post
    // carries no SameSite=Lax cookie either).
    let response = submit_login(&other_browser(None, &[]), &tenant, &state, EMAIL, PASSWORD).await;
    assert_refused(response, NOT_THIS_BROWSER).await;
    assert_eq!(
        tenant.count_events(|e| e.is("s") || e.is("f")),
        0,
        "nothing was checked"
    );
    // The browser that started it still logs in.
    let response = submit_login(&victim, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).as_str().starts_with(CALLBACK));
}

#[tokio::test]
async fn a_password_post_with_another_transactions_cookie_is_refused() {
    let tenant = start().await;
    // The attacker starts a transaction and sends its state to a victim whose browser has a
    // binding cookie of its own transaction.
    let (attacker_state, _) = start_login(&browser(), &tenant, &[]).await;
    let (_, victim_cookie) = start_login(&browser(), &tenant, &[]).await;
    let victim = other_browser(Some(&victim_cookie), &[]);
    let response = submit_login(
        &victim,
        &tenant,
        &attacker_state,
        "bob@example.com",
        "bob-password-1",
    )
    .await;
    assert_refused(response, NOT_THIS_BROWSER).await;
    // A cookie with the attacker transaction's name but a made-up value is refused too.
    let attacker = browser();
    let (state, cookie) = start_login(&attacker, &tenant, &[]).await;
    let forged_name = cookie.split_once('=').unwrap().0.to_owned();
    let forged = other_browser(Some(&format!("{forged_name}=forged")), &[]);
    let attacker_state = state;
    let response = submit_login(&forged, &tenant, &attacker_state, EMAIL, PASSWORD).await;
    assert_refused(response, NOT_THIS_BROWSER).await;
    assert_eq!(tenant.count_events(|e| e.is("s")), 0);
}

#[tokio::test]
async fn cross_site_posts_are_refused_even_with_the_cookie() {
    let tenant = start().await;
    let http = browser();
    let (state, cookie) = start_login(&http, &tenant, &[]).await;
    let port = tenant.local_addr().port();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let cases: [&[(&'static str, &str)]; 5] = [
        &[("origin", "http://evil.example")],
        // A sandboxed frame's post: the null origin does not hide the cross-site fetch.
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "cross-site")],
        // Another port of the same host is the same site, not the same origin.
        &[("sec-fetch-site", "same-site"), ("origin", &other_port)],
        &[("sec-fetch-site", "same-site")],
    ];
    for headers in cases {
        let response = submit_login(
            &other_browser(Some(&cookie), headers),
            &tenant,
            &state,
            EMAIL,
            PASSWORD,
        )
        .await;
        assert_refused(response, "sent from another site").await;
    }
    assert_eq!(tenant.count_events(|e| e.is("s")), 0);
    // The same post from the tenant's own page passes.
    let origin = origin(&tenant);
    let own = other_browser(
        Some(&cookie),
        &[("origin", &origin), ("sec-fetch-site", "same-origin")],
    );
    let response = submit_login(&own, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).as_str().starts_with(CALLBACK));
}

#[tokio::test]
async fn every_mfa_post_and_cancel_needs_the_browser_of_the_transaction() {
    let tenant = start_mfa().await;
    let http = browser();
    let response = login_as(&http, &tenant, EMAIL, PASSWORD, &[("acr_values", MFA_ACR)]).await;
    let mfa = location(&response);
    assert_eq!(mfa.path(), "/u/mfa");
    let state = query(&mfa)["state"].clone();
    let stranger = other_browser(None, &[]);
    let code = tenant.totp_code(EMAIL).unwrap();
    let form = [
        ("state", state.as_str()),
        ("method", "otp"),
        ("code", code.as_str()),
    ];
    for path in ["u/mfa", "u/mfa/complete", "u/mfa-enroll"] {
        let response = stranger
            .post(url(&tenant, path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_refused(response, NOT_THIS_BROWSER).await;
    }
    let response = stranger
        .get(url(&tenant, "u/mfa/cancel"))
        .query(&[("state", &state)])
        .send()
        .await
        .unwrap();
    assert_refused(response, NOT_THIS_BROWSER).await;
    let response = other_browser(None, &[("origin", "http://evil.example")])
        .post(url(&tenant, "u/mfa"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_refused(response, "sent from another site").await;
    assert_eq!(
        tenant.count_events(|e| e.is("gd_otp_rate_limit_exceed") || e.kind.starts_with("gd_auth")),
        0
    );
    // Nothing was consumed: the right browser passes with the same code.
    let response = http
        .post(url(&tenant, "u/mfa"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).as_str().starts_with(CALLBACK));
}

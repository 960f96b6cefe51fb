//! Auth0's attack protection on the tenant's pages, on the tenant's manual clock: brute-force
//! protection and suspicious IP throttling for passwords, and the one-time-code failure limit
//! (10 failures, then one attempt back every 6 minutes).

use std::time::Duration;

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{Client, StatusCode};
use tollgate_tenant::RunningTenant;

const BLOCKED: &str = "Your account has been blocked after multiple consecutive login attempts. We&#39;ve sent you an email with instructions on how to unblock it.";
const SUSPICIOUS: &str = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.";

/// A fresh login transaction in `http`; returns its state.
async fn transaction(http: &Client, tenant: &RunningTenant) -> String {
    let response = authorize(http, tenant, &authorize_params(&[("prompt", "login")])).await;
    query(&location(&response))["state"].clone()
}

#[tokio::test]
async fn the_eleventh_attempt_is_refused_even_with_the_right_password() {
    let (tenant, clock) = start_on_manual_clock(config()).await;
    let http = browser();
    let state = transaction(&http, &tenant).await;
    for _ in 0..10 {
        let response = submit_login(&http, &tenant, &state, EMAIL, "wrong-password").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Wrong email or password.")
        );
    }
    let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = response.text().await.unwrap();
    assert!(html.contains(BLOCKED), "{html}");
    assert_eq!(tenant.count_events(|e| e.is("s")), 0, "no login");
    let blocked = tenant.events_of_type("limit_wc");
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].description, "Blocked Account");
    assert_eq!(blocked[0].user_name.as_deref(), Some(EMAIL));
    assert_eq!(
        blocked[0].detail("ip").and_then(|v| v.as_str()),
        Some("127.0.0.1")
    );
    assert_eq!(
        blocked[0].detail("error").and_then(|v| v.as_str()),
        Some("too_many_attempts")
    );
    assert_eq!(
        tenant.events_of_type("f").len(),
        10,
        "refused attempts are not counted"
    );

    // The block is for this user from this address: bob still logs in from here.
    let bob = browser();
    let bob_state = transaction(&bob, &tenant).await;
    let response = submit_login(
        &bob,
        &tenant,
        &bob_state,
        "bob@example.com",
        "bob-password-1",
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    // A new transaction does not help; the block lasts 30 days of the tenant's time.
    clock.advance(30 * 86_400 - 1);
    let state = transaction(&http, &tenant).await;
    let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    clock.advance(1);
    let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).as_str().starts_with(CALLBACK));
}

#[tokio::test]
async fn a_right_password_restarts_the_count() {
    let tenant = start().await;
    let http = browser();
    for _ in 0..2 {
        let state = transaction(&http, &tenant).await;
        for _ in 0..9 {
            submit_login(&http, &tenant, &state, EMAIL, "wrong-password").await;
        }
        let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::FOUND,
            "nine failures do not block"
        );
    }
    assert!(tenant.events_of_type("limit_wc").is_empty());
}

#[tokio::test]
async fn an_address_that_fails_a_hundred_times_is_throttled_for_every_account() {
    let (tenant, clock) = start_on_manual_clock(config()).await;
    let http = browser();
    let state = transaction(&http, &tenant).await;
    // Credential stuffing: one guess for each of many accounts.
    for n in 0..100 {
        let response = submit_login(
            &http,
            &tenant,
            &state,
            &format!("user{n}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().await.unwrap().contains(SUSPICIOUS));
    assert_eq!(tenant.events_of_type("limit_mu").len(), 1);
    assert_eq!(tenant.count_events(|e| e.is("s")), 0);
    // One attempt comes back every 864 seconds (100 a day).
    clock.advance(863);
    let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    clock.advance(1);
    let response = submit_login(&http, &tenant, &state, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

async fn submit_otp(
    http: &Client,
    tenant: &RunningTenant,
    state: &str,
    code: &str,
) -> reqwest::Response {
    http.post(url(tenant, "u/mfa"))
        .form(&[("state", state), ("method", "otp"), ("code", code)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_code_lockout_refuses_every_code_then_gives_one_attempt_back_every_six_minutes() {
    let (tenant, clock) = start_on_manual_clock(mfa_config()).await;
    let http = browser();
    let response = login_as(&http, &tenant, EMAIL, PASSWORD, &[("acr_values", MFA_ACR)]).await;
    let state = query(&location(&response))["state"].clone();
    let wrong = |good: &str| {
        if good == "000000" {
            "111111".to_owned()
        } else {
            "000000".to_owned()
        }
    };
    let good = tenant.totp_code(EMAIL).unwrap();
    for _ in 0..10 {
        let response = submit_otp(&http, &tenant, &state, &wrong(&good)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // Locked: the right code is refused like any other, with Universal Login's words.
    let response = submit_otp(&http, &tenant, &state, &good).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Too many failed codes. Wait for some minutes before retrying.")
    );
    clock.advance(6 * 60 - 1);
    let response = submit_otp(&http, &tenant, &state, &tenant.totp_code(EMAIL).unwrap()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Six minutes after the first failure one attempt is back; a wrong code spends it.
    clock.advance(1);
    let good = tenant.totp_code(EMAIL).unwrap();
    let response = submit_otp(&http, &tenant, &state, &wrong(&good)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = submit_otp(&http, &tenant, &state, &good).await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked again"
    );
    // Six more minutes: the right code is accepted and the login completes.
    clock.advance(6 * 60);
    let response = submit_otp(&http, &tenant, &state, &tenant.totp_code(EMAIL).unwrap()).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).as_str().starts_with(CALLBACK));
    assert!(
        tenant.events_of_type("gd_otp_rate_limit_exceed").len() >= 3,
        "each refused attempt is logged"
    );
    let _ = Duration::ZERO;
}

//! The tenant's clock (`TenantConfig::with_clock`): token times, codes, refresh tokens, SSO
//! sessions, the MFA failure limit and TOTP codes follow a `ManualClock`, whatever the wall
//! clock says.

use std::time::Duration;

use reqwest::StatusCode;
use tollgate_tenant::Clock;

use crate::common::mfa::*;
use crate::common::*;

#[tokio::test]
async fn tokens_codes_refresh_tokens_and_sessions_follow_the_tenant_clock() {
    let (tenant, clock) = start_on_manual_clock(
        config()
            .with_refresh_token_lifetime(Duration::from_secs(3600))
            .with_session_lifetime(Duration::from_secs(7200)),
    )
    .await;
    let http = browser();
    let logged_in_at = clock.now();
    let code = login_code(&http, &tenant).await;

    // Dated by the tenant's clock: the code is exchanged 59 s after the login.
    clock.advance(59);
    let tokens = exchange(&http, &tenant, &code).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["auth_time"].as_u64(), Some(logged_in_at));
    assert_eq!(id["iat"].as_u64(), Some(logged_in_at + 59));
    assert_eq!(id["exp"].as_u64(), Some(logged_in_at + 59 + 36_000));

    // A code lives 60 s of the tenant's time.
    let code = login_code(&browser(), &tenant).await;
    clock.advance(60);
    let late = token(
        &http,
        &tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_error(
        late,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    )
    .await;

    // The SSO session (7200 s) still answers prompt=none.
    let silent = authorize(&http, &tenant, &authorize_params(&[("prompt", "none")])).await;
    assert!(location(&silent).as_str().starts_with(CALLBACK));

    // The refresh-token family lives 3600 s from the first exchange, rotation or not.
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    clock.advance(3600 - 60 - 1);
    let refreshed = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, refresh_token, &[]).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: serde_json::Value = refreshed.json().await.unwrap();
    clock.advance(1);
    assert_error(
        refresh_as(
            &tenant,
            CLIENT_ID,
            CLIENT_SECRET,
            refreshed["refresh_token"].as_str().unwrap(),
            &[],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Unknown or invalid refresh token."),
    )
    .await;

    // After 7200 s the SSO session is over: prompt=none needs a login.
    clock.set(logged_in_at + 7200);
    let silent = authorize(&http, &tenant, &authorize_params(&[("prompt", "none")])).await;
    assert_eq!(query(&location(&silent))["error"], "login_required");
}

#[tokio::test]
async fn the_mfa_failure_limit_refills_on_the_tenant_clock() {
    let (tenant, clock) = start_on_manual_clock(mfa_config()).await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let otp = |code: String| {
        let tenant = &tenant;
        let mfa_token = mfa_token.clone();
        async move {
            mfa_grant(
                tenant,
                GRANT_OTP,
                &[("mfa_token", &mfa_token), ("otp", &code)],
            )
            .await
        }
    };
    let good = tenant.totp_code(EMAIL).unwrap();
    let bad = if good == "000000" { "111111" } else { "000000" };
    for _ in 0..10 {
        assert_error(
            otp(bad.to_owned()).await,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Invalid otp_code."),
        )
        .await;
    }
    // One failure is forgiven every 6 minutes of the tenant's time.
    clock.advance(359);
    assert_error(
        otp(tenant.totp_code(EMAIL).unwrap()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        Some("Too many failed codes. Wait for some minutes before retrying."),
    )
    .await;
    clock.advance(1);
    // The code of the tenant's current step (twelve steps after the first) is accepted.
    let response = otp(tenant.totp_code(EMAIL).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

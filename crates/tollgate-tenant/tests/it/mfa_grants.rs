//! The `mfa-otp`, `mfa-oob` and `mfa-recovery-code` grants: the tokens they issue, TOTP drift
//! and single use, out-of-band codes through the outbox, push polling, recovery-code rotation,
//! the failure limit and `mfa_token` errors.

use std::time::Duration;

use crate::common::mfa::*;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn otp_grant_issues_the_requested_tokens_and_keeps_the_familys_refresh_token() {
    let tenant = start_mfa().await;
    let http = browser();
    let first = tokens_as(&tenant, EMAIL, PASSWORD).await;
    let first_id = verify(
        &http,
        &tenant,
        first["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    let rt = refresh_token(&first);
    let required = expect_mfa_required(&tenant, &rt, API).await;
    let mfa_token = required["mfa_token"].as_str().unwrap();

    let tokens = pass_with_otp(&tenant, mfa_token, &[]).await;
    let mut keys: Vec<&str> = tokens
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "id_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 86_400);
    assert_eq!(tokens["scope"], "openid profile email offline_access");
    // The access token is for the audience of the refused request.
    let access = verify(
        &http,
        &tenant,
        tokens["access_token"].as_str().unwrap(),
        API,
    )
    .await;
    assert_eq!(access["sub"], first_id["sub"]);
    assert_eq!(access["azp"], CLIENT_ID);
    assert!(access.get("gty").is_none());
    // The ID token belongs to the same session and, as at Auth0, has no amr.
    let id = verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(id["sid"], first_id["sid"]);
    assert_eq!(id["auth_time"], first_id["auth_time"]);
    for claim in ["amr", "acr", "nonce"] {
        assert!(!id.contains_key(claim), "no {claim}: {id:?}");
    }
    // The family kept its refresh token, which now passes the policy; refreshing rotates it as
    // usual, and the token rotated away is then a reuse.
    let again =
        ok_json(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt, &[("audience", API)]).await)
            .await;
    let rt2 = refresh_token(&again);
    assert_ne!(rt2, rt);
    expect_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt, &[("audience", API)]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Unknown or invalid refresh token."),
    )
    .await;
    // The mfa_token is spent.
    let code = alice_code(&tenant, 1);
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", mfa_token), ("otp", &code)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Malformed mfa_token"),
    )
    .await;
}

#[tokio::test]
async fn audience_and_scope_parameters_override_the_mfa_token() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let tokens = pass_with_otp(
        &tenant,
        &mfa_token,
        &[
            ("audience", OTHER_API),
            ("scope", "openid read:orders read:payments"),
        ],
    )
    .await;
    assert_eq!(tokens["scope"], "openid read:orders");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access: no refresh token"
    );
    let access = verify(
        &browser(),
        &tenant,
        tokens["access_token"].as_str().unwrap(),
        OTHER_API,
    )
    .await;
    assert_eq!(access["scope"], "openid read:orders");

    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let challenge = ok_json(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": mfa_token, "challenge_type": "oob"}),
        )
        .await,
    )
    .await;
    let code = last_message(&tenant, CAROL).code.unwrap();
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", &mfa_token),
                ("oob_code", challenge["oob_code"].as_str().unwrap()),
                ("binding_code", &code),
                ("audience", "https://unknown.example.com"),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Service not found: https://unknown.example.com"),
    )
    .await;
}

#[tokio::test]
async fn totp_accepts_one_step_of_drift_and_each_step_once() {
    // The tenant's clock stands still, so "previous, current, next" stay the same three steps.
    let (tenant, _clock) = start_on_manual_clock(mfa_config()).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(mfa_token_for(&tenant, EMAIL, PASSWORD).await.0);
    }
    let try_code = |token: String, code: String| {
        let tenant = &tenant;
        async move { mfa_grant(tenant, GRANT_OTP, &[("mfa_token", &token), ("otp", &code)]).await }
    };
    // Two steps away either side: refused.
    for offset in [-2, 2] {
        assert_error(
            try_code(tokens[0].clone(), alice_code(&tenant, offset)).await,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Invalid otp_code."),
        )
        .await;
    }
    // Malformed codes: refused the same way.
    for bad in ["12345", "1234567", "abcdef"] {
        assert_error(
            try_code(tokens[0].clone(), bad.to_owned()).await,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Invalid otp_code."),
        )
        .await;
    }
    // The previous, current and next steps each work once.
    for (index, offset) in [-1, 0, 1].into_iter().enumerate() {
        ok_json(try_code(tokens[index].clone(), alice_code(&tenant, offset)).await).await;
    }
    assert_error(
        try_code(tokens[3].clone(), alice_code(&tenant, 0)).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid otp_code."),
    )
    .await;
}

#[tokio::test]
async fn recovery_code_grant_returns_a_new_code() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[
                ("mfa_token", &mfa_token),
                ("recovery_code", "ZZZZZZZZZZZZZZZZZZZZZZZZ"),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid recovery_code."),
    )
    .await;
    // Case and spacing do not matter.
    let tokens = ok_json(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[
                ("mfa_token", &mfa_token),
                ("recovery_code", "abcd efgh jklm npqr stuv wxyz"),
            ],
        )
        .await,
    )
    .await;
    let new_code = tokens["recovery_code"].as_str().unwrap();
    assert_eq!(new_code.len(), 24);
    assert!(
        new_code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert_ne!(new_code, ALICE_RECOVERY);
    assert!(tokens["access_token"].is_string() && tokens["id_token"].is_string());

    // The old code is spent; the new one works (and is replaced in turn).
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", &mfa_token), ("recovery_code", ALICE_RECOVERY)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid recovery_code."),
    )
    .await;
    let tokens = ok_json(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", &mfa_token), ("recovery_code", new_code)],
        )
        .await,
    )
    .await;
    assert_ne!(tokens["recovery_code"], new_code);
    // OTP and OOB grants return no recovery_code.
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    assert!(
        pass_with_otp(&tenant, &mfa_token, &[])
            .await
            .get("recovery_code")
            .is_none()
    );
}

#[tokio::test]
async fn oob_grant_with_an_sms_code_from_the_outbox() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let challenge = ok_json(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": mfa_token, "challenge_type": "oob"}),
        )
        .await,
    )
    .await;
    let oob_code = challenge["oob_code"].as_str().unwrap();
    let message = last_message(&tenant, CAROL);
    assert_eq!(
        (message.channel, message.to.as_str()),
        (tollgate_tenant::OutboxChannel::Sms, CAROL_PHONE)
    );
    let code = message.code.unwrap();
    let grant = |binding| oob_grant(&tenant, &mfa_token, oob_code, binding);
    assert_error(
        grant(None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Missing required parameter: binding_code"),
    )
    .await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    assert_error(
        grant(Some(wrong)).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid binding_code."),
    )
    .await;
    let tokens = ok_json(grant(Some(&code)).await).await;
    assert!(tokens["access_token"].is_string());

    // The oob_code is single use; an unknown one is refused the same way.
    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    for oob in [oob_code, "never-issued"] {
        assert_error(
            mfa_grant(
                &tenant,
                GRANT_OOB,
                &[
                    ("mfa_token", &mfa_token),
                    ("oob_code", oob),
                    ("binding_code", &code),
                ],
            )
            .await,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Invalid oob_code."),
        )
        .await;
    }
}

async fn oob_grant(
    tenant: &tollgate_tenant::RunningTenant,
    mfa_token: &str,
    oob_code: &str,
    binding: Option<&str>,
) -> reqwest::Response {
    let mut fields = vec![("mfa_token", mfa_token), ("oob_code", oob_code)];
    if let Some(binding) = binding {
        fields.push(("binding_code", binding));
    }
    mfa_grant(tenant, GRANT_OOB, &fields).await
}

#[tokio::test]
async fn expired_oob_code() {
    let (tenant, clock) =
        start_on_manual_clock(mfa_config().with_oob_code_lifetime(Duration::from_secs(1))).await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let challenge = ok_json(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": mfa_token, "challenge_type": "oob"}),
        )
        .await,
    )
    .await;
    let code = last_message(&tenant, CAROL).code.unwrap();
    clock.advance(2);
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", &mfa_token),
                ("oob_code", challenge["oob_code"].as_str().unwrap()),
                ("binding_code", &code),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("oob_code is expired"),
    )
    .await;
}

#[tokio::test]
async fn push_pending_slow_down_deny_and_approve() {
    let (tenant, clock) =
        start_on_manual_clock(mfa_config().with_push_poll_interval(Duration::from_secs(1))).await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let list: Value = list_authenticators(&tenant, &mfa_token)
        .await
        .json()
        .await
        .unwrap();
    let push_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["oob_channel"] == "auth0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start_push = || async {
        let body = ok_json(
            mfa_challenge(&tenant, json!({"mfa_token": mfa_token, "challenge_type": "oob", "authenticator_id": push_id})).await,
        )
        .await;
        (
            body["oob_code"].as_str().unwrap().to_owned(),
            last_message(&tenant, CAROL),
        )
    };
    let poll = |oob: String| {
        let tenant = &tenant;
        let mfa_token = mfa_token.clone();
        async move {
            mfa_grant(
                tenant,
                GRANT_OOB,
                &[("mfa_token", &mfa_token), ("oob_code", &oob)],
            )
            .await
        }
    };

    let (oob, message) = start_push().await;
    assert_eq!(message.to, "Carol's phone");
    assert_error(
        poll(oob.clone()).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
        Some("Authorization pending: please repeat the request in a few seconds."),
    )
    .await;
    assert_error(
        poll(oob.clone()).await,
        StatusCode::BAD_REQUEST,
        "slow_down",
        None,
    )
    .await;
    assert!(tenant.deny_push(&message.id));
    clock.advance(1);
    assert_error(
        poll(oob.clone()).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("MFA Authorization rejected."),
    )
    .await;
    assert_error(
        poll(oob).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid oob_code."),
    )
    .await;
    assert_eq!(
        tenant
            .outbox()
            .iter()
            .find(|m| m.id == message.id)
            .unwrap()
            .state,
        Some(tollgate_tenant::PushState::Denied)
    );

    let (oob, message) = start_push().await;
    assert!(tenant.approve_push(&message.id));
    let tokens = ok_json(poll(oob).await).await;
    assert!(tokens["access_token"].is_string());
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn ten_failures_then_too_many_attempts() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let good = tenant.totp_code(EMAIL).unwrap();
    let bad = if good == "000000" { "111111" } else { "000000" };
    for _ in 0..10 {
        assert_error(
            mfa_grant(
                &tenant,
                GRANT_OTP,
                &[("mfa_token", &mfa_token), ("otp", bad)],
            )
            .await,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Invalid otp_code."),
        )
        .await;
    }
    // Now even a right answer is refused, for every grant of this user.
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", &mfa_token), ("otp", &good)],
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        Some("Too many failed codes. Wait for some minutes before retrying."),
    )
    .await;
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", &mfa_token), ("recovery_code", ALICE_RECOVERY)],
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;
    // Other users are not affected.
    let (bob_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", &bob_token), ("otp", bad)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid otp_code."),
    )
    .await;
}

#[tokio::test]
async fn mfa_token_errors() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let code = tenant.totp_code(EMAIL).unwrap();
    assert_error(
        mfa_grant(&tenant, GRANT_OTP, &[("otp", &code)]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Missing required parameter: mfa_token"),
    )
    .await;
    assert_error(
        mfa_grant(&tenant, GRANT_OTP, &[("mfa_token", &mfa_token)]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Missing required parameter: otp"),
    )
    .await;
    for bogus in ["Fe26.2*bogus", "eyJhbGciOiJub25lIn0.e30.", "x"] {
        assert_error(
            mfa_grant(&tenant, GRANT_OTP, &[("mfa_token", bogus), ("otp", &code)]).await,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Malformed mfa_token"),
        )
        .await;
    }
    // Another client cannot use the token.
    assert_error(
        token_as(
            &browser(),
            &tenant,
            "static-client",
            "static-secret",
            &[
                ("grant_type", GRANT_OTP),
                ("mfa_token", &mfa_token),
                ("otp", &code),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Malformed mfa_token"),
    )
    .await;
    // Client authentication still comes first.
    assert_error(
        token_as(
            &browser(),
            &tenant,
            CLIENT_ID,
            "wrong",
            &[
                ("grant_type", GRANT_OTP),
                ("mfa_token", &mfa_token),
                ("otp", &code),
            ],
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        None,
    )
    .await;
    // JSON bodies work like forms.
    let response = browser()
        .post(url(&tenant, "oauth/token"))
        .json(&json!({
            "grant_type": GRANT_OTP,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "mfa_token": mfa_token,
            "otp": code,
        }))
        .send()
        .await
        .unwrap();
    ok_json(response).await;
}

#[tokio::test]
async fn clients_without_rotation_keep_their_refresh_token() {
    let tenant = start_mfa().await;
    let first = tokens_as_client(&tenant, "static-client", "static-secret", EMAIL, PASSWORD).await;
    let rt = refresh_token(&first);
    let response = refresh_as(
        &tenant,
        "static-client",
        "static-secret",
        &rt,
        &[("audience", API)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    let code = tenant.totp_code(EMAIL).unwrap();
    let tokens = ok_json(
        token_as(
            &browser(),
            &tenant,
            "static-client",
            "static-secret",
            &[
                ("grant_type", GRANT_OTP),
                ("mfa_token", body["mfa_token"].as_str().unwrap()),
                ("otp", &code),
            ],
        )
        .await,
    )
    .await;
    assert!(tokens.get("refresh_token").is_none());
    // The same refresh token now passes the policy.
    let response = refresh_as(
        &tenant,
        "static-client",
        "static-secret",
        &rt,
        &[("audience", API)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_policy_for_any_audience_covers_opaque_tokens() {
    let tenant = start_with(
        mfa_config()
            .with_mfa_policy(tollgate_tenant::MfaPolicy::new().with_factors(["recovery-code"])),
    )
    .await;
    let rt = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    // No audience at all: the any-audience policy applies (recovery codes only).
    let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["mfa_requirements"],
        json!({"challenge": [{"type": "recovery-code"}]}),
        "{body}"
    );
    let mfa_token = body["mfa_token"].as_str().unwrap();
    // OTP is not allowed by this policy.
    let code = tenant.totp_code(EMAIL).unwrap();
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", mfa_token), ("otp", &code)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid otp_code."),
    )
    .await;
    let tokens = ok_json(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", mfa_token), ("recovery_code", ALICE_RECOVERY)],
        )
        .await,
    )
    .await;
    // An opaque access token, good at /userinfo.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 1, "opaque");
    let response = browser()
        .get(url(&tenant, "userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["email"], EMAIL);
}

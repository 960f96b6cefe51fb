//! `mfa_required` on the refresh-token grant: the challenge and enroll variants, the
//! requirements vocabulary, policies by audience, `every_time`, the MFA API audience and the
//! `mfa_token` lifetime.

use std::time::Duration;

use crate::common::mfa::*;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_tenant::{MfaPolicy, MfaRequirements, TenantConfig};

fn types(body: &Value, key: &str) -> Vec<String> {
    body["mfa_requirements"][key]
        .as_array()
        .unwrap_or_else(|| panic!("mfa_requirements.{key} in {body}"))
        .iter()
        .map(|t| t["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn policy_answers_mfa_required_with_the_users_factors() {
    let tenant = start_mfa().await;
    let (mfa_token, rt, body) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    assert_eq!(
        body["error_description"],
        "Multifactor authentication required"
    );
    assert!(mfa_token.starts_with("Fe26.2*"), "{mfa_token}");
    assert!(mfa_token.len() > 40);
    assert_eq!(
        body.as_object().unwrap().len(),
        4,
        "error, error_description, mfa_token, mfa_requirements: {body}"
    );
    assert_eq!(types(&body, "challenge"), ["otp", "recovery-code"]);
    assert!(body["mfa_requirements"].get("enroll").is_none());

    // Carol has phone, email and push (with its OTP twin): the full vocabulary, in order.
    let (_, _, carol) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    assert_eq!(
        types(&carol, "challenge"),
        ["otp", "push-notification", "phone", "email"]
    );

    // Bob has no factor: he is asked to enroll.
    let (_, _, bob) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    assert_eq!(
        types(&bob, "enroll"),
        ["otp", "push-notification", "phone", "email"]
    );
    assert!(bob["mfa_requirements"].get("challenge").is_none());

    // mfa_required did not use the refresh token: it still works where no policy applies,
    // and each refused request gets a new mfa_token.
    let again = expect_mfa_required(&tenant, &rt, API).await;
    assert_ne!(again["mfa_token"], json!(mfa_token));
    let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_plain_mfa_policy_answers_without_mfa_requirements() {
    // Auth0's plain MFA policy (api.multifactor.enable) answers error, description and
    // mfa_token only; Customizable MFA (challengeWithAny) lists the factors.
    let plain = MfaPolicy::new()
        .for_audience(OTHER_API)
        .with_factors(["otp", "email"])
        .with_mfa_requirements(MfaRequirements::Omitted);
    let tenant = start_with(mfa_config().with_mfa_policy(plain)).await;
    let rt = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    let body = expect_mfa_required(&tenant, &rt, OTHER_API).await;
    let mut members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        ["error", "error_description", "mfa_token"],
        "{body}"
    );
    // The mfa_token still works, and the policy's factors still bind it: an otp passes...
    let token = body["mfa_token"].as_str().unwrap();
    let tokens = pass_with_otp(&tenant, token, &[]).await;
    assert!(tokens["access_token"].is_string());
    // ...and the same rule from TOML reads the same way; the listing policy for API still lists.
    let config = TenantConfig::from_toml_str(&format!(
        "[[mfa_policies]]\naudience = \"{OTHER_API}\"\nmfa_requirements = \"omitted\""
    ))
    .unwrap();
    assert_eq!(
        config.mfa_policies()[0].mfa_requirements(),
        MfaRequirements::Omitted
    );
    let fresh = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    let body = expect_mfa_required(&tenant, &fresh, API).await;
    assert_eq!(types(&body, "challenge"), ["otp", "recovery-code"]);
}

#[tokio::test]
async fn requirements_follow_the_policy_factors() {
    let tenant = start_with(
        mfa_config().with_mfa_policy(
            MfaPolicy::new()
                .for_audience(OTHER_API)
                .with_factors(["email", "recovery-code"]),
        ),
    )
    .await;
    // Alice has no email factor, but her recovery code is allowed.
    let rt = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    let body = expect_mfa_required(&tenant, &rt, OTHER_API).await;
    assert_eq!(types(&body, "challenge"), ["recovery-code"]);
    // Bob has nothing: he must enroll one of the allowed kinds.
    let rt = refresh_token(&tokens_as(&tenant, BOB, BOB_PASSWORD).await);
    let body = expect_mfa_required(&tenant, &rt, OTHER_API).await;
    assert_eq!(types(&body, "enroll"), ["email"]);
    // Carol has email; recovery-code is listed only for users who have one.
    let rt = refresh_token(&tokens_as(&tenant, CAROL, CAROL_PASSWORD).await);
    let body = expect_mfa_required(&tenant, &rt, OTHER_API).await;
    assert_eq!(types(&body, "challenge"), ["email"]);

    // A challenge for a factor outside the policy is refused.
    let token = body["mfa_token"].as_str().unwrap();
    expect_error(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": token, "challenge_type": "otp"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_challenge_type",
        None,
    )
    .await;
}

#[tokio::test]
async fn no_policy_no_mfa_and_audience_must_match() {
    let tenant = start_mfa().await;
    let mut rt = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    // The family's own audience (none) and another API are not covered by the policy.
    for extra in [vec![], vec![("audience", OTHER_API)]] {
        let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt, &extra).await;
        assert_eq!(response.status(), StatusCode::OK);
        rt = refresh_token(&response.json::<Value>().await.unwrap());
    }
    // Without any policy, the payments API is served directly.
    let plain = start().await;
    let rt = refresh_token(&tokens_for(&plain, CLIENT_ID, CLIENT_SECRET, &[]).await);
    let response = refresh_as(&plain, CLIENT_ID, CLIENT_SECRET, &rt, &[("audience", API)]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn once_satisfied_the_family_passes_the_policy() {
    let tenant = start_mfa().await;
    let (mfa_token, rt, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let tokens = pass_with_otp(&tenant, &mfa_token, &[]).await;
    // The MFA grant marks the family and leaves its refresh token as it was: the answer has no
    // new one, and the token that met mfa_required goes on working.
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let rt2 = rt;
    // The family is satisfied: the payments API is served by the refresh grant now.
    let response = refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &rt2,
        &[("audience", API)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let access = verify(
        &browser(),
        &tenant,
        body["access_token"].as_str().unwrap(),
        API,
    )
    .await;
    assert_eq!(
        access["aud"],
        json!([API, tenant.base_url().join("userinfo").unwrap().as_str()])
    );

    // Another login starts another family, which is asked again.
    let (_, _, body) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    assert_eq!(body["error"], "mfa_required");
}

#[tokio::test]
async fn every_time_asks_on_each_request() {
    let config = mfa_config().with_mfa_policy(
        MfaPolicy::new()
            .for_audience(OTHER_API)
            .with_factors(["otp"])
            .every_time(true),
    );
    let tenant = start_with(config).await;
    let rt = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    let body = expect_mfa_required(&tenant, &rt, OTHER_API).await;
    let tokens = pass_with_otp(&tenant, body["mfa_token"].as_str().unwrap(), &[]).await;
    assert!(tokens["access_token"].is_string());
    let rt2 = rt;
    // Satisfied once: the once-only policy for API lets it through, the every-time one asks.
    let response = refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &rt2,
        &[("audience", API)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rt3 = refresh_token(&response.json::<Value>().await.unwrap());
    let body = expect_mfa_required(&tenant, &rt3, OTHER_API).await;
    assert_eq!(types(&body, "challenge"), ["otp"]);
}

#[tokio::test]
async fn the_mfa_api_audience_always_asks() {
    // The tenant's clock stands still, so the codes of this step and the previous stay usable.
    let (tenant, _clock) = start_on_manual_clock(mfa_config()).await;
    let mfa_audience = format!("{}mfa/", tenant.issuer());
    let (mfa_token, rt, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let tokens = pass_with_otp(&tenant, &mfa_token, &[]).await;
    // The family passed MFA and keeps its refresh token (no new one in the answer)...
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    // ...and even a satisfied family must pass MFA for the MFA API.
    let body = expect_mfa_required(&tenant, &rt, &mfa_audience).await;
    assert_eq!(types(&body, "challenge"), ["otp", "recovery-code"]);
    let tokens = pass_with_otp_at(
        &tenant,
        body["mfa_token"].as_str().unwrap(),
        1,
        &[("scope", "read:authenticators remove:authenticators")],
    )
    .await;
    assert_eq!(tokens["scope"], "read:authenticators remove:authenticators");
    assert_eq!(tokens["expires_in"], 600);
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access asked"
    );
    let claims = verify(
        &browser(),
        &tenant,
        tokens["access_token"].as_str().unwrap(),
        &mfa_audience,
    )
    .await;
    assert_eq!(claims["aud"], mfa_audience);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );
}

/// Passes MFA with alice's code `step_offset` steps from now.
async fn pass_with_otp_at(
    tenant: &tollgate_tenant::RunningTenant,
    mfa_token: &str,
    step_offset: i64,
    extra: &[(&str, &str)],
) -> Value {
    let code = alice_code(tenant, step_offset);
    let mut fields = vec![("mfa_token", mfa_token), ("otp", code.as_str())];
    fields.extend_from_slice(extra);
    let response = mfa_grant(tenant, GRANT_OTP, &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn expired_mfa_token() {
    let (tenant, clock) =
        start_on_manual_clock(mfa_config().with_mfa_token_lifetime(Duration::from_secs(1))).await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    clock.advance(2);
    let code = tenant.totp_code(EMAIL).unwrap();
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", &mfa_token), ("otp", &code)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "expired_token",
        Some("mfa_token is expired"),
    )
    .await;
    expect_error(
        list_authenticators(&tenant, &mfa_token).await,
        StatusCode::UNAUTHORIZED,
        "expired_token",
        Some("mfa_token is expired"),
    )
    .await;
    expect_error(
        mfa_challenge(&tenant, json!({"mfa_token": mfa_token})).await,
        StatusCode::UNAUTHORIZED,
        "expired_token",
        Some("mfa_token is expired"),
    )
    .await;
}

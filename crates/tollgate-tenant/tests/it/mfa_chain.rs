//! Chained MFA: a policy that requires two different factors answers the first successful MFA
//! grant with a new `403 mfa_required` listing the remaining factors; the second succeeds.

use std::time::Duration;

use crate::common::mfa::*;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_tenant::{ConfigError, MfaPolicy, RunningTenant, TenantConfig, UserConfig};

const DAVE: &str = "dave@example.com";
const DAVE_PASSWORD: &str = "dave-password-1";

/// Like [`mfa_config`], with dave (TOTP only) and the policy for [`API`] requiring two factors.
fn chain_config() -> TenantConfig {
    let mut config = TenantConfig::new()
        .with_client(app_client())
        .with_user(
            UserConfig::new(EMAIL, PASSWORD)
                .with_totp_secret(ALICE_SECRET)
                .with_recovery_code(ALICE_RECOVERY),
        )
        .with_user(
            UserConfig::new(CAROL, CAROL_PASSWORD)
                .with_phone(CAROL_PHONE)
                .with_email_factor()
                .with_push_device("Carol's phone"),
        )
        .with_user(UserConfig::new(DAVE, DAVE_PASSWORD).with_totp_secret("GEZDGNBVGY3TQOJQ"))
        .with_mfa_policy(
            MfaPolicy::new()
                .for_audience(API)
                .with_required_factor_count(2),
        )
        .with_push_poll_interval(Duration::ZERO);
    for api in config_apis() {
        config = config.with_api(api);
    }
    config
}

fn config_apis() -> Vec<tollgate_tenant::ApiConfig> {
    config().apis().to_vec()
}

async fn start_chain() -> RunningTenant {
    start_with(chain_config()).await
}

fn challenge_types(body: &Value) -> Vec<&str> {
    body["mfa_requirements"]["challenge"]
        .as_array()
        .expect("a challenge list")
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect()
}

/// Asserts a `403 mfa_required` answer; returns the body.
async fn expect_chained(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required", "{body}");
    assert_eq!(
        body["error_description"],
        "Multifactor authentication required"
    );
    assert!(body["mfa_token"].as_str().unwrap().starts_with("Fe26.2*"));
    body
}

async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn otp_then_recovery_code() {
    let tenant = start_chain().await;
    let (first_token, rt, required) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    assert_eq!(challenge_types(&required), ["otp", "recovery-code"]);

    let code = tenant.totp_code(EMAIL).unwrap();
    let step = expect_chained(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", &first_token), ("otp", &code)],
        )
        .await,
    )
    .await;
    let mut members: Vec<&str> = step
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "error",
            "error_description",
            "mfa_requirements",
            "mfa_token"
        ]
    );
    assert_eq!(challenge_types(&step), ["recovery-code"], "otp was used");
    let second_token = step["mfa_token"].as_str().unwrap();
    assert_ne!(second_token, first_token);

    // The first mfa_token is spent; OTP cannot count twice.
    expect_error(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[
                ("mfa_token", &first_token),
                ("recovery_code", ALICE_RECOVERY),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Malformed mfa_token"),
    )
    .await;
    let next_code = alice_code(&tenant, 1);
    expect_error(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", second_token), ("otp", &next_code)],
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
            &[
                ("mfa_token", second_token),
                ("recovery_code", ALICE_RECOVERY),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(tokens["recovery_code"].as_str().unwrap().len(), 24);
    let access = verify(
        &browser(),
        &tenant,
        tokens["access_token"].as_str().unwrap(),
        API,
    )
    .await;
    assert_eq!(access["scope"], "openid profile email offline_access");
    // The family keeps its refresh token: the chain's last grant returns no new one.
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let new_rt = rt.clone();

    // The family passed the chained policy: the API is served from now on.
    let response = refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &new_rt,
        &[("audience", API)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The log: mfar for the refresh and for the first step, then one sercft.
    let required = tenant.events_of_type("mfar");
    assert_eq!(required.len(), 2);
    assert_eq!(
        required[1].details["grant_type"],
        "http://auth0.com/oauth/grant-type/mfa-otp"
    );
    assert_eq!(required[1].details["factors_passed"], json!(["otp"]));
    assert_eq!(required[1].details["factors_required"], 2);
    assert!(tenant.events_of_type("seotpft").is_empty());
    let granted = tenant.events_of_type("sercft");
    assert_eq!(granted.len(), 1);
    assert_eq!(
        granted[0].details["factors_passed"],
        json!(["otp", "recovery-code"])
    );
    assert_eq!(tenant.events_of_type("gd_auth_succeed").len(), 1);
    assert_eq!(tenant.events_of_type("gd_recovery_succeed").len(), 1);
}

#[tokio::test]
async fn recovery_code_first_shows_the_new_code_with_the_next_challenge() {
    let tenant = start_chain().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let step = expect_chained(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", &mfa_token), ("recovery_code", ALICE_RECOVERY)],
        )
        .await,
    )
    .await;
    assert_eq!(challenge_types(&step), ["otp"]);
    let new_code = step["recovery_code"].as_str().unwrap();
    assert_eq!(new_code.len(), 24);
    assert_ne!(new_code, ALICE_RECOVERY);

    let tokens = pass_with_otp(&tenant, step["mfa_token"].as_str().unwrap(), &[]).await;
    assert!(tokens["access_token"].is_string());
    assert!(tokens.get("recovery_code").is_none());

    // The new recovery code is the one that works now.
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let step = expect_chained(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", &mfa_token), ("recovery_code", new_code)],
        )
        .await,
    )
    .await;
    assert_eq!(challenge_types(&step), ["otp"]);
}

/// The id of carol's first authenticator with this `oob_channel`.
async fn carol_authenticator(tenant: &RunningTenant, mfa_token: &str, channel: &str) -> String {
    let list = ok_json(list_authenticators(tenant, mfa_token).await).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["oob_channel"] == channel)
        .and_then(|a| a["id"].as_str())
        .unwrap()
        .to_owned()
}

/// Sends a code to an authenticator; returns `(oob_code, code)`.
async fn send_code(
    tenant: &RunningTenant,
    mfa_token: &str,
    authenticator_id: &str,
) -> (String, String) {
    let challenge = ok_json(
        mfa_challenge(
            tenant,
            json!({"mfa_token": mfa_token, "challenge_type": "oob", "authenticator_id": authenticator_id}),
        )
        .await,
    )
    .await;
    let code = last_message(tenant, CAROL).code.unwrap();
    (challenge["oob_code"].as_str().unwrap().to_owned(), code)
}

#[tokio::test]
async fn sms_then_email_through_challenges() {
    let tenant = start_chain().await;
    let (first_token, _, required) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    assert_eq!(
        challenge_types(&required),
        ["otp", "push-notification", "phone", "email"]
    );
    let sms = carol_authenticator(&tenant, &first_token, "sms").await;
    let email = carol_authenticator(&tenant, &first_token, "email").await;

    // Two SMS codes; the first answers step one.
    let (spare_oob, spare_code) = send_code(&tenant, &first_token, &sms).await;
    let (oob, code) = send_code(&tenant, &first_token, &sms).await;
    let step = expect_chained(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", &first_token),
                ("oob_code", &oob),
                ("binding_code", &code),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        challenge_types(&step),
        ["otp", "push-notification", "email"],
        "phone was used"
    );
    let second_token = step["mfa_token"].as_str().unwrap();

    // Phone is done: no new SMS, and the spare SMS code does not count.
    expect_error(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": second_token, "challenge_type": "oob", "authenticator_id": sms}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_challenge_type",
        None,
    )
    .await;
    expect_error(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", second_token),
                ("oob_code", &spare_oob),
                ("binding_code", &spare_code),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid oob_code."),
    )
    .await;

    let (oob, code) = send_code(&tenant, second_token, &email).await;
    let tokens = ok_json(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", second_token),
                ("oob_code", &oob),
                ("binding_code", &code),
            ],
        )
        .await,
    )
    .await;
    assert!(tokens["access_token"].is_string());
    let granted = tenant.events_of_type("seoobft");
    assert_eq!(granted.len(), 1);
    assert_eq!(
        granted[0].details["factors_passed"],
        json!(["phone", "email"])
    );
}

#[tokio::test]
async fn a_user_with_one_factor_cannot_pass_a_two_factor_policy() {
    let tenant = start_chain().await;
    let (mfa_token, _, required) = mfa_token_for(&tenant, DAVE, DAVE_PASSWORD).await;
    assert_eq!(challenge_types(&required), ["otp"]);
    let code = tenant.totp_code(DAVE).unwrap();
    expect_error(
        mfa_grant(&tenant, GRANT_OTP, &[("mfa_token", &mfa_token), ("otp", &code)]).await,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some(
            "Multifactor authentication requires 2 different factors, but this user has no other allowed factor",
        ),
    )
    .await;
}

#[test]
fn required_factors_in_toml_and_validation() {
    let toml = |extra: &str| {
        format!("[[mfa_policies]]\naudience = \"https://payments.example.com\"\n{extra}\n")
    };
    let config = TenantConfig::from_toml_str(&toml("required_factors = 2")).unwrap();
    assert_eq!(config.mfa_policies()[0].required_factor_count(), 2);
    let config = TenantConfig::from_toml_str(&toml("")).unwrap();
    assert_eq!(config.mfa_policies()[0].required_factor_count(), 1);
    assert_eq!(MfaPolicy::new().required_factor_count(), 1);

    for (extra, count, factors) in [
        ("required_factors = 0", 0, 5),
        ("required_factors = 3\nfactors = [\"otp\", \"email\"]", 3, 2),
    ] {
        let error = TenantConfig::from_toml_str(&toml(extra)).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::InvalidRequiredFactorCount { count: c, factors: f } if c == count && f == factors
            ),
            "{error}"
        );
    }
}

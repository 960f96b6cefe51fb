//! Helpers for the MFA tests: a tenant with factors and a policy, refresh tokens that meet
//! `mfa_required`, MFA API calls and the MFA grants.

use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use tollgate_tenant::{MfaPolicy, RunningTenant, TenantConfig, UserConfig};

use super::*;

pub(crate) const ALICE_SECRET: &str = "JBSWY3DPEHPK3PXP";
pub(crate) const ALICE_RECOVERY: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
pub(crate) const BOB: &str = "bob@example.com";
pub(crate) const BOB_PASSWORD: &str = "bob-password-1";
pub(crate) const CAROL: &str = "carol@example.com";
pub(crate) const CAROL_PASSWORD: &str = "carol-password-1";
pub(crate) const CAROL_PHONE: &str = "+15555550100";
pub(crate) const GRANT_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
pub(crate) const GRANT_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
pub(crate) const GRANT_RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
pub(crate) const MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// [`config`] plus a recovery code for alice, carol with SMS/voice, email and push, a policy
/// for [`API`] on the refresh grant, and no push polling interval.
pub(crate) fn mfa_config() -> TenantConfig {
    let mut config = TenantConfig::new()
        .with_client(app_client())
        .with_client(
            tollgate_tenant::ClientConfig::new("static-client", "static-secret")
                .with_callback(CALLBACK)
                .with_refresh_token_rotation(false),
        )
        .with_user(
            UserConfig::new(EMAIL, PASSWORD)
                .with_name("Alice Example")
                .with_totp_secret(ALICE_SECRET)
                .with_recovery_code(ALICE_RECOVERY),
        )
        .with_user(UserConfig::new(BOB, BOB_PASSWORD))
        .with_user(
            UserConfig::new(CAROL, CAROL_PASSWORD)
                .with_phone(CAROL_PHONE)
                .with_email_factor()
                .with_push_device("Carol's phone"),
        )
        .with_mfa_policy(MfaPolicy::new().for_audience(API))
        .with_push_poll_interval(Duration::ZERO);
    for api in super::config().apis() {
        config = config.with_api(api.clone());
    }
    config
}

/// Starts a tenant with [`mfa_config`].
pub(crate) async fn start_mfa() -> RunningTenant {
    start_with(mfa_config()).await
}

/// Logs `email` in (fresh `/authorize` with `extra`), expecting the callback; returns its URL.
pub(crate) async fn login_as(
    http: &Client,
    tenant: &RunningTenant,
    email: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Response {
    let response = authorize(http, tenant, &authorize_params(extra)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let login_url = location(&response);
    assert_eq!(login_url.path(), "/u/login", "{login_url}");
    let state_id = query(&login_url)["state"].clone();
    submit_login(http, tenant, &state_id, email, password).await
}

/// Logs `email` in and exchanges the code for the app client; returns the token response.
pub(crate) async fn tokens_as(tenant: &RunningTenant, email: &str, password: &str) -> Value {
    tokens_as_client(tenant, CLIENT_ID, CLIENT_SECRET, email, password).await
}

/// Logs `email` in for `client_id` and exchanges the code; returns the token response.
pub(crate) async fn tokens_as_client(
    tenant: &RunningTenant,
    client_id: &str,
    client_secret: &str,
    email: &str,
    password: &str,
) -> Value {
    let http = browser();
    let response = login_as(&http, tenant, email, password, &[("client_id", client_id)]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let code = query(&location(&response))["code"].clone();
    let response = token_as(
        &http,
        tenant,
        client_id,
        client_secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The refresh token of a token response.
pub(crate) fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

/// Uses `rt` for `audience` (app client) and expects `403 mfa_required`; returns the body.
pub(crate) async fn expect_mfa_required(tenant: &RunningTenant, rt: &str, audience: &str) -> Value {
    let response = refresh_as(
        tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        rt,
        &[("audience", audience)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required", "{body}");
    body
}

/// Logs `email` in and meets `mfa_required` for [`API`]; returns `(mfa_token, refresh token,
/// mfa_required body)`.
pub(crate) async fn mfa_token_for(
    tenant: &RunningTenant,
    email: &str,
    password: &str,
) -> (String, String, Value) {
    let rt = refresh_token(&tokens_as(tenant, email, password).await);
    let body = expect_mfa_required(tenant, &rt, API).await;
    (body["mfa_token"].as_str().unwrap().to_owned(), rt, body)
}

/// Posts an MFA grant for the app client with `client_secret_post`.
pub(crate) async fn mfa_grant(
    tenant: &RunningTenant,
    grant_type: &str,
    fields: &[(&str, &str)],
) -> Response {
    let mut form = vec![("grant_type", grant_type)];
    form.extend_from_slice(fields);
    token(&browser(), tenant, &form).await
}

/// `GET /mfa/authenticators` with a bearer token.
pub(crate) async fn list_authenticators(tenant: &RunningTenant, bearer: &str) -> Response {
    browser()
        .get(url(tenant, "mfa/authenticators"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

/// `POST /mfa/associate` with a bearer token and a JSON body.
pub(crate) async fn associate(tenant: &RunningTenant, bearer: &str, body: Value) -> Response {
    browser()
        .post(url(tenant, "mfa/associate"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `POST /mfa/challenge` as the app client with a JSON body (credentials added).
pub(crate) async fn mfa_challenge(tenant: &RunningTenant, mut body: Value) -> Response {
    body["client_id"] = CLIENT_ID.into();
    body["client_secret"] = CLIENT_SECRET.into();
    browser()
        .post(url(tenant, "mfa/challenge"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `DELETE /mfa/authenticators/{id}` with a bearer token (the id percent-encoded).
pub(crate) async fn delete_authenticator(
    tenant: &RunningTenant,
    bearer: &str,
    id: &str,
) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    browser()
        .delete(url(tenant, &format!("mfa/authenticators/{encoded}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

/// Asserts a JSON error with status, `error` and optional description; returns the body.
pub(crate) async fn expect_error(
    response: Response,
    status: StatusCode,
    error: &str,
    description: Option<&str>,
) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    if let Some(description) = description {
        assert_eq!(body["error_description"], description, "{body}");
    }
    body
}

/// The newest outbox message for `email`.
pub(crate) fn last_message(tenant: &RunningTenant, email: &str) -> tollgate_tenant::OutboxMessage {
    tenant
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.user_email == email)
        .expect("a message in the outbox")
}

/// A TOTP code of alice's secret for a step offset from the tenant's now (in steps of 30 s).
pub(crate) fn alice_code(tenant: &RunningTenant, step_offset: i64) -> String {
    let now = tenant.config().clock().now();
    tenant
        .totp_code_at(EMAIL, now.saturating_add_signed(step_offset * 30))
        .unwrap()
}

/// Passes MFA for alice with a TOTP code and returns the token response (asserting 200).
pub(crate) async fn pass_with_otp(
    tenant: &RunningTenant,
    mfa_token: &str,
    extra: &[(&str, &str)],
) -> Value {
    let code = tenant.totp_code(EMAIL).unwrap();
    let mut fields = vec![("mfa_token", mfa_token), ("otp", code.as_str())];
    fields.extend_from_slice(extra);
    let response = mfa_grant(tenant, GRANT_OTP, &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

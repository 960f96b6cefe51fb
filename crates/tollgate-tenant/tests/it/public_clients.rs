//! Public clients (an SPA with `token_endpoint_auth_method = "none"`): login with PKCE and
//! `client_id` only, refresh-token rotation, revocation and the MFA API, all from the SPA's
//! origin, and the refusals in Auth0's words (no PKCE, no verifier, a secret from a public
//! client, no secret from a confidential one, an origin the client does not list).

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{Client, Response, StatusCode, header};
use serde_json::{Value, json};
use tollgate_tenant::{ClientConfig, RunningTenant, TenantConfig};

pub(crate) const SPA: &str = "spa-client-id";
pub(crate) const SPA_ORIGIN: &str = "http://127.0.0.1:5173";
pub(crate) const SPA_CALLBACK: &str = "http://127.0.0.1:5173/callback";
const INVALID_RT: &str = "Unknown or invalid refresh token.";
const AUTH_FAILED: &str = "Client authentication failed";

/// The SPA client: public, its callback and web origin on port 5173.
pub(crate) fn spa_client() -> ClientConfig {
    ClientConfig::public(SPA)
        .with_callback(SPA_CALLBACK)
        .with_logout_url(format!("{SPA_ORIGIN}/"))
        .with_web_origin(SPA_ORIGIN)
}

/// The standard test configuration plus the SPA.
pub(crate) fn spa_config() -> TenantConfig {
    config().with_client(spa_client())
}

/// `/authorize` parameters for the SPA (PKCE with the standard verifier), plus `extra`.
fn spa_authorize(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params = vec![("client_id", SPA), ("redirect_uri", SPA_CALLBACK)];
    params.extend_from_slice(extra);
    authorize_params(&params)
}

/// Logs alice in for the SPA and returns the code.
pub(crate) async fn spa_code(http: &Client, tenant: &RunningTenant) -> String {
    let response = authorize(http, tenant, &spa_authorize(&[])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let login = location(&response);
    assert_eq!(login.path(), "/u/login", "{login}");
    let state_id = query(&login)["state"].clone();
    let response = submit_login(http, tenant, &state_id, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(
        callback.as_str().starts_with(SPA_CALLBACK),
        "redirected to {callback}"
    );
    query(&callback)["code"].clone()
}

/// Posts `form` to `endpoint` as the SPA does: from its origin, with `client_id` only.
pub(crate) async fn spa_post(
    tenant: &RunningTenant,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Response {
    let mut body = vec![("client_id", SPA)];
    body.extend_from_slice(form);
    browser()
        .post(url(tenant, endpoint))
        .header(header::ORIGIN, SPA_ORIGIN)
        .header("auth0-client", "eyJuYW1lIjoiYXV0aDAtc3BhLWpzIn0")
        .form(&body)
        .send()
        .await
        .expect("the tenant answers")
}

/// Asserts the answer carries the SPA origin's CORS headers.
pub(crate) fn assert_cors(response: &Response, origin: &str) {
    let headers = response.headers();
    assert_eq!(
        headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .and_then(|v| v.to_str().ok()),
        Some(origin),
        "{headers:?}"
    );
    let vary: Vec<&str> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        vary.iter().any(|v| v.eq_ignore_ascii_case("origin")),
        "Vary: {vary:?}"
    );
    assert_eq!(
        headers
            .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .and_then(|v| v.to_str().ok()),
        Some("DPoP-Nonce")
    );
}

/// Exchanges the SPA's code (standard verifier) and returns the tokens.
async fn spa_tokens(tenant: &RunningTenant, http: &Client) -> Value {
    let code = spa_code(http, tenant).await;
    let response = spa_post(
        tenant,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SPA_CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response, SPA_ORIGIN);
    response.json().await.expect("JSON tokens")
}

#[tokio::test]
async fn an_spa_logs_in_with_pkce_refreshes_with_rotation_and_revokes() {
    let tenant = start_with(spa_config()).await;
    let http = browser();
    let tokens = spa_tokens(&tenant, &http).await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    assert_eq!(claims(id_token)["aud"], SPA);
    let rt0 = refresh_token(&tokens);

    // Rotation: every refresh returns a new token; the old one, reused, ends the family.
    let response = spa_post(
        &tenant,
        "oauth/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response, SPA_ORIGIN);
    let rt1 = refresh_token(&response.json().await.unwrap());
    assert_ne!(rt0, rt1);
    let reuse = spa_post(
        &tenant,
        "oauth/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await;
    assert_cors(&reuse, SPA_ORIGIN);
    assert_error(
        reuse,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;

    // A fresh login, then revocation with client_id only.
    let rt = refresh_token(&spa_tokens(&tenant, &browser()).await);
    let revoked = spa_post(&tenant, "oauth/revoke", &[("token", &rt)]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_cors(&revoked, SPA_ORIGIN);
    assert_error(
        spa_post(
            &tenant,
            "oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
}

#[tokio::test]
async fn a_public_client_must_use_pkce() {
    let tenant = start_with(spa_config()).await;
    let http = browser();
    // No code_challenge at /authorize: an error redirect to the (trusted) callback.
    let response = authorize(
        &http,
        &tenant,
        &spa_authorize(&[("code_challenge", ""), ("code_challenge_method", "")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(callback.as_str().starts_with(SPA_CALLBACK), "{callback}");
    let error = query(&callback);
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(
        error["error_description"],
        "Missing required parameter: code_challenge"
    );
    assert_eq!(error["state"], "xyz-state");

    // A confidential client may still log in without PKCE.
    let response = authorize(
        &http,
        &tenant,
        &authorize_params(&[("code_challenge", ""), ("code_challenge_method", "")]),
    )
    .await;
    assert_eq!(location(&response).path(), "/u/login");

    // The code exchange without the verifier fails, and the code is spent.
    let code = spa_code(&http, &tenant).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA_CALLBACK),
    ];
    let response = spa_post(&tenant, "oauth/token", &exchange).await;
    assert_cors(&response, SPA_ORIGIN);
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Failed to verify code verifier"),
    )
    .await;
}

#[tokio::test]
async fn each_client_authenticates_with_its_method_only() {
    let tenant = start_with(spa_config()).await;
    let http = browser();
    let endpoint = url(&tenant, "oauth/token");
    let code = spa_code(&http, &tenant).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA_CALLBACK),
        ("code_verifier", VERIFIER),
    ];

    // A public client that sends a secret (body or Basic) is refused.
    let mut with_secret = vec![("client_id", SPA), ("client_secret", "guessed")];
    with_secret.extend_from_slice(&grant);
    let response = http
        .post(endpoint.clone())
        .form(&with_secret)
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some(AUTH_FAILED),
    )
    .await;
    let response = http
        .post(endpoint.clone())
        .basic_auth(SPA, Some(""))
        .form(&grant)
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some(AUTH_FAILED),
    )
    .await;
    // Refused attempts did not spend the code: the right method still redeems it.
    let response = spa_post(&tenant, "oauth/token", &grant).await;
    assert_eq!(response.status(), StatusCode::OK);

    // A confidential client without its secret is refused, at the token endpoint, the
    // revocation endpoint and the MFA API alike.
    for endpoint in ["oauth/token", "oauth/revoke", "mfa/challenge"] {
        let response = http
            .post(url(&tenant, endpoint))
            .form(&[
                ("client_id", CLIENT_ID),
                ("grant_type", "client_credentials"),
                ("audience", API),
                ("token", "x"),
                ("mfa_token", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some(AUTH_FAILED),
        )
        .await;
    }
    // The revocation endpoint refuses a public client's secret too.
    let response = http
        .post(url(&tenant, "oauth/revoke"))
        .form(&[("client_id", SPA), ("client_secret", "x"), ("token", "x")])
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some(AUTH_FAILED),
    )
    .await;

    // A public client gets no machine-to-machine tokens.
    let response = spa_post(
        &tenant,
        "oauth/token",
        &[("grant_type", "client_credentials"), ("audience", API)],
    )
    .await;
    let body = expect_error(
        response,
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        Some("Grant type 'client_credentials' not allowed for the client."),
    )
    .await;
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
}

#[tokio::test]
async fn a_request_from_an_origin_the_client_does_not_list_is_refused() {
    let tenant = start_with(spa_config()).await;
    // The app client's credentials, sent by a browser on the SPA's origin (allowed for the
    // SPA only): refused, with CORS headers so that the script can read why.
    let response = browser()
        .post(url(&tenant, "oauth/token"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "client_credentials"),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_cors(&response, SPA_ORIGIN);
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Origin http://127.0.0.1:5173 is not allowed for this client"),
    )
    .await;
    // An origin no client lists: refused, and no CORS headers.
    let response = browser()
        .post(url(&tenant, "oauth/revoke"))
        .header(header::ORIGIN, "http://attacker.example")
        .form(&[("client_id", SPA), ("token", "x")])
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{:?}",
        response.headers()
    );
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Origin http://attacker.example is not allowed for this client"),
    )
    .await;
    // The app client from its own callback's origin is fine (Auth0 allows callback origins).
    let response = browser()
        .post(url(&tenant, "oauth/token"))
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "client_credentials"),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response, "http://127.0.0.1:3000");
}

#[tokio::test]
async fn an_spa_uses_the_mfa_api_with_its_client_id_only() {
    let tenant = start_with(mfa_config().with_client(spa_client())).await;
    let tokens = spa_tokens(&tenant, &browser()).await;
    let rt = refresh_token(&tokens);

    // Refreshing for the MFA-protected API: 403 mfa_required, readable by the SPA.
    let response = spa_post(
        &tenant,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("audience", API),
        ],
    )
    .await;
    assert_cors(&response, SPA_ORIGIN);
    let body = expect_error(response, StatusCode::FORBIDDEN, "mfa_required", None).await;
    let mfa_token = body["mfa_token"].as_str().expect("an mfa_token").to_owned();

    // The authenticators, with the mfa_token as bearer, from the SPA's origin.
    let response = browser()
        .get(url(&tenant, "mfa/authenticators"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .bearer_auth(&mfa_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response, SPA_ORIGIN);
    let authenticators: Value = response.json().await.unwrap();
    assert!(
        authenticators
            .as_array()
            .is_some_and(|list| list.iter().any(|a| a["authenticator_type"] == "otp")),
        "{authenticators}"
    );

    // The challenge with client_id only.
    let response = browser()
        .post(url(&tenant, "mfa/challenge"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .json(&json!({
            "client_id": SPA,
            "mfa_token": mfa_token,
            "challenge_type": "otp",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response, SPA_ORIGIN);
    let challenge: Value = response.json().await.unwrap();
    assert_eq!(challenge["challenge_type"], "otp", "{challenge}");
    // A secret sent by the SPA to the MFA API is refused.
    let response = browser()
        .post(url(&tenant, "mfa/challenge"))
        .json(&json!({"client_id": SPA, "client_secret": "x", "mfa_token": mfa_token}))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some(AUTH_FAILED),
    )
    .await;

    // The mfa-otp grant with client_id only: tokens for the API.
    let otp = tenant.totp_code(EMAIL).unwrap();
    let response = spa_post(
        &tenant,
        "oauth/token",
        &[
            ("grant_type", GRANT_OTP),
            ("mfa_token", &mfa_token),
            ("otp", &otp),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response, SPA_ORIGIN);
    let tokens: Value = response.json().await.unwrap();
    let access = claims(tokens["access_token"].as_str().unwrap());
    let aud = &access["aud"];
    assert!(
        *aud == API || aud.as_array().is_some_and(|a| a.contains(&json!(API))),
        "{access:?}"
    );
    assert_eq!(access["azp"], SPA, "{access:?}");
}

//! Helpers shared by the integration tests: a configured tenant, a browser-like HTTP client with
//! redirects off, PKCE, the login hops and ID token verification against the JWKS.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Client, Response, StatusCode, header};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tollgate_tenant::{
    ApiConfig, ClientConfig, ManualClock, RunningTenant, Tenant, TenantConfig, UserConfig,
};
use url::Url;

pub(crate) mod chromium;
pub(crate) mod mfa;

pub(crate) const CLIENT_ID: &str = "app-client-id";
pub(crate) const CLIENT_SECRET: &str = "app-client-secret";
pub(crate) const CALLBACK: &str = "http://127.0.0.1:3000/auth/callback";
pub(crate) const LOGOUT_URL: &str = "http://127.0.0.1:3000/";
pub(crate) const EMAIL: &str = "alice@example.com";
pub(crate) const PASSWORD: &str = "alice-password-1";
pub(crate) const API: &str = "https://payments.example.com";
pub(crate) const OTHER_API: &str = "https://orders.example.com";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The client used by most tests.
pub(crate) fn app_client() -> ClientConfig {
    ClientConfig::new(CLIENT_ID, CLIENT_SECRET)
        .with_callback(CALLBACK)
        .with_logout_url(LOGOUT_URL)
        .with_logout_url("http://127.0.0.1:3000/goodbye")
}

/// The configuration used by most tests: the app client also has a client grant for [`API`]
/// (both scopes), for the `client_credentials` grant.
pub(crate) fn config() -> TenantConfig {
    TenantConfig::new()
        .with_client(app_client().with_client_grant(API, ["read:payments", "write:payments"]))
        .with_client(
            ClientConfig::new("leeway-client", "leeway-secret")
                .with_callback(CALLBACK)
                .with_rotation_leeway(Duration::from_secs(60)),
        )
        .with_client(
            ClientConfig::new("static-client", "static-secret")
                .with_callback(CALLBACK)
                .with_refresh_token_rotation(false),
        )
        .with_user(
            UserConfig::new(EMAIL, PASSWORD)
                .with_name("Alice Example")
                .with_totp_secret("JBSWY3DPEHPK3PXP"),
        )
        .with_user(UserConfig::new("bob@example.com", "bob-password-1"))
        .with_api(ApiConfig::new(API).with_scopes(["read:payments", "write:payments"]))
        .with_api(ApiConfig::new(OTHER_API).with_scopes(["read:orders"]))
}

/// Starts a tenant with [`config`].
pub(crate) async fn start() -> RunningTenant {
    start_with(config()).await
}

/// Starts a tenant with `config` on a free loopback port.
pub(crate) async fn start_with(config: TenantConfig) -> RunningTenant {
    Tenant::start(config, "127.0.0.1:0")
        .await
        .expect("the tenant starts")
}

/// Starts a tenant with `config` on a [`ManualClock`] standing at the current time, and returns
/// the clock: the tenant's time moves only when the test advances it.
pub(crate) async fn start_on_manual_clock(config: TenantConfig) -> (RunningTenant, ManualClock) {
    let clock = ManualClock::starting_now();
    let tenant = start_with(config.with_clock(clock.clone())).await;
    (tenant, clock)
}

/// A browser-like client: keeps cookies, never follows redirects.
pub(crate) fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client builds")
}

/// The S256 challenge of [`VERIFIER`].
pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `endpoint` under the tenant's issuer.
pub(crate) fn url(tenant: &RunningTenant, endpoint: &str) -> Url {
    tenant.base_url().join(endpoint).expect("endpoint joins")
}

/// Escapes text for an HTML attribute or text (for the tests' own pages).
pub(crate) fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The tenant's origin (`http://127.0.0.1:PORT`), as a browser sends it in `Origin` with a form
/// post from one of the tenant's pages.
pub(crate) fn origin(tenant: &RunningTenant) -> String {
    tenant.issuer().trim_end_matches('/').to_owned()
}

/// The `Location` of a redirect, as a URL (relative locations resolved against `base`).
pub(crate) fn location(response: &Response) -> Url {
    let value = response
        .headers()
        .get(header::LOCATION)
        .expect("a Location header")
        .to_str()
        .expect("an ASCII Location");
    response.url().join(value).expect("a valid Location")
}

/// The query pairs of a URL.
pub(crate) fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// Standard `/authorize` parameters for the app client with PKCE, plus `extra` (which override).
pub(crate) fn authorize_params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email offline_access"),
        ("state", "xyz-state"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    params.push(("code_challenge".to_owned(), challenge(VERIFIER)));
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    params
}

/// `GET /authorize` with these parameters.
pub(crate) async fn authorize(
    http: &Client,
    tenant: &RunningTenant,
    params: &[(String, String)],
) -> Response {
    http.get(url(tenant, "authorize"))
        .query(params)
        .send()
        .await
        .expect("authorize answers")
}

/// Posts the login form of transaction `state_id`.
pub(crate) async fn submit_login(
    http: &Client,
    tenant: &RunningTenant,
    state_id: &str,
    email: &str,
    password: &str,
) -> Response {
    http.post(url(tenant, "u/login"))
        .query(&[("state", state_id)])
        .form(&[
            ("state", state_id),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("login answers")
}

/// Runs `/authorize` → `/u/login` → password, asserting each hop; returns the callback URL.
pub(crate) async fn login_with(
    http: &Client,
    tenant: &RunningTenant,
    extra: &[(&str, &str)],
) -> Url {
    let response = authorize(http, tenant, &authorize_params(extra)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let login_url = location(&response);
    assert_eq!(login_url.path(), "/u/login");
    let state_id = query(&login_url)["state"].clone();
    let page = http.get(login_url).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    let response = submit_login(http, tenant, &state_id, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(
        callback.as_str().starts_with(CALLBACK),
        "redirected to {callback}"
    );
    callback
}

/// Logs in with the standard parameters and returns the code.
pub(crate) async fn login_code(http: &Client, tenant: &RunningTenant) -> String {
    let callback = login_with(http, tenant, &[]).await;
    query(&callback)["code"].clone()
}

/// Posts a form to `/oauth/token` with `client_secret_post` credentials of the app client.
pub(crate) async fn token(
    http: &Client,
    tenant: &RunningTenant,
    form: &[(&str, &str)],
) -> Response {
    let mut body: Vec<(&str, &str)> =
        vec![("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
    body.extend_from_slice(form);
    http.post(url(tenant, "oauth/token"))
        .form(&body)
        .send()
        .await
        .expect("token endpoint answers")
}

/// Exchanges `code` with the standard verifier and redirect URI; returns the JSON body.
pub(crate) async fn exchange(http: &Client, tenant: &RunningTenant, code: &str) -> Value {
    let response = token(
        http,
        tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON tokens")
}

/// Asserts an OAuth error answer: status, `error` and (if given) `error_description`.
pub(crate) async fn assert_error(
    response: Response,
    status: StatusCode,
    error: &str,
    description: Option<&str>,
) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], error, "body: {body}");
    if let Some(description) = description {
        assert_eq!(body["error_description"], description, "body: {body}");
    }
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only error and error_description: {body}"
    );
}

/// The tenant's JWKS.
pub(crate) async fn jwks(http: &Client, tenant: &RunningTenant) -> JwkSet {
    http.get(url(tenant, ".well-known/jwks.json"))
        .send()
        .await
        .expect("JWKS answers")
        .json()
        .await
        .expect("a JWK set")
}

/// Verifies an RS256 token against the JWKS (by `kid`), issuer and audience; returns its claims.
pub(crate) async fn verify(
    http: &Client,
    tenant: &RunningTenant,
    token: &str,
    audience: &str,
) -> Map<String, Value> {
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("a kid");
    let set = jwks(http, tenant).await;
    let jwk = set.find(&kid).expect("the kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[tenant.issuer()]);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .expect("the token verifies")
        .claims
}

/// The claims of a JWT without checking anything.
pub(crate) fn claims(token: &str) -> Map<String, Value> {
    let payload = token.split('.').nth(1).expect("a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

/// The header of a JWT as JSON, without checking anything.
pub(crate) fn header_json(token: &str) -> Map<String, Value> {
    let header = token.split('.').next().expect("a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url"))
        .expect("JSON header")
}

/// Seconds since the epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Posts a form to `/oauth/token` as `client_id` with `client_secret_basic`.
pub(crate) async fn token_as(
    http: &Client,
    tenant: &RunningTenant,
    client_id: &str,
    client_secret: &str,
    form: &[(&str, &str)],
) -> Response {
    http.post(url(tenant, "oauth/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(form)
        .send()
        .await
        .expect("token endpoint answers")
}

/// Logs in (fresh browser) for `client_id` and exchanges the code; returns the token response.
pub(crate) async fn tokens_for(
    tenant: &RunningTenant,
    client_id: &str,
    client_secret: &str,
    extra: &[(&str, &str)],
) -> Value {
    let http = browser();
    let mut params = vec![("client_id", client_id)];
    params.extend_from_slice(extra);
    let callback = login_with(&http, tenant, &params).await;
    let code = query(&callback)["code"].clone();
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
    response.json().await.expect("JSON tokens")
}

/// Uses a refresh token as `client_id`, with extra form fields.
pub(crate) async fn refresh_as(
    tenant: &RunningTenant,
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    form.extend_from_slice(extra);
    token_as(&browser(), tenant, client_id, client_secret, &form).await
}

/// A directory of its own for one test (under the system's temporary folder, named after the
/// test, the process and a random suffix), removed when the test ends.
pub(crate) struct TempDir(std::path::PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).unwrap();
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        Self(std::env::temp_dir().join(format!("tollgate-{name}-{}-{suffix}", std::process::id())))
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

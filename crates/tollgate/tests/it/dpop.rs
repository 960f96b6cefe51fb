//! DPoP end to end against the local tenant: the login binds the code with `dpop_jkt` and the
//! tokens to the key, the SDK retries once when the tenant asks for a nonce and remembers it,
//! refresh stays bound, and bound and unbound tokens live side by side in one session.

use crate::common::{
    ALICE, APP, CLIENT_ID, CLIENT_SECRET, SECRET, login_to_callback, tenant_browser,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use tollgate::{
    AccessTokenError, AccessTokenOptions, DpopKey, DpopOptions, LoginOptions, ProviderError,
    SessionData, Tollgate,
};
use tollgate_tenant::{
    ApiConfig, ClientConfig, MfaPolicy, RunningTenant, Tenant, TenantConfig, UserConfig,
};

const NONCE_CLIENT: &str = "nonce-client";
const NONCE_SECRET: &str = "nonce-client-secret";
const BOUND_API: &str = "https://payments.example.com";
const BEARER_API: &str = "https://legacy.example.com";
const MFA_API: &str = "https://vault.example.com";

async fn tenant() -> RunningTenant {
    tenant_with(TenantConfig::new()).await
}

/// The tenant of these tests, on top of `base` (for tenant-wide settings).
async fn tenant_with(base: TenantConfig) -> RunningTenant {
    let client = |id: &str, secret: &str| {
        ClientConfig::new(id, secret)
            .with_callback(format!("{APP}/auth/callback"))
            .with_logout_url(format!("{APP}/"))
    };
    Tenant::start(
        base.with_client(
            client(CLIENT_ID, CLIENT_SECRET).with_client_grant(BOUND_API, ["read:payments"]),
        )
        .with_client(client(NONCE_CLIENT, NONCE_SECRET).with_dpop_nonce_required(true))
        .with_user(
            UserConfig::new(ALICE.0, ALICE.1)
                .with_name("Alice Example")
                .with_totp_secret("JBSWY3DPEHPK3PXP"),
        )
        .with_api(ApiConfig::new(BOUND_API).with_scopes(["read:payments"]))
        .with_api(ApiConfig::new(MFA_API).with_scopes(["read:vault"]))
        .with_mfa_policy(MfaPolicy::new().for_audience(MFA_API))
        .with_api(
            ApiConfig::new(BEARER_API)
                .with_scopes(["read:legacy"])
                .with_dpop_bound_tokens(false),
        ),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

fn sdk(tenant: &RunningTenant, client: (&str, &str), key: &DpopKey) -> Tollgate {
    let config = tollgate_testkit::local_config(tenant.issuer(), (client.0, client.1), SECRET, APP)
        .audience(BOUND_API)
        .dpop(key.clone())
        .dpop_options(DpopOptions::new().retry_delay(std::time::Duration::from_millis(10)))
        .build()
        .unwrap();
    Tollgate::new(config)
}

fn claims(jwt: &str) -> Map<String, Value> {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn login(auth: &Tollgate) -> SessionData {
    let (query, jar) = login_to_callback(auth, &tenant_browser(), LoginOptions::new()).await;
    let outcome = auth
        .handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await;
    outcome.result.expect("the login succeeds").session
}

fn nonce_refusals(tenant: &RunningTenant) -> usize {
    tenant.count_events(|e| e.detail("error") == Some(&Value::from("use_dpop_nonce")))
}

#[tokio::test]
async fn login_binds_the_code_and_the_tokens_to_the_key() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let auth = sdk(&tenant, (CLIENT_ID, CLIENT_SECRET), &key);

    let redirect = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    let jkt = redirect
        .url
        .query_pairs()
        .find(|(k, _)| k == "dpop_jkt")
        .map(|(_, v)| v.into_owned());
    assert_eq!(jkt.as_deref(), Some(key.thumbprint()));

    let session = login(&auth).await;
    assert_eq!(session.token_set.token_type.as_deref(), Some("DPoP"));
    let at = claims(&session.token_set.access_token);
    assert_eq!(at["cnf"]["jkt"], key.thumbprint());
    assert_eq!(nonce_refusals(&tenant), 0, "this client needs no nonce");

    // The session keeps the type through its sealed cookie.
    let json = serde_json::to_value(&session).unwrap();
    assert_eq!(json["tokenSet"]["token_type"], "DPoP");

    // The SDK's own UserInfo call presents the bound token with a proof.
    let info = auth.userinfo(&session).await.unwrap();
    assert_eq!(info["email"], ALICE.0);
}

#[tokio::test]
async fn a_nonce_demand_is_met_with_one_retry_and_the_nonce_is_remembered() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let auth = sdk(&tenant, (NONCE_CLIENT, NONCE_SECRET), &key);
    let session = login(&auth).await;
    assert_eq!(session.token_set.token_type.as_deref(), Some("DPoP"));
    assert_eq!(
        claims(&session.token_set.access_token)["cnf"]["jkt"],
        key.thumbprint()
    );
    assert_eq!(nonce_refusals(&tenant), 1, "one use_dpop_nonce, one retry");

    // The next call (a refresh) carries the nonce learnt for the tenant's origin: no refusal.
    let outcome = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap();
    assert_eq!(outcome.token.token_type, "DPoP");
    assert_eq!(nonce_refusals(&tenant), 1);
}

#[tokio::test]
async fn refresh_stays_bound_to_the_key_and_refuses_another() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let auth = sdk(&tenant, (CLIENT_ID, CLIENT_SECRET), &key);
    let session = login(&auth).await;

    let outcome = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap();
    assert_eq!(outcome.token.token_type, "DPoP");
    assert_eq!(claims(&outcome.token.token)["cnf"]["jkt"], key.thumbprint());
    let saved = outcome.session.expect("the refresh changed the session");
    assert_ne!(
        saved.token_set.refresh_token, session.token_set.refresh_token,
        "the refresh really happened (the token rotated)"
    );
    assert_eq!(saved.token_set.token_type.as_deref(), Some("DPoP"));

    // Another process with another key cannot use the session's refresh token.
    let stranger = sdk(&tenant, (CLIENT_ID, CLIENT_SECRET), &DpopKey::generate());
    let err = stranger
        .access_token(&saved, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AccessTokenError::RefreshFailed(ProviderError::OAuth { error, .. }) if error == "invalid_grant"
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bearer_and_dpop_tokens_for_two_audiences_coexist() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let auth = sdk(&tenant, (CLIENT_ID, CLIENT_SECRET), &key);
    let session = login(&auth).await;

    let legacy = auth
        .access_token(&session, &AccessTokenOptions::new().audience(BEARER_API))
        .await
        .unwrap();
    assert_eq!(legacy.token.token_type, "Bearer");
    assert!(claims(&legacy.token.token).get("cnf").is_none());
    let session = legacy.session.unwrap();
    assert_eq!(session.token_set.token_type.as_deref(), Some("DPoP"));
    let entry = &session.access_tokens[0];
    assert_eq!(entry.audience, BEARER_API);
    assert_eq!(entry.token_type.as_deref(), Some("Bearer"));

    // Each is handed out with its own type from the session, without a refresh.
    let default = auth
        .access_token(&session, &AccessTokenOptions::new())
        .await
        .unwrap();
    assert!(default.session.is_none());
    assert_eq!(default.token.token_type, "DPoP");
    assert_eq!(default.token.to_json(0)["token_type"], "DPoP");
    let again = auth
        .access_token(&session, &AccessTokenOptions::new().audience(BEARER_API))
        .await
        .unwrap();
    assert!(again.session.is_none());
    assert_eq!(again.token.token_type, "Bearer");

    // Both survive the session's JSON round trip.
    let json = serde_json::to_string(&session).unwrap();
    let back: SessionData = serde_json::from_str(&json).unwrap();
    assert_eq!(back, session);
}

#[tokio::test]
async fn the_tenant_refuses_a_replayed_proof() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let token_url = format!("{}oauth/token", tenant.issuer());
    let proof = key.proof("POST", &token_url, None, None);
    let send = || {
        reqwest::Client::new()
            .post(&token_url)
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header("DPoP", &proof)
            .form(&[
                ("grant_type", "client_credentials"),
                ("audience", BOUND_API),
            ])
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.thumbprint()
    );
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), 400);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
}

/// A provider whose token endpoint always asks for a new nonce: the SDK retries exactly once,
/// with the nonce it was given, and then reports the error.
#[tokio::test]
async fn a_second_nonce_demand_is_not_retried() {
    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let discovery = {
        let i = issuer.clone();
        serde_json::json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}authorize"),
            "token_endpoint": format!("{i}oauth/token"),
            "jwks_uri": format!("{i}.well-known/jwks.json"),
        })
    };
    let recorded = seen.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/oauth/token",
            post(move |headers: HeaderMap| {
                let recorded = recorded.clone();
                async move {
                    let proof = headers["dpop"].to_str().unwrap().to_owned();
                    let nonce = claims(&proof)
                        .get("nonce")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let n = {
                        let mut seen = recorded.lock().unwrap();
                        seen.push(nonce);
                        seen.len()
                    };
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        [("dpop-nonce", format!("nonce-{n}"))],
                        Json(serde_json::json!({
                            "error": "use_dpop_nonce",
                            "error_description": "Authorization server requires nonce in DPoP proof"
                        })),
                    )
                        .into_response()
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let config =
        tollgate_testkit::local_config(issuer.as_str(), (CLIENT_ID, CLIENT_SECRET), SECRET, APP)
            .dpop(DpopKey::generate())
            .dpop_options(DpopOptions::new().retry_delay(std::time::Duration::ZERO))
            .build()
            .unwrap();
    let auth = Tollgate::new(config);
    let mut session = SessionData::default();
    session.token_set.refresh_token = Some("rt".into());
    let err = auth
        .access_token(&session, &AccessTokenOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AccessTokenError::RefreshFailed(ProviderError::OAuth { status: 400, error, .. })
                if error == "use_dpop_nonce"
        ),
        "{err:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![None, Some("nonce-1".to_owned())],
        "one retry, carrying the nonce from the first answer"
    );
}

/// The clock skew option reaches the wire: proofs dated ten minutes back are refused by the
/// tenant, and the failed login is a typed token-exchange error.
#[tokio::test]
async fn clock_skew_moves_the_proofs_iat() {
    let tenant = tenant().await;
    let config =
        tollgate_testkit::local_config(tenant.issuer(), (CLIENT_ID, CLIENT_SECRET), SECRET, APP)
            .dpop(DpopKey::generate())
            .dpop_options(DpopOptions::new().clock_skew(-600))
            .build()
            .unwrap();
    let auth = Tollgate::new(config);
    let (query, jar) = login_to_callback(&auth, &tenant_browser(), LoginOptions::new()).await;
    let err = auth
        .handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await
        .result
        .unwrap_err();
    assert!(
        matches!(
            &err,
            tollgate::Error::Callback(tollgate::CallbackError::TokenExchange(
                ProviderError::OAuth { status: 400, error, .. }
            )) if error == "invalid_dpop_proof"
        ),
        "{err:?}"
    );
}

/// MFA verification through the MFA API grants carries a proof too: the token it yields for
/// the MFA-protected API is bound to the key.
#[tokio::test]
async fn mfa_verification_yields_a_bound_token() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let auth = sdk(&tenant, (CLIENT_ID, CLIENT_SECRET), &key);
    let session = login(&auth).await;
    let err = auth
        .access_token(&session, &AccessTokenOptions::new().audience(MFA_API))
        .await
        .unwrap_err();
    let AccessTokenError::MfaRequired(required) = err else {
        panic!("expected mfa_required, got {err:?}");
    };
    let code = tenant.totp_code(ALICE.0).unwrap();
    let outcome = auth
        .mfa(&session)
        .verify(&required.mfa_token, &tollgate::VerifyRequest::otp(code))
        .await
        .unwrap();
    assert_eq!(outcome.token.token_type, "DPoP");
    assert_eq!(claims(&outcome.token.token)["cnf"]["jkt"], key.thumbprint());
    let entry = outcome
        .session
        .access_tokens
        .iter()
        .find(|e| e.audience == MFA_API)
        .unwrap();
    assert_eq!(entry.token_type.as_deref(), Some("DPoP"));
}

/// With pushed authorization requests, `dpop_jkt` travels in the pushed parameters, not in the
/// browser's URL, and the login still ends with bound tokens.
#[tokio::test]
async fn dpop_jkt_is_pushed_with_par() {
    let tenant = tenant().await;
    let key = DpopKey::generate();
    let config =
        tollgate_testkit::local_config(tenant.issuer(), (CLIENT_ID, CLIENT_SECRET), SECRET, APP)
            .audience(BOUND_API)
            .dpop(key.clone())
            .pushed_authorization_requests(true)
            .build()
            .unwrap();
    let auth = Tollgate::new(config);
    let redirect = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    assert!(redirect.url.query_pairs().all(|(k, _)| k != "dpop_jkt"));
    assert!(redirect.url.query_pairs().any(|(k, _)| k == "request_uri"));
    let session = login(&auth).await;
    assert_eq!(session.token_set.token_type.as_deref(), Some("DPoP"));
    assert_eq!(
        claims(&session.token_set.access_token)["cnf"]["jkt"],
        key.thumbprint()
    );
}

/// A UserInfo endpoint that demands a DPoP nonce answers 401 `use_dpop_nonce` with a
/// `DPoP-Nonce`; the SDK repeats the call once with it.
#[tokio::test]
async fn userinfo_meets_a_nonce_demand_with_one_retry() {
    let tenant = tenant_with(TenantConfig::new().with_dpop_nonce_required_at_userinfo(true)).await;
    let key = DpopKey::generate();
    // This client is never asked for a nonce at the token endpoint, so the SDK knows none yet.
    let auth = sdk(&tenant, (CLIENT_ID, CLIENT_SECRET), &key);
    let session = login(&auth).await;
    assert_eq!(nonce_refusals(&tenant), 0);
    let info = auth.userinfo(&session).await.unwrap();
    assert_eq!(info["email"], ALICE.0);
}

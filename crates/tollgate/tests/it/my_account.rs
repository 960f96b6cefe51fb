//! `Tollgate::proxy` against the local tenant's My Account and My Organization APIs: DPoP-bound
//! tokens with the API's nonce demand, a token that needs MFA, the organization in `org_id`, and
//! CORS preflights that need no session.

use crate::common::{
    ALICE, APP, CLIENT_ID, CLIENT_SECRET, SECRET, login_to_callback, login_to_callback_as,
    tenant_browser,
};
use serde_json::Value;
use tollgate::{
    AccessTokenError, DpopKey, DpopOptions, LoginOptions, MyApi, ProxyError, SessionData, Tollgate,
};
use tollgate_tenant::{ClientConfig, MfaPolicy, RunningTenant, Tenant, TenantConfig, UserConfig};

const SPA: &str = "https://spa.example.com";

/// A tenant on a port chosen first, so that policies can name `{issuer}me/`.
async fn tenant(tweak: impl FnOnce(TenantConfig, &str) -> TenantConfig) -> RunningTenant {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}/");
    let config = TenantConfig::new()
        .with_client(
            ClientConfig::new(CLIENT_ID, CLIENT_SECRET)
                .with_callback(format!("{APP}/auth/callback")),
        )
        .with_user(
            UserConfig::new(ALICE.0, ALICE.1)
                .with_totp_secret("JBSWY3DPEHPK3PXP")
                .with_organization("org_acme"),
        )
        .with_user(UserConfig::new("bob@example.com", "bob-password-1"))
        .with_allowed_web_origin(SPA);
    let tenant = Tenant::start(tweak(config, &issuer), &format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    assert_eq!(tenant.issuer(), issuer);
    tenant
}

fn sdk(tenant: &RunningTenant, dpop: Option<&DpopKey>) -> Tollgate {
    let mut b =
        tollgate_testkit::local_config(tenant.issuer(), (CLIENT_ID, CLIENT_SECRET), SECRET, APP);
    if let Some(key) = dpop {
        b = b
            .dpop(key.clone())
            .dpop_options(DpopOptions::new().retry_delay(std::time::Duration::from_millis(5)));
    }
    Tollgate::new(b.build().unwrap())
}

async fn login(auth: &Tollgate) -> SessionData {
    let (query, jar) = login_to_callback(auth, &tenant_browser(), LoginOptions::new()).await;
    auth.handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await
        .result
        .expect("the login succeeds")
        .session
}

fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> http::Request<Vec<u8>> {
    let mut r = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(body.as_bytes().to_vec()).unwrap()
}

/// `GET {path}` through the proxy with a `scope` header.
async fn get(
    auth: &Tollgate,
    session: &SessionData,
    api: MyApi,
    path: &str,
    scope: &str,
) -> Result<tollgate::ProxyOutcome, ProxyError> {
    auth.my_account()
        .proxy(
            Some(session),
            api,
            request("GET", path, &[("scope", scope)], ""),
        )
        .await
}

fn body(resp: &http::Response<Vec<u8>>) -> Value {
    serde_json::from_slice(resp.body()).unwrap()
}

#[tokio::test]
async fn dpop_bound_my_account_tokens_go_with_a_proof_and_one_nonce_retry() {
    let tenant = tenant(|t, _| t.with_dpop_nonce_required_at_my_account(true)).await;
    let key = DpopKey::generate();
    let auth = sdk(&tenant, Some(&key));
    let session = login(&auth).await;
    let nonce_refusals =
        || tenant.count_events(|e| e.detail("error") == Some(&Value::from("use_dpop_nonce")));
    let before = nonce_refusals();

    let outcome = get(
        &auth,
        &session,
        MyApi::Account,
        "/me/v1/authentication-methods",
        "read:me:authentication_methods",
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.response.status(),
        200,
        "{:?}",
        body(&outcome.response)
    );
    assert_eq!(
        body(&outcome.response)["authentication_methods"][0]["type"],
        "totp"
    );
    let updated = outcome
        .session
        .expect("the new My Account token is to be saved");
    let entry = updated
        .access_tokens
        .iter()
        .find(|e| e.audience == format!("{}me/", tenant.issuer()))
        .expect("a My Account token in the session");
    assert_eq!(entry.token_type.as_deref(), Some("DPoP"));
    // The token endpoint never asked for a nonce here; the API did, once.
    assert_eq!(nonce_refusals(), before);

    // A second call with the cached token and the remembered nonce succeeds at once.
    let again = get(
        &auth,
        &updated,
        MyApi::Account,
        "/me/v1/authentication-methods",
        "read:me:authentication_methods",
    )
    .await
    .unwrap();
    assert_eq!(again.response.status(), 200);
    assert!(again.session.is_none(), "served from the session");
}

#[tokio::test]
async fn a_my_account_token_that_needs_mfa_answers_403_with_the_mfa_body() {
    let tenant = tenant(|t, issuer| {
        t.with_mfa_policy(MfaPolicy::new().for_audience(format!("{issuer}me/")))
    })
    .await;
    let auth = sdk(&tenant, None);
    let session = login(&auth).await;
    let err = get(
        &auth,
        &session,
        MyApi::Account,
        "/me/v1/authentication-methods",
        "read:me:authentication_methods",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ProxyError::AccessToken(AccessTokenError::MfaRequired(_))
        ),
        "{err:?}"
    );
    let resp = err.into_response();
    assert_eq!(resp.status(), 403);
    let json = body(&resp);
    assert_eq!(json["error"], "mfa_required", "{json}");
    assert!(
        json["mfa_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{json}"
    );
}

#[tokio::test]
async fn my_org_details_are_the_organization_in_the_token() {
    let tenant = tenant(|t, _| t).await;
    let auth = sdk(&tenant, None);
    let session = login(&auth).await;
    let read = get(
        &auth,
        &session,
        MyApi::Organization,
        "/my-org/details",
        "read:my_org:details",
    )
    .await
    .unwrap();
    assert_eq!(read.response.status(), 200);
    assert_eq!(body(&read.response)["id"], "org_acme");
    let session = read.session.unwrap_or(session);

    let update = auth
        .my_account()
        .proxy(
            Some(&session),
            MyApi::Organization,
            request(
                "PATCH",
                "/my-org/details",
                &[
                    ("scope", "update:my_org:details"),
                    ("content-type", "application/json"),
                    ("origin", APP),
                ],
                r#"{"display_name":"Acme, Inc."}"#,
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        update.response.status(),
        200,
        "{:?}",
        body(&update.response)
    );
    assert_eq!(body(&update.response)["display_name"], "Acme, Inc.");

    // Extra fields are refused by the API, and the refusal comes back as it is.
    let session = update.session.unwrap_or(session);
    let bad = auth
        .my_account()
        .proxy(
            Some(&session),
            MyApi::Organization,
            request(
                "PATCH",
                "/my-org/details",
                &[
                    ("scope", "update:my_org:details"),
                    ("content-type", "application/json"),
                ],
                r#"{"display_name":"x","owner":"mallory"}"#,
            ),
        )
        .await
        .unwrap();
    assert_eq!(bad.response.status(), 400);
    assert_eq!(
        bad.response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        body(&bad.response)["validation_errors"][0]["field"],
        "owner"
    );
}

#[tokio::test]
async fn preflights_go_through_without_a_session_and_keep_the_apis_cors_answer() {
    let tenant = tenant(|t, _| t).await;
    let auth = sdk(&tenant, None);
    let preflight = |origin: &str| {
        request(
            "OPTIONS",
            "/me/v1/connected-accounts/accounts",
            &[
                ("origin", origin),
                ("access-control-request-method", "DELETE"),
                ("access-control-request-headers", "scope"),
                ("cookie", "__session=not-forwarded"),
            ],
            "",
        )
    };
    let allowed = auth
        .my_account()
        .proxy(None, MyApi::Account, preflight(SPA))
        .await
        .unwrap();
    assert_eq!(allowed.response.status(), 204);
    let h = allowed.response.headers();
    assert_eq!(h["access-control-allow-origin"], SPA);
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("scope")
    );
    assert!(allowed.session.is_none());

    let refused = auth
        .my_account()
        .proxy(None, MyApi::Account, preflight("https://evil.example.com"))
        .await
        .unwrap();
    assert_eq!(refused.response.status(), 204);
    assert!(
        !refused
            .response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // Anything but a preflight needs the session.
    let err = auth
        .my_account()
        .proxy(
            None,
            MyApi::Account,
            request("OPTIONS", "/me/v1/connected-accounts/accounts", &[], ""),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
}

#[tokio::test]
async fn a_user_outside_any_organization_gets_the_apis_403() {
    let tenant = tenant(|t, _| t).await;
    let auth = sdk(&tenant, None);
    // Bob has no organization.
    let (query, jar) = login_to_callback_as(
        &auth,
        &tenant_browser(),
        LoginOptions::new(),
        ("bob@example.com", "bob-password-1"),
    )
    .await;
    let session = auth
        .handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await
        .result
        .unwrap()
        .session;
    let r = get(
        &auth,
        &session,
        MyApi::Organization,
        "/my-org/details",
        "read:my_org:details",
    )
    .await
    .unwrap();
    assert_eq!(r.response.status(), 403);
    assert!(
        body(&r.response)["detail"]
            .as_str()
            .unwrap()
            .contains("org_id")
    );
}

#[tokio::test]
async fn parallel_calls_for_different_scopes_share_the_rotating_refresh_token() {
    // The tenant rotates refresh tokens with no reuse interval: presenting a spent one revokes
    // the family. A page that loads three lists at once must not trip it.
    let tenant = tenant(|t, _| t).await;
    let auth = sdk(&tenant, None);
    let session = login(&auth).await;
    let call = |s: SessionData, api: MyApi, path: &'static str, scope: &'static str| {
        let auth = auth.clone();
        async move {
            auth.my_account()
                .proxy(Some(&s), api, request("GET", path, &[("scope", scope)], ""))
                .await
                .unwrap()
        }
    };
    let (a, b, c) = tokio::join!(
        call(
            session.clone(),
            MyApi::Account,
            "/me/v1/authentication-methods",
            "read:me:authentication_methods"
        ),
        call(
            session.clone(),
            MyApi::Account,
            "/me/v1/connected-accounts/accounts",
            "read:me:connected_accounts"
        ),
        call(
            session.clone(),
            MyApi::Organization,
            "/my-org/details",
            "read:my_org:details"
        ),
    );
    for outcome in [&a, &b, &c] {
        assert_eq!(
            outcome.response.status(),
            200,
            "{:?}",
            body(&outcome.response)
        );
    }
    // Whichever of the three cookies the browser kept, the next refresh works.
    for outcome in [a, b, c] {
        let kept = outcome.session.expect("each call saved a new token");
        let next = call(
            kept,
            MyApi::Account,
            "/me/v1/connected-accounts/connections",
            "read:me:connected_accounts create:me:connected_accounts",
        )
        .await;
        assert_eq!(next.response.status(), 200, "{:?}", body(&next.response));
    }
}

#[tokio::test]
async fn a_connect_uri_off_the_providers_origin_is_never_followed() {
    use axum::routing::post;
    // A My Account API that answers a ticket whose connect_uri is on another origin.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/me/v1/connected-accounts/connect",
        post(|| async {
            (
                http::StatusCode::CREATED,
                axum::Json(serde_json::json!({
                    "connect_uri": "https://evil.example.com/connect",
                    "auth_session": "s",
                    "connect_params": {"ticket": "t"},
                    "expires_in": 300,
                })),
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let auth = Tollgate::new(
        tollgate_testkit::local_config(&issuer, (CLIENT_ID, CLIENT_SECRET), SECRET, APP)
            .build()
            .unwrap(),
    );
    // A session that already holds a My Account token, so no grant is needed.
    let scope = "openid profile email offline_access create:me:connected_accounts";
    let session: SessionData = serde_json::from_value(serde_json::json!({
        "user": {"sub": "auth0|alice"},
        "tokenSet": {"accessToken": "at", "expiresAt": 4_000_000_000_u64},
        "accessTokens": [{
            "accessToken": "my-account-token",
            "audience": format!("{issuer}me/"),
            "expiresAt": 4_000_000_000_u64,
            "scope": scope,
            "requestedScope": scope,
        }],
        "internal": {"sid": "s", "createdAt": 1},
    }))
    .unwrap();
    let err = auth
        .my_account()
        .connect(
            &session,
            &tollgate::ConnectAccountOptions::new("google-oauth2"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, tollgate::ConnectAccountError::InvalidResponse(_)),
        "{err:?}"
    );
    assert_eq!(err.status(), 502);
}

/// What a browser claims about the client's address or the app's host never reaches the API:
/// the upstream request the proxy sends carries no `X-Forwarded-*`, `X-Real-IP` or `Forwarded`.
#[test]
fn browser_sent_forwarding_headers_do_not_reach_the_upstream() {
    let config = tollgate_testkit::local_config(
        "http://127.0.0.1:9/",
        (CLIENT_ID, CLIENT_SECRET),
        SECRET,
        APP,
    )
    .build()
    .unwrap();
    let auth = Tollgate::new(config);
    let mut request = http::Request::get("/me/v1/authentication-methods")
        .header("scope", "read:me:authentication_methods")
        .header("accept", "application/json");
    for name in [
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "forwarded",
    ] {
        request = request.header(name, "6.6.6.6");
    }
    let prepared = auth
        .my_account()
        .prepare_proxy(MyApi::Account, request.body(Vec::new()).unwrap())
        .unwrap();
    let sent = prepared.request.headers();
    assert_eq!(
        sent["accept"], "application/json",
        "allowed headers still go"
    );
    assert!(
        sent.values().all(|v| v != "6.6.6.6"),
        "forwarding headers were dropped: {sent:?}"
    );
}

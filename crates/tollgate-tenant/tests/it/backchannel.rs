//! OIDC Back-Channel Logout as the tenant sends it (wire contract §7), to a small receiver on a
//! loopback port: on `/v2/logout`, `/oidc/logout` and `end_user_sessions`; failures as `fslo`;
//! and `sign_jwt`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri, header as axum_header};
use axum::response::{IntoResponse, Response as AxumResponse};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, StatusCode};
use serde_json::{Map, Value, json};
use tollgate_tenant::{ClientConfig, RunningTenant, TenantConfig, TenantEvent, UserConfig};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const WAIT: Duration = Duration::from_secs(15);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    method: Method,
    path: String,
    content_type: Option<String>,
    body: String,
}

#[derive(Clone)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    status: u16,
    delay: Duration,
}

/// A receiver on `127.0.0.1:0` that answers every request with `status` after `delay`;
/// returns its base URL (no trailing slash) and what it received.
async fn receiver(status: u16, delay: Duration) -> (String, Arc<Mutex<Vec<Hit>>>) {
    async fn handle(
        State(receiver): State<Receiver>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> AxumResponse {
        receiver.hits.lock().unwrap().push(Hit {
            method,
            path: uri.path().to_owned(),
            content_type: headers
                .get(axum_header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        tokio::time::sleep(receiver.delay).await;
        let status = AxumStatus::from_u16(receiver.status).unwrap();
        let mut response = status.into_response();
        if status.is_redirection() {
            response.headers_mut().insert(
                axum_header::LOCATION,
                axum_header::HeaderValue::from_static("/redirected"),
            );
        }
        response
    }
    let hits = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().fallback(handle).with_state(Receiver {
        hits: Arc::clone(&hits),
        status,
        delay,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

/// The app client and `second-app` (both with a back-channel URL on `base`), `never-used`
/// (with one, never logged in to) and `no-url` (logged in to, without one).
fn bcl_config(base: &str) -> TenantConfig {
    TenantConfig::new()
        .with_client(app_client().with_backchannel_logout_url(format!("{base}/app/bcl")))
        .with_client(
            ClientConfig::new("second-app", "second-secret")
                .with_callback(CALLBACK)
                .with_backchannel_logout_url(format!("{base}/second/bcl")),
        )
        .with_client(
            ClientConfig::new("never-used", "never-secret")
                .with_callback(CALLBACK)
                .with_backchannel_logout_url(format!("{base}/never/bcl")),
        )
        .with_client(ClientConfig::new("no-url", "no-url-secret").with_callback(CALLBACK))
        .with_user(UserConfig::new(EMAIL, PASSWORD).with_name("Alice Example"))
        .with_user(UserConfig::new("bob@example.com", "bob-password-1"))
}

fn alice_sub() -> String {
    UserConfig::new(EMAIL, PASSWORD).sub()
}

/// Logs alice in for the app client (password), then `second-app` and `no-url` through SSO;
/// returns the app client's tokens.
async fn login_to_three_apps(http: &Client, tenant: &RunningTenant) -> Value {
    let code = login_code(http, tenant).await;
    let tokens = exchange(http, tenant, &code).await;
    for client in ["second-app", "no-url"] {
        let response = authorize(http, tenant, &authorize_params(&[("client_id", client)])).await;
        assert!(query(&location(&response)).contains_key("code"));
    }
    tokens
}

/// The `logout_token` of a hit, after checking the request's shape.
fn logout_token(hit: &Hit) -> String {
    assert_eq!(hit.method, Method::POST);
    assert_eq!(
        hit.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(hit.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields.len(), 1, "only logout_token: {}", hit.body);
    assert_eq!(fields[0].0, "logout_token");
    // A JWT needs no escaping in a form: the body is the token as is.
    assert_eq!(hit.body, format!("logout_token={}", fields[0].1));
    fields[0].1.clone()
}

/// Checks a logout token byte for byte where the contract is definite, and that it verifies
/// against the tenant's JWKS; returns its claims.
async fn check_logout_token(
    tenant: &RunningTenant,
    token: &str,
    aud: &str,
    sid: &str,
) -> Map<String, Value> {
    let http = browser();
    let header_b64 = token.split('.').next().unwrap();
    let header_text = String::from_utf8(URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
    let keys = jwks(&http, tenant).await;
    let kid = keys.keys[0].common.key_id.clone().unwrap();
    assert_eq!(
        header_text,
        format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}"#)
    );

    let claims = verify(&http, tenant, token, aud).await;
    let payload_b64 = token.split('.').nth(1).unwrap();
    let payload_text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload_b64).unwrap()).unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    let expected = format!(
        r#"{{"iss":"{iss}","sub":"{sub}","aud":"{aud}","iat":{iat},"exp":{exp},"jti":"{jti}","events":{{"{EVENT}":{{}}}},"trace_id":"{trace}","sid":"{sid}"}}"#,
        iss = tenant.issuer(),
        sub = alice_sub(),
        exp = iat + 120,
        jti = claims["jti"].as_str().unwrap(),
        trace = claims["trace_id"].as_str().unwrap(),
    );
    assert_eq!(payload_text, expected);

    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 120);
    assert!(iat.abs_diff(now()) <= 5);
    assert!(claims.get("nonce").is_none());
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    let jti = claims["jti"].as_str().unwrap();
    let groups: Vec<usize> = jti.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{jti}");
    let trace = claims["trace_id"].as_str().unwrap();
    assert_eq!(trace.len(), 16);
    assert!(trace.bytes().all(|b| b.is_ascii_hexdigit()));
    claims
}

/// Waits for `count` events of `kind` and returns them.
async fn wait_for(tenant: &RunningTenant, kind: &str, count: usize) -> Vec<TenantEvent> {
    let events = tenant.wait_for_events(|e| e.is(kind), count, WAIT).await;
    assert_eq!(events.len(), count, "{count} {kind} events: {events:#?}");
    events
}

fn hits_to(hits: &Arc<Mutex<Vec<Hit>>>, path: &str) -> Vec<Hit> {
    hits.lock()
        .unwrap()
        .iter()
        .filter(|h| h.path == path)
        .cloned()
        .collect()
}

#[tokio::test]
async fn v2_logout_notifies_every_app_of_the_session() {
    let (base, hits) = receiver(200, Duration::ZERO).await;
    let tenant = start_with(bcl_config(&base)).await;
    let http = browser();
    let tokens = login_to_three_apps(&http, &tenant).await;
    let sid = claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID), ("returnTo", LOGOUT_URL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let logout = tenant.events_of_type("slo").pop().unwrap();
    assert_eq!(logout.details["backchannel_logouts"], 2);

    let delivered = wait_for(&tenant, "sslo", 2).await;
    tenant.wait_for_backchannel_logouts().await;
    assert_eq!(
        hits.lock().unwrap().len(),
        2,
        "never-used and no-url get nothing"
    );
    let app = hits_to(&hits, "/app/bcl");
    let second = hits_to(&hits, "/second/bcl");
    assert_eq!((app.len(), second.len()), (1, 1));
    let app_claims = check_logout_token(&tenant, &logout_token(&app[0]), CLIENT_ID, &sid).await;
    let second_claims =
        check_logout_token(&tenant, &logout_token(&second[0]), "second-app", &sid).await;
    assert_ne!(app_claims["jti"], second_claims["jti"]);

    let for_app = delivered
        .iter()
        .find(|e| e.client_id.as_deref() == Some(CLIENT_ID))
        .unwrap();
    assert_eq!(for_app.description, "Back-channel logout delivered");
    assert_eq!(for_app.user_id, Some(alice_sub()));
    assert_eq!(for_app.user_name.as_deref(), Some(EMAIL));
    assert_eq!(for_app.details["status"], 200);
    assert_eq!(for_app.details["url"], format!("{base}/app/bcl"));
    assert_eq!(for_app.details["sid"], sid.as_str());
    assert_eq!(for_app.details["jti"], app_claims["jti"]);
    assert_eq!(for_app.details["initiator"], "rp-logout");
    assert!(tenant.events_of_type("fslo").is_empty());

    // A logout without a session sends nothing.
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    tenant.wait_for_backchannel_logouts().await;
    assert_eq!(hits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn oidc_logout_with_an_id_token_hint() {
    let (base, hits) = receiver(204, Duration::ZERO).await;
    let tenant = start_with(bcl_config(&base)).await;
    let http = browser();
    let tokens = login_to_three_apps(&http, &tenant).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = claims(id_token)["sid"].as_str().unwrap().to_owned();

    // From the application's server: no SSO cookie, the hint names the session.
    let response = browser()
        .get(url(&tenant, "oidc/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", LOGOUT_URL),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let delivered = wait_for(&tenant, "sslo", 2).await;
    assert!(delivered.iter().all(|e| e.details["status"] == 204));
    let app = hits_to(&hits, "/app/bcl");
    check_logout_token(&tenant, &logout_token(&app[0]), CLIENT_ID, &sid).await;
    let second = hits_to(&hits, "/second/bcl");
    check_logout_token(&tenant, &logout_token(&second[0]), "second-app", &sid).await;

    // The browser's session is gone too.
    let response = authorize(&http, &tenant, &authorize_params(&[("prompt", "none")])).await;
    assert_eq!(query(&location(&response))["error"], "login_required");
}

#[tokio::test]
async fn end_user_sessions_ends_every_session_and_revokes_refresh_tokens() {
    let (base, hits) = receiver(200, Duration::ZERO).await;
    let tenant = start_with(bcl_config(&base)).await;
    let (first, second) = (browser(), browser());
    let tokens = login_to_three_apps(&first, &tenant).await;
    let code = login_code(&second, &tenant).await;
    let second_tokens = exchange(&second, &tenant, &code).await;
    let sids: Vec<String> = [&tokens, &second_tokens]
        .iter()
        .map(|t| {
            claims(t["id_token"].as_str().unwrap())["sid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_ne!(sids[0], sids[1]);

    assert_eq!(tenant.end_user_sessions("ALICE@example.com"), 2);
    let delivered = wait_for(&tenant, "sslo", 3).await;
    assert!(
        delivered
            .iter()
            .all(|e| e.details["initiator"] == "session-revoked")
    );
    let app = hits_to(&hits, "/app/bcl");
    assert_eq!(app.len(), 2);
    let mut seen = Vec::new();
    for hit in &app {
        let token = logout_token(hit);
        let sid = claims(&token)["sid"].as_str().unwrap().to_owned();
        check_logout_token(&tenant, &token, CLIENT_ID, &sid).await;
        seen.push(sid);
    }
    seen.sort();
    let mut expected = sids.clone();
    expected.sort();
    assert_eq!(seen, expected);
    let second_app = hits_to(&hits, "/second/bcl");
    assert_eq!(second_app.len(), 1);
    assert_eq!(
        claims(&logout_token(&second_app[0]))["sid"],
        sids[0].as_str()
    );

    let admin = tenant.events_of_type("slo").pop().unwrap();
    assert_eq!(admin.details["endpoint"], "admin");
    assert_eq!(admin.details["refresh_token_families_revoked"], 2);
    assert_eq!(admin.details["backchannel_logouts"], 3);

    // Refresh tokens are revoked; both browsers are logged out.
    for t in [&tokens, &second_tokens] {
        let rt = t["refresh_token"].as_str().unwrap();
        let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, rt, &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    for http in [&first, &second] {
        let response = authorize(http, &tenant, &authorize_params(&[("prompt", "none")])).await;
        assert_eq!(query(&location(&response))["error"], "login_required");
    }
    assert_eq!(tenant.end_user_sessions(EMAIL), 0);
    assert_eq!(tenant.end_user_sessions("nobody@example.com"), 0);
}

#[tokio::test]
async fn end_user_sessions_over_http() {
    let (base, hits) = receiver(200, Duration::ZERO).await;
    let tenant = start_with(bcl_config(&base)).await;
    let http = browser();
    login_to_three_apps(&http, &tenant).await;

    let dev = browser();
    let page = dev
        .get(url(&tenant, "dev/logs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<form method="post" action="/dev/users/logout">"#));
    assert!(page.contains(r#"name="email""#));

    let response = dev
        .post(url(&tenant, "dev/users/logout"))
        .header("origin", crate::common::origin(&tenant))
        .form(&[("email", EMAIL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("Ended 1 session of alice@example.com."),
        "{text}"
    );
    wait_for(&tenant, "sslo", 2).await;
    assert_eq!(hits.lock().unwrap().len(), 2);

    let response = dev
        .post(url(&tenant, "dev/users/logout"))
        .header("origin", crate::common::origin(&tenant))
        .form(&[("email", "nobody@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = dev
        .post(url(&tenant, "dev/users/logout"))
        .header("origin", crate::common::origin(&tenant))
        .form(&[("email", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refusals_redirects_and_unreachable_receivers_are_fslo() {
    let (refusing, refused_hits) = receiver(400, Duration::ZERO).await;
    let (redirecting, redirect_hits) = receiver(302, Duration::ZERO).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let tenant = start_with(
        TenantConfig::new()
            .with_client(app_client().with_backchannel_logout_url(format!("{refusing}/bcl")))
            .with_client(
                ClientConfig::new("second-app", "second-secret")
                    .with_callback(CALLBACK)
                    .with_backchannel_logout_url(format!("{redirecting}/bcl")),
            )
            .with_client(
                ClientConfig::new("no-url", "no-url-secret")
                    .with_callback(CALLBACK)
                    .with_backchannel_logout_url(format!("{closed}/bcl")),
            )
            .with_user(UserConfig::new(EMAIL, PASSWORD)),
    )
    .await;
    let http = browser();
    login_to_three_apps(&http, &tenant).await;
    http.get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    let failed = wait_for(&tenant, "fslo", 3).await;
    assert!(tenant.events_of_type("sslo").is_empty());
    let by_client = |id: &str| {
        failed
            .iter()
            .find(|e| e.client_id.as_deref() == Some(id))
            .unwrap()
            .clone()
    };
    let refused = by_client(CLIENT_ID);
    assert_eq!(refused.description, "Back-channel logout failed: HTTP 400");
    assert_eq!(refused.details["status"], 400);
    assert_eq!(refused.user_name.as_deref(), Some(EMAIL));
    assert_eq!(refused_hits.lock().unwrap().len(), 1);

    let redirected = by_client("second-app");
    assert_eq!(redirected.details["status"], 302);
    let redirect_paths: Vec<String> = redirect_hits
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.path.clone())
        .collect();
    assert_eq!(redirect_paths, ["/bcl"], "the redirect is not followed");

    let unreachable = by_client("no-url");
    assert_eq!(
        unreachable.description,
        "Back-channel logout failed: connection failed"
    );
    assert!(unreachable.details.get("status").is_none());
    assert_eq!(unreachable.details["error"], "connection failed");
}

#[tokio::test]
async fn deliveries_do_not_hold_up_the_logout_and_give_up_after_5_seconds() {
    let (slow, hits) = receiver(200, Duration::from_secs(8)).await;
    let tenant = start_with(
        TenantConfig::new()
            .with_client(app_client().with_backchannel_logout_url(format!("{slow}/bcl")))
            .with_user(UserConfig::new(EMAIL, PASSWORD)),
    )
    .await;
    let http = browser();
    login_code(&http, &tenant).await;
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // The logout answered while the delivery is still waiting for the receiver.
    assert!(tenant.events_of_type("fslo").is_empty());
    tenant.wait_for_backchannel_logouts().await;
    let failed = tenant.events_of_type("fslo");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].description,
        "Back-channel logout failed: no answer within 5 s"
    );
    assert_eq!(hits.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn sign_jwt_uses_the_current_key() {
    let tenant = start().await;
    let http = browser();
    let Value::Object(claims_in) = json!({
        "iss": tenant.issuer(),
        "aud": CLIENT_ID,
        "sub": "auth0|abc",
        "iat": now(),
        "exp": now() + 60,
        "nonce": "crafted",
    }) else {
        unreachable!()
    };
    let header = Map::from_iter([("typ".to_owned(), json!("logout+jwt"))]);
    let token = tenant.sign_jwt(header, claims_in.clone());
    let header = header_json(&token);
    let kid = jwks(&http, &tenant).await.keys[0]
        .common
        .key_id
        .clone()
        .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(verify(&http, &tenant, &token, CLIENT_ID).await, claims_in);

    // A given kid and alg are kept (the signature is still RS256 with the current key).
    let header = Map::from_iter([
        ("alg".to_owned(), json!("RS256")),
        ("kid".to_owned(), json!("not-published")),
    ]);
    let token = tenant.sign_jwt(header, claims_in.clone());
    assert_eq!(header_json(&token)["kid"], "not-published");
    let mut header = Map::new();
    header.insert("alg".to_owned(), json!("HS256"));
    let token = tenant.sign_jwt(header, Map::new());
    assert_eq!(header_json(&token)["alg"], "HS256");
    assert_eq!(header_json(&token)["kid"], kid.as_str());

    // After a rotation the new key signs.
    tenant.rotate_signing_key();
    let token = tenant.sign_jwt(Map::new(), claims_in);
    let new_kid = jwks(&http, &tenant).await.keys[0]
        .common
        .key_id
        .clone()
        .unwrap();
    assert_ne!(new_kid, kid);
    assert_eq!(header_json(&token)["kid"], new_kid.as_str());
    verify(&http, &tenant, &token, CLIENT_ID).await;
}

#[tokio::test]
async fn backchannel_logout_url_in_toml_and_validation() {
    let config = TenantConfig::from_toml_str(
        r#"
        [[clients]]
        client_id = "app"
        client_secret = "secret"
        backchannel_logout_url = "http://127.0.0.1:3000/auth/backchannel-logout"
        "#,
    )
    .unwrap();
    assert_eq!(
        config.clients()[0].backchannel_logout_url(),
        Some("http://127.0.0.1:3000/auth/backchannel-logout")
    );
    for bad in ["/relative", "ftp://127.0.0.1/x", "not a url"] {
        let error = TenantConfig::from_toml_str(&format!(
            "[[clients]]\nclient_id = \"app\"\nclient_secret = \"s\"\nbackchannel_logout_url = \"{bad}\"\n"
        ))
        .unwrap_err();
        assert!(
            matches!(
                error,
                tollgate_tenant::ConfigError::InvalidBackchannelLogoutUrl { ref url } if url == bad
            ),
            "{error}"
        );
    }
}

//! A misbehaving provider: down, slow past the timeout, 5xx, malformed or huge JSON, the wrong
//! content type, another issuer, a JWKS outage during a key rotation. Every case ends in a typed
//! error within a bounded time, nothing panics, an existing session is untouched, and service
//! resumes without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::common::hostile_op::{
    self, Endpoint, Fault, HostileOp, Mutation, Signer, jar_after, sets_session,
};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tollgate::{AccessTokenError, AccessTokenOptions, CallbackError, IdTokenError};
use tollgate::{CookieJar, Error, LoginOptions, ProviderError, SessionData, Tollgate, User};

/// What the fake discovery endpoint does.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Mode {
    Good = 0,
    Slow = 1,
    ServerError = 2,
    Malformed = 3,
    Huge = 4,
    WrongType = 5,
    WrongIssuer = 6,
}

async fn faulty_provider(mode: Arc<AtomicU8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let i = issuer.clone();
    let app = Router::new().route(
        "/.well-known/openid-configuration",
        get(move || {
            let (mode, i) = (mode.clone(), i.clone());
            async move {
                let good = serde_json::json!({
                    "issuer": i, "authorization_endpoint": format!("{i}authorize"),
                    "token_endpoint": format!("{i}oauth/token"), "jwks_uri": format!("{i}.well-known/jwks.json"),
                })
                .to_string();
                let json = [(header::CONTENT_TYPE, "application/json")];
                match mode.load(Ordering::SeqCst) {
                    0 => (json, good).into_response(),
                    1 => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        (json, good).into_response()
                    }
                    2 => (StatusCode::BAD_GATEWAY, "upstream down").into_response(),
                    3 => (json, "{\"issuer\": ").into_response(),
                    4 => (json, format!("{{\"issuer\":\"{}\"}}", "x".repeat(3 << 20))).into_response(),
                    5 => ([(header::CONTENT_TYPE, "text/html")], good).into_response(),
                    _ => (json, good.replace(&i, "https://evil.example/")).into_response(),
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

fn client(issuer: &str) -> Tollgate {
    Tollgate::new(
        tollgate_testkit::local_config(
            issuer,
            ("c", "s"),
            "provider-faults-secret-0123456789abcdef",
            "http://127.0.0.1:3000",
        )
        .http_timeout(Duration::from_millis(800))
        .build()
        .unwrap(),
    )
}

#[tokio::test]
async fn each_provider_fault_is_a_typed_error_and_service_resumes() {
    let mode = Arc::new(AtomicU8::new(Mode::Good as u8));
    let issuer = faulty_provider(mode.clone()).await;
    // An existing session, untouched by whatever the provider does.
    let auth = client(&issuer);
    let mut s = SessionData {
        user: User(serde_json::from_value(serde_json::json!({"sub": "auth0|1"})).unwrap()),
        ..SessionData::default()
    };
    s.internal.created_at = tollgate_testkit::now();
    let line = auth
        .session_codec()
        .write(&CookieJar::default(), &s, tollgate_testkit::now());
    let jar = CookieJar::parse(line[0].split(';').next().unwrap());

    type Check = fn(&ProviderError) -> bool;
    let cases: [(Mode, Check); 6] = [
        (Mode::Slow, |e| {
            matches!(e, ProviderError::Unreachable { timeout: true, .. })
        }),
        (
            Mode::ServerError,
            |e| matches!(e, ProviderError::InvalidResponse { reason, .. } if reason.contains("502")),
        ),
        (
            Mode::Malformed,
            |e| matches!(e, ProviderError::InvalidResponse { reason, .. } if reason.contains("malformed JSON")),
        ),
        (
            Mode::Huge,
            |e| matches!(e, ProviderError::InvalidResponse { reason, .. } if reason.contains("larger than")),
        ),
        (
            Mode::WrongType,
            |e| matches!(e, ProviderError::InvalidResponse { reason, .. } if reason.contains("not JSON")),
        ),
        (Mode::WrongIssuer, |e| {
            matches!(e, ProviderError::IssuerMismatch { .. })
        }),
    ];
    for (m, expected) in cases {
        // A fresh SDK each time: no cached metadata to fall back on.
        let auth = client(&issuer);
        mode.store(m as u8, Ordering::SeqCst);
        let started = Instant::now();
        let err = auth
            .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded time: {:?}",
            started.elapsed()
        );
        match &err {
            Error::Provider(p) => assert!(expected(p), "mode {}: {p:?}", m as u8),
            other => panic!("mode {}: {other:?}", m as u8),
        }
        assert_eq!(
            auth.handle_login(&tollgate::AuthRequest::new().with_query(""))
                .await
                .status(),
            502
        );
        assert!(
            auth.session(&jar).await.unwrap().is_some(),
            "the session is untouched"
        );
    }
    // The provider recovers: so does the SDK, without a restart.
    mode.store(Mode::Good as u8, Ordering::SeqCst);
    let auth2 = client(&issuer);
    mode.store(Mode::ServerError as u8, Ordering::SeqCst);
    assert!(
        auth2
            .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
            .await
            .is_err()
    );
    mode.store(Mode::Good as u8, Ordering::SeqCst);
    assert!(
        auth2
            .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
            .await
            .is_ok(),
        "recovers on the next request"
    );
}

#[tokio::test]
async fn cached_metadata_keeps_serving_while_discovery_fails() {
    let mode = Arc::new(AtomicU8::new(Mode::Good as u8));
    let issuer = faulty_provider(mode.clone()).await;
    let auth = client(&issuer);
    assert!(
        auth.start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
            .await
            .is_ok()
    );
    mode.store(Mode::ServerError as u8, Ordering::SeqCst);
    assert!(
        auth.start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
            .await
            .is_ok(),
        "fresh cached metadata is reused"
    );
}

// ---------------------------------------------------------------------------------------------
// One test per fault, through the hostile OP, during the calls a signed-in user makes: a login,
// a refresh, a UserInfo request. Each ends in a typed error, returns (guarded by a generous
// bound, not a speed assertion), leaves the existing session as it was, and recovers without a
// restart.

/// Far above any timeout configured here: the call returns, it does not hang.
const BOUND: Duration = Duration::from_secs(30);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("the call returned within the bound")
}

/// Signed in through the OP, with a short provider timeout: the OP, the SDK, the session and
/// the cookies that carry it.
async fn signed_in() -> (HostileOp, Tollgate, SessionData, CookieJar) {
    let op = HostileOp::start().await;
    let auth = Tollgate::new(
        op.config()
            .http_timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    );
    let outcome = op.login(&auth).await;
    let session = outcome.result.unwrap().session;
    (op, auth, session, jar_after(&outcome.cookies))
}

fn fault(op: &HostileOp, at: Endpoint, f: Fault) {
    op.mutate(Mutation {
        fault: Some((at, f)),
        ..Mutation::default()
    });
}

/// The session the browser holds still opens, unchanged.
async fn untouched(auth: &Tollgate, jar: &CookieJar, before: &SessionData) {
    let now = auth
        .session(jar)
        .await
        .unwrap()
        .expect("the session is still there");
    assert_eq!(now.user.sub(), before.user.sub());
    assert_eq!(now.token_set, before.token_set);
}

/// A new login by the same browser (its session cookie and the new transaction cookie).
async fn login_again(
    op: &HostileOp,
    auth: &Tollgate,
    session: &CookieJar,
) -> tollgate::CallbackOutcome {
    let (query, txn) = op.authorize(auth, LoginOptions::new()).await;
    let both: Vec<String> = txn
        .iter()
        .chain(session.iter())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    auth.handle_callback(&crate::common::callback_request(
        &query,
        CookieJar::parse(&both.join("; ")),
    ))
    .await
}

fn callback_failed(outcome: &tollgate::CallbackOutcome) -> &Error {
    assert!(!sets_session(&outcome.cookies), "no new session");
    assert!(
        !outcome
            .cookies
            .lines()
            .any(|c| c.starts_with("__session=;")),
        "the old session is not deleted"
    );
    outcome.result.as_ref().unwrap_err()
}

async fn refresh(auth: &Tollgate, s: &SessionData) -> Result<String, AccessTokenError> {
    bounded(auth.access_token(s, &AccessTokenOptions::new().force_refresh()))
        .await
        .map(|o| o.token.token)
}

#[tokio::test]
async fn fault_provider_down_is_unreachable_then_recovers() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let auth = Tollgate::new(
        tollgate_testkit::local_config(
            &format!("http://{addr}/"),
            (hostile_op::CLIENT_ID, hostile_op::CLIENT_SECRET),
            hostile_op::SECRET,
            hostile_op::APP,
        )
        .http_timeout(Duration::from_millis(500))
        .build()
        .unwrap(),
    );
    let mut s = SessionData {
        user: User(serde_json::from_value(serde_json::json!({"sub": hostile_op::SUB})).unwrap()),
        ..SessionData::default()
    };
    s.internal.created_at = tollgate_testkit::now();
    let lines = auth
        .session_codec()
        .write(&CookieJar::default(), &s, tollgate_testkit::now());
    let jar = jar_after(&lines.into());

    let err = bounded(auth.start_login(&tollgate::RequestOrigin::default(), LoginOptions::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider(ProviderError::Unreachable { timeout: false, .. })
        ),
        "{err:?}"
    );
    untouched(&auth, &jar, &s).await;
    // The provider comes back on its address: the same SDK object signs users in again.
    let op = HostileOp::start_on(addr).await;
    assert!(op.login(&auth).await.result.is_ok());
    untouched(&auth, &jar, &s).await;
}

#[tokio::test]
async fn fault_provider_slow_past_the_timeout_then_recovers() {
    let (op, auth, session, jar) = signed_in().await;
    fault(&op, Endpoint::Token, Fault::Delay(Duration::from_secs(3)));
    let outcome = bounded(login_again(&op, &auth, &jar)).await;
    let err = callback_failed(&outcome);
    assert!(
        matches!(
            err,
            Error::Callback(CallbackError::TokenExchange(ProviderError::Unreachable {
                timeout: true,
                ..
            }))
        ),
        "{err:?}"
    );
    assert!(matches!(
        refresh(&auth, &session).await.unwrap_err(),
        AccessTokenError::RefreshFailed(ProviderError::Unreachable { timeout: true, .. })
    ));
    untouched(&auth, &jar, &session).await;
    op.honest();
    assert!(login_again(&op, &auth, &jar).await.result.is_ok());
}

#[tokio::test]
async fn fault_provider_answers_5xx_then_recovers() {
    let (op, auth, session, jar) = signed_in().await;
    fault(&op, Endpoint::Token, Fault::Status(503));
    let err = refresh(&auth, &session).await.unwrap_err();
    assert!(
        matches!(&err, AccessTokenError::RefreshFailed(ProviderError::InvalidResponse { reason, .. }) if reason.contains("503")),
        "{err:?}"
    );
    untouched(&auth, &jar, &session).await;
    op.honest();
    let token = refresh(&auth, &session).await.unwrap();
    assert_ne!(token, session.token_set.access_token);
}

#[tokio::test]
async fn fault_malformed_json_then_recovers() {
    let (op, auth, session, jar) = signed_in().await;
    fault(
        &op,
        Endpoint::Token,
        Fault::Body {
            content_type: "application/json",
            body: "{\"access_token\": ".into(),
        },
    );
    let outcome = bounded(login_again(&op, &auth, &jar)).await;
    let err = callback_failed(&outcome);
    assert!(
        matches!(err, Error::Callback(CallbackError::TokenExchange(ProviderError::InvalidResponse { reason, .. })) if reason.contains("malformed JSON")),
        "{err:?}"
    );
    untouched(&auth, &jar, &session).await;
    op.honest();
    assert!(login_again(&op, &auth, &jar).await.result.is_ok());
}

#[tokio::test]
async fn fault_huge_json_then_recovers() {
    let (op, auth, session, jar) = signed_in().await;
    let huge = format!(
        "{{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"pad\":\"{}\"}}",
        "x".repeat(2 << 20)
    );
    fault(
        &op,
        Endpoint::Token,
        Fault::Body {
            content_type: "application/json",
            body: huge,
        },
    );
    let err = refresh(&auth, &session).await.unwrap_err();
    assert!(
        matches!(&err, AccessTokenError::RefreshFailed(ProviderError::InvalidResponse { reason, .. }) if reason.contains("larger than")),
        "{err:?}"
    );
    untouched(&auth, &jar, &session).await;
    op.honest();
    assert!(refresh(&auth, &session).await.is_ok());
}

#[tokio::test]
async fn fault_wrong_content_type_then_recovers() {
    let (op, auth, session, jar) = signed_in().await;
    fault(
        &op,
        Endpoint::Userinfo,
        Fault::Body {
            content_type: "text/html",
            body: format!("{{\"sub\":\"{}\"}}", hostile_op::SUB),
        },
    );
    let err = bounded(auth.userinfo(&session)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Provider(ProviderError::InvalidResponse { reason, .. }) if reason.contains("not JSON")),
        "{err:?}"
    );
    untouched(&auth, &jar, &session).await;
    op.honest();
    assert!(auth.userinfo(&session).await.is_ok());
}

/// The provider rotates its keys while its JWKS endpoint is down: tokens signed with the old key
/// still verify from the cached set, a token with the new `kid` is refused with a typed error,
/// and once the JWKS is back the new key is fetched and accepted, by the same SDK object.
#[tokio::test]
async fn fault_jwks_unavailable_during_a_key_rotation_then_recovers() {
    let (op, auth, session, jar) = signed_in().await;
    let fetches = auth.jwks_fetch_count();
    fault(&op, Endpoint::Jwks, Fault::Status(503));
    assert!(
        login_again(&op, &auth, &jar).await.result.is_ok(),
        "old key, cached set"
    );
    assert_eq!(auth.jwks_fetch_count(), fetches, "no fetch needed");

    op.set_signer(Signer::Rsa {
        key: 2,
        kid: Some("rot-2".into()),
    });
    let outcome = bounded(login_again(&op, &auth, &jar)).await;
    let err = callback_failed(&outcome);
    assert_eq!(
        *err,
        Error::Callback(CallbackError::IdToken(IdTokenError::NoMatchingKey {
            kid: Some("rot-2".into())
        }))
    );
    untouched(&auth, &jar, &session).await;

    // The JWKS is back, with the new key.
    let mut jwks = hostile_op::default_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(hostile_op::rsa_jwk(2, Some("rot-2")));
    op.set_jwks(jwks);
    op.honest();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let outcome = login_again(&op, &auth, &jar).await;
        if outcome.result.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new key was not picked up: {:?}",
            outcome.result
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! A misbehaving provider: down, slow past the timeout, 5xx, malformed or huge JSON, the wrong
//! content type, another issuer. Every case ends in a typed error within a bounded time, nothing
//! panics, an existing session is untouched, and service resumes without a restart.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tollgate::{
    Config, CookieJar, Error, LoginOptions, ProviderError, SessionData, Tollgate, User,
};

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
        Config::builder()
            .domain(issuer)
            .insecure_allow_http_loopback_issuer()
            .client_id("c")
            .client_secret("s")
            .secret("provider-faults-secret-0123456789abcdef")
            .app_base_url("http://127.0.0.1:3000")
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
    s.internal.created_at = common::store_suite::now();
    let line = auth
        .session_codec()
        .write(&CookieJar::default(), &s, common::store_suite::now());
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
        let err = auth.start_login(LoginOptions::new()).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded time: {:?}",
            started.elapsed()
        );
        match &err {
            Error::Provider(p) => assert!(expected(p), "mode {}: {p:?}", m as u8),
            other => panic!("mode {}: {other:?}", m as u8),
        }
        assert_eq!(auth.handle_login("").await.status(), 502);
        assert!(
            auth.session(&jar).await.unwrap().is_some(),
            "the session is untouched"
        );
    }
    // The provider recovers: so does the SDK, without a restart.
    mode.store(Mode::Good as u8, Ordering::SeqCst);
    let auth2 = client(&issuer);
    mode.store(Mode::ServerError as u8, Ordering::SeqCst);
    assert!(auth2.start_login(LoginOptions::new()).await.is_err());
    mode.store(Mode::Good as u8, Ordering::SeqCst);
    assert!(
        auth2.start_login(LoginOptions::new()).await.is_ok(),
        "recovers on the next request"
    );
}

#[tokio::test]
async fn cached_metadata_keeps_serving_while_discovery_fails() {
    let mode = Arc::new(AtomicU8::new(Mode::Good as u8));
    let issuer = faulty_provider(mode.clone()).await;
    let auth = client(&issuer);
    assert!(auth.start_login(LoginOptions::new()).await.is_ok());
    mode.store(Mode::ServerError as u8, Ordering::SeqCst);
    assert!(
        auth.start_login(LoginOptions::new()).await.is_ok(),
        "fresh cached metadata is reused"
    );
}

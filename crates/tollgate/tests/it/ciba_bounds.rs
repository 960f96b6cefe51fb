//! CIBA with a provider that answers absurd numbers: `expires_in` and `interval` of `u64::MAX`
//! must neither panic (no unchecked clock arithmetic) nor make the SDK wait for ages.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::{get, post};
use serde_json::json;
use tollgate::{BackchannelAuthError, BackchannelAuthOptions, BackchannelPoll, Tollgate};

/// A provider whose `/bc-authorize` answers `answer` and whose token endpoint answers `poll_error`
/// (counting polls).
async fn provider(
    answer: serde_json::Value,
    poll_error: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let polls = Arc::new(AtomicUsize::new(0));
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}authorize"),
        "token_endpoint": format!("{issuer}oauth/token"),
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "backchannel_authentication_endpoint": format!("{issuer}bc-authorize"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let counter = polls.clone();
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/.well-known/jwks.json",
            get(|| async { axum::Json(json!({"keys": []})) }),
        )
        .route(
            "/bc-authorize",
            post(move || async move { axum::Json(answer) }),
        )
        .route(
            "/oauth/token",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": poll_error, "error_description": "wait"})),
                    )
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (issuer, polls)
}

fn client(issuer: &str) -> Tollgate {
    Tollgate::new(
        tollgate_testkit::local_config(
            issuer,
            (common::CLIENT_ID, common::CLIENT_SECRET),
            common::SECRET,
            "http://127.0.0.1:3000",
        )
        .build()
        .unwrap(),
    )
}

fn opts() -> BackchannelAuthOptions {
    BackchannelAuthOptions::new("auth0|alice", "Approve transfer 4471")
}

#[tokio::test]
async fn a_huge_interval_ends_the_wait_at_once_instead_of_overflowing() {
    let (issuer, polls) = provider(
        json!({"auth_req_id": "r1", "expires_in": u64::MAX, "interval": u64::MAX}),
        "authorization_pending",
    )
    .await;
    let auth = client(&issuer);
    let result = auth.ciba().run(&opts()).await;
    assert!(
        matches!(result, Err(BackchannelAuthError::Denied)),
        "{result:?}"
    );
    assert_eq!(
        polls.load(Ordering::SeqCst),
        0,
        "no poll could come before the expiry"
    );
}

#[tokio::test]
async fn slow_down_on_a_huge_interval_saturates() {
    let (issuer, polls) = provider(
        json!({"auth_req_id": "r1", "expires_in": 300, "interval": u64::MAX}),
        "slow_down",
    )
    .await;
    let auth = client(&issuer);
    let request = auth.ciba().start(&opts()).await.unwrap();
    assert_eq!(request.interval, u64::MAX);
    let poll = auth.ciba().poll(&request).await.unwrap();
    assert!(
        matches!(poll, BackchannelPoll::Pending { interval: u64::MAX }),
        "{poll:?}"
    );
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    // And the loop: the interval is longer than the expiry, so it gives up without sleeping.
    let result = auth.ciba().run(&opts()).await;
    assert!(
        matches!(result, Err(BackchannelAuthError::Denied)),
        "{result:?}"
    );
}

//! Errors as answers: an SDK error returned with `?` from a handler answers like the SDK's own
//! routes, and "no session" has one body whichever part of the SDK found it.

use axum::http::StatusCode;
use tollgate::{AccessTokenError, MfaError};
use tollgate_axum::{AuthError, LoginRequired, MissingSessionLayer, SessionRejection};

use crate::common::{HttpBrowser, start};

#[tokio::test]
async fn no_session_has_one_body_from_the_extractor_and_from_auth() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.accept = "application/json";
    // The User extractor's rejection.
    let extractor = b.get(&app.url("/profile")).await;
    // A handler that returns Auth::access_token's error with `?`.
    let handler = b.get(&app.url("/api/payments")).await;
    assert_eq!(extractor.status, 401, "{extractor:?}");
    assert_eq!(handler.status, 401, "{handler:?}");
    let a: serde_json::Value = serde_json::from_str(&extractor.body).unwrap();
    let h: serde_json::Value = serde_json::from_str(&handler.body).unwrap();
    assert_eq!(a, h, "one shape for no session");
    assert_eq!(a["error"], "unauthorized");
}

#[test]
fn every_sdk_error_keeps_its_status_and_message() {
    let e = AuthError::from(MfaError::TokenExpired);
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(e.to_json()["error"], "mfa_token_expired");
    assert_eq!(e.to_string(), MfaError::TokenExpired.to_string());
    let e = AuthError::from(AccessTokenError::StoreUnavailable("down".into()));
    assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(e.body_text(), e.to_json().to_string());
}

#[test]
fn rejections_say_what_they_are() {
    let api = LoginRequired { redirect_to: None };
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(api.body_text().contains("does not have an active session"));
    let page = LoginRequired {
        redirect_to: Some("/auth/login?returnTo=%2F".into()),
    };
    assert_eq!(page.status(), StatusCode::FOUND);
    assert!(page.body_text().is_empty());
    let missing = SessionRejection::from(MissingSessionLayer);
    assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(missing.to_string().contains("SessionLayer"), "{missing}");
    let boxed: Box<dyn std::error::Error> = Box::new(missing);
    assert!(boxed.source().is_some());
}

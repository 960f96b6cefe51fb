//! `GET|POST /userinfo`: the user's claims for a bearer access token with the `openid` scope.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use crate::http::oauth_error::OAuthError;
use crate::state::TenantState;
use crate::{jwt, scope, tokens};

/// The handler.
pub(super) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match claims_for(&state, &headers) {
        Some(claims) => Json(Value::Object(claims)).into_response(),
        None => {
            let mut response = OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token is missing, invalid or expired, or lacks the openid scope",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
    }
}

/// Resolves the bearer token (opaque, or a JWT whose audience includes `/userinfo`).
fn claims_for(state: &TenantState, headers: &HeaderMap) -> Option<jwt::Claims> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    let opaque = state
        .store()
        .opaque_token(token)
        .map(|t| (t.email.clone(), t.scope.clone()));
    let (user, scopes) = match opaque {
        Some((email, scopes)) => (state.config.user_by_email(&email)?, scopes),
        None => {
            let claims = jwt::verify_rs256(state.keys().all(), &state.issuer, token, true)?;
            let userinfo = state.endpoint("userinfo");
            let audience_ok = match claims.get("aud")? {
                Value::Array(auds) => auds.iter().any(|a| a.as_str() == Some(&userinfo)),
                Value::String(aud) => *aud == userinfo,
                _ => false,
            };
            if !audience_ok {
                return None;
            }
            let user = state.config.user_by_sub(claims.get("sub")?.as_str()?)?;
            (user, scope::parse(claims.get("scope")?.as_str()?))
        }
    };
    scope::has(&scopes, "openid").then(|| tokens::profile_claims(state, user, &scopes))
}

//! `POST /oauth/token`: client authentication, then one handler per grant.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use crate::http::client_auth;
use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::mfa;
use crate::mfa::grants::MfaGrant;

/// A successful token response.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// The replacement recovery code (`mfa-recovery-code` grant only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recovery_code: Option<String>,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::OK, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The handler.
pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = match Params::from_body(&headers, &body) {
        Ok(params) => dispatch(&state, &headers, &params),
        Err(_) => Err(OAuthError::invalid_request(
            "The request body must be form-encoded or a JSON object",
        )),
    };
    match result {
        Ok(tokens) => tokens.into_response(),
        Err(error) => {
            tracing::info!(error = error.code(), "token request refused");
            error.into_response()
        }
    }
}

fn dispatch(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::missing("grant_type"))?;
    let mfa_grant = MfaGrant::from_grant_type(grant_type);
    if mfa_grant.is_none()
        && !matches!(
            grant_type,
            "authorization_code" | "refresh_token" | "client_credentials"
        )
    {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        ));
    }
    let client = client_auth::authenticate(&state.config, headers, params)?;
    if let Some(grant) = mfa_grant {
        return mfa::grants::exchange(state, client, params, grant);
    }
    match grant_type {
        "authorization_code" => authorization_code::exchange(state, client, params),
        "refresh_token" => refresh_token::exchange(state, client, params),
        _ => client_credentials::exchange(state, client, params),
    }
}

//! Pushed Authorization Requests (RFC 9126): `POST /oauth/par` stores an authenticated client's
//! authorization parameters and answers a one-time `request_uri` that `/authorize` accepts in
//! their place.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::http::client_auth;
use crate::http::oauth_error::OAuthError;
use crate::http::pages;
use crate::http::params::Params;
use crate::random;
use crate::state::TenantState;
use crate::store::Pushed;

/// The `request_uri` prefix RFC 9126 recommends.
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request may wait for the browser.
const LIFETIME: Duration = Duration::from_secs(60);

/// `POST /oauth/par`.
pub(super) async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(params) = Params::from_body(&headers, &body) else {
        return OAuthError::invalid_request(
            "The request body must be form-encoded or a JSON object",
        )
        .into_response();
    };
    let client = match client_auth::authenticate(&state, &headers, &params) {
        Ok(client) => client,
        Err(error) => return error.into_response(),
    };
    if params.get("request_uri").is_some() {
        return OAuthError::invalid_request("request_uri is not allowed in a pushed request")
            .into_response();
    }
    if let Some(uri) = params.get("redirect_uri")
        && !client.allows_callback(uri)
    {
        return OAuthError::invalid_request(format!(
            "The provided redirect_uri is not in the list of allowed callback URLs: {uri}"
        ))
        .into_response();
    }
    let request_uri = format!("{PREFIX}{}", random::token(24));
    {
        let mut store = state.store();
        let now = state.moment();
        store.par.requests.retain(|_, p| p.expires_at > now);
        store.par.requests.insert(
            request_uri.clone(),
            Pushed {
                client_id: client.client_id().to_owned(),
                params: params.without_client_credentials(),
                expires_at: now + LIFETIME,
            },
        );
    }
    let mut response = (
        StatusCode::CREATED,
        Json(json!({"request_uri": request_uri, "expires_in": LIFETIME.as_secs()})),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The parameters `/authorize` works with: the pushed ones when the query names a
/// `request_uri` (used once, by the client that pushed it), else the query's own. A bad
/// `request_uri` gets the 400 page that says why.
pub(super) fn resolve(state: &TenantState, query: Params) -> Result<Params, Box<Response>> {
    let Some(uri) = query.get("request_uri") else {
        return Ok(query);
    };
    let invalid = |message: &str| {
        Box::new(pages::error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            message,
        ))
    };
    let pushed = state
        .store()
        .par
        .requests
        .remove(uri)
        .filter(|p| p.expires_at > state.moment())
        .ok_or_else(|| invalid("The request_uri is unknown, expired or was already used."))?;
    if query.get("client_id") != Some(pushed.client_id.as_str()) {
        return Err(invalid("The client_id does not match the pushed request."));
    }
    Ok(pushed.params.with("client_id", &pushed.client_id))
}

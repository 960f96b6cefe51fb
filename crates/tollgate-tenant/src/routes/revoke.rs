//! `POST /oauth/revoke`: revokes a refresh token and every token of its family.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::events::NewEvent;
use crate::http::client_auth;
use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;

/// The handler: 200 with an empty body, also for unknown tokens (RFC 7009 §2.2).
pub(super) async fn revoke(
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
    let Some(token) = params.get("token") else {
        return OAuthError::missing("token").into_response();
    };
    let owner = {
        let mut store = state.store();
        let owner = store
            .refresh
            .peek(token)
            .filter(|f| f.client_id == client.client_id())
            .map(|f| f.email.clone());
        store.refresh.revoke_token(token, client.client_id());
        owner
    };
    let mut event = NewEvent::new("srrt", "Successful refresh token revocation")
        .client(Some(client.client_id()));
    if let Some(user) = owner.and_then(|email| state.config.user_by_email(&email)) {
        event = event.user(user);
    }
    state.events.record(event);
    StatusCode::OK.into_response()
}

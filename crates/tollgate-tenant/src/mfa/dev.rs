//! The development outbox over HTTP: `GET /dev/outbox` (HTML), `GET /dev/outbox.json` and
//! `POST /dev/outbox/push/{id}/approve|deny`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::pages;
use crate::http::pages::error_page;
use crate::state::TenantState;

/// `GET /dev/outbox`: the messages as an HTML table, newest first, with Approve and Deny
/// buttons for pending push requests.
pub(crate) async fn page(State(state): State<Arc<TenantState>>) -> Response {
    let messages = state.store().mfa.outbox.messages().to_vec();
    pages::outbox_page(&messages)
}

/// `GET /dev/outbox.json`: `[{"id","channel","to","user","code","created_at","state"}]`, newest
/// first (`created_at` in Unix seconds; `code` null for push, `state` null otherwise), plus
/// `binding_message` for back-channel (CIBA) login requests.
pub(crate) async fn json(State(state): State<Arc<TenantState>>) -> Response {
    let list: Vec<Value> = state
        .store()
        .mfa
        .outbox
        .messages()
        .iter()
        .rev()
        .map(|m| {
            let mut entry = json!({
                "id": m.id,
                "channel": m.channel,
                "to": m.to,
                "user": m.user_email,
                "code": m.code,
                "created_at": m.created_at,
                "state": m.state,
            });
            if let Some(message) = &m.binding_message {
                entry["binding_message"] = json!(message);
            }
            entry
        })
        .collect();
    let mut response = Json(Value::Array(list)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /dev/outbox/push/{id}/approve`.
pub(crate) async fn approve(
    State(state): State<Arc<TenantState>>,
    Path(id): Path<String>,
) -> Response {
    answer(&state, &id, true)
}

/// `POST /dev/outbox/push/{id}/deny`.
pub(crate) async fn deny(
    State(state): State<Arc<TenantState>>,
    Path(id): Path<String>,
) -> Response {
    answer(&state, &id, false)
}

/// Answers the push request and goes back to the outbox page (303).
fn answer(state: &TenantState, id: &str, approve: bool) -> Response {
    if !state.store().mfa.outbox.answer_push(id, approve) {
        return error_page(
            StatusCode::NOT_FOUND,
            "No such push request",
            "There is no pending push request with this id; it may have been answered already.",
        );
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/dev/outbox"));
    response
}

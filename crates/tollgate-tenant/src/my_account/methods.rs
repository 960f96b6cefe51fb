//! `GET|DELETE /me/v1/authentication-methods` (the user's enrolled factors) and
//! `GET|PATCH /my-org/details` (the organization in the token's `org_id`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, Problem, json_response, me, respond};
use crate::state::TenantState;

/// The My Account API's name for an authenticator kind.
fn method_type(factor_type: &str) -> &str {
    match factor_type {
        "otp" => "totp",
        other => other,
    }
}

/// `GET /me/v1/authentication-methods`.
pub(super) async fn list(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        let caller = me(
            &state,
            &method,
            &uri,
            &headers,
            "read:me:authentication_methods",
        )?;
        let mut store = state.store();
        let methods: Vec<Value> = store
            .mfa
            .user(&caller.user)
            .all()
            .filter(|a| a.active)
            .map(|a| {
                let j = a.to_json();
                let mut m = json!({
                    "id": a.id,
                    "type": method_type(j["type"].as_str().unwrap_or_default()),
                    "confirmed": true,
                });
                if let Some(name) = j.get("name") {
                    m["name"] = name.clone();
                }
                m
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({ "authentication_methods": methods }),
        ))
    })())
}

/// `DELETE /me/v1/authentication-methods/{id}`.
pub(super) async fn delete(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| {
        let caller = me(
            &state,
            &method,
            &uri,
            &headers,
            "delete:me:authentication_methods",
        )?;
        if state.store().mfa.user(&caller.user).remove(&id) {
            tracing::info!(sub = %caller.user.sub(), %id, "authentication method removed");
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(Problem::not_found("Authentication method not found"))
        }
    })())
}

fn org_caller(
    state: &TenantState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    scope: &str,
) -> Result<(Caller, String), Problem> {
    let caller = super::auth::authenticate(
        state,
        method,
        uri.path(),
        headers,
        state.my_org_audience(),
        scope,
    )?;
    let org = caller.org_id.clone().ok_or_else(|| {
        Problem::forbidden("The token has no org_id: log in to an organization first")
    })?;
    Ok((caller, org))
}

fn org_json(state: &TenantState, org: &str) -> Value {
    let display = state
        .store()
        .my_account
        .org_display_name(org)
        .unwrap_or(org)
        .to_owned();
    json!({"id": org, "name": org, "display_name": display})
}

/// `GET /my-org/details`.
pub(super) async fn org_details(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        let (_, org) = org_caller(&state, &method, &uri, &headers, "read:my_org:details")?;
        Ok(json_response(StatusCode::OK, &org_json(&state, &org)))
    })())
}

/// `PATCH /my-org/details`: `{"display_name": "…"}` (1–255 characters), nothing else.
pub(super) async fn update_org(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let (_, org) = org_caller(&state, &method, &uri, &headers, "update:my_org:details")?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| Problem::invalid("body", "The body must be a JSON object"))?;
        let object = value
            .as_object()
            .ok_or_else(|| Problem::invalid("body", "The body must be a JSON object"))?;
        if let Some(extra) = object.keys().find(|k| k.as_str() != "display_name") {
            return Err(Problem::invalid(
                extra,
                "Additional properties are not allowed",
            ));
        }
        let name = object
            .get("display_name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty() && n.chars().count() <= 255)
            .ok_or_else(|| {
                Problem::invalid("display_name", "Must be a string of 1 to 255 characters")
            })?;
        state
            .store()
            .my_account
            .set_org_display_name(&org, name.to_owned());
        Ok(json_response(StatusCode::OK, &org_json(&state, &org)))
    })())
}

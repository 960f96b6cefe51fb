//! Auth0's My Account API (`{issuer}me/v1`) and My Organization API (`{issuer}my-org`): resource
//! servers for the signed-in user's own account, called with access tokens for the audiences
//! `{issuer}me/` and `{issuer}my-org/` (Bearer, or DPoP with a proof). Errors are RFC 7807
//! problem documents; CORS preflights need no token.
//!
//! - Connected Accounts: `POST /me/v1/connected-accounts/connect` → ticket, the provider's consent
//!   page at `/connected-accounts/connect?ticket=…`, `POST /me/v1/connected-accounts/complete`,
//!   `GET /me/v1/connected-accounts/accounts`, `DELETE …/accounts/{id}`,
//!   `GET /me/v1/connected-accounts/connections`.
//! - `GET /me/v1/authentication-methods`, `DELETE /me/v1/authentication-methods/{id}`.
//! - `GET|PATCH /my-org/details` for the organization in the token's `org_id`.

mod auth;
mod connect;
mod methods;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

pub(crate) use auth::Caller;

use crate::state::TenantState;

/// The caller of a My Account API endpoint, with `scope`.
fn me(
    state: &TenantState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Caller, Problem> {
    auth::authenticate(
        state,
        method,
        uri.path(),
        headers,
        state.me_audience(),
        scope,
    )
}

/// The routes, with CORS on the two APIs (not on the consent page).
pub(crate) fn router(state: Arc<TenantState>) -> Router<Arc<TenantState>> {
    let apis = Router::new()
        .route("/me/v1/connected-accounts/connect", post(connect::connect))
        .route(
            "/me/v1/connected-accounts/complete",
            post(connect::complete),
        )
        .route("/me/v1/connected-accounts/accounts", get(connect::list))
        .route(
            "/me/v1/connected-accounts/accounts/{id}",
            delete(connect::delete),
        )
        .route(
            "/me/v1/connected-accounts/connections",
            get(connect::connections),
        )
        .route("/me/v1/authentication-methods", get(methods::list))
        .route(
            "/me/v1/authentication-methods/{id}",
            delete(methods::delete),
        )
        .route(
            "/my-org/details",
            get(methods::org_details).patch(methods::update_org),
        )
        .layer(axum::middleware::from_fn_with_state(state, cors));
    Router::new()
        .route(
            "/connected-accounts/connect",
            get(connect::consent_page).post(connect::decide),
        )
        .merge(apis)
}

/// An RFC 7807 problem: status, title, detail, and the fields that were invalid.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    validation_errors: Vec<(String, String)>,
    /// `WWW-Authenticate` for a 401 or 403 about the token.
    challenge: Option<String>,
    dpop_nonce: Option<String>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title,
            detail: detail.into(),
            validation_errors: Vec::new(),
            challenge: None,
            dpop_nonce: None,
        }
    }

    /// A 400 naming the invalid `field`.
    pub(crate) fn invalid(field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(
            StatusCode::BAD_REQUEST,
            "Validation Error",
            "Invalid request payload input",
        );
        p.validation_errors.push((field.to_owned(), detail));
        p
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }

    pub(crate) fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub(crate) fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    fn to_json(&self) -> Value {
        let mut body = json!({
            "type": format!("https://auth0.com/api-errors/A0E-{}-0001", self.status.as_u16()),
            "status": self.status.as_u16(),
            "title": self.title,
            "detail": self.detail,
        });
        if !self.validation_errors.is_empty() {
            body["validation_errors"] = self
                .validation_errors
                .iter()
                .map(|(field, detail)| {
                    json!({"detail": detail, "field": field, "pointer": format!("/{field}"), "source": "body"})
                })
                .collect();
        }
        body
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.to_json().to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(v) = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        if let Some(v) = self
            .dpop_nonce
            .as_deref()
            .and_then(|n| HeaderValue::from_str(n).ok())
        {
            h.insert("dpop-nonce", v);
        }
        resp
    }
}

/// Answers a handler's result.
pub(crate) fn respond(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// JSON with `status`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The request's `Origin` when the tenant allows it.
fn allowed_origin(state: &TenantState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state
        .config
        .allowed_web_origins()
        .iter()
        .any(|o| o.trim_end_matches('/') == text)
        .then(|| origin.clone())
}

/// CORS for the two APIs: a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
/// here without a token, `204`, with the allow headers only for an allowed origin; answers to an
/// allowed origin carry `Access-Control-Allow-Origin`.
async fn cors(State(state): State<Arc<TenantState>>, request: Request, next: Next) -> Response {
    let origin = allowed_origin(&state, request.headers());
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut resp = if preflight {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if origin.is_some() {
            let h = resp.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PATCH, DELETE, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, dpop, content-type, scope"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        resp
    } else {
        next.run(request).await
    };
    if let Some(o) = origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("dpop-nonce, www-authenticate"),
        );
    }
    resp
}

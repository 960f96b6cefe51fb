//! Rejections: each has an explicit status and body.

use axum::Json;
use axum::http::header::{ACCEPT, CACHE_CONTROL, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tollgate::{BaseUrlError, RequestOrigin, Tollgate};

/// No session: a page is redirected to the login route with `returnTo`, an API gets `401` JSON.
#[derive(Debug, Clone)]
pub struct LoginRequired {
    /// `Some(login URL)` for a page request, `None` for an API request.
    pub redirect_to: Option<String>,
}

/// Whether the request is a page navigation (it accepts HTML).
pub(crate) fn wants_html(parts: &Parts) -> bool {
    wants_html_headers(&parts.headers)
}

pub(crate) fn wants_html_headers(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// With an allow-list of base URLs, a page request came from a host the list does not name:
/// `400` JSON, and no redirect to the login route on that host.
#[derive(Debug, Clone)]
pub struct HostNotAllowed(pub BaseUrlError);

impl IntoResponse for HostNotAllowed {
    fn into_response(self) -> Response {
        let mut resp = (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_host", "error_description": self.0.to_string()})),
        )
            .into_response();
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// With an allow-list of base URLs, whether the request's host is allowed (always, with a static
/// base URL): checked before redirecting a page to the login route.
pub(crate) fn check_host(
    auth: &Tollgate,
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
) -> Result<(), HostNotAllowed> {
    if !auth.config().has_dynamic_base_url() {
        return Ok(());
    }
    auth.config()
        .resolve_app_base_url(&RequestOrigin::from_parts(headers, uri))
        .map(|_| ())
        .map_err(HostNotAllowed)
}

impl LoginRequired {
    /// The rejection for a request without a session: a redirect to the login route for a page
    /// on an allowed host, 400 for a page on another host, 401 for an API call.
    pub(crate) fn reject(auth: &Tollgate, parts: &Parts) -> SessionRejection {
        if wants_html(parts)
            && let Err(e) = check_host(auth, &parts.headers, &parts.uri)
        {
            return SessionRejection::HostNotAllowed(e);
        }
        Self::for_request(auth, parts).into()
    }

    pub(crate) fn for_request(auth: &Tollgate, parts: &Parts) -> Self {
        if !wants_html(parts) {
            return Self { redirect_to: None };
        }
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let login = format!(
            "{}?returnTo={}",
            auth.config().routes().login,
            url_encode(here)
        );
        Self {
            redirect_to: Some(login),
        }
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        match self.redirect_to {
            Some(to) => {
                let mut resp = StatusCode::FOUND.into_response();
                if let Ok(v) = HeaderValue::from_str(&to) {
                    resp.headers_mut().insert(LOCATION, v);
                }
                resp.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                resp
            }
            None => (
                StatusCode::UNAUTHORIZED,
                Json(json!({
                    "error": "unauthorized",
                    "error_description": "The user does not have an active session."
                })),
            )
                .into_response(),
        }
    }
}

/// The handler uses a Tollgate extractor but the router has no [`SessionLayer`](crate::SessionLayer).
#[derive(Debug, Clone, Copy)]
pub struct MissingSessionLayer;

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!(
            "a Tollgate extractor ran without tollgate_axum::SessionLayer on the router"
        );
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Tollgate is misconfigured: add tollgate_axum::SessionLayer to the router.",
        )
            .into_response()
    }
}

/// The session store is unreachable: `503` with a JSON body, never "logged out".
#[derive(Debug, Clone)]
pub struct SessionUnavailable(pub String);

impl IntoResponse for SessionUnavailable {
    fn into_response(self) -> Response {
        let mut resp = (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "session_store_unavailable", "error_description": self.0})),
        )
            .into_response();
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        resp
    }
}

/// Why [`Session`](crate::Session) or [`User`](crate::User) could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionRejection {
    /// No session.
    LoginRequired(LoginRequired),
    /// The layer is missing.
    MissingLayer(MissingSessionLayer),
    /// The session store is down.
    Unavailable(SessionUnavailable),
    /// A page request from a host that is not an allowed base URL.
    HostNotAllowed(HostNotAllowed),
}

impl From<LoginRequired> for SessionRejection {
    fn from(r: LoginRequired) -> Self {
        Self::LoginRequired(r)
    }
}

impl From<MissingSessionLayer> for SessionRejection {
    fn from(r: MissingSessionLayer) -> Self {
        Self::MissingLayer(r)
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            Self::LoginRequired(r) => r.into_response(),
            Self::MissingLayer(r) => r.into_response(),
            Self::Unavailable(r) => r.into_response(),
            Self::HostNotAllowed(r) => r.into_response(),
        }
    }
}

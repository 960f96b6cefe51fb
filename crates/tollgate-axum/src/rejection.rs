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

impl HostNotAllowed {
    /// `400 Bad Request`.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// The JSON body.
    pub fn body_text(&self) -> String {
        json!({"error": "invalid_host", "error_description": self.0.to_string()}).to_string()
    }
}

impl std::fmt::Display for HostNotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for HostNotAllowed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

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

/// The API answer for a request without a session; the same body whichever extractor or SDK call
/// found no session.
pub(crate) fn no_session_json() -> serde_json::Value {
    json!({
        "error": "unauthorized",
        "error_description": "The user does not have an active session."
    })
}

impl LoginRequired {
    /// `302 Found` for a page, `401 Unauthorized` for an API call.
    pub fn status(&self) -> StatusCode {
        if self.redirect_to.is_some() {
            StatusCode::FOUND
        } else {
            StatusCode::UNAUTHORIZED
        }
    }

    /// The body: empty for a redirect, else the JSON error.
    pub fn body_text(&self) -> String {
        match self.redirect_to {
            Some(_) => String::new(),
            None => no_session_json().to_string(),
        }
    }
}

impl std::fmt::Display for LoginRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the user does not have an active session")
    }
}

impl std::error::Error for LoginRequired {}

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
            None => (StatusCode::UNAUTHORIZED, Json(no_session_json())).into_response(),
        }
    }
}

/// The handler uses a Tollgate extractor but the router has no [`SessionLayer`](crate::SessionLayer).
#[derive(Debug, Clone, Copy)]
pub struct MissingSessionLayer;

const MISSING_LAYER: &str =
    "Tollgate is misconfigured: add tollgate_axum::SessionLayer to the router.";

impl MissingSessionLayer {
    /// `500 Internal Server Error`.
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The body: what to fix.
    pub fn body_text(&self) -> String {
        MISSING_LAYER.to_owned()
    }
}

impl std::fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MISSING_LAYER)
    }
}

impl std::error::Error for MissingSessionLayer {}

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!(
            target: "tollgate_axum::rejection",
            "a Tollgate extractor ran without tollgate_axum::SessionLayer on the router"
        );
        (self.status(), self.body_text()).into_response()
    }
}

/// The session store is unreachable: `503` with a JSON body, never "logged out".
#[derive(Debug, Clone)]
pub struct SessionUnavailable(pub String);

impl SessionUnavailable {
    /// `503 Service Unavailable`.
    pub fn status(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    /// The JSON body.
    pub fn body_text(&self) -> String {
        json!({"error": "session_store_unavailable", "error_description": self.0}).to_string()
    }
}

impl std::fmt::Display for SessionUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the session store is unavailable: {}", self.0)
    }
}

impl std::error::Error for SessionUnavailable {}

impl IntoResponse for SessionUnavailable {
    fn into_response(self) -> Response {
        tracing::warn!(target: "tollgate_axum::rejection", error = %self, "answered 503");
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

impl SessionRejection {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::LoginRequired(r) => r.status(),
            Self::MissingLayer(r) => r.status(),
            Self::Unavailable(r) => r.status(),
            Self::HostNotAllowed(r) => r.status(),
        }
    }

    /// The body of the answer.
    pub fn body_text(&self) -> String {
        match self {
            Self::LoginRequired(r) => r.body_text(),
            Self::MissingLayer(r) => r.body_text(),
            Self::Unavailable(r) => r.body_text(),
            Self::HostNotAllowed(r) => r.body_text(),
        }
    }
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LoginRequired(r) => r.fmt(f),
            Self::MissingLayer(r) => r.fmt(f),
            Self::Unavailable(r) => r.fmt(f),
            Self::HostNotAllowed(r) => r.fmt(f),
        }
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::LoginRequired(r) => Some(r),
            Self::MissingLayer(r) => Some(r),
            Self::Unavailable(r) => Some(r),
            Self::HostNotAllowed(r) => Some(r),
        }
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

//! OAuth error answers: JSON bodies for endpoints, redirects for `/authorize`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error from a JSON endpoint: `{"error": …, "error_description": …}` with its status, and
/// extra members for errors such as `mfa_required`.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    extra: Map<String, Value>,
    /// Answers 401 with `WWW-Authenticate: Bearer error="…"`.
    bearer_challenge: bool,
    /// A `DPoP-Nonce` header for the client's next proof.
    dpop_nonce: Option<String>,
}

impl OAuthError {
    /// Any status, code and description.
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            extra: Map::new(),
            bearer_challenge: false,
            dpop_nonce: None,
        }
    }

    /// Adds a `DPoP-Nonce` header.
    pub(crate) fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// Adds a member to the JSON body.
    pub(crate) fn with_field(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// Adds `WWW-Authenticate: Bearer error="<code>"` (for bearer-token endpoints).
    pub(crate) fn with_bearer_challenge(mut self) -> Self {
        self.bearer_challenge = true;
        self
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_request` for a missing parameter, in Auth0's words.
    pub(crate) fn missing(parameter: &str) -> Self {
        Self::invalid_request(format!("Missing required parameter: {parameter}"))
    }

    /// 401 `invalid_client` "Client authentication failed".
    pub(crate) fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
    }

    /// 403 `invalid_grant`.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "invalid_grant", description)
    }

    /// 403 `access_denied`.
    pub(crate) fn access_denied(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    /// The `error` code.
    pub(crate) fn code(&self) -> &'static str {
        self.error
    }

    /// The `error_description`.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error, "error_description": self.description });
        if let Value::Object(object) = &mut body {
            object.extend(self.extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(nonce) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert("dpop-nonce", nonce);
        }
        if self.bearer_challenge
            && let Ok(value) = HeaderValue::from_str(&format!("Bearer error=\"{}\"", self.error))
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// A `302 Found` to `location`, with `Cache-Control: no-store`.
pub(crate) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => {
            // URLs built by `url::Url` are always valid header values.
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Appends `pairs` to the query of `base` (a URL already checked against the allow-list).
pub(crate) fn with_query(base: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(n, v)| v.map(|v| (*n, v)))
        .collect();
    let Ok(mut url) = url::Url::parse(base) else {
        return base.to_owned();
    };
    if present.is_empty() {
        return base.to_owned();
    }
    url.query_pairs_mut().extend_pairs(present);
    url.to_string()
}

/// The RFC 6749 §4.1.2.1 error redirect: `redirect_uri?error=…&error_description=…&state=…`.
pub(crate) fn error_redirect(
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    redirect(&with_query(
        redirect_uri,
        &[
            ("error", Some(error)),
            ("error_description", Some(description)),
            ("state", state),
        ],
    ))
}

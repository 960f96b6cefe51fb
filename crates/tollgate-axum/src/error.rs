//! [`AuthError`]: every SDK error as an axum response, so handlers can use `?`.

use axum::Json;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tollgate::{
    AccessTokenError, ConnectAccountError, ConnectionTokenError, FetchError, MfaError,
    MfaRequiredError, ProxyError,
};

/// Any error a handler meets through the SDK, answered the way the SDK's own routes answer it:
/// the same status and JSON body (`mfa_required` with its `mfa_token`, `{"error": {"message",
/// "code"}}` for access tokens, `{"error", "error_description"}` otherwise), and `no-store`.
///
/// Each SDK error converts with `?`:
///
/// ```
/// use tollgate::AccessTokenOptions;
/// use tollgate_axum::{Auth, AuthError};
///
/// async fn payments(auth: Auth) -> Result<String, AuthError> {
///     let token = auth
///         .access_token(AccessTokenOptions::new().audience("https://payments.example.com"))
///         .await?;
///     Ok(format!("calling the API with a {} token", token.token_type))
/// }
/// # let _ = axum::Router::<()>::new().route("/payments", axum::routing::get(payments));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A session, configuration, provider or callback error.
    #[error(transparent)]
    Sdk(#[from] tollgate::Error),
    /// No access token (no session, refresh failed, MFA required, store down).
    #[error(transparent)]
    AccessToken(#[from] AccessTokenError),
    /// An MFA API call failed.
    #[error(transparent)]
    Mfa(#[from] MfaError),
    /// A Connected Accounts call failed.
    #[error(transparent)]
    ConnectAccount(#[from] ConnectAccountError),
    /// The My Account / My Organization proxy refused or failed.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// An API call through `fetch_with_auth` could not be made.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// No Token Vault token for a connection.
    #[error(transparent)]
    ConnectionToken(#[from] ConnectionTokenError),
}

impl From<MfaRequiredError> for AuthError {
    fn from(e: MfaRequiredError) -> Self {
        Self::AccessToken(AccessTokenError::MfaRequired(e))
    }
}

impl AuthError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Sdk(e) => e.status(),
            Self::AccessToken(e) => e.status(),
            Self::Mfa(e) => e.status(),
            Self::ConnectAccount(e) => e.status(),
            Self::Proxy(e) => e.status(),
            Self::Fetch(FetchError::AccessToken(e)) => e.status(),
            Self::Fetch(FetchError::Unreachable(_)) => StatusCode::BAD_GATEWAY,
            Self::Fetch(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ConnectionToken(ConnectionTokenError::FailedToExchange(_)) => {
                StatusCode::BAD_GATEWAY
            }
            Self::ConnectionToken(ConnectionTokenError::MissingRefreshToken) => {
                StatusCode::UNAUTHORIZED
            }
            Self::ConnectionToken(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Whether the error is "no session", answered with the same body as the
    /// [`User`](crate::User) extractor's [`LoginRequired`](crate::LoginRequired).
    fn is_no_session(&self) -> bool {
        let no_session = |e: &AccessTokenError| matches!(e, AccessTokenError::MissingSession);
        match self {
            Self::AccessToken(e) | Self::Fetch(FetchError::AccessToken(e)) => no_session(e),
            Self::ConnectAccount(ConnectAccountError::AccessToken(e)) => no_session(e),
            Self::Proxy(ProxyError::AccessToken(e)) => no_session(e),
            Self::Mfa(MfaError::MissingSession) => true,
            _ => false,
        }
    }

    /// The JSON body of the answer.
    pub fn to_json(&self) -> Value {
        if self.is_no_session() {
            return crate::rejection::no_session_json();
        }
        match self {
            Self::Sdk(e) => json!({"error": e.code(), "error_description": e.to_string()}),
            Self::AccessToken(e) => e.to_json(),
            Self::Mfa(e) => e.to_json(),
            Self::ConnectAccount(e) => e.to_json(),
            Self::Proxy(e) => e.to_json(),
            Self::Fetch(FetchError::AccessToken(e)) => e.to_json(),
            Self::Fetch(e) => json!({"error": "fetch_failed", "error_description": e.to_string()}),
            Self::ConnectionToken(e) => {
                json!({"error": {"message": e.to_string(), "code": e.code()}})
            }
        }
    }

    /// The body as text (the JSON of [`to_json`](Self::to_json)).
    pub fn body_text(&self) -> String {
        self.to_json().to_string()
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(target: "tollgate_axum::error", error = %self, "request failed");
        } else {
            tracing::debug!(target: "tollgate_axum::error", error = %self, "request refused");
        }
        let mut resp = (status, Json(self.to_json())).into_response();
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

//! Access tokens: found in the session by audience and scope, refreshed when missing or expired,
//! and written back so that no refreshed or rotated token is ever dropped.

mod cache;
pub(crate) mod exchange;
pub(crate) mod fetcher;
mod refresh;
pub(crate) mod single_flight;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::error::{IdTokenError, ProviderError};
use crate::session::SessionData;
use crate::step_up::mfa::MfaRequiredError;

/// What token to get.
///
/// ```
/// let opts = tollgate::AccessTokenOptions::new()
///     .audience("https://payments.example.com")
///     .scope("read:payments");
/// assert_eq!(opts.audience_value(), Some("https://payments.example.com"));
/// ```
#[derive(Debug, Clone)]
pub struct AccessTokenOptions {
    audience: Option<String>,
    scope: Option<String>,
    force_refresh: bool,
    merge_scopes: bool,
}

impl Default for AccessTokenOptions {
    fn default() -> Self {
        Self {
            audience: None,
            scope: None,
            force_refresh: false,
            merge_scopes: true,
        }
    }
}

impl AccessTokenOptions {
    /// The default audience and scope of the login.
    pub fn new() -> Self {
        Self::default()
    }

    /// An API audience (multi-resource refresh token when it is not the login's).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into()).filter(|a| !a.is_empty());
        self
    }

    /// Extra scopes, merged with the configured scope unless [`merge_scopes(false)`](Self::merge_scopes).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into()).filter(|s| !s.trim().is_empty());
        self
    }

    /// Refresh even when the cached token is still valid.
    pub fn force_refresh(mut self) -> Self {
        self.force_refresh = true;
        self
    }

    /// Whether `scope` is merged with the configured scope (default true).
    pub fn merge_scopes(mut self, merge: bool) -> Self {
        self.merge_scopes = merge;
        self
    }

    /// The audience asked for.
    pub fn audience_value(&self) -> Option<&str> {
        self.audience.as_deref()
    }
}

/// An access token from the session.
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// Granted scope.
    pub scope: Option<String>,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// Its audience (`None` = the login's default audience).
    pub audience: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .finish()
    }
}

impl AccessToken {
    /// The JSON of the access-token route: `{token, scope, expires_at, expires_in, token_type}`.
    pub fn to_json(&self, now: u64) -> Value {
        json!({
            "token": self.token,
            "scope": self.scope,
            "expires_at": self.expires_at,
            "expires_in": self.expires_at.saturating_sub(now),
            "token_type": self.token_type,
        })
    }
}

/// A token, and the session to save when getting it changed the session (refresh, rotation).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessTokenOutcome {
    /// The token.
    pub token: AccessToken,
    /// `Some` when the session changed and must be saved.
    pub session: Option<SessionData>,
}

/// An access token from [`Tollgate::access_token_for`](crate::Tollgate::access_token_for), and the
/// session as saved when getting it changed the session (a refresh, a rotated refresh token).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenFetch {
    /// The token.
    pub token: AccessToken,
    /// The session written back and its cookies, when it changed; the response must carry them.
    pub saved: Option<crate::SavedSession>,
}

impl TokenFetch {
    pub(crate) fn cached(token: AccessToken) -> Self {
        Self { token, saved: None }
    }
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// Not signed in.
    #[error("The user does not have an active session.")]
    MissingSession,
    /// The token is missing or expired and there is no refresh token (ask for `offline_access`).
    #[error(
        "The access token has expired and a refresh token was not provided. The user needs to re-authenticate."
    )]
    MissingRefreshToken,
    /// The provider requires MFA for this token.
    #[error(transparent)]
    MfaRequired(MfaRequiredError),
    /// The refresh grant failed (for example `invalid_grant`: the user must log in again).
    #[error("The access token could not be refreshed: {0}")]
    RefreshFailed(ProviderError),
    /// The refreshed ID token is invalid.
    #[error("The refreshed ID token is invalid: {0}")]
    InvalidIdToken(IdTokenError),
    /// The session store failed while the token was read, locked or saved. The user is still
    /// signed in: answer 503 and let the client try again.
    #[error("The session store is unavailable ({0}); the session is unchanged, try again.")]
    StoreUnavailable(String),
}

impl AccessTokenError {
    /// The wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSession => "missing_session",
            Self::MissingRefreshToken => "missing_refresh_token",
            Self::MfaRequired(_) => "mfa_required",
            Self::RefreshFailed(_) => "failed_to_refresh_token",
            Self::InvalidIdToken(_) => "invalid_id_token",
            Self::StoreUnavailable(_) => "session_store_unavailable",
        }
    }

    /// The HTTP status of the access-token route.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::MfaRequired(_) => http::StatusCode::FORBIDDEN,
            Self::RefreshFailed(ProviderError::Unreachable { .. }) => http::StatusCode::BAD_GATEWAY,
            Self::StoreUnavailable(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::UNAUTHORIZED,
        }
    }

    /// The JSON body: the MFA body for `mfa_required`, else `{"error":{"message","code"}}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::MfaRequired(e) => e.to_json(),
            other => json!({"error": {"message": other.to_string(), "code": other.code()}}),
        }
    }
}

pub(super) fn scopes(s: &str) -> BTreeSet<&str> {
    s.split_whitespace().collect()
}

/// `a` then the members of `b` not in `a`.
pub(crate) fn merge_scopes(a: &str, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in a.split_whitespace().chain(b.split_whitespace()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_merge_without_duplicates() {
        assert_eq!(
            merge_scopes("openid profile", "profile read:x"),
            "openid profile read:x"
        );
        assert_eq!(merge_scopes("", "a"), "a");
    }

    #[test]
    fn a_store_outage_is_a_503_not_a_logout() {
        let e = AccessTokenError::StoreUnavailable("timed out".into());
        assert_eq!(e.status(), 503);
        assert_eq!(e.to_json()["error"]["code"], "session_store_unavailable");
    }
}

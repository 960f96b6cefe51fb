//! MFA errors, with the wire codes and JSON shapes of the reference SDK.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ProviderError;

/// One factor type in `mfa_requirements` (`otp`, `phone`, `email`, `push-notification`,
/// `recovery-code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorRequirement {
    /// The factor type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What the provider requires: factors to challenge, or factors to enroll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRequirements {
    /// Factors the user may be challenged with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Vec<FactorRequirement>>,
    /// Factors the user must enroll first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enroll: Option<Vec<FactorRequirement>>,
}

impl MfaRequirements {
    /// The challenge types, lower-cased; empty when there is no `challenge` list.
    pub fn challenge_types(&self) -> Vec<String> {
        self.challenge
            .iter()
            .flatten()
            .map(|f| f.kind.to_ascii_lowercase())
            .collect()
    }
}

/// The provider wants multi-factor authentication before it issues this token.
///
/// Its [`to_json`](Self::to_json) is exactly the reference SDK's body, answered with status 403:
/// `{"error":"mfa_required","error_description":…,"mfa_token":…,"mfa_requirements":…}`. The
/// `mfa_token` is **sealed**: encrypted and authenticated with a key of its own, bound to the
/// session it was issued for, and valid for a limited time (300 s by default).
///
/// ```
/// let e = tollgate::MfaRequiredError {
///     error_description: "Multifactor authentication required".into(),
///     mfa_token: "sealed".into(),
///     mfa_requirements: None,
/// };
/// assert_eq!(e.to_json()["error"], "mfa_required");
/// assert!(e.to_json().get("mfa_requirements").is_none());
/// assert_eq!(e.status(), 403);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaRequiredError {
    /// The provider's description.
    pub error_description: String,
    /// The sealed MFA token; empty when the provider sent none (the user must log in again).
    pub mfa_token: String,
    /// What the provider requires, when it said.
    pub mfa_requirements: Option<MfaRequirements>,
}

impl MfaRequiredError {
    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "error": "mfa_required",
            "error_description": self.error_description,
            "mfa_token": self.mfa_token,
        });
        if let Some(r) = &self.mfa_requirements {
            v["mfa_requirements"] = serde_json::to_value(r).unwrap_or(Value::Null);
        }
        v
    }

    /// The HTTP status: 403.
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::FORBIDDEN
    }
}

impl std::fmt::Display for MfaRequiredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "multi-factor authentication is required: {}",
            self.error_description
        )
    }
}

impl std::error::Error for MfaRequiredError {}

/// An MFA operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError {
    /// Another factor is required (chained MFA); carries a new sealed token.
    #[error(transparent)]
    MfaRequired(MfaRequiredError),
    /// The sealed MFA token has expired.
    #[error("MFA token has expired. Please restart the MFA flow.")]
    TokenExpired,
    /// The sealed MFA token is tampered with, sealed with another secret, or from another session.
    #[error("MFA token is invalid.")]
    TokenInvalid,
    /// None of the user's factors satisfies what the provider requires.
    #[error("No authenticator of the required types is available: {0}")]
    NoAvailableFactors(String),
    /// The request is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// There is no session to store the result in.
    #[error("The user does not have an active session.")]
    MissingSession,
    /// The provider verified a different user than the session's.
    #[error("The verified identity does not match the signed-in user.")]
    IdentityMismatch,
    /// The provider refused (its `error` code is kept: `invalid_grant`, `authorization_pending`,
    /// `slow_down`, `too_many_attempts`, `unsupported_challenge_type`, …).
    #[error("{description}")]
    Provider {
        /// HTTP status from the provider.
        status: u16,
        /// The provider's `error`.
        error: String,
        /// The provider's `error_description`.
        description: String,
    },
    /// The provider could not be reached or answered nonsense.
    #[error("the MFA service is unavailable: {0}")]
    Unavailable(ProviderError),
    /// The request came from another site's page (its `Origin`, or `Sec-Fetch-Site: cross-site`):
    /// a leaked `mfa_token` is of no use to another site. Nothing was sent to the provider.
    #[error("Cross-site requests to the MFA routes are refused.")]
    CrossSite,
}

impl MfaError {
    /// The wire code.
    pub fn code(&self) -> &str {
        match self {
            Self::MfaRequired(_) => "mfa_required",
            Self::TokenExpired => "mfa_token_expired",
            Self::TokenInvalid => "mfa_token_invalid",
            Self::NoAvailableFactors(_) => "mfa_no_available_factors",
            Self::InvalidRequest(_) => "invalid_request",
            Self::MissingSession => "missing_session",
            Self::IdentityMismatch => "identity_mismatch",
            Self::Provider { error, .. } => error,
            Self::Unavailable(_) => "server_error",
            Self::CrossSite => "cross_origin_request",
        }
    }

    /// The HTTP status an SDK route answers with. Provider refusals are 4xx (429 stays 429), never 500.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::MfaRequired(_) | Self::IdentityMismatch | Self::CrossSite => {
                http::StatusCode::FORBIDDEN
            }
            Self::TokenExpired | Self::TokenInvalid | Self::MissingSession => {
                http::StatusCode::UNAUTHORIZED
            }
            Self::NoAvailableFactors(_) | Self::InvalidRequest(_) => http::StatusCode::BAD_REQUEST,
            Self::Provider { status: 429, .. } => http::StatusCode::TOO_MANY_REQUESTS,
            Self::Provider { .. } => http::StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => http::StatusCode::BAD_GATEWAY,
        }
    }

    /// The JSON body: `{"error", "error_description"}` (or the `mfa_required` body).
    pub fn to_json(&self) -> Value {
        match self {
            Self::MfaRequired(e) => e.to_json(),
            other => json!({"error": other.code(), "error_description": other.to_string()}),
        }
    }

    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Self {
        let parsed: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
        match parsed
            .as_ref()
            .and_then(|m| m.get("error").and_then(Value::as_str))
        {
            Some(error) => Self::Provider {
                status,
                error: error.to_owned(),
                description: parsed
                    .as_ref()
                    .and_then(|m| m.get("error_description").and_then(Value::as_str))
                    .unwrap_or_default()
                    .to_owned(),
            },
            None => Self::Unavailable(ProviderError::InvalidResponse {
                endpoint: "MFA API",
                reason: format!("HTTP status {status} without an error body"),
            }),
        }
    }
}

//! Why an API refused a request, with the answer RFC 6750 prescribes.

use serde_json::{Value, json};
use thiserror::Error;

use crate::error::ProviderError;

/// An access token was refused, or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiTokenError {
    /// The request carries no bearer token.
    #[error("the request has no bearer access token")]
    Missing,
    /// The `Authorization` header is malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The token is not valid for this API.
    #[error("invalid access token: {0}")]
    Invalid(String),
    /// The token lacks a scope the route requires.
    #[error("the access token lacks a required scope: {}", required.join(" "))]
    InsufficientScope {
        /// Every scope the route requires.
        required: Vec<String>,
    },
    /// The token lacks a claim (or claim value) the route requires.
    #[error("the access token does not satisfy the claim {claim:?} this route requires")]
    ClaimRequired {
        /// The claim's name.
        claim: String,
    },
    /// The route takes only tokens issued to a user, and this one was issued machine to machine
    /// (`client_credentials`).
    #[error("this API accepts only tokens issued to a user, not machine-to-machine tokens")]
    UserRequired,
    /// The token does not show the multi-factor authentication the route requires (RFC 9470
    /// `insufficient_user_authentication`).
    #[error("this API requires a token obtained with multi-factor authentication")]
    UserAuthenticationRequired,
    /// The provider's keys could not be fetched, so the token could not be checked.
    #[error("the access token could not be checked: {0}")]
    Unavailable(#[source] ProviderError),
    /// The DPoP proof of a DPoP-bound token is invalid (RFC 9449 `invalid_dpop_proof`).
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(String),
    /// The API takes only DPoP-bound tokens and got a bearer token.
    #[error("this API requires DPoP-bound tokens")]
    DpopRequired,
    /// The validator's configuration is invalid.
    #[error("invalid API configuration: {0}")]
    Config(String),
}

impl ApiTokenError {
    /// The HTTP status to answer with: 401, 400, 403, 503 or 500 (401 for a token without the
    /// required MFA, as RFC 9470 says).
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Missing
            | Self::Invalid(_)
            | Self::DpopRequired
            | Self::UserAuthenticationRequired => http::StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) | Self::InvalidDpopProof(_) => http::StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } | Self::ClaimRequired { .. } | Self::UserRequired => {
                http::StatusCode::FORBIDDEN
            }
            Self::Unavailable(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::Config(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 6750 error code, when there is one (none for a request without a token).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::Invalid(_) | Self::DpopRequired => Some("invalid_token"),
            Self::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            Self::InsufficientScope { .. } | Self::ClaimRequired { .. } | Self::UserRequired => {
                Some("insufficient_scope")
            }
            Self::UserAuthenticationRequired => Some("insufficient_user_authentication"),
            Self::Unavailable(_) => Some("temporarily_unavailable"),
            Self::Config(_) => Some("server_error"),
        }
    }

    /// The `WWW-Authenticate` challenge for 401, 400 and 403 answers (RFC 6750 §3; RFC 9470's
    /// `acr_values` when the token lacks MFA).
    ///
    /// ```
    /// use tollgate::api::ApiTokenError;
    /// assert_eq!(ApiTokenError::Missing.www_authenticate("api").unwrap(), r#"Bearer realm="api""#);
    /// let e = ApiTokenError::InsufficientScope { required: vec!["read:payments".into()] };
    /// assert_eq!(
    ///     e.www_authenticate("api").unwrap(),
    ///     r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope: read:payments", scope="read:payments""#
    /// );
    /// assert_eq!(
    ///     ApiTokenError::UserAuthenticationRequired.www_authenticate("api").unwrap(),
    ///     r#"Bearer realm="api", error="insufficient_user_authentication", error_description="this API requires a token obtained with multi-factor authentication", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor""#
    /// );
    /// ```
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        if matches!(self, Self::Unavailable(_) | Self::Config(_)) {
            return None;
        }
        let mut out = format!("Bearer realm=\"{}\"", quote(realm));
        if let Some(code) = self.code() {
            out.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quote(&self.to_string())
            ));
        }
        if let Self::InsufficientScope { required } = self {
            out.push_str(&format!(", scope=\"{}\"", quote(&required.join(" "))));
        }
        if let Self::UserAuthenticationRequired = self {
            // RFC 9470 §3: the authentication the client must ask the provider for.
            out.push_str(&format!(
                ", acr_values=\"{}\"",
                crate::session::ACR_MULTI_FACTOR
            ));
        }
        Some(out)
    }

    /// The challenges of an API that takes DPoP-bound tokens (RFC 9449 §7.1): the error goes
    /// with `DPoP` for proof errors (or when DPoP is required), else with `Bearer`; `DPoP` always
    /// names the accepted algorithm.
    ///
    /// ```
    /// use tollgate::api::ApiTokenError;
    /// assert_eq!(
    ///     ApiTokenError::Missing.dpop_challenges("api", false).unwrap(),
    ///     r#"Bearer realm="api", DPoP algs="ES256""#
    /// );
    /// assert_eq!(
    ///     ApiTokenError::Missing.dpop_challenges("api", true).unwrap(),
    ///     r#"DPoP realm="api", algs="ES256""#
    /// );
    /// ```
    pub fn dpop_challenges(&self, realm: &str, dpop_required: bool) -> Option<String> {
        let bearer = self.www_authenticate(realm)?;
        let params = bearer.strip_prefix("Bearer ").unwrap_or(&bearer);
        let dpop_error =
            dpop_required || matches!(self, Self::InvalidDpopProof(_) | Self::DpopRequired);
        Some(match (dpop_required, dpop_error) {
            (true, _) => format!("DPoP {params}, algs=\"ES256\""),
            (false, true) => format!(
                "Bearer realm=\"{}\", DPoP {params}, algs=\"ES256\"",
                quote(realm)
            ),
            (false, false) => format!("{bearer}, DPoP algs=\"ES256\""),
        })
    }

    /// The JSON body: `{"error", "error_description"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "error": self.code().unwrap_or("unauthorized"),
            "error_description": self.to_string(),
        })
    }
}

/// Keeps a challenge parameter inside its quotes (RFC 9110 quoted-string, printable ASCII).
fn quote(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect()
}

//! Token exchanges at the token endpoint: Custom Token Exchange (RFC 8693, Auth0's profile) and,
//! in [`connection`], Token Vault access tokens for federated connections.

mod connection;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::error::{IdTokenError, ProviderError};
use crate::oidc::id_token::{self, Expectations, VerifyError};
use crate::oidc::provider::token::GrantError;
use crate::web::Tollgate;

pub use connection::{ConnectionToken, ConnectionTokenError, ConnectionTokenOptions};

/// The grant type of token exchange (RFC 8693).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The grant type of Auth0 Token Vault's federated connection access token exchange.
pub const TOKEN_EXCHANGE_GRANT_FEDERATED: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";

/// What to exchange: a token from another system (`subject_token` of a type your provider's
/// exchange profile knows), for tokens of this provider.
///
/// ```
/// let opts = tollgate::TokenExchangeOptions::new("legacy-token-value", "urn:acme:legacy-token")
///     .audience("https://api.example.com")
///     .scope("read:data")
///     .organization("org_abc123");
/// # let _ = opts;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct TokenExchangeOptions {
    subject_token: String,
    subject_token_type: String,
    audience: Option<String>,
    scope: Option<String>,
    organization: Option<String>,
    actor_token: Option<String>,
    actor_token_type: Option<String>,
}

impl std::fmt::Debug for TokenExchangeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchangeOptions")
            .field("subject_token_type", &self.subject_token_type)
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field("organization", &self.organization)
            .field("actor_token_type", &self.actor_token_type)
            .finish_non_exhaustive()
    }
}

impl TokenExchangeOptions {
    /// Exchanges `subject_token` of type `subject_token_type` (a URI of 10 to 100 characters
    /// starting with `urn:`, `https://` or `http://`).
    pub fn new(subject_token: impl Into<String>, subject_token_type: impl Into<String>) -> Self {
        Self {
            subject_token: subject_token.into(),
            subject_token_type: subject_token_type.into(),
            ..Self::default()
        }
    }

    /// The API the tokens are for (default: the provider's default audience).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The scope requested.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// An organization to log the user in to.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Delegation: the token of the party acting for the subject, and its type.
    pub fn actor(mut self, token: impl Into<String>, token_type: impl Into<String>) -> Self {
        self.actor_token = Some(token.into());
        self.actor_token_type = Some(token_type.into());
        self
    }

    /// The actor token alone (a type is then missing: for tests of that error).
    pub fn actor_token(mut self, token: impl Into<String>) -> Self {
        self.actor_token = Some(token.into());
        self
    }

    fn check(&self) -> Result<(), TokenExchangeError> {
        if self.subject_token.trim().is_empty() {
            return Err(TokenExchangeError::MissingSubjectToken);
        }
        if !valid_token_type(&self.subject_token_type) {
            return Err(TokenExchangeError::InvalidSubjectTokenType(
                self.subject_token_type.clone(),
            ));
        }
        match (&self.actor_token, &self.actor_token_type) {
            (Some(_), None) => Err(TokenExchangeError::MissingActorTokenType),
            (None, Some(_)) => Err(TokenExchangeError::MissingActorToken),
            (Some(_), Some(t)) if !valid_token_type(t) => {
                Err(TokenExchangeError::InvalidActorTokenType(t.clone()))
            }
            _ => Ok(()),
        }
    }
}

/// A token type URI as exchange profiles accept them: 10–100 characters, `urn:`, `https://` or
/// `http://`.
fn valid_token_type(t: &str) -> bool {
    (10..=100).contains(&t.len())
        && (t.starts_with("urn:") || t.starts_with("https://") || t.starts_with("http://"))
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The tokens a Custom Token Exchange or a back-channel login returned. They are not stored in
/// any session.
#[derive(Clone)]
#[non_exhaustive]
pub struct ExchangedTokens {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// Seconds until the access token expires, as the provider said.
    pub expires_in: Option<u64>,
    /// The granted scope, when the provider said.
    pub scope: Option<String>,
    /// The ID token, already validated (signature, issuer, audience, expiry).
    pub id_token: Option<String>,
    /// Its claims.
    pub id_token_claims: Option<Map<String, Value>>,
    /// A refresh token (never with an actor token).
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for ExchangedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangedTokens")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token_claims", &self.id_token_claims)
            .finish_non_exhaustive()
    }
}

/// Why a Custom Token Exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenExchangeError {
    /// No subject token was given.
    #[error("the subject token is missing")]
    MissingSubjectToken,
    /// The subject token type is not a URI of 10–100 characters (`urn:`, `https://`, `http://`).
    #[error(
        "the subject token type {0:?} is invalid: it must be a URI of 10 to 100 characters starting with urn:, https:// or http://"
    )]
    InvalidSubjectTokenType(String),
    /// An actor token was given without its type.
    #[error("an actor token needs its actor token type")]
    MissingActorTokenType,
    /// An actor token type was given without the token.
    #[error("an actor token type was given without the actor token")]
    MissingActorToken,
    /// The actor token type is not a valid URI.
    #[error("the actor token type {0:?} is invalid")]
    InvalidActorTokenType(String),
    /// The provider's policy asks for multi-factor authentication, which exchanges do not support.
    #[error("the provider requires multi-factor authentication for this exchange: {0}")]
    MfaRequired(String),
    /// The provider refused the exchange (`error`, `error_description`).
    #[error("the token exchange failed: {0}")]
    ExchangeFailed(#[source] ProviderError),
    /// The ID token the provider returned is invalid.
    #[error("the exchange returned an invalid ID token: {0}")]
    InvalidIdToken(#[source] IdTokenError),
}

impl TokenExchangeError {
    /// A stable machine-readable code (nextjs-auth0's `CustomTokenExchangeErrorCode` values).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSubjectToken => "missing_subject_token",
            Self::InvalidSubjectTokenType(_) => "invalid_subject_token_type",
            Self::MissingActorTokenType => "missing_actor_token_type",
            Self::MissingActorToken => "missing_actor_token",
            Self::InvalidActorTokenType(_) => "invalid_actor_token_type",
            Self::MfaRequired(_) => "mfa_required",
            Self::ExchangeFailed(_) | Self::InvalidIdToken(_) => "exchange_failed",
        }
    }
}

impl Tollgate {
    /// Validates an ID token that a grant without a login returned (no nonce, no `max_age`).
    pub(crate) async fn validate_issued_id_token(
        &self,
        raw: Option<&str>,
    ) -> Result<Option<Map<String, Value>>, VerifyError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let config = self.config();
        let provider = &self.provider();
        let meta = provider.metadata().await.map_err(VerifyError::Provider)?;
        let exp = Expectations {
            issuer: &meta.issuer,
            client_id: &config.client_id,
            nonce: None,
            max_age: None,
            now: self.config().now(),
            tolerance: config.clock_tolerance.as_secs(),
            algorithms: &config.id_token_algorithms.allowed(&meta),
            client_secret: config.client_secret(),
        };
        id_token::validate(provider, raw, &exp).await.map(Some)
    }

    /// Exchanges a token from another system for this provider's tokens (Custom Token Exchange,
    /// RFC 8693 as Auth0 profiles it). Nothing is stored in a session; each call is a new exchange.
    ///
    /// # Errors
    /// Input errors before any call ([`TokenExchangeError::MissingSubjectToken`], …), the
    /// provider's refusal as [`TokenExchangeError::ExchangeFailed`] (its `error` is in the
    /// [`ProviderError::OAuth`]), and [`TokenExchangeError::InvalidIdToken`].
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate) -> Result<(), tollgate::TokenExchangeError> {
    /// let tokens = auth
    ///     .custom_token_exchange(
    ///         tollgate::TokenExchangeOptions::new("legacy-token", "urn:acme:legacy-token")
    ///             .audience("https://api.example.com"),
    ///     )
    ///     .await?;
    /// println!("{} token, {:?} s", tokens.token_type, tokens.expires_in);
    /// # Ok(()) }
    /// ```
    pub async fn custom_token_exchange(
        &self,
        opts: TokenExchangeOptions,
    ) -> Result<ExchangedTokens, TokenExchangeError> {
        opts.check()?;
        let config = self.config();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", &opts.subject_token),
            ("subject_token_type", &opts.subject_token_type),
        ];
        let optional = [
            ("audience", &opts.audience),
            ("scope", &opts.scope),
            ("organization", &opts.organization),
            ("actor_token", &opts.actor_token),
            ("actor_token_type", &opts.actor_token_type),
        ];
        for (name, value) in &optional {
            if let Some(v) = value.as_deref() {
                form.push((name, v));
            }
        }
        let provider = &self.provider();
        let resp = provider
            .grant(&config.client_id, &config.client_auth, &form)
            .await
            .map_err(|e| match e {
                GrantError::MfaRequired { description, .. } => {
                    TokenExchangeError::MfaRequired(description)
                }
                GrantError::Other(p) => TokenExchangeError::ExchangeFailed(p),
            })?;
        let id_token_claims = self
            .validate_issued_id_token(resp.id_token.as_deref())
            .await
            .map_err(|e| match e {
                VerifyError::Token(t) => TokenExchangeError::InvalidIdToken(t),
                VerifyError::Provider(p) => TokenExchangeError::ExchangeFailed(p),
            })?;
        Ok(ExchangedTokens::from_response(resp, id_token_claims))
    }
}

impl ExchangedTokens {
    /// The tokens of a token endpoint answer whose ID token (if any) was validated.
    pub(crate) fn from_response(
        resp: crate::oidc::provider::token::TokenResponse,
        id_token_claims: Option<Map<String, Value>>,
    ) -> Self {
        Self {
            access_token: resp.access_token,
            token_type: resp.token_type,
            expires_in: resp.expires_in,
            scope: resp.scope,
            id_token: resp.id_token,
            id_token_claims,
            refresh_token: resp.refresh_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked_before_any_call() {
        let ok = TokenExchangeOptions::new("t", "urn:acme:legacy-token");
        assert_eq!(ok.check(), Ok(()));
        let cases = [
            (
                TokenExchangeOptions::new(" ", "urn:acme:legacy-token"),
                "missing_subject_token",
            ),
            (
                TokenExchangeOptions::new("t", "urn:short"),
                "invalid_subject_token_type",
            ),
            (
                TokenExchangeOptions::new("t", "ftp://example.com/type"),
                "invalid_subject_token_type",
            ),
            (
                TokenExchangeOptions::new("t", format!("urn:{}", "x".repeat(100))),
                "invalid_subject_token_type",
            ),
            (ok.clone().actor_token("a"), "missing_actor_token_type"),
            (ok.clone().actor("a", "bad"), "invalid_actor_token_type"),
        ];
        for (opts, code) in cases {
            assert_eq!(opts.check().unwrap_err().code(), code, "{opts:?}");
        }
        assert!(ok.actor("a", "urn:acme:service-token").check().is_ok());
    }
}

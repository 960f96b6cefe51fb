//! Validating the access tokens an API receives (the resource-server side): the signature against
//! the provider's published keys with an algorithm allow-list, `iss`, `aud`, `exp`, `nbf`, then
//! the scopes and claims each route requires.
//!
//! ```no_run
//! # async fn run(authorization: Option<&str>) -> Result<(), tollgate::api::ApiTokenError> {
//! use tollgate::api::{ApiConfig, ApiValidator};
//!
//! let validator = ApiValidator::new(
//!     ApiConfig::new("tenant.eu.auth0.com", "https://payments.example.com").build()?,
//! );
//! let token = validator.verify_header(authorization).await?;
//! token.require_scopes(&["read:payments"])?;
//! println!("called by {}", token.sub());
//! # Ok(()) }
//! ```

mod claims;
pub(crate) mod dpop;
mod error;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::Value;
use url::Url;

use crate::error::IdTokenError;
use crate::oidc::id_token::{self, VerifyError};
use crate::oidc::provider::Provider;
use crate::session::secret::Secret;

pub use claims::AccessTokenClaims;
pub use dpop::DpopMode;
pub use error::ApiTokenError;

/// What an API accepts. Build with [`ApiConfig::new`] and the setters, then [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct ApiConfig {
    domain: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    clock_tolerance: Duration,
    http_timeout: Duration,
    allow_http_loopback: bool,
    realm: String,
    dpop: DpopMode,
    extra_roots_pem: Vec<String>,
}

impl ApiConfig {
    /// Tokens issued by `domain` (a host name such as `tenant.eu.auth0.com`, or an https URL) for
    /// `audience` (the API identifier). RS256 only, 60 s clock tolerance, 5 s provider timeout.
    pub fn new(domain: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::RS256],
            clock_tolerance: Duration::from_secs(60),
            http_timeout: Duration::from_secs(5),
            allow_http_loopback: false,
            realm: "api".to_owned(),
            dpop: DpopMode::Allowed,
            extra_roots_pem: Vec::new(),
        }
    }

    /// Whether DPoP-bound tokens are accepted (default [`DpopMode::Allowed`]).
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop = mode;
        self
    }

    /// Reads `AUTH0_DOMAIN` and `AUTH0_AUDIENCE`.
    ///
    /// # Errors
    /// [`ApiTokenError::Config`] when either is missing.
    pub fn from_env() -> Result<Self, ApiTokenError> {
        let var = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| ApiTokenError::Config(format!("{name} is not set")))
        };
        Ok(Self::new(var("AUTH0_DOMAIN")?, var("AUTH0_AUDIENCE")?))
    }

    /// The signing algorithms accepted (asymmetric only: an API never holds a shared secret).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Allowed clock difference with the provider for `exp`, `nbf` and `iat`.
    pub fn clock_tolerance(mut self, tolerance: Duration) -> Self {
        self.clock_tolerance = tolerance;
        self
    }

    /// Timeout of each call to the provider (discovery and keys).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges. Default `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Accepts a plain-http issuer on a loopback address (the local tenant in tests).
    pub fn insecure_allow_http_loopback_issuer(mut self) -> Self {
        self.allow_http_loopback = true;
        self
    }

    /// Trusts another root certificate (PEM text, one or more `CERTIFICATE` blocks) for the calls
    /// to the provider, next to the system's: a local tenant served over HTTPS with its own CA.
    ///
    /// ```
    /// use tollgate::api::{ApiConfig, ApiTokenError};
    ///
    /// let err = ApiConfig::new("https://localhost:4000/", "https://payments.example.com")
    ///     .extra_root_certificate_pem("not a certificate")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, ApiTokenError::Config(m) if m.contains("extra root certificate 0")));
    /// ```
    pub fn extra_root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ApiTokenError::Config`] for a bad domain, an empty audience, no algorithm, a
    /// symmetric algorithm, or an extra root certificate that is not PEM.
    pub fn build(self) -> Result<BuiltApiConfig, ApiTokenError> {
        let issuer = crate::config::parse_issuer(&self.domain, self.allow_http_loopback)
            .map_err(|e| ApiTokenError::Config(e.to_string()))?;
        if self.audience.trim().is_empty() {
            return Err(ApiTokenError::Config("the audience is empty".into()));
        }
        if self.algorithms.is_empty() {
            return Err(ApiTokenError::Config(
                "no signing algorithm is allowed".into(),
            ));
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(ApiTokenError::Config(format!(
                "{alg:?} is symmetric: an API verifies tokens with the provider's public keys"
            )));
        }
        let extra_roots = crate::config::parse_root_certificates(&self.extra_roots_pem)
            .map_err(|e| ApiTokenError::Config(e.to_string()))?;
        Ok(BuiltApiConfig {
            issuer,
            extra_roots,
            audience: self.audience,
            algorithms: self.algorithms,
            clock_tolerance: self.clock_tolerance,
            http_timeout: self.http_timeout,
            allow_http_loopback: self.allow_http_loopback,
            realm: self.realm,
            dpop: self.dpop,
        })
    }
}

/// A checked [`ApiConfig`].
#[derive(Debug, Clone)]
pub struct BuiltApiConfig {
    issuer: Url,
    extra_roots: Vec<reqwest::Certificate>,
    audience: String,
    algorithms: Vec<Algorithm>,
    clock_tolerance: Duration,
    http_timeout: Duration,
    allow_http_loopback: bool,
    realm: String,
    dpop: DpopMode,
}

impl BuiltApiConfig {
    /// Whether DPoP-bound tokens are accepted.
    pub fn dpop_mode(&self) -> DpopMode {
        self.dpop
    }

    /// The realm of challenges.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The API identifier tokens must be issued for.
    pub fn audience(&self) -> &str {
        &self.audience
    }
}

/// Verifies access tokens for one API. Cheap to clone; keeps the provider's keys cached
/// (refetched on an unknown `kid`, at most once per 30 s).
#[derive(Debug, Clone)]
pub struct ApiValidator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: BuiltApiConfig,
    provider: Provider,
    /// Never used: symmetric algorithms are refused when building the configuration.
    no_secret: Secret,
    replay: dpop::ReplayCache,
}

impl ApiValidator {
    /// A validator for `config`.
    pub fn new(config: BuiltApiConfig) -> Self {
        let provider = Provider::new(
            config.issuer.clone(),
            config.allow_http_loopback,
            config.http_timeout,
            None,
            std::sync::Arc::new(crate::time::SystemClock),
            &config.extra_roots,
        );
        Self {
            inner: Arc::new(Inner {
                config,
                provider,
                no_secret: Secret::new(String::new()),
                replay: dpop::ReplayCache::default(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BuiltApiConfig {
        &self.inner.config
    }

    /// Verifies the bearer token of an `Authorization` header value (`None` when the request
    /// has none).
    ///
    /// # Errors
    /// [`ApiTokenError::Missing`] without a bearer token, [`ApiTokenError::InvalidRequest`] for
    /// a malformed header, and the errors of [`verify`](Self::verify).
    pub async fn verify_header(
        &self,
        authorization: Option<&str>,
    ) -> Result<AccessTokenClaims, ApiTokenError> {
        let value = authorization.map(str::trim).filter(|v| !v.is_empty());
        let Some(value) = value else {
            return Err(ApiTokenError::Missing);
        };
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiTokenError::Missing);
        }
        let token = token.trim();
        if token.is_empty() || token.contains(' ') {
            return Err(ApiTokenError::InvalidRequest(
                "the Authorization header must be `Bearer <token>`".into(),
            ));
        }
        let claims = self.verify(token).await?;
        if claims.cnf_jkt().is_some() {
            return Err(ApiTokenError::Invalid(
                "the token is bound to a DPoP key and cannot be used as a bearer token".into(),
            ));
        }
        Ok(claims)
    }

    /// Verifies a request's token, whatever its scheme: `Bearer` as
    /// [`verify_header`](Self::verify_header) does (refused when DPoP is required), or `DPoP`:
    /// a DPoP-bound token (`cnf.jkt`) with a `DPoP` proof of its key for this `method` and
    /// absolute `url` (RFC 9449 §7), fresh, carrying the token's hash, never replayed.
    ///
    /// # Errors
    /// As [`verify_header`](Self::verify_header), plus [`ApiTokenError::InvalidDpopProof`] and
    /// [`ApiTokenError::DpopRequired`].
    pub async fn verify_request(
        &self,
        authorization: Option<&str>,
        dpop_proof: Option<&str>,
        method: &str,
        url: &str,
    ) -> Result<AccessTokenClaims, ApiTokenError> {
        let mode = self.inner.config.dpop;
        let value = authorization.map(str::trim).unwrap_or_default();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("dpop") || mode == DpopMode::Disabled {
            if mode == DpopMode::Required && scheme.eq_ignore_ascii_case("bearer") {
                return Err(ApiTokenError::DpopRequired);
            }
            return self.verify_header(authorization).await;
        }
        let token = token.trim();
        if token.is_empty() || token.contains(' ') {
            return Err(ApiTokenError::InvalidRequest(
                "the Authorization header must be `DPoP <token>`".into(),
            ));
        }
        let proof = dpop_proof
            .ok_or_else(|| ApiTokenError::InvalidDpopProof("the DPoP header is missing".into()))?;
        let claims = self.verify(token).await?;
        let jkt = claims
            .cnf_jkt()
            .ok_or_else(|| ApiTokenError::Invalid("the token is not bound to a DPoP key".into()))?;
        dpop::check_proof(
            proof,
            &dpop::Expected {
                htm: method,
                htu: url,
                access_token: token,
                jkt,
                now: crate::time::system_now(),
                window: self.inner.config.clock_tolerance.as_secs().max(60),
            },
            &self.inner.replay,
        )?;
        Ok(claims)
    }

    /// Verifies an access token: a JWS signed by the provider with an allowed algorithm, of an
    /// access-token type (`typ` absent, `JWT` or `at+jwt`), issued by the configured issuer for
    /// this API, not expired and already valid.
    ///
    /// # Errors
    /// [`ApiTokenError::Invalid`] for any defect of the token, and
    /// [`ApiTokenError::Unavailable`] when the provider's keys cannot be fetched.
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, ApiTokenError> {
        let cfg = &self.inner.config;
        let jws = id_token::parse_jws(token).map_err(invalid)?;
        if let Some(typ) = jws.typ.as_deref() {
            let t = typ.to_ascii_lowercase();
            if !matches!(t.as_str(), "jwt" | "at+jwt" | "application/at+jwt") {
                return Err(ApiTokenError::Invalid(format!(
                    "a token of type {typ:?} is not an access token"
                )));
            }
        }
        if Algorithm::from_str(&jws.alg).is_err() {
            return Err(invalid(IdTokenError::DisallowedAlgorithm(jws.alg.clone())));
        }
        let claims = id_token::verify_signature(
            &self.inner.provider,
            &jws,
            &cfg.algorithms,
            &self.inner.no_secret,
        )
        .await
        .map_err(|e| match e {
            VerifyError::Token(t) => invalid(t),
            VerifyError::Provider(p) => ApiTokenError::Unavailable(p),
        })?;
        let meta = self
            .inner
            .provider
            .metadata()
            .await
            .map_err(ApiTokenError::Unavailable)?;
        let now = crate::time::system_now();
        claims::check(
            &claims,
            &meta.issuer,
            &cfg.audience,
            now,
            cfg.clock_tolerance.as_secs(),
        )?;
        Ok(AccessTokenClaims::new(claims))
    }
}

/// The JWT checks are shared with ID tokens; the API's answer names what it got: an access token.
fn invalid(e: IdTokenError) -> ApiTokenError {
    ApiTokenError::Invalid(e.to_string().replace("ID token", "access token"))
}

/// The string value of `name`, when it is one.
fn str_claim<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_access_token_is_not_called_an_id_token() {
        let e = invalid(IdTokenError::Malformed("not a JWS"));
        assert_eq!(
            e.to_string(),
            "invalid access token: the access token is malformed: not a JWS"
        );
    }
}

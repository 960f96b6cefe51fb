//! OpenID Provider metadata (`/.well-known/openid-configuration`), fetched lazily and cached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::http::HttpClient;
use crate::error::ProviderError;

/// How long metadata is reused before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(600);

/// The parts of the provider's metadata Tollgate uses.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier, exactly as the provider spells it.
    pub issuer: String,
    /// `/authorize`.
    pub authorization_endpoint: String,
    /// `/oauth/token`.
    pub token_endpoint: String,
    /// The JWKS URL.
    pub jwks_uri: String,
    /// `/userinfo`.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// OIDC RP-initiated logout, when the provider offers it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Token revocation (RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Whether the provider sends `iss` in authorization responses (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Client-Initiated Backchannel Authentication (`/bc-authorize`), when offered.
    #[serde(default)]
    pub backchannel_authentication_endpoint: Option<String>,
    /// Pushed Authorization Requests (RFC 9126), when offered.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// The algorithms the provider signs ID tokens with; `None` when the document does not say
    /// (then `RS256`, the specification's default).
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
}

#[derive(Debug)]
pub(crate) struct Discovery {
    issuer: Url,
    allow_http_loopback: bool,
    cached: Mutex<Option<(Arc<ProviderMetadata>, Instant)>>,
}

impl Discovery {
    pub(crate) fn new(issuer: Url, allow_http_loopback: bool) -> Self {
        Self {
            issuer,
            allow_http_loopback,
            cached: Mutex::new(None),
        }
    }

    /// The metadata, from cache when fresh. Holding the lock across the fetch makes it single-flight.
    /// When a refresh fails, stale metadata keeps being served.
    pub(crate) async fn get(
        &self,
        http: &HttpClient,
    ) -> Result<Arc<ProviderMetadata>, ProviderError> {
        let mut cached = self.cached.lock().await;
        if let Some((m, _)) = cached
            .as_ref()
            .filter(|(_, at)| at.elapsed() < METADATA_TTL)
        {
            return Ok(m.clone());
        }
        match self.fetch(http).await {
            Ok(m) => {
                let m = Arc::new(m);
                *cached = Some((m.clone(), Instant::now()));
                Ok(m)
            }
            Err(e) => match cached.as_ref() {
                Some((m, _)) => {
                    tracing::warn!(error = %e, "discovery refresh failed; using the cached metadata");
                    Ok(m.clone())
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(&self, http: &HttpClient) -> Result<ProviderMetadata, ProviderError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.as_str().trim_end_matches('/')
        );
        let m: ProviderMetadata = http.get_json("discovery document", &url).await?;
        if m.issuer.trim_end_matches('/') != self.issuer.as_str().trim_end_matches('/') {
            return Err(ProviderError::IssuerMismatch {
                expected: self.issuer.to_string(),
                found: m.issuer,
            });
        }
        for (name, value) in [
            ("authorization_endpoint", Some(&m.authorization_endpoint)),
            ("token_endpoint", Some(&m.token_endpoint)),
            ("jwks_uri", Some(&m.jwks_uri)),
            ("end_session_endpoint", m.end_session_endpoint.as_ref()),
            ("revocation_endpoint", m.revocation_endpoint.as_ref()),
            ("userinfo_endpoint", m.userinfo_endpoint.as_ref()),
            (
                "backchannel_authentication_endpoint",
                m.backchannel_authentication_endpoint.as_ref(),
            ),
            (
                "pushed_authorization_request_endpoint",
                m.pushed_authorization_request_endpoint.as_ref(),
            ),
        ] {
            if let Some(v) = value {
                self.check_endpoint(name, v)?;
            }
        }
        Ok(m)
    }

    fn check_endpoint(&self, name: &str, value: &str) -> Result<(), ProviderError> {
        let bad = |reason: &str| ProviderError::InvalidResponse {
            endpoint: "discovery document",
            reason: format!("{name} {value:?} {reason}"),
        };
        let url = Url::parse(value).map_err(|_| bad("is not a URL"))?;
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_http_loopback && crate::config::is_loopback(&url) => Ok(()),
            _ => Err(bad("is not https")),
        }
    }
}

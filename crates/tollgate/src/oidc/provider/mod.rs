//! Everything that talks to the OpenID provider: the HTTP client, discovery, keys and the token
//! endpoint.

pub(crate) mod discovery;
pub(crate) mod http;
pub(crate) mod jwks;
pub(crate) mod token;

use std::sync::Arc;

use url::Url;

use crate::error::ProviderError;
use discovery::Discovery;
pub use discovery::ProviderMetadata;
use http::HttpClient;
use jwks::{JwksCache, VerificationKey};

/// The provider connection: cached metadata and keys behind one HTTP client.
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) http: HttpClient,
    /// DPoP key, options and nonces, when DPoP is on.
    pub(crate) dpop: Option<crate::oidc::dpop::Dpop>,
    discovery: Discovery,
    jwks: JwksCache,
}

impl Provider {
    pub(crate) fn new(
        issuer: Url,
        allow_http_loopback: bool,
        timeout: std::time::Duration,
        dpop: Option<crate::oidc::dpop::Dpop>,
        clock: std::sync::Arc<dyn crate::time::Clock>,
        extra_roots: &[reqwest::Certificate],
    ) -> Self {
        Self {
            http: HttpClient::new(timeout, clock, extra_roots),
            dpop,
            discovery: Discovery::new(issuer, allow_http_loopback),
            jwks: JwksCache::new(),
        }
    }

    /// The provider's metadata (cached).
    pub(crate) async fn metadata(&self) -> Result<Arc<ProviderMetadata>, ProviderError> {
        self.discovery.get(&self.http).await
    }

    /// How many times the key set was fetched.
    pub(crate) fn jwks_fetch_count(&self) -> u64 {
        self.jwks.fetch_count()
    }

    /// The signing keys; refetched (single-flight, with a cooldown) when `want` finds no match.
    pub(crate) async fn jwks(
        &self,
        want: impl Fn(&[VerificationKey]) -> bool,
    ) -> Result<Arc<Vec<VerificationKey>>, ProviderError> {
        let meta = self.metadata().await?;
        self.jwks.keys(&self.http, &meta.jwks_uri, want).await
    }
}

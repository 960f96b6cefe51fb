//! The provider's signing keys, cached, refreshed on an unknown `kid` with single-flight and a
//! cooldown so that forged tokens cannot make Tollgate hammer the provider.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::http::HttpClient;
use crate::error::ProviderError;

/// Minimum time between two key fetches caused by unknown `kid`s.
pub(crate) const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// Keys are fetched again after this long even when every `kid` is known.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// One usable verification key.
pub(crate) struct VerificationKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Option<String>,
    pub(crate) family: KeyFamily,
    pub(crate) key: DecodingKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyFamily {
    /// Whether a key of this family may verify `alg`.
    pub(crate) fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            Self::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Self::EcP256 => alg == ES256,
            Self::EcP384 => alg == ES384,
            Self::Ed25519 => alg == EdDSA,
        }
    }
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// Parses a JWK set, skipping every key that cannot verify signatures.
pub(crate) fn parse_key_set(raw: &[serde_json::Value]) -> Vec<VerificationKey> {
    raw.iter()
        .filter_map(|v| serde_json::from_value::<RawKey>(v.clone()).ok())
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let (family, key) = match (k.kty.as_str(), k.crv.as_deref()) {
                ("RSA", _) => (
                    KeyFamily::Rsa,
                    DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?,
                ),
                ("EC", Some("P-256")) => (
                    KeyFamily::EcP256,
                    DecodingKey::from_ec_components(k.x.as_deref()?, k.y.as_deref()?).ok()?,
                ),
                ("EC", Some("P-384")) => (
                    KeyFamily::EcP384,
                    DecodingKey::from_ec_components(k.x.as_deref()?, k.y.as_deref()?).ok()?,
                ),
                ("OKP", Some("Ed25519")) => (
                    KeyFamily::Ed25519,
                    DecodingKey::from_ed_components(k.x.as_deref()?).ok()?,
                ),
                _ => return None,
            };
            Some(VerificationKey {
                kid: k.kid,
                alg: k.alg,
                family,
                key,
            })
        })
        .collect()
}

struct Loaded {
    keys: Arc<Vec<VerificationKey>>,
    /// Last successful fetch.
    fetched_at: Option<Instant>,
    /// Last attempt, successful or not.
    attempted_at: Option<Instant>,
    /// Whether the last attempt failed.
    failed: bool,
    /// Last fetch caused by a token whose key was not in a fresh set.
    forced_at: Option<Instant>,
}

/// After a failed fetch, wait this long before trying again.
const FAILURE_BACKOFF: Duration = Duration::from_secs(2);

pub(crate) struct JwksCache {
    loaded: RwLock<Loaded>,
    fetch_lock: Mutex<()>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksCache")
    }
}

impl JwksCache {
    pub(crate) fn new() -> Self {
        Self {
            loaded: RwLock::new(Loaded {
                keys: Arc::new(Vec::new()),
                fetched_at: None,
                attempted_at: None,
                failed: false,
                forced_at: None,
            }),
            fetch_lock: Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Whether the cached keys may be used as they are for a token that `want` describes, and if
    /// not, whether a fetch is allowed now.
    ///
    /// A key set that is fresh but lacks the wanted key may be fetched again (the provider rotated
    /// its keys), but at most once per [`REFRESH_COOLDOWN`]: tokens with made-up `kid`s cannot make
    /// Tollgate hammer the provider. After a failed fetch, the next waits [`FAILURE_BACKOFF`].
    fn decide(
        &self,
        want: &impl Fn(&[VerificationKey]) -> bool,
    ) -> (Arc<Vec<VerificationKey>>, Decision) {
        let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let keys = l.keys.clone();
        let fresh = l.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE);
        if fresh && want(&keys) {
            return (keys, Decision::UseCached);
        }
        if l.failed
            && l.attempted_at
                .is_some_and(|t| t.elapsed() < FAILURE_BACKOFF)
        {
            return (keys, Decision::CoolingDown { failed: true });
        }
        if fresh && l.forced_at.is_some_and(|t| t.elapsed() < REFRESH_COOLDOWN) {
            return (keys, Decision::CoolingDown { failed: false });
        }
        (keys, Decision::Fetch { forced: fresh })
    }

    /// How many times the key set was fetched.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The keys, fetching them when never fetched, when too old, or when `want` finds no key in
    /// the current set and the cooldown allows a fetch. Concurrent callers share one fetch.
    pub(crate) async fn keys(
        &self,
        http: &HttpClient,
        jwks_uri: &str,
        want: impl Fn(&[VerificationKey]) -> bool,
    ) -> Result<Arc<Vec<VerificationKey>>, ProviderError> {
        if let (keys, Decision::UseCached) = self.decide(&want) {
            return Ok(keys);
        }
        let _guard = self.fetch_lock.lock().await;
        // Decide again: another caller may have fetched while this one waited.
        match self.decide(&want) {
            (keys, Decision::UseCached) => return Ok(keys),
            (keys, Decision::CoolingDown { failed }) => {
                if failed && keys.is_empty() {
                    return Err(ProviderError::Unreachable {
                        endpoint: "JWKS",
                        timeout: false,
                    });
                }
                tracing::debug!("no matching signing key, and the key set was fetched moments ago");
                return Ok(keys);
            }
            (_, Decision::Fetch { forced }) => {
                if forced {
                    tracing::info!(
                        "no published key matches a token; fetching the provider's keys again"
                    );
                    self.loaded
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .forced_at = Some(Instant::now());
                }
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = http.get_json::<RawSet>("JWKS", jwks_uri).await;
        let mut l = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        l.attempted_at = Some(Instant::now());
        match result {
            Ok(set) => {
                l.keys = Arc::new(parse_key_set(&set.keys));
                l.fetched_at = l.attempted_at;
                l.failed = false;
                Ok(l.keys.clone())
            }
            Err(e) => {
                l.failed = true;
                // A failed fetch did not use up the unknown-kid cooldown: once the failure backoff
                // has passed, the next token with the new key may try again. Otherwise a JWKS
                // outage during a key rotation would refuse the new key for the whole cooldown
                // after the provider came back.
                l.forced_at = None;
                if l.keys.is_empty() {
                    return Err(e);
                }
                // Keep serving the keys we have while the provider is unavailable.
                tracing::warn!(error = %e, "JWKS refresh failed; keeping the current keys");
                Ok(l.keys.clone())
            }
        }
    }
}

enum Decision {
    UseCached,
    CoolingDown { failed: bool },
    Fetch { forced: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_unusable_keys() {
        let set: Vec<serde_json::Value> = serde_json::from_str(
            r#"[
            {"kty":"RSA","use":"enc","kid":"enc","n":"sXch","e":"AQAB"},
            {"kty":"EC","crv":"secp256k1","kid":"k1","x":"AA","y":"AA"},
            {"kty":"oct","kid":"sym","k":"AAAA"},
            {"kid":"no-kty"},
            {"kty":"RSA","kid":"ok","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}
        ]"#,
        )
        .unwrap();
        let keys = parse_key_set(&set);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("ok"));
        assert!(keys[0].family.fits(Algorithm::RS256));
        assert!(!keys[0].family.fits(Algorithm::ES256));
        assert!(!keys[0].family.fits(Algorithm::HS256));
    }

    #[tokio::test]
    async fn a_failed_forced_fetch_does_not_hold_the_cooldown() {
        let cache = JwksCache::new();
        {
            let mut l = cache.loaded.write().unwrap();
            l.keys = Arc::new(parse_key_set(&[serde_json::json!({
                "kty": "RSA", "kid": "old", "e": "AQAB",
                "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"
            })]));
            l.fetched_at = Some(Instant::now());
        }
        // Nothing listens there: the JWKS endpoint is down.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/jwks", l.local_addr().unwrap())
        };
        let http = HttpClient::new(
            Duration::from_millis(500),
            std::sync::Arc::new(crate::time::SystemClock),
            &[],
        );
        let wants_new =
            |keys: &[VerificationKey]| keys.iter().any(|k| k.kid.as_deref() == Some("new"));
        let keys = cache.keys(&http, &dead, wants_new).await.unwrap();
        assert_eq!(keys.len(), 1, "the cached key keeps serving");
        assert_eq!(cache.fetch_count(), 1);
        assert!(
            matches!(
                cache.decide(&wants_new).1,
                Decision::CoolingDown { failed: true }
            ),
            "the failure backoff applies"
        );
        cache.loaded.write().unwrap().attempted_at =
            Instant::now().checked_sub(FAILURE_BACKOFF + Duration::from_millis(1));
        assert!(
            matches!(cache.decide(&wants_new).1, Decision::Fetch { forced: true }),
            "after the backoff the new kid may be fetched, not only after the 30 s cooldown"
        );
    }
}

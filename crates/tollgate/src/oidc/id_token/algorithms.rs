//! Which algorithms an ID token (and a logout token) may be signed with.
//!
//! By default the provider's discovery document decides, within a safe list: its
//! `id_token_signing_alg_values_supported` intersected with [`SAFE`], or `RS256` alone when the
//! document does not say (OpenID Connect Discovery 1.0 §3 makes RS256 the default). `none` is never
//! allowed, and `HS*` (verified with the client secret) only when the application pins it. An
//! application can pin the set with [`ConfigBuilder::id_token_algorithms`](crate::ConfigBuilder::id_token_algorithms)
//! or `AUTH0_ID_TOKEN_SIGNING_ALGS`.
//!
//! Every algorithm here is verified by `jsonwebtoken`'s `rust_crypto` backend (RSA PKCS#1 v1.5 and
//! PSS, ECDSA P-256 and P-384, Ed25519 for EdDSA). A key is used only for the algorithms its
//! family fits (`kty`/`crv`, and its own `alg` when it names one).

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;
use crate::oidc::provider::ProviderMetadata;

/// The asymmetric algorithms Tollgate accepts from a provider.
pub(crate) const SAFE: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The symmetric ones, allowed only when pinned (the key is the client secret).
const HMAC: &[Algorithm] = &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

/// Where the allowed set comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AlgorithmPolicy {
    /// Discovery's list within [`SAFE`]; `RS256` when discovery lists none.
    Discovery,
    /// The application's set (each in [`SAFE`] or `HS*`), whatever discovery says.
    Pinned(Vec<Algorithm>),
}

impl AlgorithmPolicy {
    /// The algorithms a token from the provider described by `meta` may use.
    pub(crate) fn allowed(&self, meta: &ProviderMetadata) -> Vec<Algorithm> {
        match self {
            Self::Pinned(algs) => algs.clone(),
            Self::Discovery => match &meta.id_token_signing_alg_values_supported {
                None => vec![Algorithm::RS256],
                Some(listed) => {
                    let allowed: Vec<Algorithm> = SAFE
                        .iter()
                        .copied()
                        .filter(|a| listed.iter().any(|l| l == name(*a)))
                        .collect();
                    if allowed.is_empty() {
                        tracing::warn!(
                            listed = ?listed,
                            "the provider lists no ID token algorithm Tollgate accepts; every ID token will be refused (pin one with AUTH0_ID_TOKEN_SIGNING_ALGS if the provider supports it)"
                        );
                    }
                    allowed
                }
            },
        }
    }
}

/// The JOSE name of `alg`.
pub(crate) fn name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        // `Algorithm` is non-exhaustive: a newer one is neither safe-listed nor HMAC.
        _ => "an algorithm Tollgate does not know",
    }
}

/// A pinned set: not empty, and each algorithm in [`SAFE`] or `HS*`.
pub(crate) fn check_pinned(algs: Vec<Algorithm>) -> Result<AlgorithmPolicy, ConfigError> {
    if algs.is_empty() {
        return Err(ConfigError::InvalidValue {
            name: "id_token_algorithms",
            value: "[]".into(),
            expected: "at least one algorithm, e.g. RS256",
        });
    }
    if let Some(bad) = algs.iter().find(|a| !SAFE.contains(a) && !HMAC.contains(a)) {
        return Err(ConfigError::InvalidValue {
            name: "id_token_algorithms",
            value: name(*bad).into(),
            expected: EXPECTED,
        });
    }
    Ok(AlgorithmPolicy::Pinned(algs))
}

const EXPECTED: &str = "a comma-separated list of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512 (never none)";

/// Parses `AUTH0_ID_TOKEN_SIGNING_ALGS` (`ES256,RS256`): a name outside the safe list, `none`
/// included, is an error naming the variable.
pub(crate) fn parse_list(var: &'static str, value: &str) -> Result<Vec<Algorithm>, ConfigError> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let alg = SAFE
            .iter()
            .chain(HMAC)
            .copied()
            .find(|a| name(*a) == item)
            .ok_or_else(|| ConfigError::InvalidValue {
                name: var,
                value: value.to_owned(),
                expected: EXPECTED,
            })?;
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        return Err(ConfigError::InvalidValue {
            name: var,
            value: value.to_owned(),
            expected: EXPECTED,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(listed: Option<&[&str]>) -> ProviderMetadata {
        let mut doc = serde_json::json!({
            "issuer": "https://op.example/",
            "authorization_endpoint": "https://op.example/authorize",
            "token_endpoint": "https://op.example/token",
            "jwks_uri": "https://op.example/jwks",
        });
        if let Some(l) = listed {
            doc["id_token_signing_alg_values_supported"] = serde_json::json!(l);
        }
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn discovery_is_intersected_with_the_safe_list() {
        let p = AlgorithmPolicy::Discovery;
        assert_eq!(
            p.allowed(&meta(Some(&[
                "none", "HS256", "ES256", "PS256", "ES512", "RS256"
            ]))),
            [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256]
        );
        assert_eq!(
            p.allowed(&meta(None)),
            [Algorithm::RS256],
            "the spec's default"
        );
        assert!(p.allowed(&meta(Some(&["none", "HS256"]))).is_empty());
    }

    #[test]
    fn a_pinned_set_ignores_discovery() {
        let p = check_pinned(vec![Algorithm::ES256, Algorithm::HS256]).unwrap();
        assert_eq!(
            p.allowed(&meta(Some(&["RS256"]))),
            [Algorithm::ES256, Algorithm::HS256]
        );
        assert!(check_pinned(Vec::new()).is_err());
    }

    #[test]
    fn the_variable_accepts_only_known_safe_names() {
        let v = "AUTH0_ID_TOKEN_SIGNING_ALGS";
        assert_eq!(
            parse_list(v, " ES256 , RS256,ES256").unwrap(),
            [Algorithm::ES256, Algorithm::RS256]
        );
        for bad in ["none", "RS256,none", "ES512", "rs256", " , "] {
            let err = parse_list(v, bad).unwrap_err();
            assert!(err.to_string().contains(v), "{bad}: {err}");
        }
    }
}

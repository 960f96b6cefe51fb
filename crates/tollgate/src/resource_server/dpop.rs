//! DPoP-bound access tokens at a resource server (RFC 9449 §7): the proof must be signed by the
//! key the token is bound to (`cnf.jkt`), name this request (`htm`, `htu`), be fresh (`iat`),
//! carry the token's hash (`ath`), and not be replayed (`jti`).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::ApiTokenError;
use crate::oidc::dpop::jwk_thumbprint;

/// Largest proof accepted, in bytes.
const MAX_PROOF_LEN: usize = 8 * 1024;
/// Sweep the replay cache once it holds this many entries.
const SWEEP_AT: usize = 4096;

/// Whether an API takes DPoP-bound tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// Bearer tokens, and DPoP-bound tokens with a proof (the default).
    #[default]
    Allowed,
    /// DPoP-bound tokens with a proof only.
    Required,
    /// Bearer tokens only.
    Disabled,
}

/// `jkt:jti` of the proofs seen, with when they may be forgotten.
#[derive(Debug, Default)]
pub(crate) struct ReplayCache {
    seen: Mutex<HashMap<String, u64>>,
}

impl ReplayCache {
    /// `false` when this proof was seen before.
    fn first_use(&self, key: String, until: u64, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= SWEEP_AT {
            seen.retain(|_, u| *u > now);
        }
        if seen.get(&key).is_some_and(|u| *u > now) {
            return false;
        }
        seen.insert(key, until);
        true
    }
}

/// What the proof must match.
pub(crate) struct Expected<'a> {
    pub(crate) htm: &'a str,
    pub(crate) htu: &'a str,
    pub(crate) access_token: &'a str,
    pub(crate) jkt: &'a str,
    pub(crate) now: u64,
    /// How far `iat` may be from now, either way.
    pub(crate) window: u64,
}

fn bad(why: &str) -> ApiTokenError {
    ApiTokenError::InvalidDpopProof(why.to_owned())
}

fn object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&B64.decode(part).ok()?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Checks a `DPoP` proof header against the request and the token's binding.
pub(crate) fn check_proof(
    proof: &str,
    expected: &Expected<'_>,
    replay: &ReplayCache,
) -> Result<(), ApiTokenError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(bad("the proof is too large"));
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(c), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the proof is not a compact JWS"));
    };
    let header = object(h).ok_or_else(|| bad("the proof header is not base64url JSON"))?;
    let claims = object(c).ok_or_else(|| bad("the proof claims are not base64url JSON"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(bad("typ must be dpop+jwt"));
    }
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(bad("alg must be ES256"));
    }
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("the proof has no jwk"))?;
    if jwk.contains_key("d") {
        return Err(bad("the jwk holds a private key"));
    }
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let (Some("EC"), Some("P-256"), Some(x), Some(y)) =
        (field("kty"), field("crv"), field("x"), field("y"))
    else {
        return Err(bad("the jwk is not a P-256 public key"));
    };
    let key = DecodingKey::from_ec_components(x, y).map_err(|_| bad("the jwk is not a key"))?;
    let message = format!("{h}.{c}");
    if !jsonwebtoken::crypto::verify(sig, message.as_bytes(), &key, Algorithm::ES256)
        .unwrap_or(false)
    {
        return Err(bad("the proof's signature does not verify"));
    }
    let jkt = jwk_thumbprint(x, y);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        jkt.as_bytes(),
        expected.jkt.as_bytes(),
    )) {
        return Err(ApiTokenError::Invalid(
            "the proof's key is not the key the token is bound to".into(),
        ));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if !text("htm").is_some_and(|m| m.eq_ignore_ascii_case(expected.htm)) {
        return Err(bad("htm does not name this request's method"));
    }
    if text("htu").map(strip) != Some(strip(expected.htu)) {
        return Err(bad("htu does not name this request's URL"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("iat is missing"))?;
    if iat.abs_diff(expected.now) > expected.window {
        return Err(bad("iat is outside the accepted window"));
    }
    let ath = B64.encode(Sha256::digest(expected.access_token.as_bytes()));
    if text("ath") != Some(ath.as_str()) {
        return Err(bad("ath is not the hash of the access token"));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| bad("jti is missing"))?;
    let until = expected
        .now
        .saturating_add(expected.window.saturating_mul(2));
    if !replay.first_use(format!("{jkt}:{jti}"), until, expected.now) {
        return Err(bad("the proof was already used"));
    }
    Ok(())
}

/// A URL without query and fragment.
fn strip(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

//! DPoP (RFC 9449) on the tenant's side: checking proofs, refusing replays, handing out nonces.
//!
//! A proof must be a compact JWS with `typ: "dpop+jwt"`, `alg: "ES256"` and a public P-256
//! `jwk` in its header, signed by that key, with `htm` and `htu` naming this request, an `iat`
//! within [`IAT_WINDOW`] of now, a `jti` not seen before, `ath` when an access token is
//! presented, and — when the client must use one — a nonce this tenant issued.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::{Moment, SharedClock};
use crate::random;

/// How far a proof's `iat` may be from the tenant's clock, either way (seconds).
pub(crate) const IAT_WINDOW: u64 = 60;

/// How long a nonce is current; the previous one stays valid for as long again.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Largest `DPoP` header accepted, in bytes.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// Longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// Sweep the replay cache once it holds this many entries.
const SWEEP_AT: usize = 4096;

/// The description of a `use_dpop_nonce` answer, in Auth0's words.
pub(crate) const USE_NONCE_DESCRIPTION: &str = "Authorization server requires nonce in DPoP proof";

/// What the request the proof is for looks like.
#[derive(Debug)]
pub(crate) struct Expected<'a> {
    /// The HTTP method.
    pub(crate) htm: &'a str,
    /// The endpoint's absolute URL, without query.
    pub(crate) htu: &'a str,
    /// The access token presented with the proof (then `ath` is required).
    pub(crate) access_token: Option<&'a str>,
    /// Whether the proof must carry a nonce issued by this tenant.
    pub(crate) require_nonce: bool,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProofError {
    /// `invalid_dpop_proof`, with a description.
    Invalid(&'static str),
    /// `use_dpop_nonce`: the proof has no (current) nonce.
    UseNonce,
}

/// Replay cache and nonces.
#[derive(Debug, Default)]
pub(crate) struct DpopState {
    inner: Mutex<Inner>,
    clock: SharedClock,
}

#[derive(Debug, Default)]
struct Inner {
    /// `jkt:jti` → when it may be forgotten.
    seen: HashMap<String, Moment>,
    current: Option<(String, Moment)>,
    previous: Option<String>,
}

impl DpopState {
    /// An empty cache on the tenant's clock.
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self {
            inner: Mutex::default(),
            clock,
        }
    }

    /// The current nonce, rotated once it is [`NONCE_LIFETIME`] old.
    pub(crate) fn nonce(&self) -> String {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.moment();
        match &inner.current {
            Some((nonce, at)) if now.saturating_duration_since(*at) < NONCE_LIFETIME => {
                nonce.clone()
            }
            _ => {
                let fresh = random::token(24);
                let old = inner.current.replace((fresh.clone(), now));
                inner.previous = old.map(|(n, _)| n);
                fresh
            }
        }
    }

    fn nonce_valid(&self, nonce: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.moment();
        let current = inner.current.as_ref().is_some_and(|(n, at)| {
            n == nonce && now.saturating_duration_since(*at) < NONCE_LIFETIME * 2
        });
        current || inner.previous.as_deref() == Some(nonce)
    }

    /// Records `key`; false when it was already recorded (a replay).
    fn first_use(&self, key: String) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.moment();
        if inner.seen.len() >= SWEEP_AT {
            inner.seen.retain(|_, until| *until > now);
        }
        if inner.seen.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        // Kept until its iat can no longer pass the window.
        inner
            .seen
            .insert(key, now + Duration::from_secs(2 * IAT_WINDOW + 1));
        true
    }
}

/// Checks the request's `DPoP` header against `expected`: `Ok(None)` without one,
/// `Ok(Some(jkt))` with a good proof (the thumbprint of its key).
pub(crate) fn check(
    dpop: &DpopState,
    headers: &HeaderMap,
    expected: &Expected<'_>,
) -> Result<Option<String>, ProofError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ProofError::Invalid("More than one DPoP proof was sent"));
    }
    let proof = value
        .to_str()
        .ok()
        .filter(|p| p.len() <= MAX_PROOF_LEN)
        .ok_or(ProofError::Invalid("The DPoP proof is malformed"))?;
    verify(dpop, proof, expected, dpop.clock.now()).map(Some)
}

/// Verifies a proof; returns the thumbprint of its key.
pub(crate) fn verify(
    dpop: &DpopState,
    proof: &str,
    expected: &Expected<'_>,
    now: u64,
) -> Result<String, ProofError> {
    const MALFORMED: ProofError = ProofError::Invalid("The DPoP proof is malformed");
    let mut parts = proof.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MALFORMED);
    };
    let header = decode_object(h).ok_or(MALFORMED)?;
    let claims = decode_object(c).ok_or(MALFORMED)?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(ProofError::Invalid("The DPoP proof typ must be dpop+jwt"));
    }
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(ProofError::Invalid(
            "Unsupported DPoP proof algorithm (use ES256)",
        ));
    }
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(ProofError::Invalid("The DPoP proof header has no jwk"))?;
    let (key, jkt) = public_key(jwk)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or(ProofError::Invalid("The DPoP proof signature is invalid"))?;
    let signed = &proof[..h.len() + 1 + c.len()];
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| ProofError::Invalid("The DPoP proof signature is invalid"))?;

    if claims.get("htm").and_then(Value::as_str) != Some(expected.htm) {
        return Err(ProofError::Invalid(
            "The DPoP proof htm does not match the request",
        ));
    }
    let htu_ok = claims
        .get("htu")
        .and_then(Value::as_str)
        .is_some_and(|htu| same_target(htu, expected.htu));
    if !htu_ok {
        return Err(ProofError::Invalid(
            "The DPoP proof htu does not match the request",
        ));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or(ProofError::Invalid("The DPoP proof has no valid iat"))?;
    if iat.abs_diff(now) > IAT_WINDOW {
        return Err(ProofError::Invalid(
            "The DPoP proof iat is outside the acceptable window",
        ));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(ProofError::Invalid("The DPoP proof has no valid jti"))?;
    if let Some(token) = expected.access_token {
        let want = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims.get("ath").and_then(Value::as_str) != Some(want.as_str()) {
            return Err(ProofError::Invalid(
                "The DPoP proof ath does not match the access token",
            ));
        }
    }
    if expected.require_nonce {
        let nonce_ok = claims
            .get("nonce")
            .and_then(Value::as_str)
            .is_some_and(|n| dpop.nonce_valid(n));
        if !nonce_ok {
            return Err(ProofError::UseNonce);
        }
    }
    if !dpop.first_use(format!("{jkt}:{jti}")) {
        return Err(ProofError::Invalid("The DPoP proof was already used (jti)"));
    }
    Ok(jkt)
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The P-256 key of a public JWK, and its RFC 7638 thumbprint.
fn public_key(jwk: &Map<String, Value>) -> Result<(VerifyingKey, String), ProofError> {
    const BAD: ProofError = ProofError::Invalid("The DPoP proof jwk is not a P-256 public key");
    if jwk.contains_key("d") {
        return Err(ProofError::Invalid(
            "The DPoP proof jwk contains a private key",
        ));
    }
    if jwk.get("kty").and_then(Value::as_str) != Some("EC")
        || jwk.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err(BAD);
    }
    let x = jwk.get("x").and_then(Value::as_str).ok_or(BAD)?;
    let y = jwk.get("y").and_then(Value::as_str).ok_or(BAD)?;
    let xb = URL_SAFE_NO_PAD.decode(x).map_err(|_| BAD)?;
    let yb = URL_SAFE_NO_PAD.decode(y).map_err(|_| BAD)?;
    if xb.len() != 32 || yb.len() != 32 {
        return Err(BAD);
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(4);
    sec1.extend_from_slice(&xb);
    sec1.extend_from_slice(&yb);
    let key = VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| BAD)?;
    Ok((key, thumbprint(x, y)))
}

/// RFC 7638: SHA-256 over `{"crv","kty","x","y"}` in that order, without whitespace.
pub(crate) fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Whether a proof's `htu` names `expected` (scheme and host case-insensitively, default ports
/// dropped; query and fragment ignored).
fn same_target(htu: &str, expected: &str) -> bool {
    let norm = |u: &str| {
        url::Url::parse(u).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((norm(htu), norm(expected)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9449_example_key_thumbprint() {
        assert_eq!(
            thumbprint(
                "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
            ),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn targets_compare_without_query_and_with_normal_case() {
        assert!(same_target(
            "HTTP://127.0.0.1:80/oauth/token?x=1",
            "http://127.0.0.1/oauth/token"
        ));
        assert!(!same_target(
            "http://127.0.0.1/oauth/token/",
            "http://127.0.0.1/oauth/token"
        ));
        assert!(!same_target("not a url", "http://127.0.0.1/oauth/token"));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let state = DpopState::default();
        let expected = Expected {
            htm: "POST",
            htu: "http://127.0.0.1/oauth/token",
            access_token: None,
            require_nonce: false,
        };
        for proof in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            "eyJ9.eyJ9.",
            "\u{0}.\u{0}.\u{0}",
        ] {
            assert!(matches!(
                verify(&state, proof, &expected, 0),
                Err(ProofError::Invalid(_))
            ));
        }
    }

    #[test]
    fn nonces_rotate_and_the_previous_one_stays_valid() {
        let state = DpopState::default();
        let n = state.nonce();
        assert_eq!(state.nonce(), n, "stable while current");
        assert!(state.nonce_valid(&n));
        assert!(!state.nonce_valid("made-up"));
        assert!(state.first_use("k:1".into()));
        assert!(!state.first_use("k:1".into()));
        assert!(state.first_use("k:2".into()));
    }
}

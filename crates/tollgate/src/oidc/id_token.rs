//! ID token validation: signature with an algorithm allow-list, then every claim the login needs.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::error::{IdTokenError, ProviderError};
use crate::oidc::provider::Provider;
use crate::oidc::provider::jwks::VerificationKey;
use crate::session::secret::Secret;

pub(crate) mod algorithms;

/// What an ID token must satisfy.
#[derive(Debug)]
pub(crate) struct Expectations<'a> {
    /// The issuer exactly as discovery spells it.
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    /// The nonce sent at login; `None` only for refresh responses, where the nonce is not required.
    pub(crate) nonce: Option<&'a str>,
    /// `max_age` sent at login: `auth_time` must be recent enough.
    pub(crate) max_age: Option<u64>,
    pub(crate) now: u64,
    pub(crate) tolerance: u64,
    pub(crate) algorithms: &'a [Algorithm],
    /// The client secret, for HS* algorithms when they are allowed.
    pub(crate) client_secret: &'a Secret,
}

/// A JWS split into its parts, with the header parsed.
pub(crate) struct ParsedJws<'t> {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) signing_input: &'t str,
    pub(crate) signature: &'t str,
    pub(crate) payload_b64: &'t str,
}

/// Splits a compact JWS and parses its header. Never panics on any input.
pub(crate) fn parse_jws(token: &str) -> Result<ParsedJws<'_>, IdTokenError> {
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(IdTokenError::Malformed("not three dot-separated parts"))?;
    let (header_b64, payload_b64) = signing_input
        .split_once('.')
        .ok_or(IdTokenError::Malformed("not three dot-separated parts"))?;
    if payload_b64.contains('.') {
        return Err(IdTokenError::Malformed(
            "not three dot-separated parts (a JWE?)",
        ));
    }
    let header = decode_object(header_b64)
        .ok_or(IdTokenError::Malformed("the header is not base64url JSON"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(IdTokenError::Malformed("the header has no alg"))?
        .to_owned();
    if header.contains_key("crit") {
        return Err(IdTokenError::Malformed(
            "the header has critical extensions Tollgate does not support",
        ));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(IdTokenError::Malformed("kid is not a string")),
    };
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(IdTokenError::Malformed("typ is not a string")),
    };
    Ok(ParsedJws {
        alg,
        kid,
        typ,
        signing_input,
        signature,
        payload_b64,
    })
}

pub(crate) fn decode_object(b64: &str) -> Option<Map<String, Value>> {
    let raw = B64.decode(b64).ok()?;
    match serde_json::from_slice(&raw).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Verifies the signature of `jws` with the provider's keys (or the client secret for HS*), after
/// checking its algorithm against `allowed`. Returns the payload.
pub(crate) async fn verify_signature(
    provider: &Provider,
    jws: &ParsedJws<'_>,
    allowed: &[Algorithm],
    client_secret: &Secret,
) -> Result<Map<String, Value>, VerifyError> {
    let alg = Algorithm::from_str(&jws.alg)
        .ok()
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| IdTokenError::DisallowedAlgorithm(jws.alg.clone()))?;
    let keys = if is_hmac(alg) {
        None
    } else {
        let wanted = |keys: &[VerificationKey]| keys.iter().any(|k| key_fits(jws, alg, k));
        Some(provider.jwks(wanted).await.map_err(VerifyError::Provider)?)
    };
    let ok = verify_with_keys(jws, alg, keys.as_deref().map_or(&[], |k| k), client_secret)?;
    if !ok {
        return Err(IdTokenError::InvalidSignature.into());
    }
    decode_object(jws.payload_b64)
        .ok_or(IdTokenError::Malformed("the payload is not base64url JSON").into())
}

/// Failure of signature verification: the token, or the provider's key endpoint.
#[derive(Debug)]
pub(crate) enum VerifyError {
    Token(IdTokenError),
    Provider(ProviderError),
}

impl From<IdTokenError> for VerifyError {
    fn from(e: IdTokenError) -> Self {
        Self::Token(e)
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Whether `key` may verify `jws` signed with `alg`: the key's family and its own `alg` fit, and
/// its `kid` is the token's when the token names one.
fn key_fits(jws: &ParsedJws<'_>, alg: Algorithm, key: &VerificationKey) -> bool {
    key.family.fits(alg)
        && key.alg.as_deref().is_none_or(|a| a == jws.alg)
        && (jws.kid.is_none() || key.kid.as_deref() == jws.kid.as_deref())
}

/// Checks the signature of `jws` with an already allowed `alg`: HMAC with the client secret, else
/// every key of `keys` that fits. `Err` when no key fits at all.
pub(crate) fn verify_with_keys(
    jws: &ParsedJws<'_>,
    alg: Algorithm,
    keys: &[VerificationKey],
    client_secret: &Secret,
) -> Result<bool, IdTokenError> {
    let message = jws.signing_input.as_bytes();
    if is_hmac(alg) {
        let key = DecodingKey::from_secret(client_secret.expose().as_bytes());
        return Ok(
            jsonwebtoken::crypto::verify(jws.signature, message, &key, alg).unwrap_or(false),
        );
    }
    let mut candidates = keys.iter().filter(|k| key_fits(jws, alg, k)).peekable();
    if candidates.peek().is_none() {
        return Err(IdTokenError::NoMatchingKey {
            kid: jws.kid.clone(),
        });
    }
    Ok(candidates.any(|k| {
        jsonwebtoken::crypto::verify(jws.signature, message, &k.key, alg).unwrap_or(false)
    }))
}

/// Validates an ID token completely and returns its claims.
pub(crate) async fn validate(
    provider: &Provider,
    token: &str,
    exp: &Expectations<'_>,
) -> Result<Map<String, Value>, VerifyError> {
    let jws = parse_jws(token)?;
    let claims = verify_signature(provider, &jws, exp.algorithms, exp.client_secret).await?;
    check_claims(&claims, exp)?;
    Ok(claims)
}

/// A non-negative numeric date claim; strings and other types are refused, never ignored.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, IdTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(IdTokenError::InvalidClaim(name)),
        Some(_) => Err(IdTokenError::InvalidClaim(name)),
    }
}

/// Checks `aud` contains `client_id`, and `azp` when present or when there are several audiences.
pub(crate) fn check_audience(
    claims: &Map<String, Value>,
    client_id: &str,
) -> Result<(), IdTokenError> {
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(IdTokenError::InvalidClaim("aud")))
            .collect::<Result<_, _>>()?,
        _ => return Err(IdTokenError::InvalidClaim("aud")),
    };
    if !auds.contains(&client_id) {
        return Err(IdTokenError::AudienceMismatch);
    }
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        Some(_) => Err(IdTokenError::AuthorizedPartyMismatch),
        None if auds.len() > 1 => Err(IdTokenError::AuthorizedPartyMismatch),
        None => Ok(()),
    }
}

pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    exp: &Expectations<'_>,
) -> Result<(), IdTokenError> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == exp.issuer => {}
        Some(iss) => {
            return Err(IdTokenError::IssuerMismatch {
                expected: exp.issuer.to_owned(),
                found: iss.to_owned(),
            });
        }
        None => return Err(IdTokenError::InvalidClaim("iss")),
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(IdTokenError::InvalidClaim("sub"));
    }
    check_audience(claims, exp.client_id)?;
    let expires = numeric_date(claims, "exp")?.ok_or(IdTokenError::InvalidClaim("exp"))?;
    if exp.now > expires.saturating_add(exp.tolerance) {
        return Err(IdTokenError::Expired);
    }
    let iat = numeric_date(claims, "iat")?.ok_or(IdTokenError::InvalidClaim("iat"))?;
    if iat > exp.now.saturating_add(exp.tolerance) {
        return Err(IdTokenError::IssuedInFuture);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > exp.now.saturating_add(exp.tolerance)
    {
        return Err(IdTokenError::NotYetValid);
    }
    if let Some(expected) = exp.nonce {
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !bool::from(got.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(IdTokenError::NonceMismatch);
        }
    }
    let auth_time = numeric_date(claims, "auth_time")?;
    if let Some(max_age) = exp.max_age {
        let at = auth_time.ok_or(IdTokenError::InvalidClaim("auth_time"))?;
        if exp.now > at.saturating_add(max_age).saturating_add(exp.tolerance) {
            return Err(IdTokenError::AuthTimeTooOld);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

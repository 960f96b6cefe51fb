//! Compact JWS: signing with the tenant's keys (and the deliberately wrong ways the faults need),
//! and verifying the tenant's own tokens.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::keys::SigningKey;

/// JWT claims as a JSON object.
pub(crate) type Claims = Map<String, Value>;

/// Signs with RS256 and the key's `kid`: header `{"typ":"JWT","alg":"RS256","kid":…}`.
pub(crate) fn sign_rs256(key: &SigningKey, claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key())
        .expect("RS256 signing with a well-formed RSA key and JSON claims cannot fail")
}

/// Signs an RS256 JWS over exactly these header and payload JSON texts (for tokens whose
/// member order matters, and for headers with arbitrary members).
pub(crate) fn sign_rs256_raw(key: &SigningKey, header_json: &str, payload_json: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(payload_json)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), key.encoding_key(), Algorithm::RS256)
            .expect("RS256 signing with a well-formed RSA key cannot fail");
    format!("{message}.{signature}")
}

/// Signs `claims` RS256 with `key` under `header`, which gets `alg: "RS256"` and the key's
/// `kid` when it has none (other members, even a different `alg`, are kept as given).
pub(crate) fn sign_with_header(key: &SigningKey, mut header: Claims, claims: Claims) -> String {
    header.entry("alg").or_insert_with(|| Value::from("RS256"));
    header
        .entry("kid")
        .or_insert_with(|| Value::from(key.kid()));
    sign_rs256_raw(
        key,
        &Value::Object(header).to_string(),
        &Value::Object(claims).to_string(),
    )
}

/// A JSON object with its members in the given order.
pub(crate) fn ordered_object(members: &[(&str, Value)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(name, value)| format!("{}:{value}", Value::from(*name)))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Signs with HS256 and `secret` as the HMAC key, optionally naming a `kid`.
pub(crate) fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret))
        .expect("HS256 signing of JSON claims cannot fail")
}

/// An unsecured JWT: header `{"alg":"none","typ":"JWT"}` and an empty signature.
pub(crate) fn unsigned(claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
    format!("{header}.{payload}.")
}

/// Flips one bit of the signature, leaving a well-formed token whose signature fails.
pub(crate) fn corrupt_signature(token: &str) -> String {
    let Some((message, signature)) = token.rsplit_once('.') else {
        return token.to_owned();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Verifies an RS256 token signed by one of `keys` and issued by `issuer`; returns its claims.
///
/// `exp` is checked only when `check_expiry` is set (an expired `id_token_hint` is acceptable).
/// The audience is left to the caller.
pub(crate) fn verify_rs256(
    keys: &[Arc<SigningKey>],
    issuer: &str,
    token: &str,
    check_expiry: bool,
) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 {
        return None;
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    validation.validate_exp = check_expiry;
    validation.leeway = 0;
    validation.required_spec_claims.clear();
    keys.iter()
        .filter(|k| header.kid.as_deref().is_none_or(|kid| kid == k.kid()))
        .find_map(|k| jsonwebtoken::decode::<Claims>(token, k.decoding_key(), &validation).ok())
        .map(|data| data.claims)
}

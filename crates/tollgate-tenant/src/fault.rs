//! Deliberately broken ID tokens, for testing that a relying party rejects them.

use serde_json::{Value, json};

use crate::jwt::{self, Claims};
use crate::keys::SigningKey;
use crate::state::TenantState;

/// The issuer put in tokens by [`IdTokenFault::WrongIssuer`].
pub(crate) const WRONG_ISSUER: &str = "https://wrong-issuer.example.com/";
/// The audience put in tokens by [`IdTokenFault::WrongAudience`].
pub(crate) const WRONG_AUDIENCE: &str = "some-other-client";
/// The extra audience added by [`IdTokenFault::MultipleAudiencesWithoutAzp`].
pub(crate) const OTHER_AUDIENCE: &str = "other";
/// The nonce put in tokens by [`IdTokenFault::WrongNonce`].
pub(crate) const WRONG_NONCE: &str = "wrong-nonce";

/// A defect to build into every ID token the tenant issues while it is set
/// (see [`RunningTenant::set_id_token_fault`](crate::RunningTenant::set_id_token_fault)).
///
/// Claim faults are applied after all normal claims are in place; signature faults decide how the
/// result is signed.
///
/// ```
/// use tollgate_tenant::IdTokenFault;
///
/// let fault = IdTokenFault::SetClaim("azp".to_owned(), serde_json::json!("someone-else"));
/// assert_ne!(fault, IdTokenFault::Expired);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum IdTokenFault {
    /// Header `{"alg":"none","typ":"JWT"}` and an empty signature.
    AlgNone,
    /// A correctly built RS256 token with one signature bit flipped.
    BadSignature,
    /// Signed RS256 by a fresh key that is not in the JWKS, with that key's own `kid`.
    UnknownKid,
    /// Signed HS256 with the client secret as the HMAC key (no `kid`).
    Hs256WithClientSecret,
    /// Signed HS256 with the current RSA public key's SPKI PEM text as the HMAC key, naming the
    /// RSA key's `kid`: the classic algorithm-confusion attack.
    Hs256WithPublicKey,
    /// `iss` is `https://wrong-issuer.example.com/`.
    WrongIssuer,
    /// `aud` is `"some-other-client"`.
    WrongAudience,
    /// `aud` is `[client_id, "other"]` and there is no `azp`.
    MultipleAudiencesWithoutAzp,
    /// `nonce` is `"wrong-nonce"` (set even when the request sent none).
    WrongNonce,
    /// `exp` one hour in the past (`iat` two hours in the past).
    Expired,
    /// `iat` one hour in the future (`exp` one lifetime after that).
    IssuedInFuture,
    /// Removes the named claim.
    RemoveClaim(String),
    /// Sets the named claim to a value (adding or replacing it).
    SetClaim(String, Value),
}

/// Signs ID token claims with the current key, building in the configured fault, if any.
pub(crate) fn sign_id_token(
    state: &TenantState,
    client_secret: &str,
    mut claims: Claims,
) -> String {
    let key = state.current_key();
    let Some(fault) = state.fault() else {
        return jwt::sign_rs256(&key, &claims);
    };
    let now = state.now();
    let lifetime = state.config.id_token_lifetime().as_secs();
    match &fault {
        IdTokenFault::WrongIssuer => {
            claims.insert("iss".to_owned(), json!(WRONG_ISSUER));
        }
        IdTokenFault::WrongAudience => {
            claims.insert("aud".to_owned(), json!(WRONG_AUDIENCE));
        }
        IdTokenFault::MultipleAudiencesWithoutAzp => {
            let aud = claims.get("aud").cloned().unwrap_or(Value::Null);
            claims.insert("aud".to_owned(), json!([aud, OTHER_AUDIENCE]));
            claims.remove("azp");
        }
        IdTokenFault::WrongNonce => {
            claims.insert("nonce".to_owned(), json!(WRONG_NONCE));
        }
        IdTokenFault::Expired => {
            claims.insert("iat".to_owned(), json!(now.saturating_sub(7200)));
            claims.insert("exp".to_owned(), json!(now.saturating_sub(3600)));
        }
        IdTokenFault::IssuedInFuture => {
            claims.insert("iat".to_owned(), json!(now + 3600));
            claims.insert("exp".to_owned(), json!(now + 3600 + lifetime));
        }
        IdTokenFault::RemoveClaim(name) => {
            claims.remove(name);
        }
        IdTokenFault::SetClaim(name, value) => {
            claims.insert(name.clone(), value.clone());
        }
        IdTokenFault::AlgNone
        | IdTokenFault::BadSignature
        | IdTokenFault::UnknownKid
        | IdTokenFault::Hs256WithClientSecret
        | IdTokenFault::Hs256WithPublicKey => {}
    }
    match &fault {
        IdTokenFault::AlgNone => jwt::unsigned(&claims),
        IdTokenFault::BadSignature => jwt::corrupt_signature(&jwt::sign_rs256(&key, &claims)),
        IdTokenFault::UnknownKid => sign_with_rogue_key(state, &key, &claims),
        IdTokenFault::Hs256WithClientSecret => {
            jwt::sign_hs256(client_secret.as_bytes(), None, &claims)
        }
        IdTokenFault::Hs256WithPublicKey => {
            jwt::sign_hs256(key.public_pem().as_bytes(), Some(key.kid()), &claims)
        }
        _ => jwt::sign_rs256(&key, &claims),
    }
}

fn sign_with_rogue_key(state: &TenantState, fallback: &SigningKey, claims: &Claims) -> String {
    match state.rogue_key() {
        Ok(rogue) => jwt::sign_rs256(rogue, claims),
        Err(e) => {
            // Key generation does not fail in practice; a corrupted signature still fails closed.
            tracing::error!(error = %e, "cannot generate the unpublished key; corrupting the signature instead");
            jwt::corrupt_signature(&jwt::sign_rs256(fallback, claims))
        }
    }
}

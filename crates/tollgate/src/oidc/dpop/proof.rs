//! DPoP proof JWTs (RFC 9449 §4.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};

use super::DpopKey;

impl DpopKey {
    /// A DPoP proof for one request, signed now: header `{"typ":"dpop+jwt","alg":"ES256","jwk":…}`
    /// and claims `jti` (random), `htm`, `htu` (without query and fragment), `iat`, plus `nonce`
    /// when the server gave one and `ath` = base64url(SHA-256(access token)) when presenting a
    /// token to a resource server.
    ///
    /// ```
    /// let key = tollgate::DpopKey::generate();
    /// let proof = key.proof("GET", "https://api.example.com/orders#top", Some("n-1"), Some("at"));
    /// let claims = proof.split('.').nth(1).unwrap();
    /// # use base64::Engine;
    /// let claims: serde_json::Value = serde_json::from_slice(
    ///     &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap(),
    /// ).unwrap();
    /// assert_eq!(claims["htu"], "https://api.example.com/orders");
    /// assert_eq!(claims["nonce"], "n-1");
    /// ```
    pub fn proof(
        &self,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        self.proof_at(htm, htu, nonce, access_token, crate::time::system_now())
    }

    /// Like [`proof`](Self::proof), with `iat` given (seconds since the epoch): for a clock that
    /// is known to be off, or for tests.
    pub fn proof_at(
        &self,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
        iat: u64,
    ) -> String {
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": self.public_jwk(),
        });
        let mut claims = serde_json::Map::new();
        claims.insert("jti".into(), crate::random::token(24).into());
        claims.insert("htm".into(), htm.into());
        claims.insert("htu".into(), htu_of(htu).into());
        claims.insert("iat".into(), iat.into());
        if let Some(at) = access_token {
            claims.insert("ath".into(), access_token_hash(at).into());
        }
        if let Some(n) = nonce {
            claims.insert("nonce".into(), n.into());
        }
        let message = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::Value::Object(claims).to_string())
        );
        let signature = self.sign(message.as_bytes());
        format!("{message}.{}", B64.encode(signature))
    }
}

/// The `htu` of a request URL: the URL without its query and fragment (RFC 9449 §4.2).
pub(crate) fn htu_of(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// `ath`: base64url(SHA-256(ASCII of the access token)).
pub(crate) fn access_token_hash(access_token: &str) -> String {
    B64.encode(Sha256::digest(access_token.as_bytes()))
}

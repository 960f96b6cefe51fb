//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the client
//! proves itself with a short-lived JWT signed by its own key instead of sending a secret.
//!
//! Keys are ES256 (P-256) only: RSA signing with the `rsa` crate is exposed to the Marvin timing
//! attack (RUSTSEC-2023-0071), and Tollgate never performs RSA private-key operations.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;

use crate::oidc::dpop::{DpopKey, DpopKeyError};

/// The `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client's ES256 signing key, registered at the provider by its public key.
///
/// ```
/// let key = tollgate::ClientAssertionKey::generate().with_kid("app-key-1");
/// // Register this public key with the application at the provider.
/// assert!(key.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
/// ```
#[derive(Clone)]
pub struct ClientAssertionKey {
    key: DpopKey,
    kid: Option<String>,
}

impl std::fmt::Debug for ClientAssertionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAssertionKey")
            .field("kid", &self.kid)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl ClientAssertionKey {
    /// A new random key (register its [`public_key_pem`](Self::public_key_pem)).
    pub fn generate() -> Self {
        Self {
            key: DpopKey::generate(),
            kid: None,
        }
    }

    /// Reads a P-256 private key (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY` PEM), as in
    /// `AUTH0_CLIENT_ASSERTION_SIGNING_KEY`.
    ///
    /// # Errors
    /// [`DpopKeyError::InvalidPrivateKey`] for anything else (RSA keys included).
    pub fn from_pem(private_pem: &str) -> Result<Self, DpopKeyError> {
        Ok(Self {
            key: DpopKey::from_private_pem(private_pem)?,
            kid: None,
        })
    }

    /// Names the key in the assertion's header (`kid`), for providers holding several.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The public key, SPKI PEM.
    pub fn public_key_pem(&self) -> String {
        self.key.public_key_pem()
    }

    /// A client assertion for `client_id` at `audience`, valid for 60 seconds from `now`.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str, now: u64) -> String {
        let mut header = json!({"alg": "ES256", "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": crate::random::token(16),
        });
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assertion_is_an_es256_jwt_the_public_key_verifies() {
        let key = ClientAssertionKey::generate().with_kid("k1");
        let jwt = key.assertion("app", "https://tenant.example.com/", 1_800_000_000);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "k1");
        let claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str()),
            (Some("app"), Some("app"))
        );
        assert_eq!(claims["aud"], "https://tenant.example.com/");
        assert_eq!(claims["exp"], 1_800_000_060u64);
        let decoding =
            jsonwebtoken::DecodingKey::from_ec_pem(key.public_key_pem().as_bytes()).unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        assert!(
            jsonwebtoken::crypto::verify(
                parts[2],
                message.as_bytes(),
                &decoding,
                jsonwebtoken::Algorithm::ES256
            )
            .unwrap()
        );
        assert!(ClientAssertionKey::from_pem("-----BEGIN RSA PRIVATE KEY-----").is_err());
        assert!(format!("{key:?}").contains("redacted"));
    }
}

//! The DPoP key pair: ES256 on P-256, generated or read from PEM, with its public JWK and RFC 7638
//! thumbprint.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey, signature::Signer};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Why a DPoP key could not be read.
///
/// The messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopKeyError {
    /// The private key is not a PEM-encoded P-256 key (PKCS#8 `PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`).
    #[error(
        "the DPoP private key is not a PEM-encoded P-256 (ES256) key: use a PKCS#8 `-----BEGIN PRIVATE KEY-----` block, e.g. from `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
    )]
    InvalidPrivateKey,
    /// The public key is not a PEM-encoded P-256 `PUBLIC KEY` (SPKI).
    #[error(
        "the DPoP public key is not a PEM-encoded P-256 (ES256) key: use the SPKI `-----BEGIN PUBLIC KEY-----` block of the private key (`openssl pkey -pubout`)"
    )]
    InvalidPublicKey,
    /// The public key does not belong to the private key.
    #[error(
        "the DPoP public key does not belong to the private key: set AUTH0_DPOP_PUBLIC_KEY to the public half of AUTH0_DPOP_PRIVATE_KEY"
    )]
    KeyMismatch,
}

/// An ES256 (P-256) key pair that proves possession of DPoP-bound tokens (RFC 9449).
///
/// Cheap to clone (shared). `Debug` shows only the thumbprint; the private scalar is zeroized
/// when the last clone is dropped.
///
/// ```
/// let key = tollgate::DpopKey::generate();
/// assert_eq!(key.public_jwk()["kty"], "EC");
/// assert_eq!(key.thumbprint().len(), 43); // base64url of a SHA-256 digest
/// let proof = key.proof("POST", "https://example.auth0.com/oauth/token?x=1", None, None);
/// assert_eq!(proof.split('.').count(), 3);
/// // The PEM pair reads back as the same key.
/// let again = tollgate::DpopKey::from_pem(&key.private_key_pem(), &key.public_key_pem()).unwrap();
/// assert_eq!(again.thumbprint(), key.thumbprint());
/// ```
#[derive(Clone)]
pub struct DpopKey {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    signing: SigningKey,
    /// base64url of the affine coordinates.
    x: String,
    y: String,
    thumbprint: String,
}

impl DpopKey {
    /// A new random key pair (from the operating system's random source).
    ///
    /// Tokens bound to it are usable only while this process keeps the key: for sessions that
    /// outlive a restart, or several processes, load one key from PEM instead.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        loop {
            crate::random::fill(&mut bytes);
            // Fails only for zero or a value ≥ the group order: about 2^-32 of the time.
            if let Ok(signing) = SigningKey::from_slice(&bytes) {
                bytes.zeroize();
                return Self::from_signing(signing);
            }
        }
    }

    /// Reads the pair from PEM, as nextjs-auth0's `AUTH0_DPOP_PRIVATE_KEY` (PKCS#8; SEC1 is
    /// accepted too) and `AUTH0_DPOP_PUBLIC_KEY` (SPKI). The public key must belong to the
    /// private one.
    ///
    /// ```
    /// let err = tollgate::DpopKey::from_pem("not a key", "not a key").unwrap_err();
    /// assert_eq!(err, tollgate::DpopKeyError::InvalidPrivateKey);
    /// ```
    pub fn from_pem(private_pem: &str, public_pem: &str) -> Result<Self, DpopKeyError> {
        let key = Self::from_private_pem(private_pem)?;
        let public = VerifyingKey::from_public_key_pem(public_pem.trim())
            .map_err(|_| DpopKeyError::InvalidPublicKey)?;
        if public != *key.inner.signing.verifying_key() {
            return Err(DpopKeyError::KeyMismatch);
        }
        Ok(key)
    }

    /// Reads the private key from PEM (PKCS#8 `PRIVATE KEY`, or SEC1 `EC PRIVATE KEY`); the
    /// public key is derived from it.
    pub fn from_private_pem(private_pem: &str) -> Result<Self, DpopKeyError> {
        let pem = private_pem.trim();
        let secret = p256::SecretKey::from_pkcs8_pem(pem)
            .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
            .map_err(|_| DpopKeyError::InvalidPrivateKey)?;
        Ok(Self::from_signing(SigningKey::from(&secret)))
    }

    fn from_signing(signing: SigningKey) -> Self {
        let point = signing.verifying_key().to_encoded_point(false);
        let (x, y) = match (point.x(), point.y()) {
            (Some(x), Some(y)) => (B64.encode(x), B64.encode(y)),
            _ => {
                unreachable!("invariant: an uncompressed point of a valid key has both coordinates")
            }
        };
        let thumbprint = jwk_thumbprint(&x, &y);
        Self {
            inner: Arc::new(KeyInner {
                signing,
                x,
                y,
                thumbprint,
            }),
        }
    }

    /// The public key as a JWK: `{"kty":"EC","crv":"P-256","x":…,"y":…}` (no private member).
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.inner.x,
            "y": self.inner.y,
        })
    }

    /// The RFC 7638 SHA-256 thumbprint of the public JWK, base64url: the `dpop_jkt` sent to
    /// `/authorize` and the `cnf.jkt` of bound access tokens.
    pub fn thumbprint(&self) -> &str {
        &self.inner.thumbprint
    }

    /// The private key as PKCS#8 PEM (for `AUTH0_DPOP_PRIVATE_KEY`). Keep it secret; the
    /// returned string is wiped from memory when dropped.
    pub fn private_key_pem(&self) -> Zeroizing<String> {
        self.inner
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("invariant: a valid P-256 key always encodes as PKCS#8")
    }

    /// The public key as SPKI PEM (for `AUTH0_DPOP_PUBLIC_KEY`).
    pub fn public_key_pem(&self) -> String {
        self.inner
            .signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("invariant: a valid P-256 public key always encodes as SPKI")
    }

    /// Signs `message` with ES256: the 64-byte `r || s` of a JWS signature.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: Signature = self.inner.signing.sign(message);
        signature.to_bytes().into()
    }
}

/// The RFC 7638 thumbprint of an EC P-256 public JWK: SHA-256 over the required members in
/// lexicographic order, without whitespace, base64url.
pub(crate) fn jwk_thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &"ES256")
            .field("thumbprint", &self.inner.thumbprint)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

//! RSA signing keys and the key ring published as the JWKS.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::TenantError;

/// RSA modulus size for generated keys, as Auth0 uses.
const KEY_BITS: usize = 2048;

/// The signing key of every tenant in this process that names no key file and asks for no fresh
/// key: generated once (about a second), then shared. A generation failure is kept as its
/// message, so every later start reports it too.
static PROCESS_KEY: OnceLock<Result<Arc<SigningKey>, String>> = OnceLock::new();

/// One RSA key pair with everything needed to sign, verify and publish it.
pub(crate) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
    public_pem: String,
    /// The private key as PKCS#1 PEM, for the state directory's key file.
    private_pem: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key (about a second; opt-level 3 is set for `rsa` in dev).
    pub(crate) fn generate() -> Result<Self, TenantError> {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS).map_err(|e| {
            TenantError::KeyGeneration {
                source: Box::new(e),
            }
        })?;
        Self::from_private(&private)
    }

    /// The process-wide default key: generated on the first call, the same key afterwards.
    /// Tenants in one process that use it publish the same `kid`; a tenant that must not accept
    /// another's tokens asks for a fresh key (`TenantConfig::with_fresh_signing_key`).
    pub(crate) fn process_default() -> Result<Arc<Self>, TenantError> {
        PROCESS_KEY
            .get_or_init(|| Self::generate().map(Arc::new).map_err(|e| e.to_string()))
            .clone()
            .map_err(|e| TenantError::KeyGeneration { source: e.into() })
    }

    /// Reads a PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) PEM file.
    pub(crate) fn from_pem_file(path: &Path) -> Result<Self, TenantError> {
        let text = std::fs::read_to_string(path).map_err(|source| TenantError::ReadKey {
            path: path.to_path_buf(),
            source,
        })?;
        let private = RsaPrivateKey::from_pkcs1_pem(&text)
            .ok()
            .or_else(|| RsaPrivateKey::from_pkcs8_pem(&text).ok())
            .ok_or_else(|| TenantError::InvalidKey {
                path: path.to_path_buf(),
            })?;
        Self::from_private(&private)
    }

    /// Reads every key of a file of concatenated PKCS#1 or PKCS#8 PEM blocks, in order (the
    /// state directory's `signing-keys.pem`, current key first). A file without any key, or
    /// with a block that is not an RSA private key, is refused as [`TenantError::InvalidKey`].
    pub(crate) fn all_from_pem_file(path: &Path) -> Result<Vec<Self>, TenantError> {
        let text = std::fs::read_to_string(path).map_err(|source| TenantError::ReadKey {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = || TenantError::InvalidKey {
            path: path.to_path_buf(),
        };
        let mut keys = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("-----BEGIN ") {
            let block = &rest[start..];
            let end_marker = block.find("-----END ").ok_or_else(invalid)?;
            let after = &block[end_marker + "-----END ".len()..];
            let close = after.find("-----").ok_or_else(invalid)?;
            let len = end_marker + "-----END ".len() + close + "-----".len();
            let pem = &block[..len];
            let private = RsaPrivateKey::from_pkcs1_pem(pem)
                .ok()
                .or_else(|| RsaPrivateKey::from_pkcs8_pem(pem).ok())
                .ok_or_else(invalid)?;
            keys.push(Self::from_private(&private)?);
            rest = &block[len..];
        }
        if keys.is_empty() {
            return Err(invalid());
        }
        Ok(keys)
    }

    /// The private key as PKCS#1 PEM text (secret: written only to the state directory, 0600).
    pub(crate) fn private_pem(&self) -> &str {
        &self.private_pem
    }

    fn from_private(private: &RsaPrivateKey) -> Result<Self, TenantError> {
        let wrap =
            |e: Box<dyn std::error::Error + Send + Sync>| TenantError::KeyGeneration { source: e };
        let public = RsaPublicKey::from(private);
        let der = private.to_pkcs1_der().map_err(|e| wrap(Box::new(e)))?;
        let spki = public.to_public_key_der().map_err(|e| wrap(Box::new(e)))?;
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| wrap(Box::new(e)))?;
        let private_pem = private
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| wrap(Box::new(e)))?
            .to_string();
        let digest = Sha256::digest(spki.as_bytes());
        let n_bytes = public.n().to_bytes_be();
        let e_bytes = public.e().to_bytes_be();
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(&digest[..16]),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding: DecodingKey::from_rsa_raw_components(&n_bytes, &e_bytes),
            n: URL_SAFE_NO_PAD.encode(&n_bytes),
            e: URL_SAFE_NO_PAD.encode(&e_bytes),
            public_pem,
            private_pem,
        })
    }

    /// The key id published in the JWKS and put in token headers.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key for RS256 signing.
    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public key for RS256 verification.
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public key as SPKI PEM text (used by the HS256 key-confusion fault).
    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The public key as a JWK, in Auth0's member order.
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "n": self.n,
            "e": self.e,
            "kid": self.kid,
        })
    }
}

/// The published keys: the current signing key first, then previous ones.
#[derive(Debug)]
pub(crate) struct KeyRing {
    keys: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    /// A ring of these keys, `current` signing.
    pub(crate) fn new(current: Arc<SigningKey>, previous: Vec<SigningKey>) -> Self {
        let mut keys = vec![current];
        keys.extend(previous.into_iter().map(Arc::new));
        Self { keys }
    }

    /// The key that signs new tokens.
    pub(crate) fn current(&self) -> Arc<SigningKey> {
        Arc::clone(&self.keys[0])
    }

    /// All published keys, current first.
    pub(crate) fn all(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }

    /// Makes `key` current; the others stay published.
    pub(crate) fn rotate(&mut self, key: SigningKey) {
        self.keys.insert(0, Arc::new(key));
    }

    /// Unpublishes every key but the current one.
    pub(crate) fn drop_previous(&mut self) {
        self.keys.truncate(1);
    }

    /// The `kid`s of the published keys, current first.
    pub(crate) fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid().to_owned()).collect()
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
    }
}

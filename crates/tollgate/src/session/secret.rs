//! Secrets and the keys derived from them.
//!
//! Tollgate never uses a configured secret directly. Each sealed artifact has its own key, derived once
//! at start-up with HKDF-SHA-256, so a cookie of one kind can never be opened as another:
//!
//! | purpose | HKDF info | why this value |
//! |---|---|---|
//! | session cookie | `JWE CEK` | byte-compatible with nextjs-auth0 v4, so both SDKs share a login |
//! | login transaction | `tollgate transaction v1` | Tollgate's own; a transaction can never be read as a session |
//! | MFA token | `tollgate mfa_token v1` | Tollgate's own; bound to one session |

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The smallest secret Tollgate accepts, in bytes (a 64-character hex string is the usual choice).
pub const MIN_SECRET_LEN: usize = 32;

/// A secret string (client secret, cookie secret). Its `Debug` output is redacted and it has no
/// `PartialEq`, so it cannot be compared by accident in non-constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(String);

/// The secret of a client that authenticates without one (`private_key_jwt`).
pub(crate) static NO_SECRET: Secret = Secret(String::new());

impl Secret {
    /// Wraps a secret value.
    ///
    /// ```
    /// let s = tollgate::Secret::new("s3cr3t");
    /// assert_eq!(format!("{s:?}"), "Secret([redacted])");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// What a derived key is for. Each purpose yields an unrelated key from the same secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub(crate) enum KeyPurpose {
    /// The session cookie (`__session`), nextjs-auth0 compatible.
    Session,
    /// The login transaction cookie (`__txn_{state}`).
    Transaction,
    /// The sealed `mfa_token` handed to the application.
    MfaToken,
}

impl KeyPurpose {
    fn info(self) -> &'static [u8] {
        match self {
            Self::Session => b"JWE CEK",
            Self::Transaction => b"tollgate transaction v1",
            Self::MfaToken => b"tollgate mfa_token v1",
        }
    }
}

/// A 256-bit key derived for one purpose.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DerivedKey(pub(crate) [u8; 32]);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey([redacted])")
    }
}

/// The keys of one purpose for every configured secret: the first seals, all of them open.
///
/// This is what makes secret rotation painless: put the new secret first and keep the old one after
/// it until the longest-lived cookie sealed with it has expired.
#[derive(Clone, Debug)]
pub(crate) struct Keyring {
    /// One AES-256-GCM instance per derived key, built once: the key schedule is not redone per
    /// request. The derived key bytes themselves are zeroized as soon as the cipher holds them.
    ciphers: Vec<aes_gcm::Aes256Gcm>,
}

impl Keyring {
    /// Derives the keys of `purpose` from `secrets` (first = current). Secrets are used as UTF-8
    /// bytes, exactly as nextjs-auth0 uses `AUTH0_SECRET`.
    ///
    /// Returns `None` when `secrets` is empty.
    pub(crate) fn derive(secrets: &[Secret], purpose: KeyPurpose) -> Option<Self> {
        if secrets.is_empty() {
            return None;
        }
        let keys = secrets
            .iter()
            .map(|s| {
                let hk = Hkdf::<Sha256>::new(Some(&[]), s.expose().as_bytes());
                let mut okm = [0u8; 32];
                hk.expand(purpose.info(), &mut okm)
                    .expect("invariant: 32 bytes is a valid HKDF-SHA-256 output length");
                DerivedKey(okm)
            })
            .collect::<Vec<DerivedKey>>();
        let ciphers = keys
            .iter()
            .map(|k| aes_gcm::KeyInit::new(&k.0.into()))
            .collect();
        Some(Self { ciphers })
    }

    /// The cipher of the current key.
    pub(crate) fn current_cipher(&self) -> &aes_gcm::Aes256Gcm {
        &self.ciphers[0]
    }

    /// The ciphers of every key, current first.
    pub(crate) fn ciphers(&self) -> &[aes_gcm::Aes256Gcm] {
        &self.ciphers
    }
}

//! One user of the tenant's database connection.

use std::fmt;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The picture URL given to users who have none.
const PLACEHOLDER_PICTURE: &str = "https://cdn.auth0.com/avatars/default.png";

/// A user who can sign in with email and password.
///
/// The `sub` is `auth0|` followed by 24 hex characters derived from the email, so it stays the
/// same across restarts.
///
/// ```
/// use tollgate_tenant::UserConfig;
///
/// let alice = UserConfig::new("alice@example.com", "alice-password-1")
///     .with_name("Alice Example")
///     .with_totp_secret("JBSWY3DPEHPK3PXP");
/// assert_eq!(alice.nickname(), "alice");
/// assert!(alice.sub().starts_with("auth0|"));
/// assert_eq!(alice.sub().len(), "auth0|".len() + 24);
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    email: String,
    password: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    picture: Option<String>,
    #[serde(default = "default_verified")]
    email_verified: bool,
    #[serde(default)]
    totp_secret: Option<String>,
}

fn default_verified() -> bool {
    true
}

impl UserConfig {
    /// A user with this email and password; the other fields take their defaults.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            name: None,
            nickname: None,
            picture: None,
            email_verified: true,
            totp_secret: None,
        }
    }

    /// Sets the display name (default: the email, as Auth0 does).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the nickname (default: the local part of the email).
    #[must_use]
    pub fn with_nickname(mut self, nickname: impl Into<String>) -> Self {
        self.nickname = Some(nickname.into());
        self
    }

    /// Sets the picture URL (default: a placeholder avatar URL).
    #[must_use]
    pub fn with_picture(mut self, picture: impl Into<String>) -> Self {
        self.picture = Some(picture.into());
        self
    }

    /// Sets `email_verified` (default `true`).
    #[must_use]
    pub fn with_email_verified(mut self, verified: bool) -> Self {
        self.email_verified = verified;
        self
    }

    /// Stores a base32 TOTP secret for this user (used by the MFA pages).
    #[must_use]
    pub fn with_totp_secret(mut self, secret: impl Into<String>) -> Self {
        self.totp_secret = Some(secret.into());
        self
    }

    /// The email address, which is also the login name.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The display name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.email)
    }

    /// The nickname.
    pub fn nickname(&self) -> &str {
        match &self.nickname {
            Some(nickname) => nickname,
            None => self.email.split('@').next().unwrap_or(&self.email),
        }
    }

    /// The picture URL.
    pub fn picture(&self) -> &str {
        self.picture.as_deref().unwrap_or(PLACEHOLDER_PICTURE)
    }

    /// Whether the email counts as verified.
    pub fn email_verified(&self) -> bool {
        self.email_verified
    }

    /// The TOTP secret, if one was configured.
    pub fn totp_secret(&self) -> Option<&str> {
        self.totp_secret.as_deref()
    }

    /// The stable subject identifier: `auth0|` + 24 hex characters of sha256(lowercased email).
    pub fn sub(&self) -> String {
        let digest = Sha256::digest(self.email.to_lowercase().as_bytes());
        let mut sub = String::from("auth0|");
        for byte in &digest[..12] {
            sub.push_str(&format!("{byte:02x}"));
        }
        sub
    }

    /// Whether `password` is this user's password, compared in constant time.
    pub(crate) fn password_matches(&self, password: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.password.as_bytes().ct_eq(password.as_bytes()).into()
    }
}

impl fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserConfig")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("name", &self.name())
            .field("nickname", &self.nickname())
            .field("picture", &self.picture())
            .field("email_verified", &self.email_verified)
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

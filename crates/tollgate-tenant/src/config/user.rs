//! One user of the tenant's database connection.

use std::fmt;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The picture URL given to users who have none.
const PLACEHOLDER_PICTURE: &str = "https://cdn.auth0.com/avatars/default.png";

/// A user who can sign in with email and password, with the MFA factors they start with.
///
/// The `sub` is `auth0|` followed by 24 hex characters derived from the email, so it stays the
/// same across restarts.
///
/// ```
/// use tollgate_tenant::UserConfig;
///
/// let alice = UserConfig::new("alice@example.com", "alice-password-1")
///     .with_name("Alice Example")
///     .with_totp_secret("JBSWY3DPEHPK3PXP")
///     .with_phone("+15555550100")
///     .with_email_factor()
///     .with_push_device("Alice's phone")
///     .with_recovery_code("ABCDEFGHJKLMNPQRSTUVWXYZ");
/// assert_eq!(alice.phone(), Some("+15555550100"));
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
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email_factor: bool,
    #[serde(default)]
    push_device: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
    /// Federated connections the user has an account at (Token Vault).
    #[serde(default)]
    connections: Vec<String>,
    /// The organization the user belongs to (`org_id` in their access tokens).
    #[serde(default)]
    organization: Option<String>,
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
            phone: None,
            email_factor: false,
            push_device: None,
            recovery_code: None,
            connections: Vec::new(),
            organization: None,
        }
    }

    /// Makes the user a member of the organization `org_id` (e.g. `org_acme`): their access
    /// tokens carry `org_id`, and the My Organization API manages that organization.
    #[must_use]
    pub fn with_organization(mut self, org_id: impl Into<String>) -> Self {
        self.organization = Some(org_id.into());
        self
    }

    /// The user's organization, if any.
    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// Links an account at the federated `connection` (e.g. `google-oauth2`): the Token Vault
    /// exchange gives the user's access token there.
    #[must_use]
    pub fn with_connection(mut self, connection: impl Into<String>) -> Self {
        self.connections.push(connection.into());
        self
    }

    /// The federated connections the user has an account at.
    pub fn connections(&self) -> &[String] {
        &self.connections
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

    /// Enrolls an active TOTP authenticator (`totp|dev_…`) with this Base32 secret.
    #[must_use]
    pub fn with_totp_secret(mut self, secret: impl Into<String>) -> Self {
        self.totp_secret = Some(secret.into());
        self
    }

    /// Enrolls active SMS and voice authenticators (`sms|dev_…`, `voice|dev_…`) for this phone
    /// number, in E.164 form (`+15555550100`). Codes go to the development outbox.
    #[must_use]
    pub fn with_phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Enrolls an active email authenticator (`email|dev_…`) for the user's email address.
    /// Codes go to the development outbox.
    #[must_use]
    pub fn with_email_factor(mut self) -> Self {
        self.email_factor = true;
        self
    }

    /// Enrolls an active push authenticator (`push|dev_…`, `oob_channel` `auth0`) on a device
    /// with this name, and its OTP twin. Push requests wait in the development outbox for
    /// [`approve_push`](crate::RunningTenant::approve_push) or
    /// [`deny_push`](crate::RunningTenant::deny_push).
    #[must_use]
    pub fn with_push_device(mut self, device_name: impl Into<String>) -> Self {
        self.push_device = Some(device_name.into());
        self
    }

    /// Gives the user this recovery code (24 upper-case letters and digits). Without one, a code
    /// is generated when the user enrolls a first factor.
    #[must_use]
    pub fn with_recovery_code(mut self, code: impl Into<String>) -> Self {
        self.recovery_code = Some(code.into());
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

    /// The phone number of the SMS and voice authenticators, if one was configured.
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }

    /// Whether the user starts with an email authenticator.
    pub fn email_factor(&self) -> bool {
        self.email_factor
    }

    /// The name of the push device, if one was configured.
    pub fn push_device(&self) -> Option<&str> {
        self.push_device.as_deref()
    }

    /// The configured recovery code, if any.
    pub fn recovery_code(&self) -> Option<&str> {
        self.recovery_code.as_deref()
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
            .field("phone", &self.phone)
            .field("email_factor", &self.email_factor)
            .field("push_device", &self.push_device)
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "<redacted>"),
            )
            .field("connections", &self.connections)
            .finish()
    }
}

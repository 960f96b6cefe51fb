//! Custom Token Exchange profiles: which external tokens the tenant accepts, and for whom.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A Custom Token Exchange profile: subject tokens of `subject_token_type` that the tenant
/// accepts, each standing for one user (what an Auth0 Action would decide by validating it).
///
/// ```
/// use tollgate_tenant::TokenExchangeProfile;
///
/// let profile = TokenExchangeProfile::new("urn:acme:legacy-token")
///     .with_subject("legacy-token-of-alice", "alice@example.com");
/// assert_eq!(profile.user_for("legacy-token-of-alice"), Some("alice@example.com"));
/// assert_eq!(profile.user_for("forged"), None);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExchangeProfile {
    subject_token_type: String,
    /// Accepted subject token → the user's email.
    #[serde(default)]
    subjects: BTreeMap<String, String>,
}

impl TokenExchangeProfile {
    /// A profile for subject tokens of `subject_token_type`, accepting none yet.
    pub fn new(subject_token_type: impl Into<String>) -> Self {
        Self {
            subject_token_type: subject_token_type.into(),
            subjects: BTreeMap::new(),
        }
    }

    /// Accepts `token` as standing for the user with `email`.
    #[must_use]
    pub fn with_subject(mut self, token: impl Into<String>, email: impl Into<String>) -> Self {
        self.subjects.insert(token.into(), email.into());
        self
    }

    /// The subject token type.
    pub fn subject_token_type(&self) -> &str {
        &self.subject_token_type
    }

    /// The email of the user `token` stands for.
    pub fn user_for(&self, token: &str) -> Option<&str> {
        self.subjects.get(token).map(String::as_str)
    }
}

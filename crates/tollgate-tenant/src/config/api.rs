//! One API (an Auth0 "resource server").

use serde::Deserialize;

/// The permissions of the My Account API.
pub(crate) const MY_ACCOUNT_SCOPES: [&str; 5] = [
    "create:me:connected_accounts",
    "read:me:connected_accounts",
    "delete:me:connected_accounts",
    "read:me:authentication_methods",
    "delete:me:authentication_methods",
];

/// The permissions of the My Organization API.
pub(crate) const MY_ORG_SCOPES: [&str; 2] = ["read:my_org:details", "update:my_org:details"];

/// An API that access tokens can be issued for, identified by its `audience`.
///
/// ```
/// use tollgate_tenant::ApiConfig;
///
/// let api = ApiConfig::new("https://payments.example.com").with_scopes(["read:payments"]);
/// assert_eq!(api.identifier(), "https://payments.example.com");
/// assert_eq!(api.scopes(), ["read:payments"]);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    identifier: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default = "default_dpop_bound")]
    dpop_bound_tokens: bool,
}

fn default_dpop_bound() -> bool {
    true
}

impl ApiConfig {
    /// An API with this identifier (the `audience` value) and no scopes.
    pub fn new(identifier: impl Into<String>) -> Self {
        Self {
            identifier: identifier.into(),
            scopes: Vec::new(),
            dpop_bound_tokens: true,
        }
    }

    /// Whether access tokens for this API are bound to the client's key when the token request
    /// carries a DPoP proof (default true). Off, the tenant answers with Bearer tokens even then,
    /// as RFC 9449 §5 allows an authorization server to. TOML: `dpop_bound_tokens = false`.
    #[must_use]
    pub fn with_dpop_bound_tokens(mut self, bound: bool) -> Self {
        self.dpop_bound_tokens = bound;
        self
    }

    /// Whether access tokens for this API are DPoP-bound when a proof is sent.
    pub fn dpop_bound_tokens(&self) -> bool {
        self.dpop_bound_tokens
    }

    /// Adds the permissions (scopes) this API defines.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The identifier, used as `audience`.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The scopes this API defines.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether this API defines `scope`.
    pub(crate) fn defines_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|own| own == scope)
    }
}

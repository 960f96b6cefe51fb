//! One registered application (an Auth0 "client").

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A registered application: its credentials, allowed URLs, refresh-token policy and client
/// grants.
///
/// Mirrors an Auth0 "Regular Web Application". The callback and logout URLs are matched exactly,
/// as Auth0 does for URLs without wildcards. The `client_credentials` grant gives a client
/// machine-to-machine tokens only for the APIs it has a client grant for
/// ([`with_client_grant`](Self::with_client_grant)), as at Auth0.
///
/// ```
/// use std::time::Duration;
/// use tollgate_tenant::ClientConfig;
///
/// let client = ClientConfig::new("app-client-id", "app-client-secret")
///     .with_callback("http://127.0.0.1:3000/auth/callback")
///     .with_logout_url("http://127.0.0.1:3000/")
///     .with_backchannel_logout_url("http://127.0.0.1:3000/auth/backchannel-logout")
///     .with_refresh_token_rotation(true)
///     .with_rotation_leeway(Duration::from_secs(0));
/// assert_eq!(client.client_id(), "app-client-id");
/// assert_eq!(
///     client.backchannel_logout_url(),
///     Some("http://127.0.0.1:3000/auth/backchannel-logout")
/// );
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    callbacks: Vec<String>,
    #[serde(default)]
    logout_urls: Vec<String>,
    #[serde(default = "default_rotation")]
    refresh_token_rotation: bool,
    #[serde(default, with = "super::seconds")]
    rotation_leeway: Duration,
    #[serde(default)]
    backchannel_logout_url: Option<String>,
    #[serde(default)]
    require_dpop_nonce: bool,
    /// The P-256 public key (SPKI PEM) that verifies the client's `private_key_jwt` assertions.
    #[serde(default)]
    client_assertion_public_key: Option<String>,
    /// The APIs the client may get `client_credentials` tokens for (TOML `client_grants`).
    #[serde(default)]
    client_grants: Vec<ClientGrant>,
}

/// An Auth0 "client grant": the client may get `client_credentials` tokens for `audience`, with
/// at most `scopes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientGrant {
    pub(crate) audience: String,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
}

fn default_rotation() -> bool {
    true
}

impl ClientConfig {
    /// A client with these credentials, no allowed URLs, rotation on and no reuse interval.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            callbacks: Vec::new(),
            logout_urls: Vec::new(),
            refresh_token_rotation: true,
            rotation_leeway: Duration::ZERO,
            backchannel_logout_url: None,
            require_dpop_nonce: false,
            client_assertion_public_key: None,
            client_grants: Vec::new(),
        }
    }

    /// Authorizes the client for machine-to-machine (`client_credentials`) tokens for the API
    /// `audience`, with `scopes` as the ceiling: Auth0's "client grant" (the Machine to Machine
    /// Applications tab of an API). Without one, the grant is refused with `403 access_denied`
    /// (`Client is not authorized to access "<audience>"…`); a request for a scope outside
    /// `scopes` is refused too (`Client has not been granted scopes: …`). The API must be
    /// configured and define the scopes, else the tenant does not start. TOML:
    /// `client_grants = [{ audience = "…", scopes = ["…"] }]`.
    ///
    /// ```
    /// use tollgate_tenant::ClientConfig;
    ///
    /// let worker = ClientConfig::new("worker", "worker-secret")
    ///     .with_client_grant("https://payments.example.com", ["read:payments"]);
    /// assert_eq!(
    ///     worker.client_grant("https://payments.example.com"),
    ///     Some(&["read:payments".to_owned()][..])
    /// );
    /// assert_eq!(worker.client_grant("https://orders.example.com"), None);
    /// ```
    #[must_use]
    pub fn with_client_grant<I, S>(mut self, audience: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_grants.push(ClientGrant {
            audience: audience.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The scopes the client's grant for `audience` allows, if it has one.
    pub fn client_grant(&self, audience: &str) -> Option<&[String]> {
        self.client_grants
            .iter()
            .find(|g| g.audience == audience)
            .map(|g| g.scopes.as_slice())
    }

    /// The client grants, for validation.
    pub(crate) fn client_grants(&self) -> &[ClientGrant] {
        &self.client_grants
    }

    /// Lets the client authenticate with `private_key_jwt`: ES256 client assertions verified with
    /// this P-256 public key (SPKI PEM). TOML: `client_assertion_public_key`.
    #[must_use]
    pub fn with_client_assertion_key(mut self, public_pem: impl Into<String>) -> Self {
        self.client_assertion_public_key = Some(public_pem.into());
        self
    }

    /// The public key of the client's assertions, if it uses `private_key_jwt`.
    pub fn client_assertion_key(&self) -> Option<&str> {
        self.client_assertion_public_key.as_deref()
    }

    /// Makes DPoP proofs at the token endpoint carry a nonce issued by the tenant, as Auth0 does
    /// for public clients: a proof without one is answered `400 use_dpop_nonce` with a
    /// `DPoP-Nonce` header (default off). TOML: `require_dpop_nonce = true`.
    #[must_use]
    pub fn with_dpop_nonce_required(mut self, required: bool) -> Self {
        self.require_dpop_nonce = required;
        self
    }

    /// Whether DPoP proofs at the token endpoint must carry a tenant nonce.
    pub fn dpop_nonce_required(&self) -> bool {
        self.require_dpop_nonce
    }

    /// Adds an Allowed Callback URL (matched exactly against `redirect_uri`).
    #[must_use]
    pub fn with_callback(mut self, url: impl Into<String>) -> Self {
        self.callbacks.push(url.into());
        self
    }

    /// Adds an Allowed Logout URL (matched exactly against `returnTo` / `post_logout_redirect_uri`).
    #[must_use]
    pub fn with_logout_url(mut self, url: impl Into<String>) -> Self {
        self.logout_urls.push(url.into());
        self
    }

    /// Turns refresh-token rotation on (the default) or off.
    #[must_use]
    pub fn with_refresh_token_rotation(mut self, rotation: bool) -> Self {
        self.refresh_token_rotation = rotation;
        self
    }

    /// Sets the rotation overlap period: how long the previous refresh token stays usable after it
    /// was rotated. Zero (the default) disables the overlap.
    #[must_use]
    pub fn with_rotation_leeway(mut self, leeway: Duration) -> Self {
        self.rotation_leeway = leeway;
        self
    }

    /// Sets the OIDC Back-Channel Logout URI. When an SSO session in which the user logged in
    /// to this application ends (`/v2/logout`, `/oidc/logout`,
    /// [`RunningTenant::end_user_sessions`](crate::RunningTenant::end_user_sessions)), the
    /// tenant POSTs a `logout_token` there, as Auth0 does. Auth0 requires HTTPS; the tenant
    /// also accepts `http://` so that tests can listen on a loopback port.
    #[must_use]
    pub fn with_backchannel_logout_url(mut self, url: impl Into<String>) -> Self {
        self.backchannel_logout_url = Some(url.into());
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// The Allowed Callback URLs, in order.
    pub fn callbacks(&self) -> &[String] {
        &self.callbacks
    }

    /// The Allowed Logout URLs, in order.
    pub fn logout_urls(&self) -> &[String] {
        &self.logout_urls
    }

    /// Whether refresh tokens rotate on every use.
    pub fn refresh_token_rotation(&self) -> bool {
        self.refresh_token_rotation
    }

    /// The rotation overlap period.
    pub fn rotation_leeway(&self) -> Duration {
        self.rotation_leeway
    }

    /// The Back-Channel Logout URI, if any.
    pub fn backchannel_logout_url(&self) -> Option<&str> {
        self.backchannel_logout_url.as_deref()
    }

    /// Whether `url` is one of the Allowed Callback URLs.
    pub(crate) fn allows_callback(&self, url: &str) -> bool {
        self.callbacks.iter().any(|allowed| allowed == url)
    }

    /// Whether `url` is one of the Allowed Logout URLs.
    pub(crate) fn allows_logout_url(&self, url: &str) -> bool {
        self.logout_urls.iter().any(|allowed| allowed == url)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("callbacks", &self.callbacks)
            .field("logout_urls", &self.logout_urls)
            .field("refresh_token_rotation", &self.refresh_token_rotation)
            .field("rotation_leeway", &self.rotation_leeway)
            .field("backchannel_logout_url", &self.backchannel_logout_url)
            .field("require_dpop_nonce", &self.require_dpop_nonce)
            .field("client_grants", &self.client_grants)
            .finish()
    }
}

//! One registered application (an Auth0 "client").

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A registered application: its type, credentials, allowed URLs and origins, refresh-token
/// policy and client grants.
///
/// The fields carry Auth0's Management API names, so that a team can paste what it has:
/// `app_type` ([`AppType`]: `regular_web`, the default, `spa`, `native`, `non_interactive`),
/// `token_endpoint_auth_method` ([`TokenEndpointAuthMethod`]), `callbacks`,
/// `allowed_logout_urls` (the older name `logout_urls` is still read), `web_origins` (Allowed
/// Web Origins) and `allowed_origins` (Allowed Origins, CORS).
///
/// A **public client** ([`ClientConfig::public`], or `token_endpoint_auth_method = "none"`) has
/// no secret: it authenticates with `client_id` alone, must send a PKCE `code_challenge`
/// (S256) to `/authorize`, and must not send a secret. A browser may call the token,
/// revocation, userinfo, MFA and discovery endpoints from the client's origins: those listed in
/// `allowed_origins` or `web_origins`, and the origins of its `callbacks` (Auth0 allows those
/// by default).
///
/// ```
/// use tollgate_tenant::{AppType, ClientConfig, TokenEndpointAuthMethod};
///
/// let spa = ClientConfig::public("spa-client-id")
///     .with_callback("http://127.0.0.1:5173/")
///     .with_web_origin("http://127.0.0.1:5173");
/// assert_eq!(spa.app_type(), AppType::Spa);
/// assert_eq!(spa.token_endpoint_auth_method(), TokenEndpointAuthMethod::None);
/// assert!(spa.is_public());
/// assert!(spa.allows_origin("http://127.0.0.1:5173"));
/// assert!(!spa.allows_origin("http://127.0.0.1:4000"));
/// ```
///
/// A client is a confidential Auth0 "Regular Web Application" by default. The callback and
/// logout URLs are matched exactly, as Auth0 does for URLs without wildcards. The `client_credentials` grant gives a client
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
    /// Absent for public clients.
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    app_type: AppType,
    /// `None`: the application type's default.
    #[serde(default)]
    token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    #[serde(default)]
    callbacks: Vec<String>,
    /// TOML `allowed_logout_urls` (Auth0's name) or `logout_urls` (this tenant's older name).
    #[serde(default, alias = "logout_urls")]
    allowed_logout_urls: Vec<String>,
    #[serde(default)]
    web_origins: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
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

/// An Auth0 application type (the Management API's `app_type`). TOML: `app_type = "spa"`.
///
/// ```
/// use tollgate_tenant::AppType;
///
/// assert_eq!(AppType::default(), AppType::RegularWeb);
/// assert_eq!(AppType::Spa.as_str(), "spa");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AppType {
    /// A server-side web application (`regular_web`): confidential, the default.
    #[default]
    RegularWeb,
    /// A single-page application (`spa`): a public client in the browser, PKCE required,
    /// refresh tokens rotate.
    Spa,
    /// A native or mobile application (`native`): a public client, PKCE required.
    Native,
    /// A machine-to-machine application (`non_interactive`): confidential.
    NonInteractive,
}

impl AppType {
    /// The Management API name (`regular_web`, `spa`, `native`, `non_interactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegularWeb => "regular_web",
            Self::Spa => "spa",
            Self::Native => "native",
            Self::NonInteractive => "non_interactive",
        }
    }

    /// The authentication method Auth0 gives a new application of this type: `none` for
    /// SPAs and native apps, `client_secret_post` otherwise.
    pub fn default_auth_method(self) -> TokenEndpointAuthMethod {
        match self {
            Self::Spa | Self::Native => TokenEndpointAuthMethod::None,
            Self::RegularWeb | Self::NonInteractive => TokenEndpointAuthMethod::ClientSecretPost,
        }
    }
}

/// How a client authenticates at `/oauth/token`, `/oauth/revoke` and the MFA API (the
/// Management API's `token_endpoint_auth_method`). TOML:
/// `token_endpoint_auth_method = "none"`.
///
/// `client_secret_post` and `client_secret_basic` clients may use either way of sending the
/// secret (and a registered assertion key, if any), as this tenant always accepted; a
/// `private_key_jwt` client must use an assertion; a `none` client sends `client_id` only.
///
/// ```
/// use tollgate_tenant::TokenEndpointAuthMethod;
///
/// assert_eq!(TokenEndpointAuthMethod::None.as_str(), "none");
/// assert!(TokenEndpointAuthMethod::ClientSecretBasic.uses_secret());
/// assert!(!TokenEndpointAuthMethod::PrivateKeyJwt.uses_secret());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenEndpointAuthMethod {
    /// A public client: `client_id` only, no secret.
    None,
    /// `client_id` and `client_secret` in the body.
    ClientSecretPost,
    /// `Authorization: Basic base64(client_id:client_secret)`.
    ClientSecretBasic,
    /// An ES256 client assertion (`client_assertion`), verified with the registered key.
    PrivateKeyJwt,
}

impl TokenEndpointAuthMethod {
    /// The Management API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Whether the method authenticates with the client secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretPost | Self::ClientSecretBasic)
    }
}

impl ClientConfig {
    /// A confidential client (a Regular Web Application) with these credentials, no allowed
    /// URLs, rotation on and no reuse interval.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            app_type: AppType::RegularWeb,
            token_endpoint_auth_method: None,
            callbacks: Vec::new(),
            allowed_logout_urls: Vec::new(),
            web_origins: Vec::new(),
            allowed_origins: Vec::new(),
            refresh_token_rotation: true,
            rotation_leeway: Duration::ZERO,
            backchannel_logout_url: None,
            require_dpop_nonce: false,
            client_assertion_public_key: None,
            client_grants: Vec::new(),
        }
    }

    /// A public client: a single-page application (`app_type = "spa"`,
    /// `token_endpoint_auth_method = "none"`) without a secret. It authenticates with
    /// `client_id` alone, must use PKCE, and its refresh tokens rotate. Use
    /// [`with_app_type`](Self::with_app_type) for a native application.
    ///
    /// ```
    /// use tollgate_tenant::{AppType, ClientConfig};
    ///
    /// let app = ClientConfig::public("mobile").with_app_type(AppType::Native);
    /// assert!(app.is_public());
    /// assert_eq!(app.client_secret(), "");
    /// ```
    pub fn public(client_id: impl Into<String>) -> Self {
        Self {
            client_secret: None,
            app_type: AppType::Spa,
            token_endpoint_auth_method: Some(TokenEndpointAuthMethod::None),
            ..Self::new(client_id, "")
        }
    }

    /// Sets the application type (TOML `app_type`). A SPA or native application must be a
    /// public client (`token_endpoint_auth_method = "none"`, no secret), else the tenant does
    /// not start.
    #[must_use]
    pub fn with_app_type(mut self, app_type: AppType) -> Self {
        self.app_type = app_type;
        self
    }

    /// Sets how the client authenticates (TOML `token_endpoint_auth_method`); without it, the
    /// application type's default ([`AppType::default_auth_method`]). `none` needs no secret
    /// (and refuses one); `private_key_jwt` needs an assertion key
    /// ([`with_client_assertion_key`](Self::with_client_assertion_key)).
    #[must_use]
    pub fn with_token_endpoint_auth_method(mut self, method: TokenEndpointAuthMethod) -> Self {
        self.token_endpoint_auth_method = Some(method);
        self
    }

    /// Adds an Allowed Web Origin (TOML `web_origins`), like `https://app.example.com`:
    /// `scheme://host[:port]`, no path. Browsers on this origin may call the tenant's
    /// token, revocation, userinfo, MFA and discovery endpoints (CORS).
    #[must_use]
    pub fn with_web_origin(mut self, origin: impl Into<String>) -> Self {
        self.web_origins.push(origin.into());
        self
    }

    /// Adds an Allowed Origin (CORS) (TOML `allowed_origins`): `scheme://host[:port]`, no path.
    #[must_use]
    pub fn with_allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// The application type.
    pub fn app_type(&self) -> AppType {
        self.app_type
    }

    /// How the client authenticates: the configured method, or its type's default.
    pub fn token_endpoint_auth_method(&self) -> TokenEndpointAuthMethod {
        self.token_endpoint_auth_method
            .unwrap_or_else(|| self.app_type.default_auth_method())
    }

    /// Whether this is a public client (`token_endpoint_auth_method = "none"`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method() == TokenEndpointAuthMethod::None
    }

    /// Whether a secret is configured.
    pub(crate) fn has_secret(&self) -> bool {
        self.client_secret.is_some()
    }

    /// The Allowed Web Origins, in order.
    pub fn web_origins(&self) -> &[String] {
        &self.web_origins
    }

    /// The Allowed Origins (CORS), in order.
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    /// Whether a browser on `origin` (an `Origin` header value) may call the tenant's API
    /// endpoints for this client: it is one of the Allowed Origins or Allowed Web Origins, or
    /// the origin of an `http(s)` callback URL.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .chain(&self.web_origins)
            .any(|allowed| allowed == origin)
            || self.callbacks.iter().any(|callback| {
                url::Url::parse(callback).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.origin().ascii_serialization() == origin
                })
            })
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
    /// TOML: `allowed_logout_urls` (or the older `logout_urls`).
    #[must_use]
    pub fn with_logout_url(mut self, url: impl Into<String>) -> Self {
        self.allowed_logout_urls.push(url.into());
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

    /// The client secret; empty for a public client.
    pub fn client_secret(&self) -> &str {
        self.client_secret.as_deref().unwrap_or_default()
    }

    /// The Allowed Callback URLs, in order.
    pub fn callbacks(&self) -> &[String] {
        &self.callbacks
    }

    /// The Allowed Logout URLs, in order.
    pub fn logout_urls(&self) -> &[String] {
        &self.allowed_logout_urls
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
        self.allowed_logout_urls
            .iter()
            .any(|allowed| allowed == url)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("app_type", &self.app_type)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method(),
            )
            .field("callbacks", &self.callbacks)
            .field("allowed_logout_urls", &self.allowed_logout_urls)
            .field("web_origins", &self.web_origins)
            .field("allowed_origins", &self.allowed_origins)
            .field("refresh_token_rotation", &self.refresh_token_rotation)
            .field("rotation_leeway", &self.rotation_leeway)
            .field("backchannel_logout_url", &self.backchannel_logout_url)
            .field("require_dpop_nonce", &self.require_dpop_nonce)
            .field("client_grants", &self.client_grants)
            .finish()
    }
}

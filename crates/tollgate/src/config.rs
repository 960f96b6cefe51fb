//! Configuration: built in code, or read from the environment with Auth0's own variable names.

use std::time::Duration;

use url::Url;

use crate::error::{BaseUrlError, ConfigError};
use crate::oidc::dpop::{DpopKey, DpopOptions};
use crate::session::base_url::{AllowedBaseUrl, RequestOrigin};
use crate::session::cookies::{CookieAttributes, SameSite};
use crate::session::secret::{MIN_SECRET_LEN, Secret};

mod env;

/// The default scope of a login.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// How the client authenticates at the token endpoint.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (Auth0's default for regular web apps).
    SecretPost(Secret),
    /// HTTP Basic with `client_id:client_secret`.
    SecretBasic(Secret),
    /// A JWT signed with the client's key (`private_key_jwt`), for the provider's `audience`.
    PrivateKeyJwt {
        /// The signing key.
        key: crate::oidc::client_assertion::ClientAssertionKey,
        /// The assertion's `aud`: the issuer.
        audience: String,
    },
}

/// Which logout endpoint to send the browser to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutStrategy {
    /// OIDC RP-initiated logout when discovery has an `end_session_endpoint`, else `/v2/logout`.
    #[default]
    Auto,
    /// Always OIDC RP-initiated logout; an error if the provider has no `end_session_endpoint`.
    Oidc,
    /// Always Auth0's `/v2/logout`.
    V2,
}

/// Paths of the routes Tollgate serves.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Routes {
    /// Starts a login. Default `/auth/login`.
    pub login: String,
    /// Receives the provider's answer. Default `/auth/callback`.
    pub callback: String,
    /// Ends the session. Default `/auth/logout`.
    pub logout: String,
    /// The user as JSON. Default `/auth/profile`.
    pub profile: String,
    /// An access token as JSON. Default `/auth/access-token`.
    pub access_token: String,
    /// MFA: list authenticators. Default `/auth/mfa/authenticators`.
    pub mfa_authenticators: String,
    /// MFA: start a challenge. Default `/auth/mfa/challenge`.
    pub mfa_challenge: String,
    /// MFA: enroll an authenticator. Default `/auth/mfa/associate`.
    pub mfa_associate: String,
    /// MFA: verify a factor. Default `/auth/mfa/verify`.
    pub mfa_verify: String,
    /// The browser module. Default `/auth/client.js`.
    pub client_js: String,
    /// OIDC back-channel logout (POST). Default `/auth/backchannel-logout`.
    pub backchannel_logout: String,
    /// Starts linking an account at another identity provider (Connected Accounts). Mounted only
    /// with [`ConfigBuilder::enable_connect_account_endpoint`]. Default `/auth/connect`.
    pub connect_account: String,
    /// Prefix of the My Account API proxy: `{my_account}/…` goes to `{issuer}me/…`. Default `/me`.
    pub my_account: String,
    /// Prefix of the My Organization API proxy: `{my_org}/…` goes to `{issuer}my-org/…`.
    /// Default `/my-org`.
    pub my_org: String,
}

impl Default for Routes {
    fn default() -> Self {
        Self {
            login: "/auth/login".into(),
            callback: "/auth/callback".into(),
            logout: "/auth/logout".into(),
            profile: "/auth/profile".into(),
            access_token: "/auth/access-token".into(),
            mfa_authenticators: "/auth/mfa/authenticators".into(),
            mfa_challenge: "/auth/mfa/challenge".into(),
            mfa_associate: "/auth/mfa/associate".into(),
            mfa_verify: "/auth/mfa/verify".into(),
            client_js: "/auth/client.js".into(),
            backchannel_logout: "/auth/backchannel-logout".into(),
            connect_account: "/auth/connect".into(),
            my_account: "/me".into(),
            my_org: "/my-org".into(),
        }
    }
}

impl Routes {
    /// Every exact route path (the proxies, which serve whole prefixes, are not listed).
    pub fn all(&self) -> [&str; 12] {
        [
            &self.login,
            &self.callback,
            &self.logout,
            &self.profile,
            &self.access_token,
            &self.mfa_authenticators,
            &self.mfa_challenge,
            &self.mfa_associate,
            &self.mfa_verify,
            &self.client_js,
            &self.backchannel_logout,
            &self.connect_account,
        ]
    }
}

/// Session lifetime and cookie settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Whether each request extends the session by `inactivity_duration` (up to `absolute_duration`).
    pub rolling: bool,
    /// Idle time after which a rolling session ends. Default 1 day.
    pub inactivity_duration: Duration,
    /// Lifetime of a session from login. Default 3 days.
    pub absolute_duration: Duration,
    /// Cookie name. Default `__session`.
    pub cookie_name: String,
    /// Cookie attributes.
    pub cookie: CookieAttributes,
    /// Omit `Max-Age` so the cookie ends with the browser session.
    pub transient: bool,
}

/// Login transaction cookie settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TransactionConfig {
    /// Name prefix; the cookie is `{prefix}{state}`. Default `__txn_`.
    pub prefix: String,
    /// Lifetime. Default 1 hour.
    pub max_age: Duration,
}

/// Everything Tollgate needs to know. Build it with [`Config::builder`] or [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) issuer: Url,
    pub(crate) client_id: String,
    pub(crate) client_auth: ClientAuth,
    pub(crate) secrets: Vec<Secret>,
    /// The static base URL; with an allow-list, its first entry (for display only).
    pub(crate) app_base_url: Url,
    /// The allow-list of base URLs; empty with a static base URL.
    pub(crate) allowed_base_urls: Vec<AllowedBaseUrl>,
    pub(crate) scope: String,
    pub(crate) audience: Option<String>,
    pub(crate) authorization_params: Vec<(String, String)>,
    /// The authorization parameters the login route takes from its query string.
    pub(crate) login_query_params: Vec<String>,
    pub(crate) session: SessionConfig,
    pub(crate) transaction: TransactionConfig,
    pub(crate) logout_strategy: LogoutStrategy,
    pub(crate) id_token_hint_on_logout: bool,
    pub(crate) logout_via_get: bool,
    pub(crate) routes: Routes,
    pub(crate) http_timeout: Duration,
    pub(crate) clock_tolerance: Duration,
    pub(crate) id_token_algorithms: crate::oidc::id_token::algorithms::AlgorithmPolicy,
    pub(crate) profile_no_content: bool,
    pub(crate) default_return_to: String,
    pub(crate) mfa_token_ttl: Duration,
    pub(crate) token_refresh_buffer: Duration,
    pub(crate) dpop: Option<(DpopKey, DpopOptions)>,
    pub(crate) pushed_authorization_requests: bool,
    pub(crate) connect_account_endpoint: bool,
    pub(crate) api_proxies: bool,
    pub(crate) clock: std::sync::Arc<dyn crate::time::Clock>,
    /// Root certificates trusted besides the built-in ones, for calls to the provider.
    pub(crate) extra_root_certificates: Vec<reqwest::Certificate>,
}

impl Config {
    /// Starts a configuration in code.
    ///
    /// ```
    /// let config = tollgate::Config::builder()
    ///     .domain("example.eu.auth0.com")
    ///     .client_id("my-client")
    ///     .client_secret("my-client-secret")
    ///     .secret("a-long-random-value-of-at-least-32-bytes")
    ///     .app_base_url("https://app.example.com")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.issuer().as_str(), "https://example.eu.auth0.com/");
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the whole configuration from the environment (`AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`,
    /// `AUTH0_CLIENT_SECRET`, `AUTH0_SECRET`, `APP_BASE_URL`, and the optional cookie and session
    /// variables listed on [`ConfigBuilder::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        ConfigBuilder::from_env()?.build()
    }

    /// The provider's issuer, as configured (discovery must confirm it).
    pub fn issuer(&self) -> &Url {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The application's base URL.
    ///
    /// With an allow-list ([`ConfigBuilder::app_base_urls`]) there is no single base URL: this is
    /// the list's first entry as written (a wildcard keeps its `*`), for display and logs only.
    /// URLs for a request come from [`resolve_app_base_url`](Self::resolve_app_base_url).
    pub fn app_base_url(&self) -> &Url {
        &self.app_base_url
    }

    /// The authorization parameters the login route takes from its query string (default
    /// [`DEFAULT_LOGIN_QUERY_PARAMS`](crate::DEFAULT_LOGIN_QUERY_PARAMS)).
    pub fn login_query_params(&self) -> &[String] {
        &self.login_query_params
    }

    /// The allow-list of base URLs; empty when the base URL is static.
    pub fn allowed_base_urls(&self) -> &[AllowedBaseUrl] {
        &self.allowed_base_urls
    }

    /// Whether the base URL is chosen per request from an allow-list.
    pub fn has_dynamic_base_url(&self) -> bool {
        !self.allowed_base_urls.is_empty()
    }

    /// The base URL for a request: the static one (whatever the request says), or the request's
    /// origin when the allow-list allows it.
    ///
    /// ```
    /// use tollgate::{BaseUrlError, Config, RequestOrigin};
    ///
    /// let config = Config::builder()
    ///     .domain("example.eu.auth0.com")
    ///     .client_id("my-client")
    ///     .client_secret("my-client-secret")
    ///     .secret("a-long-random-value-of-at-least-32-bytes")
    ///     .app_base_urls(["https://app.example.com", "https://*.preview.example.com"])
    ///     .build()
    ///     .unwrap();
    /// let preview = RequestOrigin::new("pr-42.preview.example.com");
    /// assert_eq!(
    ///     config.resolve_app_base_url(&preview).unwrap().as_str(),
    ///     "https://pr-42.preview.example.com/"
    /// );
    /// let other = RequestOrigin::new("evil.example");
    /// assert!(matches!(
    ///     config.resolve_app_base_url(&other),
    ///     Err(BaseUrlError::NotAllowed { .. })
    /// ));
    /// ```
    pub fn resolve_app_base_url(&self, origin: &RequestOrigin) -> Result<Url, BaseUrlError> {
        self.base_url_for(origin)
    }

    /// The redirect URI for a request: [`resolve_app_base_url`](Self::resolve_app_base_url)
    /// plus the callback route.
    pub fn redirect_uri_for(&self, origin: &RequestOrigin) -> Result<Url, BaseUrlError> {
        Ok(app_url_at(
            &self.resolve_app_base_url(origin)?,
            &self.routes.callback,
        ))
    }

    /// The base URL for a request: the static one (the origin is ignored), or the allow-list's
    /// entry that names the request's origin.
    pub(crate) fn base_url_for(&self, origin: &RequestOrigin) -> Result<Url, BaseUrlError> {
        if self.allowed_base_urls.is_empty() {
            return Ok(self.app_base_url.clone());
        }
        crate::session::base_url::resolve(&self.allowed_base_urls, origin)
    }

    /// Now, by the configured [`Clock`](crate::Clock), in seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The configured clock.
    pub fn clock(&self) -> &std::sync::Arc<dyn crate::time::Clock> {
        &self.clock
    }

    /// The route paths.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Session settings.
    pub fn session(&self) -> &SessionConfig {
        &self.session
    }

    /// Whether the Connected Accounts route is mounted.
    pub fn connect_account_endpoint(&self) -> bool {
        self.connect_account_endpoint
    }

    /// Whether the My Account and My Organization API proxies are mounted.
    pub fn api_proxies(&self) -> bool {
        self.api_proxies
    }

    /// The DPoP key, when DPoP is on.
    pub fn dpop_key(&self) -> Option<&DpopKey> {
        self.dpop.as_ref().map(|(k, _)| k)
    }

    /// The redirect URI registered at the provider: the base URL plus the callback route. With
    /// an allow-list, see [`redirect_uri_for`](Self::redirect_uri_for).
    pub fn redirect_uri(&self) -> Url {
        app_url_at(&self.app_base_url, &self.routes.callback)
    }

    /// The client secret (for `client_secret_*` authentication and HS* ID tokens).
    pub(crate) fn client_secret(&self) -> &Secret {
        match &self.client_auth {
            ClientAuth::SecretPost(s) | ClientAuth::SecretBasic(s) => s,
            ClientAuth::PrivateKeyJwt { .. } => &crate::session::secret::NO_SECRET,
        }
    }
}

/// An absolute URL of the application at `base` for a path (relative to the base URL's path).
pub(crate) fn app_url_at(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let base_path = base.path().trim_end_matches('/');
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    url.set_path(&format!("{base_path}{p}"));
    url.set_query((!q.is_empty()).then_some(q));
    url
}

/// Builds a [`Config`]; every setter reads as a sentence.
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    domain: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    basic_auth: bool,
    secrets: Vec<Secret>,
    app_base_url: Option<String>,
    app_base_urls: Vec<String>,
    scope: Option<String>,
    audience: Option<String>,
    authorization_params: Vec<(String, String)>,
    login_query_params: Option<Vec<String>>,
    rolling: Option<bool>,
    inactivity: Option<Duration>,
    absolute: Option<Duration>,
    cookie_name: Option<String>,
    cookie_path: Option<String>,
    cookie_domain: Option<String>,
    cookie_secure: Option<bool>,
    cookie_same_site: Option<SameSite>,
    transient: bool,
    txn_prefix: Option<String>,
    txn_max_age: Option<Duration>,
    logout_strategy: LogoutStrategy,
    no_id_token_hint: bool,
    no_logout_via_get: bool,
    routes: Option<Routes>,
    insecure_http_loopback: bool,
    http_timeout: Option<Duration>,
    clock_tolerance: Option<Duration>,
    id_token_algorithms: Option<Vec<jsonwebtoken::Algorithm>>,
    profile_no_content: bool,
    default_return_to: Option<String>,
    mfa_token_ttl: Option<Duration>,
    token_refresh_buffer: Option<Duration>,
    dpop_key: Option<DpopKey>,
    use_dpop: bool,
    dpop_options: DpopOptions,
    pushed_authorization_requests: bool,
    client_assertion_key: Option<crate::oidc::client_assertion::ClientAssertionKey>,
    connect_account_endpoint: bool,
    no_api_proxies: bool,
    clock: Option<std::sync::Arc<dyn crate::time::Clock>>,
    extra_root_certificates_pem: Vec<String>,
}

impl ConfigBuilder {
    /// The Auth0 domain (`example.eu.auth0.com`) or any issuer URL (`https://id.example.com/`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The application's client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The application's client secret (sent with `client_secret_post` unless
    /// [`use_client_secret_basic`](Self::use_client_secret_basic) is called).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret::new(secret));
        self
    }

    /// Authenticates at the token endpoint with HTTP Basic (`client_secret_basic`).
    pub fn use_client_secret_basic(mut self) -> Self {
        self.basic_auth = true;
        self
    }

    /// Adds a cookie secret (at least 32 bytes). The first one added seals; all of them unseal.
    /// A comma-separated list adds several at once, as in `AUTH0_SECRET`.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        let s: String = secret.into();
        self.secrets.extend(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(Secret::new),
        );
        self
    }

    /// The application's base URL, e.g. `https://app.example.com`. Replaces an allow-list set
    /// by [`app_base_urls`](Self::app_base_urls).
    pub fn app_base_url(mut self, url: impl Into<String>) -> Self {
        self.app_base_url = Some(url.into());
        self.app_base_urls.clear();
        self
    }

    /// Serves the application on several base URLs: each request's origin (`X-Forwarded-Host` or
    /// `Host`, and `X-Forwarded-Proto`) must match one of these entries, and becomes the base of
    /// its redirect URI, `returnTo` checks and logout return. Entries are origins without a path:
    /// exact (`https://app.example.com`, `http://localhost:3000`) or a wildcard for one leftmost
    /// label (`https://*.preview.example.com`). Plain http only for loopback hosts; with any https
    /// entry cookies are `Secure`. Replaces a static [`app_base_url`](Self::app_base_url); with
    /// `APP_BASE_URL`, separate the entries with commas.
    ///
    /// Register every callback URL (`https://{host}/auth/callback`) at the provider.
    ///
    /// ```
    /// let config = tollgate::Config::builder()
    ///     .domain("example.eu.auth0.com")
    ///     .client_id("my-client")
    ///     .client_secret("my-client-secret")
    ///     .secret("a-long-random-value-of-at-least-32-bytes")
    ///     .app_base_urls(["https://app.example.com", "https://*.preview.example.com"])
    ///     .build()
    ///     .unwrap();
    /// assert!(config.has_dynamic_base_url());
    /// assert!(config.session().cookie.secure);
    /// ```
    pub fn app_base_urls<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.app_base_urls = urls.into_iter().map(Into::into).collect();
        self.app_base_url = None;
        self
    }

    /// The login scope. Default `openid profile email offline_access`; `openid` is always added.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The API audience of the login's access token.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// An extra authorization parameter sent on every login (protected ones are refused at build).
    pub fn authorization_param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.authorization_params.push((name.into(), value.into()));
        self
    }

    /// The authorization parameters the login route takes from its query string, replacing
    /// [`DEFAULT_LOGIN_QUERY_PARAMS`](crate::DEFAULT_LOGIN_QUERY_PARAMS). `returnTo` and
    /// `challengeMode` are always read; any other parameter in a login URL answers 400.
    ///
    /// List `audience` and `scope` only if users may choose the API and the permissions of
    /// their session's token: the provider then decides alone what the login must prove, so its
    /// MFA policy for an API must cover logins that ask for that API. Names the SDK sets itself
    /// (`state`, `redirect_uri`, …) are refused at build.
    ///
    /// ```
    /// # let builder = tollgate::Config::builder()
    /// #     .domain("example.eu.auth0.com").client_id("c").client_secret("s")
    /// #     .secret("a-long-random-value-of-at-least-32-bytes").app_base_url("https://app.example.com");
    /// let mut allowed: Vec<&str> = tollgate::DEFAULT_LOGIN_QUERY_PARAMS.to_vec();
    /// allowed.extend(["organization", "invitation"]);
    /// let config = builder.login_query_params(allowed).build().unwrap();
    /// assert!(config.login_query_params().iter().any(|p| p == "invitation"));
    /// ```
    pub fn login_query_params<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.login_query_params = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Whether sessions roll (default true).
    pub fn rolling_sessions(mut self, rolling: bool) -> Self {
        self.rolling = Some(rolling);
        self
    }

    /// Idle time after which a rolling session ends (default 1 day).
    pub fn inactivity_duration(mut self, d: Duration) -> Self {
        self.inactivity = Some(d);
        self
    }

    /// Absolute session lifetime (default 3 days).
    pub fn absolute_duration(mut self, d: Duration) -> Self {
        self.absolute = Some(d);
        self
    }

    /// The session cookie name (default `__session`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// Cookie `Path` (default `/`).
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie_path = Some(path.into());
        self
    }

    /// Cookie `Domain` (default: host-only).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie_domain = Some(domain.into());
        self
    }

    /// Cookie `Secure` (default: true when the base URL, or any allow-list entry, is https).
    /// Cannot be turned off for https.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    /// Cookie `SameSite` (default `Lax`).
    pub fn cookie_same_site(mut self, same_site: SameSite) -> Self {
        self.cookie_same_site = Some(same_site);
        self
    }

    /// Makes the session cookie end with the browser session (no `Max-Age`).
    pub fn transient_cookie(mut self, transient: bool) -> Self {
        self.transient = transient;
        self
    }

    /// Transaction cookie name prefix (default `__txn_`).
    pub fn transaction_cookie_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.txn_prefix = Some(prefix.into());
        self
    }

    /// Transaction lifetime (default 1 hour).
    pub fn transaction_max_age(mut self, d: Duration) -> Self {
        self.txn_max_age = Some(d);
        self
    }

    /// The logout strategy (default [`LogoutStrategy::Auto`]).
    pub fn logout_strategy(mut self, s: LogoutStrategy) -> Self {
        self.logout_strategy = s;
        self
    }

    /// Whether OIDC logout URLs carry `id_token_hint` (default true).
    pub fn id_token_hint_on_logout(mut self, on: bool) -> Self {
        self.no_id_token_hint = !on;
        self
    }

    /// Whether `GET /auth/logout` signs out (default `true`, for links that already exist). The
    /// documented way is a `POST` from the application's own page, whose `Origin` is checked; a
    /// `GET` can be started by any other site (an image, a link). With `false`, `GET` answers
    /// 405 with `Allow: POST` and nothing is signed out. Also `AUTH0_LOGOUT_VIA_GET=false`.
    pub fn logout_via_get(mut self, on: bool) -> Self {
        self.no_logout_via_get = !on;
        self
    }

    /// Mounts the Connected Accounts route ([`Routes::connect_account`], default `/auth/connect`).
    /// Off by default, as in the reference SDK.
    pub fn enable_connect_account_endpoint(mut self, on: bool) -> Self {
        self.connect_account_endpoint = on;
        self
    }

    /// Whether the My Account (`/me/*`) and My Organization (`/my-org/*`) API proxies are mounted
    /// (default true, as in the reference SDK). Turn them off when the application serves those
    /// paths itself or does not want the browser to reach these APIs.
    pub fn api_proxies(mut self, on: bool) -> Self {
        self.no_api_proxies = !on;
        self
    }

    /// Custom route paths.
    pub fn routes(mut self, routes: Routes) -> Self {
        self.routes = Some(routes);
        self
    }

    /// **Insecure.** Allows an `http://` issuer, and only on a loopback address (127.0.0.0/8, `::1`,
    /// `localhost`): for a local tenant in development and tests. Never for a real provider.
    pub fn insecure_allow_http_loopback_issuer(mut self) -> Self {
        self.insecure_http_loopback = true;
        self
    }

    /// Trusts the certificates in this PEM text (one or more `CERTIFICATE` blocks) as roots for
    /// the calls to the provider, besides the built-in roots: for a local tenant serving HTTPS
    /// with its own CA (`tollgate_tenant::RunningTenant::ca_pem`). May be called more than
    /// once. `build` refuses PEM text without a certificate.
    ///
    /// ```
    /// let err = tollgate::Config::builder()
    ///     .domain("https://localhost:4443/")
    ///     .client_id("my-client")
    ///     .client_secret("my-client-secret")
    ///     .secret("a-long-random-value-of-at-least-32-bytes")
    ///     .app_base_url("https://app.example.com")
    ///     .extra_root_certificate_pem("not a certificate")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, tollgate::ConfigError::InvalidRootCertificate { .. }));
    /// ```
    pub fn extra_root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_root_certificates_pem.push(pem.into());
        self
    }

    /// Timeout of each call to the provider (default 5 s).
    pub fn http_timeout(mut self, d: Duration) -> Self {
        self.http_timeout = Some(d);
        self
    }

    /// Clock tolerance for `exp`/`iat`/`auth_time` checks (default 60 s).
    pub fn clock_tolerance(mut self, d: Duration) -> Self {
        self.clock_tolerance = Some(d);
        self
    }

    /// Pins the ID token (and logout token) signature algorithms. Default: the provider's
    /// `id_token_signing_alg_values_supported` within RS256/384/512, PS256/384/512, ES256/384 and
    /// EdDSA, or RS256 when discovery lists none. `none` is never accepted; `HS*` (verified with
    /// the client secret) only when pinned here. Also `AUTH0_ID_TOKEN_SIGNING_ALGS=ES256,RS256`.
    ///
    /// ```
    /// use jsonwebtoken::Algorithm;
    /// let config = tollgate::Config::builder()
    ///     .domain("example.auth0.com").client_id("id").client_secret("s")
    ///     .secret("0123456789abcdef0123456789abcdef").app_base_url("https://app.example.com")
    ///     .id_token_algorithms([Algorithm::ES256])
    ///     .build();
    /// assert!(config.is_ok());
    /// ```
    pub fn id_token_algorithms(
        mut self,
        algs: impl IntoIterator<Item = jsonwebtoken::Algorithm>,
    ) -> Self {
        self.id_token_algorithms = Some(algs.into_iter().collect());
        self
    }

    /// Answer `/auth/profile` with 204 instead of 401 when logged out.
    pub fn profile_no_content_when_logged_out(mut self, on: bool) -> Self {
        self.profile_no_content = on;
        self
    }

    /// Where a login returns to without `returnTo` (default `/`).
    pub fn default_return_to(mut self, path: impl Into<String>) -> Self {
        self.default_return_to = Some(path.into());
        self
    }

    /// Lifetime of the sealed `mfa_token` handed to the application (default 300 s).
    pub fn mfa_token_ttl(mut self, d: Duration) -> Self {
        self.mfa_token_ttl = Some(d);
        self
    }

    /// Refresh access tokens this long before they expire (default 0).
    pub fn token_refresh_buffer(mut self, d: Duration) -> Self {
        self.token_refresh_buffer = Some(d);
        self
    }

    /// Turns DPoP (RFC 9449) on with this key: tokens are bound to it. See [`DpopKey`] for
    /// generating one or reading it from PEM.
    ///
    /// ```
    /// let key = tollgate::DpopKey::generate();
    /// let config = tollgate::Config::builder()
    ///     .domain("example.eu.auth0.com")
    ///     .client_id("my-client")
    ///     .client_secret("my-client-secret")
    ///     .secret("a-long-random-value-of-at-least-32-bytes")
    ///     .app_base_url("https://app.example.com")
    ///     .dpop(key.clone())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.dpop_key().unwrap().thumbprint(), key.thumbprint());
    /// ```
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.dpop_key = Some(key);
        self.use_dpop = true;
        self
    }

    /// Turns DPoP on or off (default off). On without a key given by [`dpop`](Self::dpop) or
    /// the environment (`AUTH0_DPOP_PRIVATE_KEY` and `AUTH0_DPOP_PUBLIC_KEY`), a key is generated
    /// at build: tokens bound to it are usable only by this process, for as long as it runs.
    pub fn use_dpop(mut self, on: bool) -> Self {
        self.use_dpop = on;
        self
    }

    /// DPoP clock skew, tolerance and nonce-retry timing.
    pub fn dpop_options(mut self, options: DpopOptions) -> Self {
        self.dpop_options = options;
        self
    }

    /// Authenticates with `private_key_jwt`: a short-lived ES256 JWT signed by `key` instead of
    /// a client secret (which is then not needed).
    pub fn client_assertion_key(
        mut self,
        key: crate::oidc::client_assertion::ClientAssertionKey,
    ) -> Self {
        self.client_assertion_key = Some(key);
        self
    }

    /// Sends the authorization parameters to the provider's pushed authorization request endpoint
    /// (RFC 9126) first, so the browser's `/authorize` URL carries only `client_id` and a one-time
    /// `request_uri`: no parameter can be read or changed on the way. Default off.
    pub fn pushed_authorization_requests(mut self, on: bool) -> Self {
        self.pushed_authorization_requests = on;
        self
    }

    /// The clock that every expiry, rolling and token decision reads, and that dates DPoP proofs
    /// and client assertions. Default: [`SystemClock`](crate::SystemClock). Tests pass a
    /// [`ManualClock`](crate::ManualClock) and move it instead of sleeping.
    ///
    /// ```
    /// let clock = tollgate::ManualClock::at(1_700_000_000);
    /// let config = tollgate::Config::builder()
    ///     .domain("tenant.example.com")
    ///     .client_id("my-client")
    ///     .client_secret("my-client-secret")
    ///     .secret("a-long-random-value-of-at-least-32-bytes")
    ///     .app_base_url("https://app.example.com")
    ///     .clock(std::sync::Arc::new(clock.clone()))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.now(), 1_700_000_000);
    /// ```
    pub fn clock(mut self, clock: std::sync::Arc<dyn crate::time::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks every value and builds the configuration. Each error names the setting and the fix.
    pub fn build(self) -> Result<Config, ConfigError> {
        let domain = self.domain.ok_or(ConfigError::Missing {
            name: "AUTH0_DOMAIN",
            hint: "set it to your tenant's domain, e.g. example.eu.auth0.com",
        })?;
        let issuer = parse_issuer(&domain, self.insecure_http_loopback)?;
        let client_id = self
            .client_id
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing {
                name: "AUTH0_CLIENT_ID",
                hint: "copy it from your application's settings at the provider",
            })?;
        let client_auth = match (self.client_assertion_key, self.client_secret) {
            (Some(key), _) => ClientAuth::PrivateKeyJwt {
                key,
                audience: issuer.to_string(),
            },
            (None, Some(secret)) if self.basic_auth => ClientAuth::SecretBasic(secret),
            (None, Some(secret)) => ClientAuth::SecretPost(secret),
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: "AUTH0_CLIENT_SECRET",
                    hint: "copy it from your application's settings at the provider, or set AUTH0_CLIENT_ASSERTION_SIGNING_KEY for private_key_jwt",
                });
            }
        };
        if self.secrets.is_empty() {
            return Err(ConfigError::Missing {
                name: "AUTH0_SECRET",
                hint: "set it to a random value of at least 32 bytes, e.g. the output of `openssl rand -hex 32`",
            });
        }
        if let Some((index, s)) = self
            .secrets
            .iter()
            .enumerate()
            .find(|(_, s)| s.expose().len() < MIN_SECRET_LEN)
        {
            return Err(ConfigError::SecretTooShort {
                index,
                len: s.expose().len(),
            });
        }
        let (app_base_url, allowed_base_urls) = base_urls(self.app_base_url, &self.app_base_urls)?;
        let https = if allowed_base_urls.is_empty() {
            app_base_url.scheme() == "https"
        } else {
            allowed_base_urls.iter().any(AllowedBaseUrl::is_https)
        };
        if https && self.cookie_secure == Some(false) {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_COOKIE_SECURE",
                value: "false".into(),
                expected: if allowed_base_urls.is_empty() {
                    "true (or unset) when APP_BASE_URL is https"
                } else {
                    "true (or unset) when APP_BASE_URL lists an https URL: the host is chosen per request, so the session and transaction cookies must be Secure"
                },
            });
        }
        let same_site = self.cookie_same_site.unwrap_or_default();
        let secure = self.cookie_secure.unwrap_or(https);
        if same_site == SameSite::None && !secure {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_COOKIE_SAME_SITE",
                value: "none".into(),
                expected: "lax or strict, or none together with a Secure cookie (browsers drop SameSite=None without Secure)",
            });
        }
        let cookie_path = self.cookie_path.unwrap_or_else(|| "/".into());
        if !cookie_path.starts_with('/') {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_COOKIE_PATH",
                value: cookie_path,
                expected: "a path starting with /",
            });
        }
        let cookie = CookieAttributes {
            path: cookie_path,
            domain: self.cookie_domain,
            secure,
            same_site,
        };
        let mut scope = self.scope.unwrap_or_else(|| DEFAULT_SCOPE.into());
        if !scope.split_whitespace().any(|s| s == "openid") {
            scope = format!("openid {scope}");
        }
        for (name, _) in &self.authorization_params {
            if crate::oidc::authorize::is_protected_param(name) {
                return Err(ConfigError::InvalidValue {
                    name: "authorization_param",
                    value: name.clone(),
                    expected: "a parameter other than client_id, redirect_uri, response_type, code_challenge, code_challenge_method, state and nonce (the SDK sets those)",
                });
            }
        }
        let login_query_params = self.login_query_params.unwrap_or_else(|| {
            crate::DEFAULT_LOGIN_QUERY_PARAMS
                .iter()
                .map(|&p| p.to_owned())
                .collect()
        });
        if let Some(bad) = login_query_params.iter().find(|p| {
            p.is_empty() || crate::oidc::authorize::is_protected_param(p) || *p == "client_secret"
        }) {
            return Err(ConfigError::InvalidValue {
                name: "login_query_params (TOLLGATE_LOGIN_QUERY_PARAMS)",
                value: bad.clone(),
                expected: "authorization parameter names other than the ones the SDK sets (client_id, redirect_uri, response_type, code_challenge, code_challenge_method, state, nonce, response_mode, request, request_uri, dpop_jkt)",
            });
        }
        let inactivity = self.inactivity.unwrap_or(Duration::from_secs(86_400));
        let absolute = self.absolute.unwrap_or(Duration::from_secs(259_200));
        if inactivity.is_zero() || absolute.is_zero() {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_SESSION_INACTIVITY_DURATION / AUTH0_SESSION_ABSOLUTE_DURATION",
                value: "0".into(),
                expected: "a positive number of seconds",
            });
        }
        let algorithms = match self.id_token_algorithms {
            None => crate::oidc::id_token::algorithms::AlgorithmPolicy::Discovery,
            Some(algs) => crate::oidc::id_token::algorithms::check_pinned(algs)?,
        };
        let extra_root_certificates = parse_root_certificates(&self.extra_root_certificates_pem)?;
        let default_return_to = self.default_return_to.unwrap_or_else(|| "/".into());
        let mfa_token_ttl = self.mfa_token_ttl.unwrap_or(Duration::from_secs(300));
        if mfa_token_ttl.is_zero() {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_MFA_TOKEN_TTL",
                value: "0".into(),
                expected: "a positive number of seconds",
            });
        }
        if self
            .dpop_options
            .clock_tolerance
            .is_some_and(|t| t > crate::oidc::dpop::MAX_DPOP_CLOCK_TOLERANCE)
        {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_DPOP_CLOCK_TOLERANCE",
                value: format!(
                    "{}",
                    self.dpop_options
                        .clock_tolerance
                        .unwrap_or_default()
                        .as_secs()
                ),
                expected: "at most 300 seconds (a larger tolerance accepts stale proofs and tokens)",
            });
        }
        let dpop = self.use_dpop.then(|| {
            (
                self.dpop_key.unwrap_or_else(DpopKey::generate),
                self.dpop_options,
            )
        });
        let dpop_tolerance = dpop.as_ref().and_then(|(_, o)| o.clock_tolerance);
        Ok(Config {
            issuer,
            client_id,
            client_auth,
            secrets: self.secrets,
            app_base_url,
            allowed_base_urls,
            scope,
            audience: self.audience.filter(|a| !a.is_empty()),
            authorization_params: self.authorization_params,
            login_query_params,
            session: SessionConfig {
                rolling: self.rolling.unwrap_or(true),
                inactivity_duration: inactivity,
                absolute_duration: absolute,
                cookie_name: self.cookie_name.unwrap_or_else(|| "__session".into()),
                cookie,
                transient: self.transient,
            },
            transaction: TransactionConfig {
                prefix: self.txn_prefix.unwrap_or_else(|| "__txn_".into()),
                max_age: self.txn_max_age.unwrap_or(Duration::from_secs(3600)),
            },
            logout_strategy: self.logout_strategy,
            id_token_hint_on_logout: !self.no_id_token_hint,
            logout_via_get: !self.no_logout_via_get,
            routes: self.routes.unwrap_or_default(),
            http_timeout: self.http_timeout.unwrap_or(Duration::from_secs(5)),
            clock_tolerance: self
                .clock_tolerance
                .or(dpop_tolerance)
                .unwrap_or(Duration::from_secs(60)),
            id_token_algorithms: algorithms,
            profile_no_content: self.profile_no_content,
            default_return_to,
            mfa_token_ttl,
            token_refresh_buffer: self.token_refresh_buffer.unwrap_or_default(),
            dpop,
            pushed_authorization_requests: self.pushed_authorization_requests,
            connect_account_endpoint: self.connect_account_endpoint,
            api_proxies: !self.no_api_proxies,
            clock: self
                .clock
                .unwrap_or_else(|| std::sync::Arc::new(crate::time::SystemClock)),
            extra_root_certificates,
        })
    }
}

/// The certificates of each PEM text (a bundle may hold several); a text without any is refused
/// with its position.
pub(crate) fn parse_root_certificates(
    pems: &[String],
) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let mut roots = Vec::new();
    for (index, pem) in pems.iter().enumerate() {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            ConfigError::InvalidRootCertificate {
                index,
                reason: e.to_string(),
            }
        })?;
        if certs.is_empty() {
            return Err(ConfigError::InvalidRootCertificate {
                index,
                reason: "no PEM CERTIFICATE block".to_owned(),
            });
        }
        roots.extend(certs);
    }
    Ok(roots)
}

pub(crate) fn parse_issuer(domain: &str, allow_http_loopback: bool) -> Result<Url, ConfigError> {
    let domain = domain.trim();
    let with_scheme = if domain.contains("://") {
        domain.to_owned()
    } else {
        format!("https://{domain}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| ConfigError::InvalidUrl {
        name: "AUTH0_DOMAIN",
        value: domain.to_owned(),
        reason: e.to_string(),
    })?;
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::InvalidUrl {
            name: "AUTH0_DOMAIN",
            value: domain.to_owned(),
            reason: "it must be a host name or an https URL without query or fragment".into(),
        });
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http_loopback && is_loopback(&url) => {}
        "http" if allow_http_loopback => {
            return Err(ConfigError::InsecureRemoteIssuer {
                issuer: url.to_string(),
            });
        }
        "http" => {
            return Err(ConfigError::InsecureIssuer {
                issuer: url.to_string(),
            });
        }
        _ => {
            return Err(ConfigError::InvalidUrl {
                name: "AUTH0_DOMAIN",
                value: domain.to_owned(),
                reason: "the scheme must be https".into(),
            });
        }
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The static base URL, or the allow-list and its first entry as a placeholder.
fn base_urls(
    single: Option<String>,
    list: &[String],
) -> Result<(Url, Vec<AllowedBaseUrl>), ConfigError> {
    if let Some(base) = single {
        return Ok((parse_base_url(&base)?, Vec::new()));
    }
    let allowed = list
        .iter()
        .map(|e| AllowedBaseUrl::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let first = allowed.first().ok_or(ConfigError::Missing {
        name: "APP_BASE_URL",
        hint: "set it to the URL your users open, e.g. https://app.example.com (or a comma-separated allow-list of them)",
    })?;
    let placeholder = Url::parse(&first.to_string()).map_err(|e| ConfigError::InvalidUrl {
        name: "APP_BASE_URL",
        value: first.to_string(),
        reason: e.to_string(),
    })?;
    Ok((placeholder, allowed))
}

fn parse_base_url(value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        name: "APP_BASE_URL",
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if !value.contains("://") {
        return Err(invalid(
            "it has no scheme; write it as https://host (or http://127.0.0.1:3000 in development)",
        ));
    }
    let url = Url::parse(value).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("it must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests;

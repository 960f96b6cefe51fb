//! Tenant configuration: clients, users, APIs, token lifetimes and keys.

mod api;
mod client;
mod exchange;
mod user;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Clock;
use crate::clock::SharedClock;
use crate::mfa::{self, GrantKind, MfaPolicy};
use crate::tls::TlsConfig;
pub use api::ApiConfig;
pub(crate) use api::{MY_ACCOUNT_SCOPES, MY_ORG_SCOPES};
pub use client::{AppType, ClientConfig, TokenEndpointAuthMethod};
pub use exchange::TokenExchangeProfile;
pub use user::UserConfig;

/// Everything a tenant serves: applications, users, APIs, token lifetimes and signing keys.
///
/// Build it in code or read it from TOML. The defaults follow Auth0's: ID tokens live 36000 s,
/// access tokens 86400 s, refresh tokens 30 days, authorization codes 60 s, `mfa_token`s (and
/// access tokens for the MFA API) 10 minutes, SMS/voice/email codes 5 minutes.
///
/// ```
/// use tollgate_tenant::{ApiConfig, ClientConfig, TenantConfig, UserConfig};
///
/// let config = TenantConfig::new()
///     .with_client(
///         ClientConfig::new("app-client-id", "app-client-secret")
///             .with_callback("http://127.0.0.1:3000/auth/callback")
///             .with_logout_url("http://127.0.0.1:3000/"),
///     )
///     .with_user(UserConfig::new("alice@example.com", "alice-password-1"))
///     .with_api(ApiConfig::new("https://payments.example.com").with_scopes(["read:payments"]));
/// assert_eq!(config.clients().len(), 1);
///
/// let from_toml = TenantConfig::from_toml_str(
///     r#"
///     id_token_lifetime = 600
///
///     [[clients]]
///     client_id = "app-client-id"
///     client_secret = "app-client-secret"
///     callbacks = ["http://127.0.0.1:3000/auth/callback"]
///
///     [[users]]
///     email = "alice@example.com"
///     password = "alice-password-1"
///     "#,
/// )?;
/// assert_eq!(from_toml.id_token_lifetime().as_secs(), 600);
/// # Ok::<(), tollgate_tenant::ConfigError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConfig {
    clients: Vec<ClientConfig>,
    users: Vec<UserConfig>,
    apis: Vec<ApiConfig>,
    #[serde(with = "seconds")]
    id_token_lifetime: Duration,
    #[serde(with = "seconds")]
    access_token_lifetime: Duration,
    #[serde(with = "seconds")]
    refresh_token_lifetime: Duration,
    #[serde(with = "seconds")]
    code_lifetime: Duration,
    #[serde(with = "seconds")]
    session_lifetime: Duration,
    #[serde(with = "seconds")]
    login_transaction_lifetime: Duration,
    end_session_endpoint_discovery: bool,
    signing_keys: Vec<PathBuf>,
    fresh_signing_key: bool,
    tenant_name: String,
    mfa_policies: Vec<MfaPolicy>,
    #[serde(with = "seconds")]
    mfa_token_lifetime: Duration,
    #[serde(with = "seconds")]
    oob_code_lifetime: Duration,
    #[serde(with = "seconds")]
    push_poll_interval: Duration,
    require_dpop_nonce_at_userinfo: bool,
    token_exchange_profiles: Vec<TokenExchangeProfile>,
    /// Origins the My Account and My Organization APIs answer CORS requests from.
    allowed_web_origins: Vec<String>,
    /// Connections users may link through the My Account API (Connected Accounts).
    connected_account_connections: Vec<String>,
    require_dpop_nonce_at_my_account: bool,
    /// Other `host[:port]` names the tenant answers for (see `with_allowed_host`).
    allowed_hosts: Vec<String>,
    /// Whether the `/dev/*` routes are served.
    dev_pages: bool,
    /// Where the state and signing keys are kept across restarts (see `with_state_dir`).
    state_dir: Option<PathBuf>,
    /// The issuer URL when it is not `http(s)://IP:PORT/` of the listener (see `with_issuer`).
    issuer: Option<String>,
    /// Whether (and with which certificate) the tenant serves HTTPS (see `with_tls`).
    tls: Option<TlsConfig>,
    /// Not in TOML: set in code with [`TenantConfig::with_clock`].
    #[serde(skip)]
    clock: SharedClock,
}

impl Default for TenantConfig {
    fn default() -> Self {
        Self {
            clients: Vec::new(),
            users: Vec::new(),
            apis: Vec::new(),
            id_token_lifetime: Duration::from_secs(36_000),
            access_token_lifetime: Duration::from_secs(86_400),
            refresh_token_lifetime: Duration::from_secs(30 * 86_400),
            code_lifetime: Duration::from_secs(60),
            session_lifetime: Duration::from_secs(7 * 86_400),
            login_transaction_lifetime: Duration::from_secs(15 * 60),
            end_session_endpoint_discovery: true,
            signing_keys: Vec::new(),
            fresh_signing_key: false,
            tenant_name: "tollgate".to_owned(),
            mfa_policies: Vec::new(),
            mfa_token_lifetime: Duration::from_secs(600),
            oob_code_lifetime: Duration::from_secs(300),
            push_poll_interval: Duration::from_secs(5),
            require_dpop_nonce_at_userinfo: false,
            token_exchange_profiles: Vec::new(),
            allowed_web_origins: Vec::new(),
            connected_account_connections: vec!["google-oauth2".to_owned(), "github".to_owned()],
            require_dpop_nonce_at_my_account: false,
            allowed_hosts: Vec::new(),
            dev_pages: true,
            state_dir: None,
            issuer: None,
            tls: None,
            clock: SharedClock::default(),
        }
    }
}

impl TenantConfig {
    /// An empty tenant with Auth0's default lifetimes and the process's default signing key.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in example tenant that the binary serves without `--config`.
    ///
    /// One client `demo-client` / `demo-secret` (callback `http://127.0.0.1:3000/auth/callback`,
    /// logout URL `http://127.0.0.1:3000/`), the users `alice@example.com` / `alice-password-1`
    /// (TOTP secret `JBSWY3DPEHPK3PXP`, recovery code `ABCDEFGHJKLMNPQRSTUVWXYZ`) and
    /// `bob@example.com` / `bob-password-1` (no factor), the API `https://payments.example.com`,
    /// and an MFA policy for that API (which covers every grant that issues tokens for it: a login
    /// with `audience` set to it passes the MFA page, a refresh for it answers `mfa_required`).
    pub fn example() -> Self {
        Self::new()
            .with_client(
                ClientConfig::new("demo-client", "demo-secret")
                    .with_callback("http://127.0.0.1:3000/auth/callback")
                    .with_logout_url("http://127.0.0.1:3000/"),
            )
            .with_user(
                UserConfig::new("alice@example.com", "alice-password-1")
                    .with_name("Alice Example")
                    .with_totp_secret("JBSWY3DPEHPK3PXP")
                    .with_recovery_code("ABCDEFGHJKLMNPQRSTUVWXYZ"),
            )
            .with_user(
                UserConfig::new("bob@example.com", "bob-password-1").with_name("Bob Example"),
            )
            .with_api(
                ApiConfig::new("https://payments.example.com")
                    .with_scopes(["read:payments", "write:payments"]),
            )
            .with_mfa_policy(MfaPolicy::new().for_audience("https://payments.example.com"))
    }

    /// Parses a TOML document (field names as in `tenant.example.toml`) and checks it.
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(toml).map_err(ConfigError::Parse)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file. Relative `signing_keys` paths are taken relative to the
    /// file's folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::from_toml_str(&text)?;
        if let Some(folder) = path.parent() {
            let tls_files = config.tls.iter_mut().flat_map(TlsConfig::paths_mut);
            for key in config
                .signing_keys
                .iter_mut()
                .chain(&mut config.state_dir)
                .chain(tls_files)
            {
                if key.is_relative() {
                    *key = folder.join(&*key);
                }
            }
        }
        Ok(config)
    }

    /// Adds an application.
    #[must_use]
    pub fn with_client(mut self, client: ClientConfig) -> Self {
        self.clients.push(client);
        self
    }

    /// Adds a user.
    #[must_use]
    pub fn with_user(mut self, user: UserConfig) -> Self {
        self.users.push(user);
        self
    }

    /// Adds an API.
    #[must_use]
    pub fn with_api(mut self, api: ApiConfig) -> Self {
        self.apis.push(api);
        self
    }

    /// Sets the ID token lifetime (default 36000 s).
    #[must_use]
    pub fn with_id_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.id_token_lifetime = lifetime;
        self
    }

    /// Sets the access token lifetime (default 86400 s).
    #[must_use]
    pub fn with_access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }

    /// Sets the absolute refresh token lifetime (default 30 days; rotation does not extend it).
    #[must_use]
    pub fn with_refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_token_lifetime = lifetime;
        self
    }

    /// Sets the authorization code lifetime (default 60 s).
    #[must_use]
    pub fn with_code_lifetime(mut self, lifetime: Duration) -> Self {
        self.code_lifetime = lifetime;
        self
    }

    /// Sets the SSO session lifetime (default 7 days).
    #[must_use]
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// Sets how long a login page stays usable after `/authorize` (default 15 minutes).
    #[must_use]
    pub fn with_login_transaction_lifetime(mut self, lifetime: Duration) -> Self {
        self.login_transaction_lifetime = lifetime;
        self
    }

    /// Whether discovery advertises `end_session_endpoint` (default `true`), like Auth0's
    /// "RP-Initiated Logout End Session Endpoint Discovery" tenant setting.
    #[must_use]
    pub fn with_end_session_endpoint_discovery(mut self, enabled: bool) -> Self {
        self.end_session_endpoint_discovery = enabled;
        self
    }

    /// Adds an RSA private key file (PKCS#1 or PKCS#8 PEM). The first one signs; the others are
    /// published in the JWKS as previous keys. Without any, the tenant signs with the process's
    /// default key (see [`with_fresh_signing_key`](Self::with_fresh_signing_key)).
    #[must_use]
    pub fn with_signing_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.signing_keys.push(path.into());
        self
    }

    /// Whether a tenant without key files generates a signing key of its own at start (about a
    /// second). Off by default: such tenants share one key generated once per process, so
    /// tests that start many tenants pay for one key. Turn it on when two tenants of one process
    /// must not verify each other's tokens. TOML: `fresh_signing_key = true`.
    ///
    /// ```
    /// use tollgate_tenant::TenantConfig;
    ///
    /// let config = TenantConfig::new().with_fresh_signing_key(true);
    /// assert!(config.fresh_signing_key());
    /// assert!(!TenantConfig::new().fresh_signing_key());
    /// ```
    #[must_use]
    pub fn with_fresh_signing_key(mut self, fresh: bool) -> Self {
        self.fresh_signing_key = fresh;
        self
    }

    /// Names the tenant in authenticator apps: the `<tenant>` of
    /// `otpauth://totp/<tenant>:<email>?…&issuer=<tenant>` (default `tollgate`).
    #[must_use]
    pub fn with_tenant_name(mut self, name: impl Into<String>) -> Self {
        self.tenant_name = name.into();
        self
    }

    /// Adds an MFA policy (a stand-in for an Auth0 post-login Action that requires MFA).
    #[must_use]
    pub fn with_mfa_policy(mut self, policy: MfaPolicy) -> Self {
        self.mfa_policies.push(policy);
        self
    }

    /// Sets how long an `mfa_token` (and an access token for the MFA API) stays valid
    /// (default 10 minutes, as at Auth0).
    #[must_use]
    pub fn with_mfa_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.mfa_token_lifetime = lifetime;
        self
    }

    /// Sets how long an `oob_code` and the code sent with it stay valid (default 5 minutes).
    #[must_use]
    pub fn with_oob_code_lifetime(mut self, lifetime: Duration) -> Self {
        self.oob_code_lifetime = lifetime;
        self
    }

    /// Sets the minimum interval between two polls of the same push `oob_code` (default 5 s);
    /// polling faster answers `slow_down`. Zero disables the check.
    #[must_use]
    pub fn with_push_poll_interval(mut self, interval: Duration) -> Self {
        self.push_poll_interval = interval;
        self
    }

    /// Makes `/userinfo` demand a tenant nonce in DPoP proofs, as a resource server may (RFC 9449
    /// §9): a proof without one is answered `401` with `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"` and a `DPoP-Nonce` header (default off). TOML:
    /// `require_dpop_nonce_at_userinfo = true`.
    #[must_use]
    pub fn with_dpop_nonce_required_at_userinfo(mut self, required: bool) -> Self {
        self.require_dpop_nonce_at_userinfo = required;
        self
    }

    /// Lets the My Account and My Organization APIs answer CORS requests from `origin`
    /// (`https://app.example.com`): preflights and answers carry `Access-Control-Allow-Origin`
    /// for it. None by default. TOML: `allowed_web_origins = ["…"]`.
    #[must_use]
    pub fn with_allowed_web_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_web_origins.push(origin.into());
        self
    }

    /// The origins the My Account and My Organization APIs answer CORS requests from.
    pub fn allowed_web_origins(&self) -> &[String] {
        &self.allowed_web_origins
    }

    /// Also answers requests whose `Host` is `host` (`tenant.test`, taking the issuer's port, or
    /// `tenant.test:8443`). By default the tenant answers only for its issuer's `host:port` and,
    /// when that is a loopback address, for `127.0.0.1`, `localhost` and `[::1]` on the same
    /// port; other hosts get `421 Misdirected Request`, which stops DNS-rebinding pages.
    /// TOML: `allowed_hosts = ["…"]`; CLI: `--allowed-host`.
    ///
    /// ```
    /// let config = tollgate_tenant::TenantConfig::new().with_allowed_host("tenant.test");
    /// assert_eq!(config.allowed_hosts(), ["tenant.test"]);
    /// ```
    #[must_use]
    pub fn with_allowed_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// The extra host names the tenant answers for.
    pub fn allowed_hosts(&self) -> &[String] {
        &self.allowed_hosts
    }

    /// Serves the development pages (`/dev/outbox`, `/dev/logs`, their JSON and their buttons)
    /// or, with `false`, answers 404 on every `/dev/*` path. On by default. TOML:
    /// `dev_pages = false`; CLI: `--no-dev-pages`.
    #[must_use]
    pub fn with_dev_pages(mut self, enabled: bool) -> Self {
        self.dev_pages = enabled;
        self
    }

    /// Whether the development pages are served.
    pub fn dev_pages(&self) -> bool {
        self.dev_pages
    }

    /// Keeps the tenant's state in the directory `dir` (created, mode 0700, if missing) so that
    /// a restart keeps it: the signing keys (`signing-keys.pem`, current first) and a snapshot
    /// (`state.json`) of SSO sessions, refresh-token families, authorization codes, login and
    /// MFA transactions, MFA enrolments and remembered browsers, My Account data and the
    /// attack-protection counters. The snapshot is written at most once a second while
    /// something changed, and at [`RunningTenant::shutdown`](crate::RunningTenant::shutdown).
    /// Without it, all state is in memory only. TOML: `state_dir = "DIR"` (relative to the
    /// file's folder); CLI: `--state-dir DIR`.
    ///
    /// Key files named with [`with_signing_key_file`](Self::with_signing_key_file) win over
    /// the directory's keys (and are not copied into it). Otherwise the directory's keys sign,
    /// rather than the process's shared key: the first start generates one and saves it, and
    /// [`with_fresh_signing_key`](Self::with_fresh_signing_key) changes nothing.
    ///
    /// ```
    /// use tollgate_tenant::TenantConfig;
    ///
    /// let config = TenantConfig::example().with_state_dir("target/tenant-state");
    /// assert_eq!(config.state_dir().unwrap().to_str(), Some("target/tenant-state"));
    /// assert!(TenantConfig::example().state_dir().is_none());
    /// ```
    #[must_use]
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The issuer URL the tenant names itself by, instead of `http://IP:PORT/` (or
    /// `https://IP:PORT/` with [`with_tls`](Self::with_tls)) of its listener: in discovery, the
    /// `iss` of every token, page links, redirects, logout and back-channel logout tokens. Its
    /// host (`localhost`, `127.0.0.1`, `[::1]` or a name that resolves to loopback only) is
    /// accepted in `Host` headers automatically. The tenant still listens where
    /// [`Tenant::start`](crate::Tenant::start) is told; a port that differs from the listener's
    /// (or none) suits a proxy in front, but a listener on port 0 needs an issuer with a port.
    ///
    /// The scheme is `http` or `https`, the path `/` (a missing trailing slash is added); a
    /// query, fragment, user name or other path is refused. TOML: `issuer = "…"`; CLI:
    /// `--issuer URL`.
    ///
    /// ```
    /// use tollgate_tenant::TenantConfig;
    ///
    /// let config = TenantConfig::example().with_issuer("http://localhost:4000");
    /// assert_eq!(config.issuer(), Some("http://localhost:4000"));
    /// assert!(TenantConfig::example().issuer().is_none());
    /// ```
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The configured issuer as given (the running tenant's
    /// [`issuer`](crate::RunningTenant::issuer) is its normalised form), or `None` when the
    /// tenant names itself after its listener.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Serves HTTPS instead of plain HTTP: with a generated local CA and certificate
    /// ([`TlsConfig::generated`]) or a certificate chain and key from PEM files
    /// ([`TlsConfig::from_pem_files`]). The default issuer becomes `https://IP:PORT/`.
    /// TOML: a `[tls]` section (empty for a generated certificate, or `cert` and `key`);
    /// CLI: `--tls`, or `--tls-cert FILE --tls-key FILE`.
    ///
    /// ```
    /// use tollgate_tenant::{TenantConfig, TlsConfig};
    ///
    /// let config = TenantConfig::example().with_tls(TlsConfig::generated());
    /// assert!(config.tls().is_some());
    /// ```
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// How the tenant serves HTTPS, or `None` for plain HTTP.
    pub fn tls(&self) -> Option<&TlsConfig> {
        self.tls.as_ref()
    }

    /// The state directory, if state is kept across restarts.
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// The connections users may link with Connected Accounts (default `google-oauth2` and
    /// `github`). TOML: `connected_account_connections = ["…"]`.
    #[must_use]
    pub fn with_connected_account_connections<I, S>(mut self, connections: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.connected_account_connections = connections.into_iter().map(Into::into).collect();
        self
    }

    /// The connections users may link with Connected Accounts.
    pub fn connected_account_connections(&self) -> &[String] {
        &self.connected_account_connections
    }

    /// Makes the My Account and My Organization APIs demand a tenant nonce in DPoP proofs (RFC
    /// 9449 §9), as Auth0's My Account API does on the first request (default off). TOML:
    /// `require_dpop_nonce_at_my_account = true`.
    #[must_use]
    pub fn with_dpop_nonce_required_at_my_account(mut self, required: bool) -> Self {
        self.require_dpop_nonce_at_my_account = required;
        self
    }

    /// Whether the My Account and My Organization APIs demand DPoP nonces.
    pub fn dpop_nonce_required_at_my_account(&self) -> bool {
        self.require_dpop_nonce_at_my_account
    }

    /// Makes the tenant read the time from `clock` instead of the system clock (the default):
    /// token times, expiries, polling intervals, rate limits and TOTP steps all follow it (see
    /// [`Clock`]). Give it a [`ManualClock`](crate::ManualClock) and keep a clone to move time
    /// in tests.
    ///
    /// ```
    /// use tollgate_tenant::{Clock, ManualClock, TenantConfig};
    ///
    /// let clock = ManualClock::new(1_700_000_000);
    /// let config = TenantConfig::new().with_clock(clock.clone());
    /// clock.advance(90);
    /// assert_eq!(config.clock().now(), 1_700_000_090);
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The clock the tenant reads the time from.
    ///
    /// ```
    /// use tollgate_tenant::{Clock, SystemClock, TenantConfig};
    ///
    /// let now = TenantConfig::new().clock().now();
    /// assert!(now.abs_diff(SystemClock.now()) <= 1);
    /// ```
    pub fn clock(&self) -> &dyn Clock {
        self.clock.get()
    }

    /// The clock, for the tenant's state.
    pub(crate) fn shared_clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Accepts Custom Token Exchange requests of `profile`'s subject token type.
    #[must_use]
    pub fn with_token_exchange_profile(mut self, profile: TokenExchangeProfile) -> Self {
        self.token_exchange_profiles.push(profile);
        self
    }

    /// The Custom Token Exchange profile for `subject_token_type`.
    pub fn token_exchange_profile(
        &self,
        subject_token_type: &str,
    ) -> Option<&TokenExchangeProfile> {
        self.token_exchange_profiles
            .iter()
            .find(|p| p.subject_token_type() == subject_token_type)
    }

    /// The applications.
    pub fn clients(&self) -> &[ClientConfig] {
        &self.clients
    }

    /// The users.
    pub fn users(&self) -> &[UserConfig] {
        &self.users
    }

    /// The APIs.
    pub fn apis(&self) -> &[ApiConfig] {
        &self.apis
    }

    /// The ID token lifetime.
    pub fn id_token_lifetime(&self) -> Duration {
        self.id_token_lifetime
    }

    /// The access token lifetime.
    pub fn access_token_lifetime(&self) -> Duration {
        self.access_token_lifetime
    }

    /// The refresh token lifetime.
    pub fn refresh_token_lifetime(&self) -> Duration {
        self.refresh_token_lifetime
    }

    /// The authorization code lifetime.
    pub fn code_lifetime(&self) -> Duration {
        self.code_lifetime
    }

    /// The SSO session lifetime.
    pub fn session_lifetime(&self) -> Duration {
        self.session_lifetime
    }

    /// How long a login transaction stays usable.
    pub fn login_transaction_lifetime(&self) -> Duration {
        self.login_transaction_lifetime
    }

    /// Whether discovery advertises `end_session_endpoint`.
    pub fn end_session_endpoint_discovery(&self) -> bool {
        self.end_session_endpoint_discovery
    }

    /// The signing key files, current first.
    pub fn signing_key_files(&self) -> &[PathBuf] {
        &self.signing_keys
    }

    /// Whether a tenant without key files generates its own signing key.
    pub fn fresh_signing_key(&self) -> bool {
        self.fresh_signing_key
    }

    /// The tenant name shown in authenticator apps.
    pub fn tenant_name(&self) -> &str {
        &self.tenant_name
    }

    /// The MFA policies.
    pub fn mfa_policies(&self) -> &[MfaPolicy] {
        &self.mfa_policies
    }

    /// How long an `mfa_token` stays valid.
    pub fn mfa_token_lifetime(&self) -> Duration {
        self.mfa_token_lifetime
    }

    /// How long an `oob_code` stays valid.
    pub fn oob_code_lifetime(&self) -> Duration {
        self.oob_code_lifetime
    }

    /// The minimum interval between two polls of a push `oob_code`.
    pub fn push_poll_interval(&self) -> Duration {
        self.push_poll_interval
    }

    /// Whether `/userinfo` demands a tenant nonce in DPoP proofs.
    pub fn dpop_nonce_required_at_userinfo(&self) -> bool {
        self.require_dpop_nonce_at_userinfo
    }

    /// The client with this id.
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id() == client_id)
    }

    /// The user with this email (case-insensitive).
    pub(crate) fn user_by_email(&self, email: &str) -> Option<&UserConfig> {
        self.users
            .iter()
            .find(|u| u.email().eq_ignore_ascii_case(email))
    }

    /// The user with this `sub`.
    pub(crate) fn user_by_sub(&self, sub: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.sub() == sub)
    }

    /// The API with this identifier.
    pub(crate) fn api(&self, identifier: &str) -> Option<&ApiConfig> {
        self.apis.iter().find(|a| a.identifier() == identifier)
    }

    /// Checks what serde cannot: unique ids and well-formed URLs.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let mut client_ids = HashSet::new();
        for client in &self.clients {
            if client.client_id().is_empty() {
                return Err(ConfigError::EmptyClientId);
            }
            if !client_ids.insert(client.client_id()) {
                return Err(ConfigError::DuplicateClient {
                    client_id: client.client_id().to_owned(),
                });
            }
            for url in client.callbacks().iter().chain(client.logout_urls()) {
                if url::Url::parse(url).is_err() {
                    return Err(ConfigError::InvalidUrl { url: url.clone() });
                }
            }
            validate_client_type(client)?;
            for (field, origins) in [
                ("web_origins", client.web_origins()),
                ("allowed_origins", client.allowed_origins()),
            ] {
                if let Some(origin) = origins.iter().find(|o| !is_origin(o)) {
                    return Err(ConfigError::InvalidOrigin {
                        client_id: client.client_id().to_owned(),
                        field,
                        origin: origin.clone(),
                    });
                }
            }
            if let Some(url) = client.backchannel_logout_url() {
                let web = url::Url::parse(url)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
                if !web {
                    return Err(ConfigError::InvalidBackchannelLogoutUrl {
                        url: url.to_owned(),
                    });
                }
            }
        }
        let mut emails = HashSet::new();
        for user in &self.users {
            if !emails.insert(user.email().to_lowercase()) {
                return Err(ConfigError::DuplicateUser {
                    email: user.email().to_owned(),
                });
            }
            mfa::validate_user(user)?;
        }
        for policy in &self.mfa_policies {
            if let Some(factor) = policy.unknown_factor() {
                return Err(ConfigError::UnknownMfaFactor {
                    factor: factor.to_owned(),
                });
            }
            if policy.factors().is_empty() || policy.grants().is_empty() {
                return Err(ConfigError::EmptyMfaPolicy);
            }
            if let (Some(audience), Some(grant)) = (policy.audience(), policy.open_grant()) {
                return Err(ConfigError::MfaPolicyLeavesGrantOpen {
                    audience: audience.to_owned(),
                    grant,
                });
            }
            let count = policy.required_factor_count();
            if count == 0 || count > policy.factors().len() {
                return Err(ConfigError::InvalidRequiredFactorCount {
                    count,
                    factors: policy.factors().len(),
                });
            }
        }
        for host in &self.allowed_hosts {
            let bad = |c: char| c.is_whitespace() || "/?#@\\".contains(c);
            if host.is_empty() || host.contains("://") || host.chars().any(bad) {
                return Err(ConfigError::InvalidAllowedHost { host: host.clone() });
            }
        }
        if self
            .state_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            return Err(ConfigError::EmptyStateDir);
        }
        self.validate_issuer_and_tls()?;
        let mut apis = HashSet::new();
        for api in &self.apis {
            if !apis.insert(api.identifier()) {
                return Err(ConfigError::DuplicateApi {
                    identifier: api.identifier().to_owned(),
                });
            }
        }
        self.validate_client_grants()
    }

    /// The issuer is a loopback `http(s)` origin (normalised in place by `normalize_issuer`),
    /// TLS files come in pairs, and a TLS tenant does not name itself with `http`.
    fn validate_issuer_and_tls(&self) -> Result<(), ConfigError> {
        if let Some(tls) = &self.tls {
            tls.validate()?;
        }
        if let Some(issuer) = &self.issuer {
            let url = crate::issuer::parse(issuer)?;
            if self.tls.is_some() && url.scheme() == "http" {
                return Err(ConfigError::HttpIssuerWithTls {
                    issuer: issuer.clone(),
                });
            }
        }
        Ok(())
    }

    /// Every client grant names a configured API (once per client) and scopes it defines.
    fn validate_client_grants(&self) -> Result<(), ConfigError> {
        for client in &self.clients {
            let mut seen = HashSet::new();
            for grant in client.client_grants() {
                let invalid = |reason: String| ConfigError::InvalidClientGrant {
                    client_id: client.client_id().to_owned(),
                    audience: grant.audience.clone(),
                    reason,
                };
                let api = self
                    .api(&grant.audience)
                    .ok_or_else(|| invalid("no API has this identifier".to_owned()))?;
                if !seen.insert(grant.audience.as_str()) {
                    return Err(invalid("the client has two grants for it".to_owned()));
                }
                if let Some(scope) = grant.scopes.iter().find(|s| !api.defines_scope(s)) {
                    return Err(invalid(format!(
                        "the API does not define the scope {scope:?}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Whether `text` is a serialized web origin: `http(s)://host[:port]`, lower case, no default
/// port, no path, no trailing slash (what browsers send in `Origin`).
fn is_origin(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.has_host()
            && !text.contains('*')
            && u.origin().ascii_serialization() == text
    })
}

/// The application type, authentication method, secret and key of one client agree.
fn validate_client_type(client: &ClientConfig) -> Result<(), ConfigError> {
    let invalid = |field: &'static str, reason: String| ConfigError::InvalidClient {
        client_id: client.client_id().to_owned(),
        field,
        reason,
    };
    let app_type = client.app_type();
    let method = client.token_endpoint_auth_method();
    if matches!(app_type, AppType::Spa | AppType::Native) && method != TokenEndpointAuthMethod::None
    {
        return Err(invalid(
            "token_endpoint_auth_method",
            format!(
                "is {:?}, but a {} application is a public client: set it to \"none\" and remove client_secret, or use app_type = \"regular_web\"",
                method.as_str(),
                app_type.as_str()
            ),
        ));
    }
    match method {
        TokenEndpointAuthMethod::None if client.has_secret() => Err(invalid(
            "client_secret",
            "is set, but token_endpoint_auth_method is \"none\" (a public client): remove the secret, or choose client_secret_post or client_secret_basic".to_owned(),
        )),
        TokenEndpointAuthMethod::None if app_type == AppType::NonInteractive => Err(invalid(
            "token_endpoint_auth_method",
            "is \"none\", but a non_interactive (machine-to-machine) application must authenticate: use client_secret_post, client_secret_basic or private_key_jwt".to_owned(),
        )),
        TokenEndpointAuthMethod::None
            if app_type == AppType::Spa && !client.refresh_token_rotation() =>
        {
            Err(invalid(
                "refresh_token_rotation",
                "is false, but a spa's refresh tokens must rotate (as Auth0 requires for refresh tokens in the browser): remove the field or set it to true".to_owned(),
            ))
        }
        m if m.uses_secret() && !client.has_secret() => Err(invalid(
            "client_secret",
            format!(
                "is missing, but token_endpoint_auth_method is {:?}: add the secret, or make the client public with token_endpoint_auth_method = \"none\"",
                m.as_str()
            ),
        )),
        TokenEndpointAuthMethod::PrivateKeyJwt if client.client_assertion_key().is_none() => {
            Err(invalid(
                "client_assertion_public_key",
                "is missing, but token_endpoint_auth_method is \"private_key_jwt\": add the client's P-256 public key (SPKI PEM)".to_owned(),
            ))
        }
        _ => Ok(()),
    }
}

/// Why a tenant configuration could not be read or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read the tenant configuration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or mistyped fields.
    #[error("invalid tenant configuration: {0}")]
    Parse(#[source] toml::de::Error),
    /// A client has an empty `client_id`.
    #[error("a client has an empty client_id; give every client a non-empty id")]
    EmptyClientId,
    /// Two clients share a `client_id`.
    #[error("client_id {client_id:?} is configured twice; client ids must be unique")]
    DuplicateClient {
        /// The repeated id.
        client_id: String,
    },
    /// Two users share an email.
    #[error("user {email:?} is configured twice; emails must be unique")]
    DuplicateUser {
        /// The repeated email.
        email: String,
    },
    /// Two APIs share an identifier.
    #[error("API {identifier:?} is configured twice; identifiers must be unique")]
    DuplicateApi {
        /// The repeated identifier.
        identifier: String,
    },
    /// A user's `totp_secret` is not Base32.
    #[error("the totp_secret of {email:?} is not Base32 (RFC 4648 letters A-Z and digits 2-7)")]
    InvalidTotpSecret {
        /// The user.
        email: String,
    },
    /// A user's phone number is not in E.164 form.
    #[error("the phone {phone:?} of {email:?} is not in E.164 form; write it like +15555550100")]
    InvalidPhoneNumber {
        /// The user.
        email: String,
        /// The value given.
        phone: String,
    },
    /// A user's recovery code is not 24 upper-case letters and digits.
    #[error("the recovery_code of {email:?} must be 24 upper-case letters and digits")]
    InvalidRecoveryCode {
        /// The user.
        email: String,
    },
    /// A user's push device has an empty name.
    #[error("the push_device of {email:?} is empty; give the device a name")]
    EmptyPushDevice {
        /// The user.
        email: String,
    },
    /// An MFA policy names a factor outside `otp`, `push-notification`, `phone`, `email`,
    /// `recovery-code`.
    #[error(
        "unknown MFA factor {factor:?}; use otp, push-notification, phone, email or recovery-code"
    )]
    UnknownMfaFactor {
        /// The value given.
        factor: String,
    },
    /// An MFA policy has no factor or no grant, so it could never be satisfied or never apply.
    #[error(
        "an MFA policy has an empty factors or grants list; leave the field out for the default"
    )]
    EmptyMfaPolicy,
    /// An MFA policy for an API does not cover every grant that issues tokens for it (its
    /// `grants` / [`MfaPolicy::on_grants`] list leaves one out), which would let tokens for the
    /// API out of that grant without a second factor.
    #[error(
        "the MFA policy for {audience:?} leaves the {} grant without MFA, so tokens for that API could be had without a second factor; a policy with an audience covers every grant: remove its grants list (TOML `grants`, Rust `on_grants`)",
        grant.name()
    )]
    MfaPolicyLeavesGrantOpen {
        /// The policy's audience.
        audience: String,
        /// The first grant the policy leaves out.
        grant: GrantKind,
    },
    /// A client grant (`client_grants`, [`ClientConfig::with_client_grant`]) cannot be used.
    #[error("the client grant of {client_id:?} for {audience:?} is invalid: {reason}")]
    InvalidClientGrant {
        /// The client.
        client_id: String,
        /// The grant's audience.
        audience: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `allowed_hosts` entry is not a bare `host` or `host:port`.
    #[error("allowed host {host:?} must be a bare host or host:port, like tenant.test:4000")]
    InvalidAllowedHost {
        /// The entry.
        host: String,
    },
    /// A client's `backchannel_logout_url` is not an absolute `http://` or `https://` URL.
    #[error(
        "backchannel_logout_url {url:?} is not an absolute http(s) URL; write it like https://app.example.com/auth/backchannel-logout"
    )]
    InvalidBackchannelLogoutUrl {
        /// The offending value.
        url: String,
    },
    /// An MFA policy's `required_factors` is 0 or more than the factors it allows.
    #[error(
        "an MFA policy requires {count} factors but allows {factors}; set required_factors between 1 and the number of factors"
    )]
    InvalidRequiredFactorCount {
        /// The `required_factors` given.
        count: usize,
        /// How many factors the policy allows.
        factors: usize,
    },
    /// The issuer is not an absolute URL.
    #[error("issuer {issuer:?} is not an absolute URL; use e.g. http://localhost:4000/")]
    IssuerNotUrl {
        /// The configured issuer.
        issuer: String,
    },
    /// The issuer's scheme is neither `http` nor `https`.
    #[error("issuer {issuer:?} must use http or https")]
    IssuerScheme {
        /// The configured issuer.
        issuer: String,
    },
    /// The issuer's host is an IP address that is not a loopback address.
    #[error(
        "issuer {issuer:?} names a non-loopback address; the local tenant's issuer is localhost, \
         127.0.0.1, [::1] or a name that resolves to loopback"
    )]
    IssuerNotLoopback {
        /// The configured issuer.
        issuer: String,
    },
    /// The issuer has a path other than `/`, a query, a fragment or a user name.
    #[error(
        "issuer {issuer:?} must be an origin with the path / only (no query, fragment or user)"
    )]
    IssuerPath {
        /// The configured issuer.
        issuer: String,
    },
    /// The tenant serves HTTPS but the issuer says `http`.
    #[error("issuer {issuer:?} is http but the tenant serves HTTPS ([tls] / --tls); use https://")]
    HttpIssuerWithTls {
        /// The configured issuer.
        issuer: String,
    },
    /// Only one of the TLS certificate and key files is given.
    #[error(
        "TLS needs both a certificate and a key file (cert and key, --tls-cert and --tls-key), or neither for a generated one"
    )]
    TlsFilesIncomplete,
    /// `state_dir` is an empty path.
    #[error("state_dir is empty; name a directory, or leave it out to keep state in memory only")]
    EmptyStateDir,
    /// A client's `app_type`, `token_endpoint_auth_method`, `client_secret`,
    /// `client_assertion_public_key` or `refresh_token_rotation` contradict each other (a `spa`
    /// with a secret method, `none` with a secret, `private_key_jwt` without a key…).
    #[error("client {client_id:?}: {field} {reason}")]
    InvalidClient {
        /// The client.
        client_id: String,
        /// The TOML field to change.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A `web_origins` or `allowed_origins` entry is not an origin.
    #[error(
        "the {field} entry {origin:?} of client {client_id:?} is not an origin: write it as scheme://host[:port] in lower case, without a path, trailing slash, default port or wildcard, like https://app.example.com"
    )]
    InvalidOrigin {
        /// The client.
        client_id: String,
        /// `web_origins` or `allowed_origins`.
        field: &'static str,
        /// The offending entry.
        origin: String,
    },
    /// A callback or logout URL is not an absolute URL.
    #[error("{url:?} is not an absolute URL; callback and logout URLs must be absolute")]
    InvalidUrl {
        /// The offending value.
        url: String,
    },
}

/// Serde adapter: a `Duration` written as whole seconds.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

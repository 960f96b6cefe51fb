//! [`Tollgate`]: the SDK's entry point, independent of any web framework.

mod base_url;
pub(crate) mod browser;
mod callback;
mod login;
mod logout;
pub(crate) mod response;
mod sessions;

use std::sync::Arc;

use serde_json::json;

use self::response::AuthResponse;
use crate::config::Config;
use crate::error::Error;
use crate::oidc::provider::{Provider, ProviderMetadata};
use crate::session::codec::CookieSessionCodec;
use crate::session::cookies::CookieJar;
use crate::session::secret::{KeyPurpose, Keyring};

pub use callback::{CallbackOutcome, CallbackSuccess, DEFAULT_USER_CLAIMS};
pub use login::LoginRedirect;
pub use sessions::LoadedSession;

/// The SDK: signs users in, keeps their session and signs them out. Cheap to clone; share one per
/// application.
///
/// ```no_run
/// # async fn run() -> Result<(), tollgate::Error> {
/// let auth = tollgate::Tollgate::new(tollgate::Config::from_env()?);
/// let login = auth.start_login(tollgate::LoginOptions::new().return_to("/billing")).await?;
/// println!("send the browser to {} with Set-Cookie {}", login.url, login.set_cookie);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Tollgate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    config: Config,
    pub(crate) provider: Provider,
    pub(crate) sessions: CookieSessionCodec,
    pub(crate) backend: Arc<dyn crate::session::store::SessionStore>,
    pub(crate) transaction_keys: Keyring,
    mfa_keys: Keyring,
    pub(crate) refreshes: crate::tokens::single_flight::RefreshCoordinator,
    pub(crate) seen_jtis: crate::oidc::backchannel::SeenJtis,
    hooks: crate::hooks::Hooks,
}

impl Tollgate {
    /// Builds the SDK with stateless cookie sessions. No network call happens here: discovery and
    /// keys are fetched on first use.
    pub fn new(config: Config) -> Self {
        let store = Arc::new(crate::session::store::CookieStore::new(&config));
        Self::build(config, store)
    }

    /// Builds the SDK with a server-side session store: the cookie then holds only a sealed id.
    ///
    /// ```no_run
    /// # async fn f(config: tollgate::Config) {
    /// let store = std::sync::Arc::new(tollgate::store::MemoryStore::new());
    /// let auth = tollgate::Tollgate::with_store(config, store);
    /// # }
    /// ```
    pub fn with_store(config: Config, store: Arc<dyn crate::session::store::SessionStore>) -> Self {
        Self::build(config, store)
    }

    /// Uses `revocations` to remember back-channel logouts of cookie sessions (the default is
    /// in-process; with several processes use a shared one, such as [`RedisStore`](crate::session::store)).
    ///
    /// # Panics
    ///
    /// When called on a clone: configure the SDK before sharing it.
    pub fn with_revocations(
        mut self,
        revocations: Arc<dyn crate::oidc::backchannel::RevocationList>,
    ) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("invariant: with_revocations is called on a freshly built Tollgate, before it is cloned");
        if inner.backend.key_is_cookie() {
            inner.backend = Arc::new(
                crate::session::store::CookieStore::new(&inner.config)
                    .with_revocations(revocations),
            );
        }
        self
    }

    /// Installs the application's [`Hooks`](crate::Hooks).
    ///
    /// # Panics
    ///
    /// When called on a clone: configure the SDK before sharing it.
    pub fn with_hooks(mut self, hooks: crate::hooks::Hooks) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect(
                "invariant: with_hooks is called on a freshly built Tollgate, before it is cloned",
            )
            .hooks = hooks;
        self
    }

    pub(crate) fn hooks(&self) -> &crate::hooks::Hooks {
        &self.inner.hooks
    }

    fn build(config: Config, backend: Arc<dyn crate::session::store::SessionStore>) -> Self {
        // Select jsonwebtoken's crypto backend explicitly, so feature unification in an
        // application's dependency tree can never leave it without one (a run-time panic).
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let allow_http = config.issuer.scheme() == "http";
        let dpop = config
            .dpop
            .as_ref()
            .map(|(key, options)| crate::oidc::dpop::Dpop::new(key.clone(), *options));
        let provider = Provider::new(config.issuer.clone(), allow_http, config.http_timeout, dpop);
        let sessions = CookieSessionCodec::new(&config);
        let transaction_keys = Keyring::derive(&config.secrets, KeyPurpose::Transaction)
            .expect("invariant: a built Config has at least one secret");
        let mfa_keys = Keyring::derive(&config.secrets, KeyPurpose::MfaToken)
            .expect("invariant: a built Config has at least one secret");
        Self {
            inner: Arc::new(Inner {
                config,
                provider,
                sessions,
                backend,
                transaction_keys,
                mfa_keys,
                refreshes: crate::tokens::single_flight::RefreshCoordinator::default(),
                seen_jtis: crate::oidc::backchannel::SeenJtis::default(),
                hooks: crate::hooks::Hooks::default(),
            }),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn mfa_keys(&self) -> &Keyring {
        &self.inner.mfa_keys
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The provider's metadata (fetched once, then cached for ten minutes).
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        Ok(self.inner.provider.metadata().await?)
    }

    /// How many times the provider's signing keys were fetched since start (a metric worth
    /// watching: a jump means tokens with unknown key ids are arriving).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.provider.jwks_fetch_count()
    }

    /// The session codec (cookie format, rolling rules).
    pub fn session_codec(&self) -> &CookieSessionCodec {
        &self.inner.sessions
    }

    /// The profile route: the user as JSON, 401 (or 204 when configured) when logged out.
    pub async fn handle_profile(&self, jar: &CookieJar) -> AuthResponse {
        let loaded = match self.load_session(jar).await {
            Ok(l) => l,
            Err(e) => {
                return response::json(
                    e.status(),
                    &json!({"error": e.code(), "error_description": e.to_string()}),
                    &[],
                );
            }
        };
        match loaded {
            Some(l) => response::json(200, &serde_json::Value::Object(l.data.user.0), &[]),
            None if self.inner.config.profile_no_content => response::empty(204, &[]),
            None => response::json(
                401,
                &json!({"error": "unauthorized", "error_description": "The user does not have an active session."}),
                &[],
            ),
        }
    }
}

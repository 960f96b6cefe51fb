//! [`Tollgate`]: the SDK's entry point, independent of any web framework.

mod base_url;
pub(crate) mod browser;
mod callback;
mod login;
mod logout;
mod request;
pub(crate) mod response;
pub(crate) mod same_origin;
mod sessions;

use std::sync::Arc;

use serde_json::json;

use self::response::AuthResponse;
use crate::config::Config;
use crate::error::Error;
use crate::oidc::provider::{Provider, ProviderMetadata};
use crate::session::codec::CookieSessionCodec;
use crate::session::cookies::SetCookies;
use crate::session::secret::{KeyPurpose, Keyring};

pub use callback::{CallbackMode, CallbackOutcome, CallbackSuccess, DEFAULT_USER_CLAIMS};
pub use login::LoginRedirect;
pub use request::AuthRequest;
pub use sessions::{LoadedSession, SavedSession};

/// The SDK: signs users in, keeps their session and signs them out. Cheap to clone; share one per
/// application.
///
/// ```no_run
/// # async fn run() -> Result<(), tollgate::Error> {
/// let auth = tollgate::Tollgate::new(tollgate::Config::from_env()?);
/// let origin = tollgate::RequestOrigin::default(); // a static APP_BASE_URL needs no host
/// let login = auth.start_login(&origin, tollgate::LoginOptions::new().return_to("/billing")).await?;
/// println!("send the browser to {} with {:?}", login.url, login.cookies);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Tollgate {
    inner: Arc<Inner>,
}

/// What the SDK shares between clones. The fields are private to `web/`; the other subsystems
/// reach only what they need, through the accessors below.
#[derive(Debug)]
pub(crate) struct Inner {
    config: Config,
    provider: Provider,
    sessions: CookieSessionCodec,
    backend: Arc<dyn crate::session::store::SessionStore>,
    transaction_keys: Keyring,
    mfa_keys: Keyring,
    refreshes: crate::tokens::single_flight::RefreshCoordinator,
    seen_jtis: crate::oidc::backchannel::SeenJtis,
    hooks: crate::hooks::Hooks,
}

/// Builds a [`Tollgate`]: the session store, the revocation list for stateless sessions and the
/// application's hooks, each optional. Start with [`Tollgate::builder`].
///
/// ```no_run
/// # async fn run(config: tollgate::Config) -> Result<(), tollgate::Error> {
/// use std::sync::Arc;
/// use tollgate::{Hooks, Tollgate, store::MemoryStore};
///
/// let auth = Tollgate::builder(config)
///     .store(Arc::new(MemoryStore::new()))
///     .hooks(Hooks::new().before_session_rolled(|_session| true))
///     .build();
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `.build()` is called"]
pub struct TollgateBuilder {
    config: Config,
    store: Option<Arc<dyn crate::session::store::SessionStore>>,
    revocations: Option<Arc<dyn crate::oidc::backchannel::RevocationList>>,
    hooks: crate::hooks::Hooks,
}

impl TollgateBuilder {
    /// Keeps sessions in `store` (the cookie then holds only a sealed id). Default: the stateless
    /// [`CookieStore`](crate::store::CookieStore), the whole session sealed in the cookie.
    pub fn store(mut self, store: Arc<dyn crate::session::store::SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Where the default stateless cookie store remembers logouts (the user's and back-channel
    /// ones). Default: this process's memory, which other instances and a restart do not see, so
    /// a logged-out cookie works there again until it expires; [`build`](Self::build) warns once
    /// about it. With several processes use a shared list, such as
    /// [`RedisStore`](crate::store); passing [`MemoryRevocations`](crate::MemoryRevocations)
    /// explicitly keeps the default without the warning. Ignored with a server-side
    /// [`store`](Self::store), which ends sessions by deleting them.
    pub fn revocations(
        mut self,
        revocations: Arc<dyn crate::oidc::backchannel::RevocationList>,
    ) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The application's [`Hooks`](crate::Hooks). Default: none.
    pub fn hooks(mut self, hooks: crate::hooks::Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// The SDK. No network call happens here: discovery and keys are fetched on first use.
    pub fn build(self) -> Tollgate {
        let store = match self.store {
            Some(store) => store,
            None => {
                let cookies = crate::session::store::CookieStore::new(&self.config);
                Arc::new(match self.revocations {
                    Some(list) => cookies.with_revocations(list),
                    None => {
                        warn_in_process_revocations();
                        cookies
                    }
                })
            }
        };
        Tollgate::build(self.config, store, self.hooks)
    }
}

/// Says once per process that logouts of stateless sessions are remembered only in this process.
fn warn_in_process_revocations() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "stateless cookie sessions with an in-process revocation list: a logged-out session cookie \
             works again after a restart and on other instances. With more than one instance, or to \
             keep logouts across restarts, pass a shared list (`TollgateBuilder::revocations` with a \
             RedisStore) or use a server-side session store; pass `MemoryRevocations` explicitly to \
             silence this for a single process"
        );
    });
}

impl Tollgate {
    /// Builds the SDK with stateless cookie sessions and no hooks: the same as
    /// `Tollgate::builder(config).build()`. No network call happens here.
    pub fn new(config: Config) -> Self {
        Self::builder(config).build()
    }

    /// A [`TollgateBuilder`] for `config`, to choose a session store, a revocation list or hooks.
    pub fn builder(config: Config) -> TollgateBuilder {
        TollgateBuilder {
            config,
            store: None,
            revocations: None,
            hooks: crate::hooks::Hooks::default(),
        }
    }

    pub(crate) fn hooks(&self) -> &crate::hooks::Hooks {
        &self.inner.hooks
    }

    fn build(
        config: Config,
        backend: Arc<dyn crate::session::store::SessionStore>,
        hooks: crate::hooks::Hooks,
    ) -> Self {
        // Select jsonwebtoken's crypto backend explicitly, so feature unification in an
        // application's dependency tree can never leave it without one (a run-time panic).
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let allow_http = config.issuer.scheme() == "http";
        let dpop = config.dpop.as_ref().map(|(key, options)| {
            crate::oidc::dpop::Dpop::new(key.clone(), *options, config.clock.clone())
        });
        let provider = Provider::new(
            config.issuer.clone(),
            allow_http,
            config.http_timeout,
            dpop,
            config.clock.clone(),
            &config.extra_root_certificates,
        );
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
                hooks,
            }),
        }
    }

    /// The provider client (discovery, keys, token endpoint).
    pub(crate) fn provider(&self) -> &Provider {
        &self.inner.provider
    }

    /// The session cookie codec.
    pub(crate) fn codec(&self) -> &CookieSessionCodec {
        &self.inner.sessions
    }

    /// The session store (the cookie store by default).
    pub(crate) fn backend(&self) -> &Arc<dyn crate::session::store::SessionStore> {
        &self.inner.backend
    }

    /// The keys that seal login and connect transactions.
    pub(crate) fn transaction_keys(&self) -> &Keyring {
        &self.inner.transaction_keys
    }

    /// The single-flight refresh coordinator.
    pub(crate) fn refreshes(&self) -> &crate::tokens::single_flight::RefreshCoordinator {
        &self.inner.refreshes
    }

    /// The back-channel logout `jti` replay cache.
    pub(crate) fn seen_jtis(&self) -> &crate::oidc::backchannel::SeenJtis {
        &self.inner.seen_jtis
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

    /// The session codec (cookie format, rolling rules), for the benchmarks and interop tests;
    /// hidden, not a stable API.
    #[doc(hidden)]
    pub fn session_codec(&self) -> &CookieSessionCodec {
        &self.inner.sessions
    }

    /// The profile route: the user as JSON, 401 (or 204 when configured) when logged out.
    pub async fn handle_profile(&self, req: &AuthRequest) -> AuthResponse {
        let loaded = match self.load_session(req.cookies()).await {
            Ok(l) => l,
            Err(e) => {
                return response::json(
                    e.status(),
                    &json!({"error": e.code(), "error_description": e.to_string()}),
                    &SetCookies::new(),
                );
            }
        };
        match loaded {
            Some(l) => response::json(
                http::StatusCode::OK,
                &serde_json::Value::Object(l.data.user.0),
                &SetCookies::new(),
            ),
            None if self.inner.config.profile_no_content => {
                response::empty(http::StatusCode::NO_CONTENT, &SetCookies::new())
            }
            None => response::json(
                http::StatusCode::UNAUTHORIZED,
                &json!({"error": "unauthorized", "error_description": "The user does not have an active session."}),
                &SetCookies::new(),
            ),
        }
    }
}

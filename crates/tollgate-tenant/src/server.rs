//! Starting, controlling and stopping a tenant.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::keys::{KeyRing, SigningKey};
use crate::state::TenantState;
use crate::{
    IdTokenFault, OutboxMessage, TenantConfig, TenantError, TenantEvent, jwt, mfa, routes,
};

/// How long [`RunningTenant::shutdown`] waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Starts local tenants. See [`Tenant::start`].
#[derive(Debug, Clone, Copy)]
pub struct Tenant;

impl Tenant {
    /// Binds `listen` (a loopback `IP:PORT`; port 0 picks a free one), prepares the signing keys
    /// and spawns the server on the current Tokio runtime.
    ///
    /// The issuer is `http://IP:PORT/` with the bound port.
    ///
    /// ```
    /// use tollgate_tenant::{ClientConfig, Tenant, TenantConfig, UserConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tollgate_tenant::TenantError> {
    /// let config = TenantConfig::new()
    ///     .with_client(
    ///         ClientConfig::new("app-client-id", "app-client-secret")
    ///             .with_callback("http://127.0.0.1:3000/auth/callback"),
    ///     )
    ///     .with_user(UserConfig::new("alice@example.com", "alice-password-1"));
    /// let tenant = Tenant::start(config, "127.0.0.1:0").await?;
    /// assert!(tenant.issuer().starts_with("http://127.0.0.1:"));
    /// assert!(tenant.issuer().ends_with('/'));
    /// tenant.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(config: TenantConfig, listen: &str) -> Result<RunningTenant, TenantError> {
        config.validate()?;
        let addr: SocketAddr = listen
            .parse()
            .map_err(|_| TenantError::InvalidListenAddress {
                value: listen.to_owned(),
            })?;
        if !addr.ip().is_loopback() {
            return Err(TenantError::NotLoopback { addr });
        }
        // A tree that enables both of jsonwebtoken's crypto backends would otherwise make it
        // panic when choosing one; installing ours is a no-op when one is already installed.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();

        let key_files = config.signing_key_files().to_vec();
        let keys = tokio::task::spawn_blocking(move || load_keys(&key_files))
            .await
            .map_err(|e| TenantError::KeyGeneration {
                source: Box::new(e),
            })??;

        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| TenantError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| TenantError::Bind { addr, source })?;
        let issuer = format!("http://{local}/");
        let base_url = Url::parse(&issuer).map_err(|_| TenantError::InvalidListenAddress {
            value: listen.to_owned(),
        })?;

        let state = Arc::new(TenantState::new(config, issuer, keys));
        let app = routes::router(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "tenant server failed");
            }
        });
        tracing::info!(issuer = %state.issuer, "local tenant listening");
        Ok(RunningTenant {
            state,
            base_url,
            local_addr: local,
            stop: Some(stop),
            server: Some(server),
        })
    }
}

fn load_keys(files: &[std::path::PathBuf]) -> Result<KeyRing, TenantError> {
    match files.split_first() {
        None => Ok(KeyRing::new(SigningKey::generate()?, Vec::new())),
        Some((current, previous)) => {
            let current = SigningKey::from_pem_file(current)?;
            let previous = previous
                .iter()
                .map(|p| SigningKey::from_pem_file(p))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(KeyRing::new(current, previous))
        }
    }
}

/// A tenant serving on a loopback port. Dropping it stops the server; [`shutdown`] also waits
/// for it to finish.
///
/// ```
/// use tollgate_tenant::{IdTokenFault, Tenant, TenantConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tollgate_tenant::TenantError> {
/// let tenant = Tenant::start(TenantConfig::example(), "127.0.0.1:0").await?;
/// assert_eq!(tenant.base_url().as_str(), tenant.issuer());
///
/// // Every ID token issued from now on is expired; `None` restores normal tokens.
/// tenant.set_id_token_fault(Some(IdTokenFault::Expired));
/// tenant.set_id_token_fault(None);
///
/// // A new signing key; the previous one stays in the JWKS until dropped.
/// tenant.rotate_signing_key();
/// tenant.drop_previous_keys();
/// tenant.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// [`shutdown`]: RunningTenant::shutdown
#[derive(Debug)]
pub struct RunningTenant {
    state: Arc<TenantState>,
    base_url: Url,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl RunningTenant {
    /// The issuer, `http://127.0.0.1:PORT/`, with the trailing slash Auth0 uses.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The issuer as a URL (the base of every endpoint).
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The configuration being served.
    pub fn config(&self) -> &TenantConfig {
        &self.state.config
    }

    /// Generates a new RSA key with a new `kid` and makes it the signing key. The previous keys
    /// stay in the JWKS. Takes about a second: call it from a test, not a hot path.
    ///
    /// # Panics
    /// Panics if the operating system cannot provide randomness for the key.
    pub fn rotate_signing_key(&self) {
        let key =
            SigningKey::generate().expect("RSA key generation only fails without OS randomness");
        tracing::info!(kid = key.kid(), "signing key rotated");
        self.state.keys_mut().rotate(key);
    }

    /// Removes every key but the current one from the JWKS.
    pub fn drop_previous_keys(&self) {
        self.state.keys_mut().drop_previous();
    }

    /// Builds `fault` into every ID token issued while it is set; `None` clears it.
    pub fn set_id_token_fault(&self, fault: Option<IdTokenFault>) {
        if fault == Some(IdTokenFault::UnknownKid) {
            // Make the unpublished key now rather than inside a request.
            if let Err(error) = self.state.rogue_key() {
                tracing::error!(%error, "cannot generate the unpublished key");
            }
        }
        self.state.set_fault(fault);
    }

    /// Every message in the development outbox (SMS, voice and email codes, push requests),
    /// oldest first. Also served at `GET /dev/outbox` (HTML) and `GET /dev/outbox.json`.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.state.store().mfa.outbox.messages().to_vec()
    }

    /// Approves the pending push request with this outbox id; `false` if there is none.
    pub fn approve_push(&self, id: &str) -> bool {
        self.state.store().mfa.outbox.answer_push(id, true)
    }

    /// Denies the pending push request with this outbox id; `false` if there is none.
    pub fn deny_push(&self, id: &str) -> bool {
        self.state.store().mfa.outbox.answer_push(id, false)
    }

    /// The current code of the user's TOTP authenticator (the first active one, else the first
    /// pending enrollment), or `None` for an unknown user or one without TOTP.
    pub fn totp_code(&self, email: &str) -> Option<String> {
        self.totp_code_at(email, crate::clock::now())
    }

    /// The code of the user's TOTP authenticator at `unix_seconds` (for clock-drift tests).
    pub fn totp_code_at(&self, email: &str, unix_seconds: u64) -> Option<String> {
        let user = self.state.config.user_by_email(email)?;
        let mut store = self.state.store();
        let secret = store.mfa.user(user).totp_secret()?.to_owned();
        mfa::totp::code_at(&secret, unix_seconds)
    }

    /// Every event in the tenant's log (at most the last 10,000), oldest first / newest last.
    /// Also served at `GET /dev/logs` (HTML) and `GET /dev/logs.json`, newest first there.
    ///
    /// Each successful token request records exactly one event of its grant's success type
    /// (`seacft`, `sertft`, `seccft`, `seotpft`, `seoobft`, `sercft`) and each refused one
    /// exactly one of its failure type (`feacft`, `fertft`, …, or `ferrt` for a refresh-token
    /// reuse, `mfar` for `mfa_required`), so counts are exact. The README lists every type.
    ///
    /// ```
    /// use tollgate_tenant::{Tenant, TenantConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tollgate_tenant::TenantError> {
    /// let tenant = Tenant::start(TenantConfig::example(), "127.0.0.1:0").await?;
    /// assert!(tenant.events().is_empty());
    /// assert_eq!(tenant.events_of_type("sertft").len(), 0);
    /// assert_eq!(tenant.count_events(|e| e.is("s") && e.user_name.as_deref() == Some("alice@example.com")), 0);
    /// tenant.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(&self) -> Vec<TenantEvent> {
        self.state.events.all()
    }

    /// The events of one type code (`s`, `f`, `sertft`, `ferrt`, `sslo`, …), oldest first.
    pub fn events_of_type(&self, kind: &str) -> Vec<TenantEvent> {
        self.state.events.matching(|e| e.kind == kind)
    }

    /// How many events `predicate` accepts.
    pub fn count_events(&self, predicate: impl Fn(&TenantEvent) -> bool) -> usize {
        self.state.events.count(predicate)
    }

    /// Empties the event log (for counting from a known point). Ids keep increasing.
    pub fn clear_events(&self) {
        self.state.events.clear();
    }

    /// Waits until `predicate` accepts at least `count` events (already recorded or recorded
    /// while waiting), or `timeout` passes. Returns the accepted events either way, oldest
    /// first: compare the length with `count` to tell which.
    ///
    /// Back-channel logout requests are sent in the background; wait for their `sslo`/`fslo`
    /// events with this.
    pub async fn wait_for_events(
        &self,
        predicate: impl Fn(&TenantEvent) -> bool,
        count: usize,
        timeout: Duration,
    ) -> Vec<TenantEvent> {
        self.state.events.wait_for(predicate, count, timeout).await
    }

    /// Waits until every back-channel logout request started so far has been answered, has
    /// failed or has timed out (each waits at most 5 s). Their `sslo` / `fslo` events are
    /// then in the log.
    pub async fn wait_for_backchannel_logouts(&self) {
        self.state.backchannel.settled().await;
    }

    /// Ends every SSO session of the user with this email (as an administrator revoking
    /// sessions would), revokes all their refresh tokens, and sends a back-channel logout token
    /// (with `sub` and `sid`) to each application with a `backchannel_logout_url` that the
    /// user logged in to through one of those sessions. Returns how many sessions ended (0 for
    /// an unknown user). Also at `POST /dev/users/logout` (form field `email`).
    ///
    /// The logout tokens are sent in the background; see
    /// [`wait_for_backchannel_logouts`](Self::wait_for_backchannel_logouts).
    pub fn end_user_sessions(&self, email: &str) -> usize {
        routes::logout::end_user_sessions(&self.state, email)
    }

    /// Signs a JWT with the tenant's current RS256 key, for tests that need tokens the tenant's
    /// JWKS vouches for (logout tokens with a defect, ID tokens with odd claims, …).
    ///
    /// `header` gets `"alg": "RS256"` and the current key's `kid` when it has none; every other
    /// member, including a different `alg`, is kept as given (the signature is RS256
    /// regardless). Members are serialised in `serde_json::Map` order.
    ///
    /// ```
    /// use serde_json::{Map, Value, json};
    /// use tollgate_tenant::{Tenant, TenantConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tollgate_tenant::TenantError> {
    /// let tenant = Tenant::start(TenantConfig::example(), "127.0.0.1:0").await?;
    /// let header = Map::from_iter([("typ".to_owned(), json!("logout+jwt"))]);
    /// let Value::Object(claims) = json!({"iss": tenant.issuer(), "sub": "auth0|123"}) else {
    ///     unreachable!()
    /// };
    /// let token = tenant.sign_jwt(header, claims);
    /// assert_eq!(token.split('.').count(), 3);
    /// tenant.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sign_jwt(&self, header: Map<String, Value>, claims: Map<String, Value>) -> String {
        jwt::sign_with_header(&self.state.current_key(), header, claims)
    }

    /// Stops accepting connections and waits (up to five seconds) for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }
}

impl Drop for RunningTenant {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

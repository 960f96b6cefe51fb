//! The state shared by all request handlers of one running tenant.

use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use std::time::Duration;

/// How often an idle tenant forgets what expired (real time).
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

use crate::backchannel::sender::Backchannel;
use crate::clock::Moment;
use crate::events::EventLog;
use crate::keys::{KeyRing, SigningKey};
use crate::store::Store;
use crate::{ApiConfig, IdTokenFault, TenantConfig, TenantError, mfa};

/// Configuration, keys and in-memory state of one tenant.
#[derive(Debug)]
pub(crate) struct TenantState {
    pub(crate) config: TenantConfig,
    /// `http://127.0.0.1:PORT/`, with the trailing slash.
    pub(crate) issuer: String,
    /// The `updated_at` of every user: when the tenant started.
    pub(crate) updated_at: u64,
    /// The built-in MFA API, `{issuer}mfa/`.
    mfa_api: ApiConfig,
    /// The built-in My Account API, `{issuer}me/`.
    me_api: ApiConfig,
    /// The built-in My Organization API, `{issuer}my-org/`.
    my_org_api: ApiConfig,
    keys: RwLock<KeyRing>,
    /// A key that is never published, for [`IdTokenFault::UnknownKid`]; made on first use.
    rogue_key: OnceLock<Result<SigningKey, String>>,
    fault: Mutex<Option<IdTokenFault>>,
    store: Mutex<Store>,
    /// The event log (its own lock, taken after the store's when both are held).
    pub(crate) events: EventLog,
    /// Back-channel logout deliveries.
    pub(crate) backchannel: Backchannel,
    /// DPoP replay cache and nonces.
    pub(crate) dpop: crate::dpop::DpopState,
    /// Where the state is kept across restarts, if anywhere.
    state_dir: Option<crate::persist::StateDir>,
}

impl TenantState {
    /// Must be called inside the Tokio runtime that will send back-channel logouts.
    pub(crate) fn new(config: TenantConfig, issuer: String, keys: KeyRing) -> Self {
        let mfa_api = ApiConfig::new(format!("{issuer}mfa/")).with_scopes(mfa::MFA_API_SCOPES);
        let me_api =
            ApiConfig::new(format!("{issuer}me/")).with_scopes(crate::config::MY_ACCOUNT_SCOPES);
        let my_org_api =
            ApiConfig::new(format!("{issuer}my-org/")).with_scopes(crate::config::MY_ORG_SCOPES);
        let store = Store::new(config.shared_clock());
        let dpop = crate::dpop::DpopState::new(config.shared_clock().clone());
        Self {
            updated_at: config.clock().now(),
            config,
            issuer,
            mfa_api,
            me_api,
            my_org_api,
            keys: RwLock::new(keys),
            rogue_key: OnceLock::new(),
            fault: Mutex::new(None),
            store: Mutex::new(store),
            events: EventLog::default(),
            backchannel: Backchannel::new(),
            dpop,
            state_dir: None,
        }
    }

    /// Keeps the state in `dir` from now on, starting from `restored` (a store read from it,
    /// put on the tenant's clock with what expired forgotten) when there is one.
    pub(crate) fn with_state_dir(
        mut self,
        dir: crate::persist::StateDir,
        restored: Option<Store>,
    ) -> Self {
        if let Some(store) = restored {
            *self.store.get_mut().unwrap_or_else(PoisonError::into_inner) =
                store.restore(self.config.shared_clock());
        }
        self.state_dir = Some(dir);
        self
    }

    /// The state directory, if the state is kept across restarts.
    pub(crate) fn state_dir(&self) -> Option<&crate::persist::StateDir> {
        self.state_dir.as_ref()
    }

    /// Writes the snapshot if something may have changed since the last write (blocking I/O:
    /// call from a blocking task or at shutdown).
    pub(crate) fn save_if_dirty(&self) -> Result<(), TenantError> {
        let Some(dir) = &self.state_dir else {
            return Ok(());
        };
        if dir.is_closed() || !dir.take_dirty() {
            return Ok(());
        }
        let saved = self.save_to(dir);
        if saved.is_err() {
            // Try again at the next tick.
            dir.mark_dirty();
        }
        saved
    }

    /// Writes the state a last time and stops writing (a later change, or the timer, writes no
    /// more: a new tenant may own the directory from now on).
    pub(crate) fn close_state_dir(&self) -> Result<(), TenantError> {
        let Some(dir) = &self.state_dir else {
            return Ok(());
        };
        dir.mark_dirty();
        let saved = self.save_if_dirty();
        dir.close();
        saved
    }

    fn save_to(&self, dir: &crate::persist::StateDir) -> Result<(), TenantError> {
        dir.save(&self.keys, |kids| {
            let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
            crate::persist::snapshot(
                &store,
                &self.issuer,
                kids,
                self.config.shared_clock().get().now_millis(),
            )
        })
    }

    /// Seconds since the Unix epoch on the tenant's clock.
    pub(crate) fn now(&self) -> u64 {
        self.config.clock().now()
    }

    /// The current instant on the tenant's clock, to the millisecond.
    pub(crate) fn moment(&self) -> Moment {
        self.config.shared_clock().moment()
    }

    /// The absolute URL of an endpoint path such as `oauth/token` (no leading slash).
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The audience of the built-in MFA API: `{issuer}mfa/`.
    pub(crate) fn mfa_audience(&self) -> &str {
        self.mfa_api.identifier()
    }

    /// The API with this identifier: a configured one, or a built-in one (MFA, My Account,
    /// My Organization).
    pub(crate) fn api(&self, identifier: &str) -> Option<&ApiConfig> {
        self.config.api(identifier).or_else(|| {
            [&self.mfa_api, &self.me_api, &self.my_org_api]
                .into_iter()
                .find(|a| a.identifier() == identifier)
        })
    }

    /// The audience of the built-in My Account API: `{issuer}me/`.
    pub(crate) fn me_audience(&self) -> &str {
        self.me_api.identifier()
    }

    /// The audience of the built-in My Organization API: `{issuer}my-org/`.
    pub(crate) fn my_org_audience(&self) -> &str {
        self.my_org_api.identifier()
    }

    /// How long an access token for `audience` lives: the MFA API's as long as an `mfa_token`,
    /// the others as configured.
    pub(crate) fn access_token_lifetime(&self, audience: Option<&str>) -> Duration {
        if audience == Some(self.mfa_audience()) {
            self.config.mfa_token_lifetime()
        } else {
            self.config.access_token_lifetime()
        }
    }

    /// The published keys (read).
    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The published keys (write).
    pub(crate) fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
        if let Some(dir) = &self.state_dir {
            dir.mark_dirty();
        }
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key that signs new tokens.
    pub(crate) fn current_key(&self) -> Arc<SigningKey> {
        self.keys().current()
    }

    /// The unpublished key, generated on first use.
    pub(crate) fn rogue_key(&self) -> Result<&SigningKey, TenantError> {
        self.rogue_key
            .get_or_init(|| SigningKey::generate().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| TenantError::KeyGeneration {
                source: e.clone().into(),
            })
    }

    /// The fault applied to ID tokens, if any.
    pub(crate) fn fault(&self) -> Option<IdTokenFault> {
        self.fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets or clears the ID token fault.
    pub(crate) fn set_fault(&self, fault: Option<IdTokenFault>) {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// The mutable state, with what was due forgotten first (a few index look-ups when nothing
    /// is). Never hold the guard across an `.await`.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.purge_expired();
        if let Some(dir) = &self.state_dir {
            // Any holder of the guard may change the store.
            dir.mark_dirty();
        }
        store
    }

    /// Spawns the task that forgets what expired while no request comes (every
    /// [`SWEEP_INTERVAL`] of real time), so that an idle tenant gives its memory back. It holds
    /// the state weakly and ends when the tenant is dropped. Must be called inside a Tokio
    /// runtime.
    pub(crate) fn spawn_sweeper(self: &Arc<Self>) {
        let state = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(state) = state.upgrade() else {
                    break;
                };
                let forgotten = state.store().purge_expired();
                if forgotten > 0 {
                    tracing::debug!(forgotten, "forgot expired tenant state");
                }
            }
        });
    }
}

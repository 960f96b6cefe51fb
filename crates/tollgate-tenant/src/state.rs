//! The state shared by all request handlers of one running tenant.

use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use crate::keys::{KeyRing, SigningKey};
use crate::store::Store;
use crate::{IdTokenFault, TenantConfig, TenantError, clock};

/// Configuration, keys and in-memory state of one tenant.
#[derive(Debug)]
pub(crate) struct TenantState {
    pub(crate) config: TenantConfig,
    /// `http://127.0.0.1:PORT/`, with the trailing slash.
    pub(crate) issuer: String,
    /// The `updated_at` of every user: when the tenant started.
    pub(crate) updated_at: u64,
    keys: RwLock<KeyRing>,
    /// A key that is never published, for [`IdTokenFault::UnknownKid`]; made on first use.
    rogue_key: OnceLock<Result<SigningKey, String>>,
    fault: Mutex<Option<IdTokenFault>>,
    store: Mutex<Store>,
}

impl TenantState {
    pub(crate) fn new(config: TenantConfig, issuer: String, keys: KeyRing) -> Self {
        Self {
            config,
            issuer,
            updated_at: clock::now(),
            keys: RwLock::new(keys),
            rogue_key: OnceLock::new(),
            fault: Mutex::new(None),
            store: Mutex::new(Store::default()),
        }
    }

    /// The absolute URL of an endpoint path such as `oauth/token` (no leading slash).
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The published keys (read).
    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The published keys (write).
    pub(crate) fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
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

    /// The mutable state. Never hold the guard across an `.await`.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

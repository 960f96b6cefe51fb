//! An in-memory store: for one process, tests and development.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{BoxFuture, LogoutTarget, SessionStore, StoreError, Stored, UpdateOutcome};
use crate::session::SessionData;

/// Sessions in a `HashMap` behind a mutex. Expired entries are dropped when touched and swept on
/// writes.
///
/// ```
/// # tokio_test_block_on(async {
/// use tollgate::store::{MemoryStore, SessionStore, UpdateOutcome};
/// let store = MemoryStore::new();
/// let s = tollgate::SessionData::default();
/// store.set("id-1", &s, 2_000_000_000).await.unwrap();
/// let got = store.get("id-1", 1_000).await.unwrap().unwrap();
/// assert_eq!(got.version, 1);
/// assert_eq!(store.update("id-1", 1, &s, 2_000_000_000).await.unwrap(), UpdateOutcome::Updated(2));
/// assert_eq!(store.update("id-1", 1, &s, 2_000_000_000).await.unwrap(), UpdateOutcome::Conflict);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, Stored>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions are stored (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn now() -> u64 {
    crate::time::system_now()
}

impl SessionStore for MemoryStore {
    fn get<'a>(
        &'a self,
        id: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(async move {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            match map.get(id) {
                Some(s) if s.expires_at > now => Ok(Some(s.clone())),
                Some(_) => {
                    map.remove(id);
                    Ok(None)
                }
                None => Ok(None),
            }
        })
    }

    fn set<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let t = now();
            map.retain(|_, s| s.expires_at > t);
            map.insert(id.to_owned(), Stored::new(session.clone(), 1, expires_at));
            Ok(())
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        version: u64,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<UpdateOutcome, StoreError>> {
        Box::pin(async move {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let t = now();
            match map.get_mut(id) {
                Some(s) if s.expires_at <= t => {
                    map.remove(id);
                    Ok(UpdateOutcome::Missing)
                }
                Some(s) if s.version == version => {
                    s.session = session.clone();
                    s.version += 1;
                    s.expires_at = expires_at;
                    Ok(UpdateOutcome::Updated(s.version))
                }
                Some(_) => Ok(UpdateOutcome::Conflict),
                None => Ok(UpdateOutcome::Missing),
            }
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(id);
            Ok(())
        })
    }

    fn delete_by_logout<'a>(
        &'a self,
        target: &'a LogoutTarget,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let before = map.len();
            map.retain(|_, s| !target.matches(&s.session));
            Ok(before - map.len())
        })
    }
}

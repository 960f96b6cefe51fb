//! Server-side session stores. With one, the `__session` cookie holds only a sealed session id
//! (nextjs-auth0's stateful format, `{id, exp}`), and the session lives in the store.
//!
//! A store keeps a version per session. [`SessionStore::update`] writes only over the version it
//! read and never creates a session, so a rolling write can neither resurrect a session that a
//! concurrent logout deleted nor overwrite a newer write.

mod choice;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod conformance;
mod cookie;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::future::Future;
use std::pin::Pin;

pub use choice::{SESSION_STORE_PREFIX_VAR, SESSION_STORE_VAR, StoreChoice};
pub use cookie::CookieStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;

use crate::session::SessionData;

/// A boxed, sendable future (the store trait is object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A stored session and its version.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stored {
    /// The session.
    pub session: SessionData,
    /// Incremented by every successful write.
    pub version: u64,
    /// When it expires, seconds since the epoch.
    pub expires_at: u64,
    /// Set by a store whose key is the sealed session (the stateless [`CookieStore`]): the proof
    /// that it opened and verified this session from this key just now.
    pub(crate) proof: Option<ReadProof>,
}

impl Stored {
    /// A stored session.
    pub fn new(session: SessionData, version: u64, expires_at: u64) -> Self {
        Self {
            session,
            version,
            expires_at,
            proof: None,
        }
    }

    /// The [`ReadProof`] the store attached, if any: pass it to
    /// [`SessionStore::update_verified`] to write this session back without the store opening
    /// its key again. Only the stateless [`CookieStore`] makes them.
    pub fn proof(&self) -> Option<&ReadProof> {
        self.proof.as_ref()
    }
}

/// Evidence, made by the stateless [`CookieStore`] when [`get`](SessionStore::get) succeeds, that
/// it opened this key (authenticated it, checked its expiry and found the session not revoked) at
/// one instant. Opaque: only the crate makes one, and only the store instance that made it accepts
/// it, for the same key, in the second it was made or the next; anything else is checked in full.
///
/// It is what lets the rolling re-seal of a request open the cookie once: the write-back trusts
/// the read that the same request just made instead of decrypting and parsing the cookie again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadProof {
    /// Which store instance made it (its keys and revocation list).
    pub(crate) store: u64,
    /// When the key was opened (seconds, the store's clock).
    pub(crate) opened_at: u64,
    /// The cookie's own expiry, as opened.
    pub(crate) exp: u64,
    /// The key it was made for: its length and its last bytes (the JWE's authentication tag).
    pub(crate) key_len: usize,
    pub(crate) key_tail: [u8; ReadProof::TAIL],
}

impl ReadProof {
    /// How many trailing bytes of the key a proof remembers: the base64url of the 16-byte
    /// AES-GCM tag, which authenticates the whole sealed value.
    pub(crate) const TAIL: usize = 22;

    /// A proof by store `store` that `key` (sealed until `exp`) opened at `opened_at`.
    pub(crate) fn new(store: u64, key: &str, opened_at: u64, exp: u64) -> Self {
        Self {
            store,
            opened_at,
            exp,
            key_len: key.len(),
            key_tail: Self::tail_of(key),
        }
    }

    fn tail_of(key: &str) -> [u8; Self::TAIL] {
        let mut tail = [0u8; Self::TAIL];
        let b = key.as_bytes();
        let n = b.len().min(Self::TAIL);
        tail[Self::TAIL - n..].copy_from_slice(&b[b.len() - n..]);
        tail
    }

    /// Whether this proof was made for `key`.
    pub(crate) fn is_for(&self, key: &str) -> bool {
        self.key_len == key.len() && self.key_tail == Self::tail_of(key)
    }

    /// The same evidence for `key`, a value the SDK itself just sealed from the verified session
    /// (the rolled cookie), so that a later save in the same request need not open it either.
    pub(crate) fn rebound_to(&self, key: &str) -> Self {
        Self::new(self.store, key, self.opened_at, self.exp)
    }
}

/// The result of a versioned update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateOutcome {
    /// Written; the new version.
    Updated(u64),
    /// The session no longer exists (logged out, expired): nothing was written.
    Missing,
    /// Someone wrote a newer version first: nothing was written.
    Conflict,
}

/// Which sessions a back-channel logout ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutTarget {
    /// The provider session id (`sid`): ends the sessions of that provider session.
    pub sid: Option<String>,
    /// The user (`sub`): with no `sid`, ends all of the user's sessions.
    pub sub: Option<String>,
}

impl LogoutTarget {
    /// A target by provider session id and/or user.
    pub fn new(sid: Option<String>, sub: Option<String>) -> Self {
        Self { sid, sub }
    }

    /// Whether `session` is one this logout ends.
    pub fn matches(&self, session: &SessionData) -> bool {
        match (&self.sid, &self.sub) {
            (Some(sid), Some(sub)) => session.internal.sid == *sid && session.user.sub() == sub,
            (Some(sid), None) => session.internal.sid == *sid,
            (None, Some(sub)) => session.user.sub() == sub,
            (None, None) => false,
        }
    }
}

/// A store failure. Requests answer 503; nothing already stored is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed; retry later.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// A newer write exists; reload the session and apply the change again.
    #[error("the session was changed by another request; reload it and try again")]
    Conflict,
    /// A stored record could not be decoded.
    #[error("a stored session could not be decoded: {0}")]
    Corrupt(String),
}

/// The outcome of trying to take a cross-process lock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockAttempt {
    /// Taken; release it with this token.
    Acquired(String),
    /// Someone else holds it.
    Busy,
    /// This store has no cross-process locks (one process: in-process single-flight suffices).
    Unsupported,
}

/// A session store: the stateless cookie (the default), memory, Redis, or your own.
///
/// Sessions are stored under a *key* that the `__session` cookie carries. For a server-side
/// store the key is a random id, sealed into the cookie as `{id, exp}`. For the stateless
/// [`CookieStore`] the key *is* the sealed session, so nothing is kept on the server.
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// The key a new session will be stored under. Default: a random 256-bit id.
    fn new_key(&self, session: &SessionData, expires_at: u64) -> String {
        let _ = (session, expires_at);
        crate::random::token(32)
    }

    /// Whether the key is itself the cookie's content (the stateless cookie store) rather than an
    /// id to seal into it.
    fn key_is_cookie(&self) -> bool {
        false
    }

    /// Whether [`update`](Self::update) detects a newer write (compare-and-set). A cookie cannot.
    fn supports_compare_and_set(&self) -> bool {
        true
    }

    /// The session stored under `id`, unless missing or expired at `now`.
    fn get<'a>(
        &'a self,
        id: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Stored>, StoreError>>;

    /// Stores a new session under a new `id` (version 1).
    fn set<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Replaces the session stored under `id` if its version is still `version`. Never creates one.
    fn update<'a>(
        &'a self,
        id: &'a str,
        version: u64,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<UpdateOutcome, StoreError>>;

    /// [`update`](Self::update) of a session this store's [`get`](Self::get) returned, with the
    /// [`ReadProof`] it attached ([`Stored::proof`]). The SDK writes sessions back through this.
    ///
    /// The default ignores the proof and calls `update`: a server-side store's compare-and-set is
    /// the check, and it must run. The stateless [`CookieStore`] overrides it: with a fresh proof
    /// made by itself for this `id` it does not open the cookie again (it re-checks the expiry
    /// the proof carries); without one it does everything `update` does.
    fn update_verified<'a>(
        &'a self,
        id: &'a str,
        version: u64,
        proof: Option<&'a ReadProof>,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<UpdateOutcome, StoreError>> {
        let _ = proof;
        self.update(id, version, session, expires_at)
    }

    /// Deletes the session stored under `id` (no error when missing).
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deletes every session `target` matches; returns how many.
    fn delete_by_logout<'a>(
        &'a self,
        target: &'a LogoutTarget,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;

    /// Tries to take the lock `name` for at most `ttl`, across every process sharing the store.
    /// Used so that a refresh happens once even when several machines serve one user.
    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        ttl: std::time::Duration,
    ) -> BoxFuture<'a, Result<LockAttempt, StoreError>> {
        let _ = (name, ttl);
        Box::pin(async { Ok(LockAttempt::Unsupported) })
    }

    /// Releases a lock taken by [`try_lock`](Self::try_lock), if it is still held with `token`.
    fn unlock<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = (name, token);
        Box::pin(async { Ok(()) })
    }
}

//! The stateless cookie store, the default: the whole session is the key, sealed into the
//! `__session` cookie in the nextjs-auth0 v4 format, and nothing is kept on the server but a
//! revocation list for sessions ended by logout.

use std::sync::Arc;

use super::{BoxFuture, LogoutTarget, SessionStore, StoreError, Stored, UpdateOutcome};
use crate::oidc::backchannel::{MemoryRevocations, RevocationList};
use crate::session::SessionData;
use crate::session::codec::CookieSessionCodec;

/// The stateless store: [`SessionStore::new_key`] seals the session, [`get`](SessionStore::get)
/// opens it. Ending a session (logout, back-channel logout) records its `sid` in a
/// [`RevocationList`], checked on every read — in-process by default, or shared
/// (for example [`RedisStore`](crate::session::store)) with [`with_revocations`](Self::with_revocations).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use tollgate::store::{CookieStore, SessionStore};
/// let config = tollgate::Config::builder()
///     .domain("example.auth0.com").client_id("id").client_secret("s")
///     .secret("0123456789abcdef0123456789abcdef").app_base_url("https://app.example.com")
///     .build().unwrap();
/// let store = CookieStore::new(&config);
/// let mut session = tollgate::SessionData::default();
/// session.internal.sid = "sid-1".into();
/// let exp = 2_000_000_000;
/// let key = store.new_key(&session, exp);
/// assert!(key.starts_with("eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0.."));
/// assert_eq!(store.get(&key, 1_000).await.unwrap().unwrap().session, session);
/// store.delete(&key).await.unwrap();
/// assert!(store.get(&key, 1_000).await.unwrap().is_none(), "ended sessions stay ended");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct CookieStore {
    codec: CookieSessionCodec,
    revocations: Arc<dyn RevocationList>,
    /// How long a revocation is remembered: the absolute session lifetime.
    revocation_ttl: u64,
    clock: Arc<dyn crate::time::Clock>,
}

impl CookieStore {
    /// The store for `config`'s secrets and session settings.
    pub fn new(config: &crate::Config) -> Self {
        Self {
            codec: CookieSessionCodec::new(config),
            revocations: Arc::new(MemoryRevocations::new()),
            revocation_ttl: config.session.absolute_duration.as_secs(),
            clock: config.clock.clone(),
        }
    }

    /// Uses `revocations` (share one between processes).
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationList>) -> Self {
        self.revocations = revocations;
        self
    }

    async fn open(&self, key: &str, now: u64) -> Result<Option<(SessionData, u64)>, StoreError> {
        let Some((session, exp)) = self.codec.open_session(key, now) else {
            return Ok(None);
        };
        let revoked = self
            .revocations
            .is_revoked(
                &session.internal.sid,
                session.user.sub(),
                session.internal.created_at,
            )
            .await?;
        Ok((!revoked).then_some((session, exp)))
    }
}

impl SessionStore for CookieStore {
    fn new_key(&self, session: &SessionData, expires_at: u64) -> String {
        self.codec.seal_session(session, expires_at)
    }

    fn key_is_cookie(&self) -> bool {
        true
    }

    fn supports_compare_and_set(&self) -> bool {
        false
    }

    fn get<'a>(
        &'a self,
        key: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .open(key, now)
                .await?
                .map(|(session, exp)| Stored::new(session, 1, exp)))
        })
    }

    /// Nothing to store: the key holds the session.
    fn set<'a>(
        &'a self,
        _key: &'a str,
        _session: &'a SessionData,
        _expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    /// A cookie cannot tell a newer write; it can tell an ended session, which is never written again.
    fn update<'a>(
        &'a self,
        key: &'a str,
        version: u64,
        _session: &'a SessionData,
        _expires_at: u64,
    ) -> BoxFuture<'a, Result<UpdateOutcome, StoreError>> {
        Box::pin(async move {
            Ok(match self.open(key, self.clock.now()).await? {
                Some(_) => UpdateOutcome::Updated(version + 1),
                None => UpdateOutcome::Missing,
            })
        })
    }

    /// Ends the session this key holds (and older ones of the same provider session).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if let Some((s, _)) = self.codec.open_session(key, self.clock.now())
                && !s.internal.sid.is_empty()
            {
                let target = LogoutTarget::new(Some(s.internal.sid.clone()), None);
                self.revocations
                    .revoke(&target, s.internal.created_at, self.revocation_ttl)
                    .await?;
            }
            Ok(())
        })
    }

    /// Records the logout; cookies cannot be counted, so this returns 0.
    fn delete_by_logout<'a>(
        &'a self,
        target: &'a LogoutTarget,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            self.revocations
                .revoke(target, self.clock.now(), self.revocation_ttl)
                .await?;
            Ok(0)
        })
    }
}

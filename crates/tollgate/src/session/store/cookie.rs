//! The stateless cookie store, the default: the whole session is the key, sealed into the
//! `__session` cookie in the nextjs-auth0 v4 format, and nothing is kept on the server but a
//! revocation list for sessions ended by logout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{BoxFuture, LogoutTarget, ReadProof, SessionStore, StoreError, Stored, UpdateOutcome};
use crate::oidc::backchannel::{MemoryRevocations, RevocationList};
use crate::session::SessionData;
use crate::session::codec::{CookieSessionCodec, EXP_TOLERANCE};

/// How long, in seconds, a [`ReadProof`] stands in for opening the cookie again: the second it
/// was made in and the next (a request's read and write-back straddling a tick of the clock).
/// A save later than that (after a slow refresh, say) opens the cookie and consults the
/// revocation list again, as a write without a proof does.
const PROOF_LIFETIME: u64 = 1;

/// Tells store instances apart, so that a proof is only accepted by the store that made it.
fn next_instance() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

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
    /// This store's identity in the [`ReadProof`]s it makes (clones share it: same keys, same list).
    instance: u64,
}

impl CookieStore {
    /// The store for `config`'s secrets and session settings.
    pub fn new(config: &crate::Config) -> Self {
        Self {
            codec: CookieSessionCodec::new(config),
            revocations: Arc::new(MemoryRevocations::new()),
            revocation_ttl: config.session.absolute_duration.as_secs(),
            clock: config.clock.clone(),
            instance: next_instance(),
        }
    }

    /// Uses `revocations` (share one between processes).
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationList>) -> Self {
        self.revocations = revocations;
        // Proofs of the store with the other list do not vouch for this one.
        self.instance = next_instance();
        self
    }

    /// Whether `proof` lets a write-back of `key` at `now` skip opening it: made by this store,
    /// for this key, within [`PROOF_LIFETIME`], and the cookie's own expiry not passed since.
    fn accepts(&self, proof: &ReadProof, key: &str, now: u64) -> bool {
        proof.store == self.instance
            && proof.is_for(key)
            && now >= proof.opened_at
            && now - proof.opened_at <= PROOF_LIFETIME
            && now <= proof.exp.saturating_add(EXP_TOLERANCE)
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
            Ok(self.open(key, now).await?.map(|(session, exp)| {
                let mut stored = Stored::new(session, 1, exp);
                stored.proof = Some(ReadProof::new(self.instance, key, now, exp));
                stored
            }))
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

    /// With a fresh [`ReadProof`] of this store for `key`, the session was opened, found valid
    /// and not revoked by this request's read an instant ago: the write is accepted without
    /// opening the cookie a second time, so a rolling re-seal costs one read and one write.
    /// Revocation is not weakened by it: the re-sealed cookie carries the same `sid` and creation
    /// time, so a logout recorded after the read still ends it on the next request. Without a
    /// proof (or with a stale or foreign one) this is [`update`](SessionStore::update).
    fn update_verified<'a>(
        &'a self,
        key: &'a str,
        version: u64,
        proof: Option<&'a ReadProof>,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<UpdateOutcome, StoreError>> {
        if proof.is_some_and(|p| self.accepts(p, key, self.clock.now())) {
            return Box::pin(async move { Ok(UpdateOutcome::Updated(version + 1)) });
        }
        self.update(key, version, session, expires_at)
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

//! Single-flight refresh: concurrent requests that would redeem the same refresh token for the
//! same audience and scope share one grant and its result; grants of one refresh token for
//! different audiences or scopes (multi-resource refresh tokens) run one after the other, each
//! with the newest successor of the token.
//!
//! This is what keeps refresh-token rotation with reuse detection from logging users out: without
//! it, ten parallel requests carrying the same cookie redeem the same refresh token ten times and
//! the provider revokes the whole token family. The result is also kept for a short grace window,
//! so a request that arrives a moment later with the old cookie gets the rotated tokens instead of
//! presenting the spent refresh token again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::oidc::provider::token::{GrantError, TokenResponse};

/// How long a refresh result is handed to late requests that carry the same refresh token.
const GRACE: Duration = Duration::from_secs(60);

/// Sweep finished entries once the map holds this many.
const SWEEP_AT: usize = 1024;

pub(crate) type Shared = Arc<Result<TokenResponse, GrantError>>;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Shared)>>>;

#[derive(Debug, Default)]
pub(crate) struct RefreshCoordinator {
    slots: Mutex<HashMap<[u8; 32], Slot>>,
    /// One lock per refresh token: grants that redeem the same token for different audiences or
    /// scopes (multi-resource refresh tokens) run one after the other, never at once.
    token_locks: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    /// Rotations seen in the grace window: the hash of a spent refresh token → its successor.
    rotations: Mutex<HashMap<[u8; 32], (Instant, String)>>,
}

fn token_hash(refresh_token: &str) -> [u8; 32] {
    Sha256::digest(refresh_token.as_bytes()).into()
}

/// The single-flight key: the refresh token, audience and scope (hashed; the token is a secret).
pub(crate) fn key(refresh_token: &str, audience: &str, scope: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(refresh_token.as_bytes());
    h.update([0]);
    h.update(audience.as_bytes());
    h.update([0]);
    h.update(scope.as_bytes());
    h.finalize().into()
}

/// The name of the cross-process refresh lock of the stored session `store_id`: one lock per
/// session, whatever the audience and scope (every grant redeems the session's one refresh token,
/// and a rotation by one must be seen by the next). The Redis store on a cluster tags the
/// session's key with the same name, so the session and its lock share a hash slot.
pub(crate) fn refresh_lock_name(store_id: &str) -> String {
    key(store_id, "", "")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl RefreshCoordinator {
    /// The newest refresh token known to follow `refresh_token` (itself when it was not rotated
    /// in the grace window).
    pub(crate) fn current(&self, refresh_token: &str) -> String {
        let rotations = self.rotations.lock().unwrap_or_else(|p| p.into_inner());
        let mut current = refresh_token.to_owned();
        // A chain is short (one link per grant in the window); the bound guards against a cycle.
        for _ in 0..64 {
            match rotations.get(&token_hash(&current)) {
                Some((at, next)) if at.elapsed() < GRACE => current.clone_from(next),
                _ => break,
            }
        }
        current
    }

    fn token_lock(&self, refresh_token: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.token_locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() >= SWEEP_AT {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(token_hash(refresh_token)).or_default().clone()
    }

    fn record_rotation(&self, spent: &str, next: &str) {
        let mut rotations = self.rotations.lock().unwrap_or_else(|p| p.into_inner());
        if rotations.len() >= SWEEP_AT {
            rotations.retain(|_, (at, _)| at.elapsed() < GRACE);
        }
        rotations.insert(token_hash(spent), (Instant::now(), next.to_owned()));
    }

    /// Redeems `refresh_token` for `audience` and `scope` with `grant`, which receives the
    /// refresh token to send: a result shared with concurrent or recent callers of the same
    /// token, audience and scope; otherwise, under the token's lock, the newest successor of the
    /// token (another audience's grant may have rotated it a moment ago), whose rotation is then
    /// recorded in turn. This keeps parallel requests for different APIs from presenting a spent
    /// token, which a provider with reuse detection answers by revoking the whole family.
    pub(crate) async fn run_rotating<F, Fut>(
        &self,
        refresh_token: &str,
        audience: &str,
        scope: &str,
        grant: F,
    ) -> (Shared, bool)
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<TokenResponse, GrantError>>,
    {
        loop {
            // A result for this very token, audience and scope (in flight a moment ago) is
            // shared, even when the token has been rotated since.
            if let Some(shared) = self.finished(key(refresh_token, audience, scope)) {
                return (shared, false);
            }
            let current = self.current(refresh_token);
            let lock = self.token_lock(&current);
            let _held = lock.lock().await;
            if self.current(refresh_token) != current {
                continue; // rotated while we waited: lock the successor instead
            }
            let (shared, ran) = self
                .run(key(&current, audience, scope), || grant(current.clone()))
                .await;
            if ran
                && let Ok(resp) = &*shared
                && let Some(next) = resp.refresh_token.as_deref().filter(|n| *n != current)
            {
                self.record_rotation(&current, next);
            }
            return (shared, ran);
        }
    }

    /// A finished result for `key` still in the grace window.
    fn finished(&self, key: [u8; 32]) -> Option<Shared> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned()?;
        let guard = slot.try_lock().ok()?;
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < GRACE)
            .map(|(_, r)| r.clone())
    }

    /// Runs `grant` unless a grant for `key` is running (then waits for it) or finished within
    /// the grace window (then returns its result). Returns the result and whether this caller ran it.
    pub(crate) async fn run<F, Fut>(&self, key: [u8; 32], grant: F) -> (Shared, bool)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<TokenResponse, GrantError>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() >= SWEEP_AT {
                slots.retain(|_, s| match s.try_lock() {
                    Ok(done) => done.as_ref().is_some_and(|(at, _)| at.elapsed() < GRACE),
                    Err(_) => true, // in flight
                });
            }
            slots.entry(key).or_default().clone()
        };
        let mut guard = slot.lock().await;
        if let Some((at, result)) = guard.as_ref()
            && at.elapsed() < GRACE
        {
            return (result.clone(), false);
        }
        let result: Shared = Arc::new(grant().await);
        // Only successes and MFA demands are worth sharing; a network failure may be retried.
        let share = matches!(&*result, Ok(_) | Err(GrantError::MfaRequired { .. }));
        *guard = share.then(|| (Instant::now(), result.clone()));
        (result, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn response(n: usize) -> TokenResponse {
        TokenResponse {
            access_token: format!("at-{n}"),
            token_type: "Bearer".into(),
            expires_in: Some(60),
            id_token: None,
            refresh_token: Some(format!("rt-{n}")),
            scope: None,
            recovery_code: None,
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_grant() {
        let c = Arc::new(RefreshCoordinator::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..50 {
            let c = c.clone();
            let calls = calls.clone();
            handles.push(tokio::spawn(async move {
                c.run(key("rt-0", "", "openid"), || async {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(response(n))
                })
                .await
            }));
        }
        let mut ran = 0;
        for h in handles {
            let (r, me) = h.await.unwrap();
            ran += usize::from(me);
            assert_eq!(r.as_ref().as_ref().unwrap().access_token, "at-0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(ran, 1);
        // A late caller with the same refresh token gets the same result.
        let (late, me) = c
            .run(key("rt-0", "", "openid"), || async { Ok(response(99)) })
            .await;
        assert!(!me);
        assert_eq!(
            late.as_ref().as_ref().unwrap().refresh_token.as_deref(),
            Some("rt-0")
        );
    }

    #[tokio::test]
    async fn other_audiences_and_failures_are_not_shared() {
        let c = RefreshCoordinator::default();
        let (a, _) = c
            .run(key("rt", "api-a", "s"), || async { Ok(response(1)) })
            .await;
        let (b, _) = c
            .run(key("rt", "api-b", "s"), || async { Ok(response(2)) })
            .await;
        assert_ne!(
            a.as_ref().as_ref().unwrap().access_token,
            b.as_ref().as_ref().unwrap().access_token
        );
        let (e, _) = c
            .run(key("rt", "api-c", "s"), || async {
                Err(GrantError::Other(crate::ProviderError::Unreachable {
                    endpoint: "token endpoint",
                    timeout: true,
                }))
            })
            .await;
        assert!(e.is_err());
        let (retry, ran) = c
            .run(key("rt", "api-c", "s"), || async { Ok(response(3)) })
            .await;
        assert!(ran, "a network failure is retried, not replayed");
        assert!(retry.is_ok());
    }

    #[tokio::test]
    async fn grants_for_other_scopes_wait_and_use_the_rotated_token() {
        let c = Arc::new(RefreshCoordinator::default());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for scope in ["a", "b", "c"] {
            let c = c.clone();
            let sent = sent.clone();
            handles.push(tokio::spawn(async move {
                c.run_rotating("rt-0", "api", scope, |current| {
                    let sent = sent.clone();
                    async move {
                        let n = {
                            let mut s = sent.lock().unwrap();
                            s.push(current);
                            s.len()
                        };
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Ok(response(n))
                    }
                })
                .await
            }));
        }
        for h in handles {
            let (r, ran) = h.await.unwrap();
            assert!(ran && r.is_ok());
        }
        // Each grant presented the token the previous one got: never a spent one.
        let mut sent = sent.lock().unwrap().clone();
        sent.sort();
        assert_eq!(sent, ["rt-0", "rt-1", "rt-2"]);
        assert_eq!(c.current("rt-0"), "rt-3");
        assert_eq!(c.current("rt-2"), "rt-3");
        // The same scope again, with the old token, gets the shared result: no new grant.
        let (again, ran) = c
            .run_rotating("rt-0", "api", "a", |_| async { Ok(response(99)) })
            .await;
        assert!(!ran && again.is_ok());
    }
}

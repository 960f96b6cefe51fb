//! Single-flight refresh: concurrent requests that would redeem the same refresh token for the
//! same audience and scope share one grant and its result.
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

use crate::provider::token::{GrantError, TokenResponse};

/// How long a refresh result is handed to late requests that carry the same refresh token.
const GRACE: Duration = Duration::from_secs(60);

/// Sweep finished entries once the map holds this many.
const SWEEP_AT: usize = 1024;

pub(crate) type Shared = Arc<Result<TokenResponse, GrantError>>;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Shared)>>>;

#[derive(Debug, Default)]
pub(crate) struct RefreshCoordinator {
    slots: Mutex<HashMap<[u8; 32], Slot>>,
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

impl RefreshCoordinator {
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
}

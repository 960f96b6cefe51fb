//! Getting an access token: from the cache when it is still valid, else by a refresh grant run
//! through the single-flight coordinator ([`super::single_flight`]) inside this process, and under
//! the store's cross-process lock when the store has one (Redis), so that the rotated refresh
//! token is saved before any other process can present the old one.

use serde_json::Value;

use super::{AccessTokenError, AccessTokenOptions, AccessTokenOutcome, TokenFetch};
use crate::oidc::provider::token::GrantError;
use crate::session::SessionData;
use crate::step_up::mfa::{MfaContext, MfaRequiredError, MfaRequirements};
use crate::web::Tollgate;

impl Tollgate {
    /// An access token for `opts`: from the session when it is valid, else refreshed (and the
    /// refreshed, possibly rotated tokens returned in the outcome's session, to be saved).
    pub async fn access_token(
        &self,
        session: &SessionData,
        opts: &AccessTokenOptions,
    ) -> Result<AccessTokenOutcome, AccessTokenError> {
        let now = self.config().now();
        let config = self.config();
        let requested = self.requested_scope(opts);
        let audience = opts.audience.as_deref();
        let default = self.is_default_audience(session, audience);
        let slot = self.find_slot(
            session,
            audience,
            if opts.scope.is_some() { &requested } else { "" },
        );
        let cached = self.slot_token(session, slot);
        let buffer = config.token_refresh_buffer.as_secs();
        let fresh = cached.as_ref().is_some_and(|t| {
            !t.token.is_empty() && t.expires_at > now + buffer && !opts.force_refresh
        });
        if fresh && let Some(token) = cached {
            return Ok(AccessTokenOutcome {
                token,
                session: None,
            });
        }
        let Some(refresh_token) = session.token_set.refresh_token.clone() else {
            // Without a refresh token, a token inside the buffer but not yet expired still serves.
            if let Some(t) =
                cached.filter(|t| !t.token.is_empty() && t.expires_at > now && !opts.force_refresh)
            {
                return Ok(AccessTokenOutcome {
                    token: t,
                    session: None,
                });
            }
            return Err(AccessTokenError::MissingRefreshToken);
        };
        let config = self.config();
        let aud_key = if default { "" } else { audience.unwrap_or("") };
        let scope_key = if opts.scope.is_some() { &requested } else { "" };
        let (shared, _) = self
            .refreshes()
            .run_rotating(&refresh_token, aud_key, scope_key, |current| {
                let mut form: Vec<(&str, String)> = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", current),
                ];
                if let Some(a) = audience.filter(|_| !default) {
                    form.push(("audience", a.to_owned()));
                }
                if opts.scope.is_some() {
                    form.push(("scope", requested.to_string()));
                }
                async move {
                    let form: Vec<(&str, &str)> =
                        form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    self.provider()
                        .grant(&config.client_id, &config.client_auth, &form)
                        .await
                }
            })
            .await;
        match (*shared).clone() {
            Ok(resp) => {
                let mut updated = session.clone();
                let key = if default { None } else { audience };
                let new_id_token = resp.id_token.is_some();
                let token = self
                    .store_tokens(&mut updated, key, &requested, resp, now)
                    .await?;
                let claims = new_id_token
                    .then(|| {
                        updated
                            .token_set
                            .id_token
                            .as_deref()
                            .and_then(|t| t.split('.').nth(1))
                            .and_then(crate::oidc::id_token::decode_object)
                    })
                    .flatten();
                let updated = self.run_before_saved(updated, claims).await;
                Ok(AccessTokenOutcome {
                    token,
                    session: Some(updated),
                })
            }
            Err(GrantError::MfaRequired {
                description,
                mfa_token,
                requirements,
            }) => Err(AccessTokenError::MfaRequired(self.mfa_required_error(
                session,
                if default { "" } else { audience.unwrap_or("") },
                &requested,
                description,
                mfa_token,
                requirements,
            ))),
            Err(GrantError::Other(e)) => Err(AccessTokenError::RefreshFailed(e)),
        }
    }

    /// Like [`access_token`](Self::access_token), and saves whatever changed: the refreshed session
    /// is written back (versioned, with a store) and its `Set-Cookie` lines returned with it. With a
    /// store that has cross-process locks (Redis), the refresh happens under a lock shared by every
    /// process, and the rotated refresh token is saved before the lock is released: a second
    /// process waiting on it reloads the session and finds the new token instead of refreshing.
    pub async fn access_token_for(
        &self,
        jar: &crate::CookieJar,
        loaded: &crate::LoadedSession,
        opts: &AccessTokenOptions,
    ) -> Result<TokenFetch, AccessTokenError> {
        let store_failed = |e: crate::Error| AccessTokenError::StoreUnavailable(e.to_string());
        let (Some(store), Some(id)) = (self.store(), loaded.store_id()) else {
            let outcome = self.access_token(&loaded.data, opts).await?;
            return match outcome.session {
                None => Ok(TokenFetch::cached(outcome.token)),
                Some(updated) => {
                    let saved = self
                        .save_session(jar, loaded, &updated)
                        .await
                        .map_err(store_failed)?;
                    Ok(TokenFetch {
                        token: outcome.token,
                        saved: Some(saved),
                    })
                }
            };
        };
        // Fast path: a valid token needs no lock.
        if let Some(t) = self.cached_token(&loaded.data, opts) {
            return Ok(TokenFetch::cached(t));
        }
        let lock_name = crate::tokens::single_flight::refresh_lock_name(id);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let token = loop {
            match store
                .try_lock(&lock_name, std::time::Duration::from_secs(10))
                .await
            {
                Ok(crate::session::store::LockAttempt::Acquired(t)) => break Some(t),
                Ok(crate::session::store::LockAttempt::Unsupported) => break None,
                Ok(crate::session::store::LockAttempt::Busy)
                    if std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                // Still busy after 10 s (the holder died, or the store is very slow): refresh
                // without the lock rather than fail the request. Liveness over strictness, and
                // bounded: the in-process single-flight still applies, and the provider's
                // 60 s reuse grace covers one overlapping grant from another process.
                Ok(crate::session::store::LockAttempt::Busy) => break None,
                Err(e) => return Err(store_failed(e.into())),
            }
        };
        let result = self.refresh_locked(jar, loaded, opts).await;
        if let Some(t) = token
            && let Err(e) = store.unlock(&lock_name, &t).await
        {
            tracing::warn!(error = %e, "could not release the refresh lock; it expires by itself");
        }
        result
    }

    /// Under the refresh lock: reload the session (another process may have refreshed), refresh
    /// only if still needed, and save before returning.
    pub(super) async fn refresh_locked(
        &self,
        jar: &crate::CookieJar,
        loaded: &crate::LoadedSession,
        opts: &AccessTokenOptions,
    ) -> Result<TokenFetch, AccessTokenError> {
        let store_failed = |e: crate::Error| AccessTokenError::StoreUnavailable(e.to_string());
        let current = self
            .load_session(jar)
            .await
            .map_err(store_failed)?
            .ok_or(AccessTokenError::MissingSession)?;
        if let Some(t) = self.cached_token(&current.data, opts) {
            let changed = current.data != loaded.data;
            return Ok(TokenFetch {
                token: t,
                saved: changed.then(|| crate::SavedSession {
                    session: current,
                    cookies: crate::SetCookies::new(),
                }),
            });
        }
        let outcome = self.access_token(&current.data, opts).await?;
        match outcome.session {
            None => Ok(TokenFetch::cached(outcome.token)),
            Some(updated) => {
                let saved = self
                    .save_session(jar, &current, &updated)
                    .await
                    .map_err(store_failed)?;
                Ok(TokenFetch {
                    token: outcome.token,
                    saved: Some(saved),
                })
            }
        }
    }

    /// Builds the error handed to the application, sealing the raw token with its context.
    pub(crate) fn mfa_required_error(
        &self,
        session: &SessionData,
        audience: &str,
        scope: &str,
        description: String,
        raw: Option<String>,
        requirements: Option<Value>,
    ) -> MfaRequiredError {
        let requirements: Option<MfaRequirements> =
            requirements.and_then(|r| serde_json::from_value(r).ok());
        let now = self.config().now();
        let mfa_token = match raw {
            Some(raw) => MfaContext {
                mfa_token: raw,
                audience: audience.to_owned(),
                scope: scope.to_owned(),
                mfa_requirements: requirements.clone(),
                sid: session.internal.sid.clone(),
                sub: session.user.sub().to_owned(),
                created_at: now,
                exp: now + self.config().mfa_token_ttl.as_secs(),
            }
            .seal(self.mfa_keys()),
            None => {
                tracing::error!(
                    "the provider answered mfa_required without an mfa_token: the user must log in again"
                );
                String::new()
            }
        };
        MfaRequiredError {
            error_description: description,
            mfa_token,
            mfa_requirements: requirements,
        }
    }
}

//! Access tokens: found in the session by audience and scope, refreshed when missing or expired,
//! and written back so that no refreshed or rotated token is ever dropped.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::client::Tollgate;
use crate::error::{IdTokenError, ProviderError};
use crate::id_token::{self, Expectations, VerifyError};
use crate::mfa::{MfaContext, MfaRequiredError, MfaRequirements};
use crate::provider::token::{GrantError, TokenResponse};
use crate::session::{AccessTokenEntry, SessionData, User};

/// What token to get.
///
/// ```
/// let opts = tollgate::AccessTokenOptions::new()
///     .audience("https://payments.example.com")
///     .scope("read:payments");
/// assert_eq!(opts.audience_value(), Some("https://payments.example.com"));
/// ```
#[derive(Debug, Clone)]
pub struct AccessTokenOptions {
    audience: Option<String>,
    scope: Option<String>,
    force_refresh: bool,
    merge_scopes: bool,
}

impl Default for AccessTokenOptions {
    fn default() -> Self {
        Self {
            audience: None,
            scope: None,
            force_refresh: false,
            merge_scopes: true,
        }
    }
}

impl AccessTokenOptions {
    /// The default audience and scope of the login.
    pub fn new() -> Self {
        Self::default()
    }

    /// An API audience (multi-resource refresh token when it is not the login's).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into()).filter(|a| !a.is_empty());
        self
    }

    /// Extra scopes, merged with the configured scope unless [`merge_scopes(false)`](Self::merge_scopes).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into()).filter(|s| !s.trim().is_empty());
        self
    }

    /// Refresh even when the cached token is still valid.
    pub fn force_refresh(mut self) -> Self {
        self.force_refresh = true;
        self
    }

    /// Whether `scope` is merged with the configured scope (default true).
    pub fn merge_scopes(mut self, merge: bool) -> Self {
        self.merge_scopes = merge;
        self
    }

    /// The audience asked for.
    pub fn audience_value(&self) -> Option<&str> {
        self.audience.as_deref()
    }
}

/// An access token from the session.
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// Granted scope.
    pub scope: Option<String>,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// Its audience (`None` = the login's default audience).
    pub audience: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .finish()
    }
}

impl AccessToken {
    /// The JSON of the access-token route: `{token, scope, expires_at, expires_in, token_type}`.
    pub fn to_json(&self, now: u64) -> Value {
        json!({
            "token": self.token,
            "scope": self.scope,
            "expires_at": self.expires_at,
            "expires_in": self.expires_at.saturating_sub(now),
            "token_type": self.token_type,
        })
    }
}

/// A token, and the session to save when getting it changed the session (refresh, rotation).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessTokenOutcome {
    /// The token.
    pub token: AccessToken,
    /// `Some` when the session changed and must be saved.
    pub session: Option<SessionData>,
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// Not signed in.
    #[error("The user does not have an active session.")]
    MissingSession,
    /// The token is missing or expired and there is no refresh token (ask for `offline_access`).
    #[error(
        "The access token has expired and a refresh token was not provided. The user needs to re-authenticate."
    )]
    MissingRefreshToken,
    /// The provider requires MFA for this token.
    #[error(transparent)]
    MfaRequired(MfaRequiredError),
    /// The refresh grant failed (for example `invalid_grant`: the user must log in again).
    #[error("The access token could not be refreshed: {0}")]
    RefreshFailed(ProviderError),
    /// The refreshed ID token is invalid.
    #[error("The refreshed ID token is invalid: {0}")]
    InvalidIdToken(IdTokenError),
    /// The session store failed while the token was read, locked or saved. The user is still
    /// signed in: answer 503 and let the client try again.
    #[error("The session store is unavailable ({0}); the session is unchanged, try again.")]
    StoreUnavailable(String),
}

impl AccessTokenError {
    /// The wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSession => "missing_session",
            Self::MissingRefreshToken => "missing_refresh_token",
            Self::MfaRequired(_) => "mfa_required",
            Self::RefreshFailed(_) => "failed_to_refresh_token",
            Self::InvalidIdToken(_) => "invalid_id_token",
            Self::StoreUnavailable(_) => "session_store_unavailable",
        }
    }

    /// The HTTP status of the access-token route.
    pub fn status(&self) -> u16 {
        match self {
            Self::MfaRequired(_) => 403,
            Self::RefreshFailed(ProviderError::Unreachable { .. }) => 502,
            Self::StoreUnavailable(_) => 503,
            _ => 401,
        }
    }

    /// The JSON body: the MFA body for `mfa_required`, else `{"error":{"message","code"}}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::MfaRequired(e) => e.to_json(),
            other => json!({"error": {"message": other.to_string(), "code": other.code()}}),
        }
    }
}

fn scopes(s: &str) -> BTreeSet<&str> {
    s.split_whitespace().collect()
}

/// `a` then the members of `b` not in `a`.
pub(crate) fn merge_scopes(a: &str, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in a.split_whitespace().chain(b.split_whitespace()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

enum Slot {
    Default,
    Entry(usize),
    Missing,
}

impl Tollgate {
    pub(crate) fn is_default_audience(
        &self,
        session: &SessionData,
        audience: Option<&str>,
    ) -> bool {
        match audience {
            None => true,
            Some(a) => {
                session.token_set.audience.as_deref() == Some(a)
                    || (session.token_set.audience.is_none()
                        && self.config().audience.as_deref() == Some(a))
            }
        }
    }

    fn find_slot(&self, session: &SessionData, audience: Option<&str>, scope: &str) -> Slot {
        if scope.is_empty() && self.is_default_audience(session, audience) {
            return Slot::Default;
        }
        let want = scopes(scope);
        if self.is_default_audience(session, audience) {
            let have = session
                .token_set
                .requested_scope
                .as_deref()
                .or(session.token_set.scope.as_deref())
                .unwrap_or("");
            if want.is_subset(&scopes(have)) {
                return Slot::Default;
            }
            if audience.is_none() {
                return Slot::Missing;
            }
        }
        let Some(aud) = audience else {
            return Slot::Missing;
        };
        session
            .access_tokens
            .iter()
            .enumerate()
            .filter(|(_, e)| e.audience == aud)
            .filter(|(_, e)| {
                let have = e
                    .requested_scope
                    .as_deref()
                    .or(e.scope.as_deref())
                    .unwrap_or("");
                want.is_subset(&scopes(have))
            })
            .min_by_key(|(_, e)| e.scope.as_deref().map_or(0, |s| scopes(s).len()))
            .map_or(Slot::Missing, |(i, _)| Slot::Entry(i))
    }

    /// An access token for `opts`: from the session when it is valid, else refreshed (and the
    /// refreshed, possibly rotated tokens returned in the outcome's session, to be saved).
    pub async fn access_token(
        &self,
        session: &SessionData,
        opts: &AccessTokenOptions,
    ) -> Result<AccessTokenOutcome, AccessTokenError> {
        let now = crate::time::now();
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
            .inner()
            .refreshes
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
                    self.inner()
                        .provider
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
                            .and_then(crate::id_token::decode_object)
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
    ) -> Result<(AccessToken, Option<(crate::LoadedSession, Vec<String>)>), AccessTokenError> {
        let store_failed = |e: crate::Error| AccessTokenError::StoreUnavailable(e.to_string());
        let (Some(store), Some(id)) = (self.store(), loaded.store_id()) else {
            let outcome = self.access_token(&loaded.data, opts).await?;
            return match outcome.session {
                None => Ok((outcome.token, None)),
                Some(updated) => {
                    let saved = self
                        .save_session(jar, loaded, &updated)
                        .await
                        .map_err(store_failed)?;
                    Ok((outcome.token, Some(saved)))
                }
            };
        };
        // Fast path: a valid token needs no lock.
        if let Some(t) = self.cached_token(&loaded.data, opts) {
            return Ok((t, None));
        }
        let lock_name = {
            // One lock per session, whatever the audience and scope: every grant redeems the
            // session's one refresh token, and a rotation by one must be seen by the next.
            let k = crate::refresh::key(id, "", "");
            k.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let token = loop {
            match store
                .try_lock(&lock_name, std::time::Duration::from_secs(10))
                .await
            {
                Ok(crate::store::LockAttempt::Acquired(t)) => break Some(t),
                Ok(crate::store::LockAttempt::Unsupported) => break None,
                Ok(crate::store::LockAttempt::Busy) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                Ok(crate::store::LockAttempt::Busy) => break None,
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
    async fn refresh_locked(
        &self,
        jar: &crate::CookieJar,
        loaded: &crate::LoadedSession,
        opts: &AccessTokenOptions,
    ) -> Result<(AccessToken, Option<(crate::LoadedSession, Vec<String>)>), AccessTokenError> {
        let store_failed = |e: crate::Error| AccessTokenError::StoreUnavailable(e.to_string());
        let current = self
            .load_session(jar)
            .await
            .map_err(store_failed)?
            .ok_or(AccessTokenError::MissingSession)?;
        if let Some(t) = self.cached_token(&current.data, opts) {
            let changed = current.data != loaded.data;
            return Ok((t, changed.then(|| (current, Vec::new()))));
        }
        let outcome = self.access_token(&current.data, opts).await?;
        match outcome.session {
            None => Ok((outcome.token, None)),
            Some(updated) => {
                let saved = self
                    .save_session(jar, &current, &updated)
                    .await
                    .map_err(store_failed)?;
                Ok((outcome.token, Some(saved)))
            }
        }
    }

    /// The scope a request for `opts` asks for: the configured one, merged with `opts.scope`.
    fn requested_scope<'a>(&'a self, opts: &'a AccessTokenOptions) -> std::borrow::Cow<'a, str> {
        match (&opts.scope, opts.merge_scopes) {
            (Some(s), true) => merge_scopes(&self.config().scope, s).into(),
            (Some(s), false) => s.as_str().into(),
            (None, _) => self.config().scope.as_str().into(),
        }
    }

    /// The cached token for `opts` when it is valid (no refresh needed).
    fn cached_token(
        &self,
        session: &SessionData,
        opts: &AccessTokenOptions,
    ) -> Option<AccessToken> {
        if opts.force_refresh {
            return None;
        }
        let config = self.config();
        let requested = self.requested_scope(opts);
        let audience = opts.audience.as_deref();
        let slot = self.find_slot(
            session,
            audience,
            if opts.scope.is_some() { &requested } else { "" },
        );
        let t = self.slot_token(session, slot)?;
        (!t.token.is_empty()
            && t.expires_at > crate::time::now() + config.token_refresh_buffer.as_secs())
        .then_some(t)
    }

    fn slot_token(&self, session: &SessionData, slot: Slot) -> Option<AccessToken> {
        match slot {
            Slot::Default => Some(AccessToken {
                token: session.token_set.access_token.clone(),
                expires_at: session.token_set.expires_at,
                scope: session.token_set.scope.clone(),
                token_type: session
                    .token_set
                    .token_type
                    .clone()
                    .unwrap_or_else(|| "Bearer".into()),
                audience: session.token_set.audience.clone(),
            }),
            Slot::Entry(i) => session.access_tokens.get(i).map(|e| AccessToken {
                token: e.access_token.clone(),
                expires_at: e.expires_at,
                scope: e.scope.clone(),
                token_type: e.token_type.clone().unwrap_or_else(|| "Bearer".into()),
                audience: Some(e.audience.clone()),
            }),
            Slot::Missing => None,
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
        let now = crate::time::now();
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

    /// Writes a token response into `session`: the access token under `audience` (`None` = the
    /// default token set), a rotated refresh token, and a new (validated) ID token.
    pub(crate) async fn store_tokens(
        &self,
        session: &mut SessionData,
        audience: Option<&str>,
        requested_scope: &str,
        resp: TokenResponse,
        now: u64,
    ) -> Result<AccessToken, AccessTokenError> {
        if let Some(raw) = &resp.id_token {
            let claims = self.validate_later_id_token(raw, session).await?;
            session.token_set.id_token = Some(raw.clone());
            let user: serde_json::Map<String, Value> = claims
                .into_iter()
                .filter(|(k, _)| crate::DEFAULT_USER_CLAIMS.contains(&k.as_str()))
                .collect();
            session.user = User(user);
        }
        if let Some(rt) = resp.refresh_token.filter(|t| !t.is_empty()) {
            session.token_set.refresh_token = Some(rt);
        }
        let expires_at = now.saturating_add(resp.expires_in.unwrap_or(0));
        let token = AccessToken {
            token: resp.access_token,
            expires_at,
            scope: resp.scope,
            token_type: resp.token_type,
            audience: audience.map(str::to_owned),
        };
        match audience {
            None => {
                let ts = &mut session.token_set;
                ts.access_token = token.token.clone();
                ts.expires_at = expires_at;
                ts.token_type = Some(token.token_type.clone());
                if token.scope.is_some() {
                    ts.scope = token.scope.clone();
                }
                if ts.requested_scope.is_none() {
                    ts.requested_scope = Some(requested_scope.to_owned());
                }
            }
            Some(aud) => {
                let want = scopes(requested_scope);
                session.access_tokens.retain(|e| {
                    !(e.audience == aud
                        && e.requested_scope.as_deref().map(scopes).as_ref() == Some(&want))
                });
                session.access_tokens.push(AccessTokenEntry {
                    access_token: token.token.clone(),
                    scope: token.scope.clone(),
                    requested_scope: Some(requested_scope.to_owned()),
                    audience: aud.to_owned(),
                    expires_at,
                    token_type: Some(token.token_type.clone()),
                });
            }
        }
        Ok(token)
    }

    /// Validates an ID token from a refresh or MFA grant: as at login (signature, `iss`, `aud`,
    /// times) but without a nonce, and for the session's own user.
    async fn validate_later_id_token(
        &self,
        raw: &str,
        session: &SessionData,
    ) -> Result<serde_json::Map<String, Value>, AccessTokenError> {
        let config = self.config();
        let meta = self
            .inner()
            .provider
            .metadata()
            .await
            .map_err(AccessTokenError::RefreshFailed)?;
        let claims = id_token::validate(
            &self.inner().provider,
            raw,
            &Expectations {
                issuer: &meta.issuer,
                client_id: &config.client_id,
                nonce: None,
                max_age: None,
                now: crate::time::now(),
                tolerance: config.clock_tolerance.as_secs(),
                algorithms: &config.id_token_algorithms,
                client_secret: config.client_secret(),
            },
        )
        .await
        .map_err(|e| match e {
            VerifyError::Token(t) => AccessTokenError::InvalidIdToken(t),
            VerifyError::Provider(p) => AccessTokenError::RefreshFailed(p),
        })?;
        if claims.get("sub").and_then(Value::as_str) != Some(session.user.sub()) {
            return Err(AccessTokenError::InvalidIdToken(
                IdTokenError::SubjectMismatch,
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_merge_without_duplicates() {
        assert_eq!(
            merge_scopes("openid profile", "profile read:x"),
            "openid profile read:x"
        );
        assert_eq!(merge_scopes("", "a"), "a");
    }

    #[test]
    fn a_store_outage_is_a_503_not_a_logout() {
        let e = AccessTokenError::StoreUnavailable("timed out".into());
        assert_eq!(e.status(), 503);
        assert_eq!(e.to_json()["error"]["code"], "session_store_unavailable");
    }
}

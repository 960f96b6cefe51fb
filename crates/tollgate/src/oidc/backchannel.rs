//! OIDC Back-Channel Logout 1.0: verifying logout tokens and ending the sessions they name.
//!
//! A logout token is checked like an ID token (signature against the allow-list, `iss`, `aud`),
//! plus: `typ` absent, `JWT` or `logout+jwt`; `iat` required and recent; `exp` when present; `jti`
//! required and never accepted twice; `events` holding the back-channel logout event; `sid` and/or
//! `sub`; and no `nonce`.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::error::{IdTokenError, ProviderError};
use crate::oidc::id_token::{self, VerifyError};
use crate::session::cookies::SetCookies;
use crate::session::store::{LockAttempt, LogoutTarget};
use crate::web::Tollgate;
use crate::web::response::{self, AuthResponse};

/// The event member every logout token carries.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How old a logout token without `exp` may be.
const MAX_AGE_WITHOUT_EXP: u64 = 300;

/// Why a logout token was refused (the endpoint answers 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutTokenError {
    /// The signature, algorithm, issuer, audience or a time claim is wrong.
    #[error("the logout token is invalid: {0}")]
    Token(IdTokenError),
    /// `typ` is something other than `JWT` or `logout+jwt`.
    #[error("the logout token has typ {0:?}")]
    Typ(String),
    /// `events` lacks the back-channel logout event.
    #[error("the logout token has no back-channel logout event")]
    Events,
    /// It has a `nonce` (logout tokens must not).
    #[error("the logout token has a nonce")]
    Nonce,
    /// It names neither `sid` nor `sub`.
    #[error("the logout token has neither sid nor sub")]
    NoSubject,
    /// `jti` is missing.
    #[error("the logout token has no jti")]
    NoJti,
    /// This `jti` was accepted before.
    #[error("the logout token was already used")]
    Replayed,
    /// The keys or the session store could not be reached.
    #[error("the logout could not be processed: {0}")]
    Unavailable(String),
}

impl From<IdTokenError> for LogoutTokenError {
    fn from(e: IdTokenError) -> Self {
        Self::Token(e)
    }
}

/// Sessions ended by back-channel logout while they live in cookies: checked on every read.
pub trait RevocationList: Send + Sync + std::fmt::Debug + 'static {
    /// Records that sessions matching `target` and created at or before `at` are ended, for `ttl`
    /// seconds (the absolute session lifetime).
    fn revoke<'a>(
        &'a self,
        target: &'a LogoutTarget,
        at: u64,
        ttl: u64,
    ) -> crate::session::store::BoxFuture<'a, Result<(), crate::session::store::StoreError>>;
    /// Whether a session with this `sid` and `sub`, created at `created_at`, was ended.
    fn is_revoked<'a>(
        &'a self,
        sid: &'a str,
        sub: &'a str,
        created_at: u64,
    ) -> crate::session::store::BoxFuture<'a, Result<bool, crate::session::store::StoreError>>;
}

/// An in-process [`RevocationList`] (one application process).
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    /// key (`sid:…` / `sub:…`) → (revoked at, forget after).
    map: Mutex<HashMap<String, (u64, u64)>>,
    /// Whether anything was ever revoked: the per-request check is free until then.
    any: std::sync::atomic::AtomicBool,
}

impl MemoryRevocations {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }
}

fn keys_of(target: &LogoutTarget) -> Vec<String> {
    match (&target.sid, &target.sub) {
        (Some(sid), _) => vec![format!("sid:{sid}")],
        (None, Some(sub)) => vec![format!("sub:{sub}")],
        (None, None) => Vec::new(),
    }
}

impl RevocationList for MemoryRevocations {
    fn revoke<'a>(
        &'a self,
        target: &'a LogoutTarget,
        at: u64,
        ttl: u64,
    ) -> crate::session::store::BoxFuture<'a, Result<(), crate::session::store::StoreError>> {
        Box::pin(async move {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, (_, until)| *until > at);
            for k in keys_of(target) {
                // Never move a revocation back in time: the latest one wins.
                let entry = map.entry(k).or_insert((at, at + ttl));
                if at > entry.0 {
                    *entry = (at, at + ttl);
                }
            }
            self.any.store(true, std::sync::atomic::Ordering::Release);
            Ok(())
        })
    }

    fn is_revoked<'a>(
        &'a self,
        sid: &'a str,
        sub: &'a str,
        created_at: u64,
    ) -> crate::session::store::BoxFuture<'a, Result<bool, crate::session::store::StoreError>> {
        Box::pin(async move {
            if !self.any.load(std::sync::atomic::Ordering::Acquire) {
                return Ok(false);
            }
            let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let hit = |k: String| map.get(&k).is_some_and(|(at, _)| created_at <= *at);
            Ok((!sid.is_empty() && hit(format!("sid:{sid}")))
                || (!sub.is_empty() && hit(format!("sub:{sub}"))))
        })
    }
}

/// `jti`s already accepted, when no store with locks is there to remember them.
#[derive(Debug, Default)]
pub(crate) struct SeenJtis {
    map: Mutex<HashMap<String, u64>>,
}

impl SeenJtis {
    /// Records `jti` until `until`; `false` when it was already there.
    fn first_use(&self, jti: &str, now: u64, until: u64) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, u| *u > now);
        map.insert(jti.to_owned(), until).is_none()
    }
}

impl Tollgate {
    /// Back-channel logout: verifying the provider's logout tokens and ending the sessions they
    /// name (the route is `tollgate-axum`'s `/auth/backchannel-logout`).
    pub fn backchannel_logout(&self) -> BackchannelLogout<'_> {
        BackchannelLogout { auth: self }
    }
}

/// OpenID Connect Back-Channel Logout 1.0, from [`Tollgate::backchannel_logout`].
#[derive(Debug, Clone, Copy)]
pub struct BackchannelLogout<'a> {
    auth: &'a Tollgate,
}

impl BackchannelLogout<'_> {
    /// Verifies a logout token and returns the sessions it ends. Does not end them.
    pub async fn verify(&self, token: &str) -> Result<LogoutTarget, LogoutTokenError> {
        let config = self.auth.config();
        let now = config.now();
        let tolerance = config.clock_tolerance.as_secs();
        let jws = id_token::parse_jws(token)?;
        let meta = self
            .auth
            .provider()
            .metadata()
            .await
            .map_err(|e: ProviderError| LogoutTokenError::Unavailable(e.to_string()))?;
        let claims = id_token::verify_signature(
            self.auth.provider(),
            &jws,
            &config.id_token_algorithms.allowed(&meta),
            config.client_secret(),
        )
        .await
        .map_err(|e| match e {
            VerifyError::Token(t) => LogoutTokenError::Token(t),
            VerifyError::Provider(p) => LogoutTokenError::Unavailable(p.to_string()),
        })?;
        let checked = check_logout_claims(
            &claims,
            jws.typ.as_deref(),
            &meta.issuer,
            &config.client_id,
            now,
            tolerance,
        )?;
        self.remember_jti(&checked.jti, now, checked.until).await?;
        Ok(checked.target)
    }

    /// Records a `jti`, in the store when it can (so every process sees it), else in this process.
    async fn remember_jti(&self, jti: &str, now: u64, until: u64) -> Result<(), LogoutTokenError> {
        if let Some(store) = self.auth.store() {
            let ttl = std::time::Duration::from_secs(until.saturating_sub(now).max(1));
            match store.try_lock(&format!("jti:{jti}"), ttl).await {
                Ok(LockAttempt::Acquired(_)) => return Ok(()),
                Ok(LockAttempt::Busy) => return Err(LogoutTokenError::Replayed),
                Ok(_) => {}
                Err(e) => return Err(LogoutTokenError::Unavailable(e.to_string())),
            }
        }
        if self.auth.seen_jtis().first_use(jti, now, until) {
            Ok(())
        } else {
            Err(LogoutTokenError::Replayed)
        }
    }

    /// Ends every session a verified logout token names: deleted from the store, or revoked for
    /// cookie sessions. Returns how many store records were deleted.
    pub async fn end_sessions(
        &self,
        target: &LogoutTarget,
    ) -> Result<usize, crate::session::store::StoreError> {
        self.auth.backend().delete_by_logout(target).await
    }

    /// The back-channel logout route: `POST` with a form body `logout_token=…`. Answers 200 when
    /// the sessions are ended, 400 with `{error, error_description}` otherwise, always `no-store`.
    pub async fn handle(&self, form_body: &[u8]) -> AuthResponse {
        let token = url::form_urlencoded::parse(form_body)
            .find(|(k, _)| k == "logout_token")
            .map(|(_, v)| v.into_owned());
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return bad("the request has no logout_token");
        };
        let target = match self.verify(&token).await {
            Ok(t) => t,
            Err(LogoutTokenError::Unavailable(e)) => {
                return response::json(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    &serde_json::json!({"error": "temporarily_unavailable", "error_description": e}),
                    &SetCookies::new(),
                );
            }
            Err(e) => {
                tracing::info!(error = %e, "refused a back-channel logout token");
                return bad(&e.to_string());
            }
        };
        match self.end_sessions(&target).await {
            Ok(n) => {
                tracing::info!(sessions = n, "back-channel logout");
                response::empty(http::StatusCode::OK, &SetCookies::new())
            }
            Err(e) => response::json(
                http::StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"error": "temporarily_unavailable", "error_description": e.to_string()}),
                &SetCookies::new(),
            ),
        }
    }
}

/// A logout token's claims that passed every check.
#[derive(Debug)]
pub(crate) struct CheckedLogout {
    pub(crate) target: LogoutTarget,
    pub(crate) jti: String,
    /// Until when the `jti` must be remembered.
    pub(crate) until: u64,
}

/// Every claim check of a logout token whose signature was verified (Back-Channel Logout 1.0
/// §2.4 and §2.6): `typ`, `iss`, `aud`, `iat`, `exp`, `events`, no `nonce`, `sid` or `sub`, `jti`.
pub(crate) fn check_logout_claims(
    claims: &Map<String, Value>,
    typ: Option<&str>,
    issuer: &str,
    client_id: &str,
    now: u64,
    tolerance: u64,
) -> Result<CheckedLogout, LogoutTokenError> {
    if let Some(typ) = typ {
        let t = typ.to_ascii_lowercase();
        if !matches!(t.as_str(), "jwt" | "logout+jwt" | "application/logout+jwt") {
            return Err(LogoutTokenError::Typ(typ.to_owned()));
        }
    }
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == issuer => {}
        other => {
            return Err(IdTokenError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: other.unwrap_or_default().to_owned(),
            }
            .into());
        }
    }
    id_token::check_audience(claims, client_id)?;
    let iat = id_token::numeric_date(claims, "iat")?.ok_or(IdTokenError::InvalidClaim("iat"))?;
    if iat > now.saturating_add(tolerance) {
        return Err(IdTokenError::IssuedInFuture.into());
    }
    let exp = id_token::numeric_date(claims, "exp")?;
    match exp {
        Some(e) if now > e.saturating_add(tolerance) => return Err(IdTokenError::Expired.into()),
        None if now > iat.saturating_add(MAX_AGE_WITHOUT_EXP + tolerance) => {
            return Err(IdTokenError::Expired.into());
        }
        _ => {}
    }
    check_events(claims)?;
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    let string = |name: &'static str| -> Result<Option<String>, LogoutTokenError> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(IdTokenError::InvalidClaim(name).into()),
        }
    };
    let (sid, sub) = (string("sid")?, string("sub")?);
    if sid.is_none() && sub.is_none() {
        return Err(LogoutTokenError::NoSubject);
    }
    let jti = string("jti")?.ok_or(LogoutTokenError::NoJti)?;
    let until = exp
        .unwrap_or(iat.saturating_add(MAX_AGE_WITHOUT_EXP))
        .saturating_add(tolerance);
    Ok(CheckedLogout {
        target: LogoutTarget::new(sid, sub),
        jti,
        until,
    })
}

fn bad(description: &str) -> AuthResponse {
    response::json(
        http::StatusCode::BAD_REQUEST,
        &serde_json::json!({"error": "invalid_request", "error_description": description}),
        &SetCookies::new(),
    )
}

fn check_events(claims: &Map<String, Value>) -> Result<(), LogoutTokenError> {
    match claims.get("events") {
        Some(Value::Object(events))
            if events
                .get(BACKCHANNEL_LOGOUT_EVENT)
                .is_some_and(Value::is_object) =>
        {
            Ok(())
        }
        _ => Err(LogoutTokenError::Events),
    }
}

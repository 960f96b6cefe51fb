//! The token cache inside the session: which stored token answers a request for an audience and
//! scope (the default token set, or one of the per-audience entries), and writing a token
//! response back into the session.
//!
//! The default token set is the one the login obtained (the configured audience, or none);
//! requests for another audience are kept in `accessTokens`, one entry per audience and requested
//! scope, so that a token asked for with fewer scopes is answered by the narrowest one that covers
//! them.

use serde_json::Value;

use super::{AccessToken, AccessTokenError, AccessTokenOptions, merge_scopes, scopes};
use crate::error::IdTokenError;
use crate::oidc::id_token::{self, Expectations, VerifyError};
use crate::oidc::provider::token::TokenResponse;
use crate::session::{AccessTokenEntry, SessionData, User};
use crate::web::Tollgate;

pub(super) enum Slot {
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

    pub(super) fn find_slot(
        &self,
        session: &SessionData,
        audience: Option<&str>,
        scope: &str,
    ) -> Slot {
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

    /// The scope a request for `opts` asks for: the configured one, merged with `opts.scope`.
    pub(super) fn requested_scope<'a>(
        &'a self,
        opts: &'a AccessTokenOptions,
    ) -> std::borrow::Cow<'a, str> {
        match (&opts.scope, opts.merge_scopes) {
            (Some(s), true) => merge_scopes(&self.config().scope, s).into(),
            (Some(s), false) => s.as_str().into(),
            (None, _) => self.config().scope.as_str().into(),
        }
    }

    /// The cached token for `opts` when it is valid (no refresh needed).
    pub(super) fn cached_token(
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
            && t.expires_at > self.config().now() + config.token_refresh_buffer.as_secs())
        .then_some(t)
    }

    pub(super) fn slot_token(&self, session: &SessionData, slot: Slot) -> Option<AccessToken> {
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
    pub(super) async fn validate_later_id_token(
        &self,
        raw: &str,
        session: &SessionData,
    ) -> Result<serde_json::Map<String, Value>, AccessTokenError> {
        let config = self.config();
        let meta = self
            .provider()
            .metadata()
            .await
            .map_err(AccessTokenError::RefreshFailed)?;
        let claims = id_token::validate(
            self.provider(),
            raw,
            &Expectations {
                issuer: &meta.issuer,
                client_id: &config.client_id,
                nonce: None,
                max_age: None,
                now: self.config().now(),
                tolerance: config.clock_tolerance.as_secs(),
                algorithms: &config.id_token_algorithms.allowed(&meta),
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

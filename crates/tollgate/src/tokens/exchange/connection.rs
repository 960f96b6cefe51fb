//! Access tokens for federated connections (Auth0 Token Vault): the session's refresh token is
//! exchanged for the identity provider's access token (Google, GitHub, …), cached in the session
//! per connection until it expires.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::error::ProviderError;
use crate::oidc::provider::token::GrantError;
use crate::session::SessionData;
use crate::web::Tollgate;

use super::TOKEN_EXCHANGE_GRANT_FEDERATED;

/// Where the cached connection tokens live in the session (nextjs-auth0's member name).
const SESSION_MEMBER: &str = "connectionTokenSets";

/// Which connection's token, and for which of the user's accounts on it.
#[derive(Debug, Clone)]
#[must_use]
pub struct ConnectionTokenOptions {
    connection: String,
    login_hint: Option<String>,
    force_refresh: bool,
}

impl ConnectionTokenOptions {
    /// The access token of the user's account on `connection` (e.g. `google-oauth2`).
    pub fn new(connection: impl Into<String>) -> Self {
        Self {
            connection: connection.into(),
            login_hint: None,
            force_refresh: false,
        }
    }

    /// Which account, when the user has several on the connection.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// Ignores the cached token.
    pub fn force_refresh(mut self) -> Self {
        self.force_refresh = true;
        self
    }
}

/// A connection's access token, as cached in the session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConnectionToken {
    /// The connection.
    pub connection: String,
    /// The identity provider's access token.
    pub access_token: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// Granted scope, when the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The account it was requested for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
}

impl std::fmt::Debug for ConnectionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionToken")
            .field("connection", &self.connection)
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why no connection token could be had.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnectionTokenError {
    /// The connection name is empty.
    #[error("the connection is missing")]
    MissingConnection,
    /// The session has no refresh token to exchange (log in with `offline_access`).
    #[error(
        "the session has no refresh token to exchange for a connection token: log in with the offline_access scope"
    )]
    MissingRefreshToken,
    /// The provider refused (e.g. the user has no account on the connection).
    #[error("the provider could not give a token for this connection: {0}")]
    FailedToExchange(#[source] ProviderError),
}

impl ConnectionTokenError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingConnection => "missing_connection",
            Self::MissingRefreshToken => "missing_refresh_token",
            Self::FailedToExchange(_) => "failed_to_exchange_refresh_token",
        }
    }
}

/// The connection tokens cached in `session`.
pub(crate) fn cached(session: &SessionData) -> Vec<ConnectionToken> {
    session
        .extra
        .get(SESSION_MEMBER)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

impl Tollgate {
    /// Drops the connection tokens cached in `session` for `connection` (after unlinking it, say).
    /// `Some` with the session to save when there were any.
    ///
    /// ```
    /// # fn f(auth: tollgate::Tollgate, session: tollgate::SessionData) {
    /// if let Some(updated) = auth.forget_connection_tokens(&session, "google-oauth2") {
    ///     // save `updated`
    /// #   let _ = updated;
    /// }
    /// # }
    /// ```
    pub fn forget_connection_tokens(
        &self,
        session: &SessionData,
        connection: &str,
    ) -> Option<SessionData> {
        let mut tokens = cached(session);
        let before = tokens.len();
        tokens.retain(|t| t.connection != connection);
        (tokens.len() != before).then(|| {
            let mut updated = session.clone();
            updated.extra.insert(
                SESSION_MEMBER.to_owned(),
                serde_json::to_value(&tokens).unwrap_or(Value::Null),
            );
            updated
        })
    }

    /// The user's access token at a federated connection: the cached one while it is valid
    /// (with the refresh buffer), else a new one from the provider's Token Vault, exchanged for
    /// the session's refresh token. When the second element is `Some`, the session changed (the
    /// token was cached) and must be saved — `tollgate_axum::Auth` does it for you.
    ///
    /// # Errors
    /// [`ConnectionTokenError::MissingRefreshToken`] when the session cannot exchange, and
    /// [`ConnectionTokenError::FailedToExchange`] with the provider's error.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, session: tollgate::SessionData) -> Result<(), tollgate::ConnectionTokenError> {
    /// let options = tollgate::ConnectionTokenOptions::new("google-oauth2");
    /// let (token, changed) = auth.access_token_for_connection(&session, &options).await?;
    /// println!("calling Google with a token for {}", token.connection);
    /// if let Some(updated) = changed {
    ///     // save `updated` as the session
    /// #   let _ = updated;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn access_token_for_connection(
        &self,
        session: &SessionData,
        opts: &ConnectionTokenOptions,
    ) -> Result<(ConnectionToken, Option<SessionData>), ConnectionTokenError> {
        if opts.connection.trim().is_empty() {
            return Err(ConnectionTokenError::MissingConnection);
        }
        let now = self.config().now();
        let buffer = self.config().token_refresh_buffer.as_secs();
        let mut tokens = cached(session);
        let fresh = tokens.iter().find(|t| {
            t.connection == opts.connection
                && t.login_hint == opts.login_hint
                && t.expires_at > now.saturating_add(buffer)
        });
        if let Some(t) = fresh.filter(|_| !opts.force_refresh) {
            return Ok((t.clone(), None));
        }
        // The newest successor of the session's refresh token: a concurrent refresh may have
        // rotated it a moment ago.
        let refresh_token = session
            .token_set
            .refresh_token
            .as_deref()
            .map(|rt| self.refreshes().current(rt))
            .ok_or(ConnectionTokenError::MissingRefreshToken)?;
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT_FEDERATED),
            ("subject_token", refresh_token.as_str()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            ),
            (
                "requested_token_type",
                "http://auth0.com/oauth/token-type/federated-connection-access-token",
            ),
            ("connection", &opts.connection),
        ];
        if let Some(hint) = opts.login_hint.as_deref() {
            form.push(("login_hint", hint));
        }
        let config = self.config();
        let resp = self
            .provider()
            .grant(&config.client_id, &config.client_auth, &form)
            .await
            .map_err(|e| {
                ConnectionTokenError::FailedToExchange(match e {
                    GrantError::Other(p) => p,
                    GrantError::MfaRequired { description, .. } => ProviderError::OAuth {
                        endpoint: "token endpoint",
                        status: 403,
                        error: "mfa_required".into(),
                        description: Some(description),
                    },
                })
            })?;
        let token = ConnectionToken {
            connection: opts.connection.clone(),
            access_token: resp.access_token,
            expires_at: now.saturating_add(resp.expires_in.unwrap_or(3600)),
            scope: resp.scope,
            login_hint: opts.login_hint.clone(),
        };
        tokens.retain(|t| !(t.connection == token.connection && t.login_hint == token.login_hint));
        tokens.push(token.clone());
        let mut updated = session.clone();
        updated.extra.insert(
            SESSION_MEMBER.to_owned(),
            serde_json::to_value(&tokens).unwrap_or(Value::Null),
        );
        Ok((token, Some(updated)))
    }
}

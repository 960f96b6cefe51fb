//! Client-Initiated Backchannel Authentication (OpenID CIBA, poll mode): the app asks the
//! provider to get the user's approval on their own device, then polls for the tokens.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use thiserror::Error;

use crate::error::{IdTokenError, ProviderError};
use crate::oidc::id_token::VerifyError;
use crate::oidc::provider::token::{GrantError, oauth_error};
use crate::tokens::exchange::ExchangedTokens;
use crate::web::Tollgate;

/// The grant type of the poll.
pub const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";

/// The longest a back-channel login is waited for, whatever the provider says (Auth0's maximum
/// `requested_expiry`, three days).
const MAX_EXPIRY: u64 = 259_200;

/// Whom to ask, what to show them, and what to ask for.
///
/// ```
/// let opts = tollgate::BackchannelAuthOptions::new("auth0|64f0c0ffee", "Approve transfer 4471")
///     .scope("openid profile offline_access")
///     .audience("https://payments.example.com")
///     .requested_expiry(120);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct BackchannelAuthOptions {
    sub: String,
    binding_message: String,
    scope: String,
    audience: Option<String>,
    requested_expiry: Option<u64>,
}

impl BackchannelAuthOptions {
    /// Asks the user whose `sub` this is, showing `binding_message` (at most 64 characters:
    /// letters, digits, spaces and `+-_.,:#`) on their device. Scope `openid`.
    pub fn new(sub: impl Into<String>, binding_message: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            binding_message: binding_message.into(),
            scope: "openid".into(),
            audience: None,
            requested_expiry: None,
        }
    }

    /// The scope (`openid` is added when missing; `offline_access` asks for a refresh token).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.scope = if scope.split(' ').any(|s| s == "openid") {
            scope
        } else {
            format!("openid {scope}").trim().to_owned()
        };
        self
    }

    /// The API the access token is for.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long the request may wait for the user, in seconds.
    pub fn requested_expiry(mut self, seconds: u64) -> Self {
        self.requested_expiry = Some(seconds);
        self
    }

    fn check(&self) -> Result<(), BackchannelAuthError> {
        if self.sub.trim().is_empty() {
            return Err(BackchannelAuthError::InvalidRequest(
                "the user's sub is empty",
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || " +-_.,:#".contains(c);
        if self.binding_message.is_empty()
            || self.binding_message.chars().count() > 64
            || !self.binding_message.chars().all(allowed)
        {
            return Err(BackchannelAuthError::InvalidRequest(
                "the binding message must be 1 to 64 characters: letters, digits, spaces and +-_.,:#",
            ));
        }
        Ok(())
    }
}

/// A started back-channel login, to poll with [`Ciba::poll`].
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct BackchannelRequest {
    /// The request's id at the provider.
    pub auth_req_id: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Seconds to wait between polls.
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

impl std::fmt::Debug for BackchannelRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackchannelRequest")
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// One poll's answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BackchannelPoll {
    /// The user has not answered yet: poll again after `interval` seconds.
    Pending {
        /// Seconds to wait (grown after a `slow_down`).
        interval: u64,
    },
    /// The user approved.
    Approved(Box<ExchangedTokens>),
}

/// Why a back-channel login failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BackchannelAuthError {
    /// Bad input, caught before any call.
    #[error("invalid back-channel login request: {0}")]
    InvalidRequest(&'static str),
    /// The provider does not offer CIBA.
    #[error("the provider has no backchannel_authentication_endpoint")]
    Unsupported,
    /// The provider refused to start the request (unknown user, bad binding message, …).
    #[error("the back-channel login could not start: {0}")]
    StartFailed(#[source] ProviderError),
    /// The user denied it, or it expired.
    #[error("the user denied the back-channel login, or it expired")]
    Denied,
    /// The poll failed otherwise.
    #[error("polling the back-channel login failed: {0}")]
    PollFailed(#[source] ProviderError),
    /// The ID token returned is invalid.
    #[error("the back-channel login returned an invalid ID token: {0}")]
    InvalidIdToken(#[source] IdTokenError),
}

impl Tollgate {
    /// Back-channel (CIBA) logins: the user approves on their own device.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate) -> Result<(), tollgate::BackchannelAuthError> {
    /// let opts = tollgate::BackchannelAuthOptions::new("auth0|64f0c0ffee", "Approve transfer 4471");
    /// let tokens = auth.ciba().run(&opts).await?;
    /// println!("approved: {:?}", tokens.id_token_claims);
    /// # Ok(()) }
    /// ```
    pub fn ciba(&self) -> Ciba<'_> {
        Ciba { auth: self }
    }
}

/// Client-Initiated Backchannel Authentication (OpenID CIBA) against the provider, from
/// [`Tollgate::ciba`].
#[derive(Debug, Clone, Copy)]
pub struct Ciba<'a> {
    auth: &'a Tollgate,
}

impl Ciba<'_> {
    /// Starts a back-channel login at the provider's `/bc-authorize`: the user is asked on their
    /// own device (a push notification, at Auth0) to approve `binding_message`.
    ///
    /// # Errors
    /// [`BackchannelAuthError::InvalidRequest`] before any call,
    /// [`BackchannelAuthError::Unsupported`], [`BackchannelAuthError::StartFailed`].
    pub async fn start(
        &self,
        opts: &BackchannelAuthOptions,
    ) -> Result<BackchannelRequest, BackchannelAuthError> {
        opts.check()?;
        let provider = &self.auth.provider();
        let meta = provider
            .metadata()
            .await
            .map_err(BackchannelAuthError::StartFailed)?;
        let url = meta
            .backchannel_authentication_endpoint
            .as_deref()
            .ok_or(BackchannelAuthError::Unsupported)?;
        let login_hint =
            json!({"format": "iss_sub", "iss": meta.issuer, "sub": opts.sub}).to_string();
        let expiry = opts.requested_expiry.map(|s| s.to_string());
        let mut form = vec![
            ("login_hint", login_hint.as_str()),
            ("scope", opts.scope.as_str()),
            ("binding_message", opts.binding_message.as_str()),
        ];
        if let Some(a) = opts.audience.as_deref() {
            form.push(("audience", a));
        }
        if let Some(e) = expiry.as_deref() {
            form.push(("requested_expiry", e));
        }
        let config = self.auth.config();
        provider
            .http
            .post_form::<BackchannelRequest>(
                "backchannel authentication endpoint",
                url,
                &config.client_id,
                &config.client_auth,
                &form,
            )
            .await
            .map_err(|e| {
                BackchannelAuthError::StartFailed(e.map_or_else(
                    |p| p,
                    |a| oauth_error("backchannel authentication endpoint", a),
                ))
            })
    }

    /// Polls once: still pending (with the interval to wait), or the tokens.
    ///
    /// # Errors
    /// [`BackchannelAuthError::Denied`] when the user said no or the request expired,
    /// [`BackchannelAuthError::PollFailed`], [`BackchannelAuthError::InvalidIdToken`].
    pub async fn poll(
        &self,
        request: &BackchannelRequest,
    ) -> Result<BackchannelPoll, BackchannelAuthError> {
        let config = self.auth.config();
        let form = [
            ("grant_type", CIBA_GRANT),
            ("auth_req_id", request.auth_req_id.as_str()),
        ];
        let result = self
            .auth
            .provider()
            .grant(&config.client_id, &config.client_auth, &form)
            .await;
        let resp = match result {
            Ok(resp) => resp,
            Err(GrantError::Other(ProviderError::OAuth { error, .. }))
                if error == "authorization_pending" =>
            {
                return Ok(BackchannelPoll::Pending {
                    interval: request.interval,
                });
            }
            Err(GrantError::Other(ProviderError::OAuth { error, .. })) if error == "slow_down" => {
                // RFC 8628 §3.5 / CIBA §11: wait five seconds more from now on.
                return Ok(BackchannelPoll::Pending {
                    interval: request.interval.saturating_add(5),
                });
            }
            Err(GrantError::Other(ProviderError::OAuth { error, .. }))
                if error == "access_denied" || error == "expired_token" =>
            {
                return Err(BackchannelAuthError::Denied);
            }
            Err(GrantError::Other(p)) => return Err(BackchannelAuthError::PollFailed(p)),
            Err(GrantError::MfaRequired { description, .. }) => {
                return Err(BackchannelAuthError::PollFailed(ProviderError::OAuth {
                    endpoint: "token endpoint",
                    status: 403,
                    error: "mfa_required".into(),
                    description: Some(description),
                }));
            }
        };
        let id_token_claims = self
            .auth
            .validate_issued_id_token(resp.id_token.as_deref())
            .await
            .map_err(|e| match e {
                VerifyError::Token(t) => BackchannelAuthError::InvalidIdToken(t),
                VerifyError::Provider(p) => BackchannelAuthError::PollFailed(p),
            })?;
        Ok(BackchannelPoll::Approved(Box::new(
            ExchangedTokens::from_response(resp, id_token_claims),
        )))
    }

    /// Starts a back-channel login and polls until the user answers or it expires, honouring
    /// the provider's `interval` and `slow_down` (nextjs-auth0's `getTokenByBackchannelAuth`).
    ///
    /// # Errors
    /// As [`start`](Self::start) and
    /// [`poll`](Self::poll); [`BackchannelAuthError::Denied`]
    /// when it expires unanswered.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate) -> Result<(), tollgate::BackchannelAuthError> {
    /// let tokens = auth
    ///     .ciba()
    ///     .run(&tollgate::BackchannelAuthOptions::new("auth0|64f0c0ffee", "Approve transfer 4471"))
    ///     .await?;
    /// println!("approved: {:?}", tokens.id_token_claims);
    /// # Ok(()) }
    /// ```
    pub async fn run(
        &self,
        opts: &BackchannelAuthOptions,
    ) -> Result<ExchangedTokens, BackchannelAuthError> {
        let request = self.start(opts).await?;
        // The provider's numbers are bounded before any clock arithmetic: three days at most
        // (Auth0's longest expiry), and a wait of at most the whole expiry.
        let expiry = Duration::from_secs(request.expires_in.min(MAX_EXPIRY));
        let started = tokio::time::Instant::now();
        let mut interval = request.interval.max(1);
        loop {
            let waited = started.elapsed() + Duration::from_secs(interval.min(MAX_EXPIRY));
            if waited > expiry {
                return Err(BackchannelAuthError::Denied);
            }
            let next = started + waited;
            tokio::time::sleep_until(next).await;
            let current = BackchannelRequest {
                interval,
                ..request.clone()
            };
            match self.poll(&current).await? {
                BackchannelPoll::Approved(tokens) => return Ok(*tokens),
                BackchannelPoll::Pending { interval: i } => interval = i.max(1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_before_any_call() {
        let ok = BackchannelAuthOptions::new("auth0|1", "Approve transfer #4471: 10.00 EUR");
        assert_eq!(ok.check(), Ok(()));
        assert_eq!(ok.clone().scope("profile").scope, "openid profile");
        assert_eq!(ok.scope("email openid").scope, "email openid");
        for bad in [
            BackchannelAuthOptions::new("", "ok"),
            BackchannelAuthOptions::new("auth0|1", ""),
            BackchannelAuthOptions::new("auth0|1", "x".repeat(65)),
            BackchannelAuthOptions::new("auth0|1", "<script>"),
        ] {
            assert!(
                matches!(bad.check(), Err(BackchannelAuthError::InvalidRequest(_))),
                "{bad:?}"
            );
        }
    }
}

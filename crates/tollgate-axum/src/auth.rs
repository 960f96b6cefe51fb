//! The [`Auth`] extractor: the SDK for one request, with session writes that reach the response.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tollgate::{
    AccessToken, AccessTokenError, AccessTokenOptions, ConnectAccountError, ConnectAccountOptions,
    ConnectRedirect, ConnectedAccount, ConnectedAccountsPage, ConnectionToken,
    ConnectionTokenError, ConnectionTokenOptions, MyApi, ProxyError, SessionData, Tollgate,
};

use crate::extract::context;
use crate::layer::SessionContext;
use crate::rejection::MissingSessionLayer;

/// The SDK bound to the current request. Whatever changes the session through it (a refreshed or
/// rotated token, an MFA verification, an update) is written to the response's cookies by
/// [`SessionLayer`](crate::SessionLayer) — no refreshed token is ever dropped.
///
/// Its errors convert into [`AuthError`](crate::AuthError), which answers with the SDK's status
/// and JSON body:
///
/// ```
/// use tollgate::AccessTokenOptions;
///
/// async fn payments(auth: tollgate_axum::Auth) -> Result<String, tollgate_axum::AuthError> {
///     let token = auth
///         .access_token(AccessTokenOptions::new().audience("https://payments.example.com"))
///         .await?;
///     Ok(format!("calling the API with a {} token", token.token_type))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    ctx: SessionContext,
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ctx: context(parts)?.clone(),
        })
    }
}

impl Auth {
    /// The SDK.
    pub fn tollgate(&self) -> &Tollgate {
        &self.ctx.auth
    }

    /// The current session (including changes saved earlier in this request).
    pub fn session(&self) -> Option<Arc<SessionData>> {
        self.ctx.session()
    }

    /// Saves `session`: the response will carry its cookie. With a server-side store the write is
    /// versioned; losing a race to another request is [`tollgate::store::StoreError::Conflict`].
    pub async fn save_session(&self, session: SessionData) -> Result<(), tollgate::Error> {
        let loaded = self.ctx.loaded().ok_or(tollgate::Error::InvalidParameter {
            name: "session",
            reason: "there is no session to update",
        })?;
        let saved = self
            .ctx
            .auth
            .save_session(&self.ctx.jar, &loaded, &session)
            .await?;
        self.ctx.saved(saved);
        Ok(())
    }

    /// An access token (refreshed when needed; the refreshed session is saved, under a
    /// cross-process lock with a Redis store).
    pub async fn access_token(
        &self,
        opts: AccessTokenOptions,
    ) -> Result<AccessToken, AccessTokenError> {
        if let Some(e) = self.ctx.error() {
            // The store is down: a 503, not a logout.
            return Err(AccessTokenError::StoreUnavailable(e.to_string()));
        }
        let loaded = self.ctx.loaded().ok_or(AccessTokenError::MissingSession)?;
        let fetch = self
            .ctx
            .auth
            .access_token_for(&self.ctx.jar, &loaded, &opts)
            .await?;
        if let Some(saved) = fetch.saved {
            self.ctx.saved(saved);
        }
        Ok(fetch.token)
    }

    /// The user's access token at a federated connection (Token Vault), cached in the session;
    /// a newly fetched token is saved with the session. `None` without a session.
    ///
    /// # Errors
    /// As [`Tollgate::access_token_for_connection`].
    pub async fn access_token_for_connection(
        &self,
        opts: &ConnectionTokenOptions,
    ) -> Option<Result<ConnectionToken, ConnectionTokenError>> {
        let loaded = self.ctx.loaded()?;
        let result = self
            .ctx
            .auth
            .access_token_for_connection(&loaded.data, opts)
            .await;
        Some(match result {
            Ok((token, Some(updated))) => {
                match self
                    .ctx
                    .auth
                    .save_session(&self.ctx.jar, &loaded, &updated)
                    .await
                {
                    Ok(saved) => self.ctx.saved(saved),
                    // The token is still good; it is fetched again next time.
                    Err(e) => tracing::warn!(error = %e, "could not cache the connection token"),
                }
                Ok(token)
            }
            Ok((token, None)) => Ok(token),
            Err(e) => Err(e),
        })
    }

    /// Calls an API with an access token for `opts`, attached as `Bearer` or as `DPoP` with a
    /// proof (one retry on a nonce demand); a refreshed token is saved with the session.
    ///
    /// # Errors
    /// As [`Tollgate::fetch_with_auth`].
    ///
    /// ```no_run
    /// async fn orders(auth: tollgate_axum::Auth) -> String {
    ///     let request = http::Request::get("https://orders.example.com/v1/orders").body(Vec::new()).unwrap();
    ///     let opts = tollgate::AccessTokenOptions::new().audience("https://orders.example.com");
    ///     match auth.fetch_with_auth(request, opts).await {
    ///         Ok(response) => format!("the API answered {}", response.status()),
    ///         Err(e) => format!("no call: {e}"),
    ///     }
    /// }
    /// ```
    pub async fn fetch_with_auth(
        &self,
        request: http::Request<Vec<u8>>,
        opts: AccessTokenOptions,
    ) -> Result<http::Response<Vec<u8>>, tollgate::FetchError> {
        let token = self.access_token(opts).await?;
        self.ctx.auth.fetch_with_token(&token, request).await
    }

    /// Starts linking an account at another identity provider (Connected Accounts): a My Account
    /// token (`create:me:connected_accounts`, refreshed and saved when needed), the ticket, and
    /// the redirect to the provider. The callback route completes it and hands the account to
    /// the `on_callback` hook.
    ///
    /// # Errors
    /// As [`tollgate::MyAccount::connect`].
    ///
    /// ```no_run
    /// use axum::response::IntoResponse;
    /// async fn connect_calendar(auth: tollgate_axum::Auth) -> axum::response::Response {
    ///     let opts = tollgate::ConnectAccountOptions::new("google-oauth2")
    ///         .scope("https://www.googleapis.com/auth/calendar.readonly")
    ///         .return_to("/settings");
    ///     match auth.connect_account(&opts).await {
    ///         Ok(redirect) => redirect.into_response().into_response(),
    ///         Err(e) => e.into_response().into_response(),
    ///     }
    /// }
    /// ```
    pub async fn connect_account(
        &self,
        opts: &ConnectAccountOptions,
    ) -> Result<ConnectRedirect, ConnectAccountError> {
        opts.validate()?;
        let my_account = self.ctx.auth.my_account();
        let token = self
            .access_token(my_account.token_options(tollgate::SCOPE_CREATE_CONNECTED_ACCOUNTS))
            .await?;
        my_account.connect_with_token(&token, opts).await
    }

    /// One page of the user's connected accounts (`next`: a previous page's cursor).
    ///
    /// # Errors
    /// As [`tollgate::MyAccount::list_with_token`], and no token.
    pub async fn list_connected_accounts(
        &self,
        next: Option<&str>,
    ) -> Result<ConnectedAccountsPage, ConnectAccountError> {
        let my_account = self.ctx.auth.my_account();
        let token = self
            .access_token(my_account.token_options(tollgate::SCOPE_READ_CONNECTED_ACCOUNTS))
            .await?;
        my_account.list_with_token(&token, next).await
    }

    /// Unlinks the connected account `id`.
    ///
    /// # Errors
    /// As [`tollgate::MyAccount::disconnect_with_token`], and no token.
    pub async fn disconnect_account(&self, id: &str) -> Result<(), ConnectAccountError> {
        let my_account = self.ctx.auth.my_account();
        let token = self
            .access_token(my_account.token_options(tollgate::SCOPE_DELETE_CONNECTED_ACCOUNTS))
            .await?;
        my_account.disconnect_with_token(&token, id).await
    }

    /// Unlinks every account of the user at `connection` and drops the session's cached tokens
    /// for it (the reference SDK's `disconnectAccount`); returns the accounts removed.
    ///
    /// # Errors
    /// As [`tollgate::MyAccount::disconnect_connection_with_token`], and no token.
    pub async fn disconnect_connection(
        &self,
        connection: &str,
    ) -> Result<Vec<ConnectedAccount>, ConnectAccountError> {
        let scope = format!(
            "{} {}",
            tollgate::SCOPE_READ_CONNECTED_ACCOUNTS,
            tollgate::SCOPE_DELETE_CONNECTED_ACCOUNTS
        );
        let my_account = self.ctx.auth.my_account();
        let token = self.access_token(my_account.token_options(&scope)).await?;
        let removed = my_account
            .disconnect_connection_with_token(&token, connection)
            .await?;
        if let (Some(loaded), Some(session)) = (self.ctx.loaded(), self.session())
            && let Some(updated) = self.ctx.auth.forget_connection_tokens(&session, connection)
        {
            match self
                .ctx
                .auth
                .save_session(&self.ctx.jar, &loaded, &updated)
                .await
            {
                Ok(saved) => self.ctx.saved(saved),
                // The link is gone; the cached token expires by itself.
                Err(e) => tracing::warn!(error = %e, "could not drop the cached connection token"),
            }
        }
        Ok(removed)
    }

    /// Forwards a browser request to the My Account or My Organization API (what the `/me/*`
    /// and `/my-org/*` routes do): preflights without credentials, everything else with a token
    /// for the API's audience and the `scope` header's scopes (refreshed and saved when needed).
    ///
    /// # Errors
    /// [`ProxyError`]: answer with [`ProxyError::into_response`].
    pub async fn proxy(
        &self,
        api: MyApi,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, ProxyError> {
        let my_account = self.ctx.auth.my_account();
        let prepared = my_account.prepare_proxy(api, request)?;
        if prepared.preflight {
            return my_account.proxy_preflight(prepared).await;
        }
        let token = self.access_token(prepared.token_options.clone()).await?;
        my_account.proxy_with_token(prepared, &token).await
    }
}

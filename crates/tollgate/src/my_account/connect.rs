//! Connected Accounts: link the user's account at another identity provider (Google, GitHub, …)
//! through the My Account API, so that Token Vault can later issue tokens for that connection.
//!
//! 1. `POST {issuer}me/v1/connected-accounts/connect` with a `create:me:connected_accounts`
//!    token, PKCE and state → `connect_uri` + ticket; the browser goes there.
//! 2. The provider sends the browser back to the callback route with `connect_code` and `state`.
//! 3. `POST {issuer}me/v1/connected-accounts/complete` → the connected account, shown to the
//!    `on_callback` hook.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use thiserror::Error;

use super::MyAccount;
use super::{MyAccountApiError, MyApi, SCOPE_CREATE_CONNECTED_ACCOUNTS};
use crate::error::BaseUrlError;
use crate::session::SessionData;
use crate::session::base_url::RequestOrigin;
use crate::session::cookies::SetCookies;
use crate::session::transaction::{self, Transaction};
use crate::tokens::fetcher::FetchError;
use crate::tokens::{AccessToken, AccessTokenError, AccessTokenOptions};
use crate::web::response::{self, AuthResponse};

/// The authorization parameters the My Account API accepts in a connect request.
pub const CONNECT_AUTHORIZATION_PARAMS: &[&str] = &[
    "acr_values",
    "audience",
    "resource",
    "display",
    "id_token_hint",
    "login_hint",
    "max_age",
    "prompt",
    "ui_locales",
];

/// What to connect.
///
/// ```
/// let opts = tollgate::ConnectAccountOptions::new("google-oauth2")
///     .scope("openid")
///     .scope("https://www.googleapis.com/auth/calendar.readonly")
///     .authorization_param("prompt", "consent")
///     .return_to("/settings/connections");
/// let from_query = tollgate::ConnectAccountOptions::from_query(
///     "connection=google-oauth2&scopes=openid&scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar.readonly&prompt=consent&returnTo=%2Fsettings%2Fconnections",
/// ).unwrap();
/// assert_eq!(format!("{opts:?}"), format!("{from_query:?}"));
/// ```
#[derive(Debug, Clone)]
pub struct ConnectAccountOptions {
    connection: String,
    scopes: Vec<String>,
    authorization_params: Vec<(String, String)>,
    return_to: Option<String>,
    origin: RequestOrigin,
}

impl ConnectAccountOptions {
    /// Connect an account at `connection`.
    pub fn new(connection: impl Into<String>) -> Self {
        Self {
            connection: connection.into(),
            scopes: Vec::new(),
            authorization_params: Vec::new(),
            return_to: None,
            origin: RequestOrigin::default(),
        }
    }

    /// The request this flow starts from: with an allow-list of base URLs
    /// ([`ConfigBuilder::app_base_urls`](crate::ConfigBuilder::app_base_urls)) the callback and
    /// `returnTo` are on its origin, which must be allowed. Not needed with a static base URL.
    pub fn at(mut self, origin: RequestOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// A scope to ask the other provider for (repeatable; duplicates are dropped).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
        self
    }

    /// An authorization parameter for the other provider (one of
    /// [`CONNECT_AUTHORIZATION_PARAMS`]).
    pub fn authorization_param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.authorization_params.push((name.into(), value.into()));
        self
    }

    /// Where to send the user afterwards (a same-origin path; anything else gives the default).
    pub fn return_to(mut self, path: impl Into<String>) -> Self {
        self.return_to = Some(path.into());
        self
    }

    /// The connect route's query: `connection` (required), `returnTo`, `scopes` (repeatable, also
    /// as `scopes[]`), and any other parameter as an authorization parameter.
    ///
    /// # Errors
    /// [`ConnectAccountError::InvalidRequest`] without a `connection`.
    pub fn from_query(query: &str) -> Result<Self, ConnectAccountError> {
        let mut connection = None;
        let mut opts = Self::new(String::new());
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "connection" if connection.is_none() => connection = Some(v.into_owned()),
                "connection" => {}
                "returnTo" if opts.return_to.is_none() => opts.return_to = Some(v.into_owned()),
                "returnTo" => {}
                "scopes" | "scopes[]" => opts = opts.scope(v.into_owned()),
                _ => opts = opts.authorization_param(k.into_owned(), v.into_owned()),
            }
        }
        opts.connection = connection.filter(|c| !c.is_empty()).ok_or_else(|| {
            ConnectAccountError::InvalidRequest("A connection is required.".into())
        })?;
        Ok(opts)
    }

    /// The `authorization_params` object of the connect request, checked against what the API
    /// accepts.
    fn authorization_params_json(&self) -> Result<Option<Value>, ConnectAccountError> {
        let mut out = Map::new();
        for (k, v) in &self.authorization_params {
            if !CONNECT_AUTHORIZATION_PARAMS.contains(&k.as_str()) {
                return Err(ConnectAccountError::InvalidRequest(format!(
                    "{k} is not an authorization parameter of the connect flow (allowed: {})",
                    CONNECT_AUTHORIZATION_PARAMS.join(", ")
                )));
            }
            let allowed: Option<&[&str]> = match k.as_str() {
                "display" => Some(&["page", "popup", "touch", "wap"]),
                "prompt" => Some(&["none", "login", "consent", "select_account"]),
                _ => None,
            };
            if let Some(allowed) = allowed.filter(|a| !a.contains(&v.as_str())) {
                return Err(ConnectAccountError::InvalidRequest(format!(
                    "{k} must be one of {}",
                    allowed.join(", ")
                )));
            }
            let value = if k == "max_age" {
                json!(v.parse::<u64>().map_err(|_| {
                    ConnectAccountError::InvalidRequest(
                        "max_age must be a whole number of seconds".into(),
                    )
                })?)
            } else {
                json!(v)
            };
            out.insert(k.clone(), value);
        }
        Ok((!out.is_empty()).then_some(Value::Object(out)))
    }

    /// Checks the options as the My Account API would (connection 1–128 characters, at most 100
    /// scopes, only its authorization parameters with their allowed values), so that a bad
    /// request is refused before any token is fetched.
    ///
    /// # Errors
    /// [`ConnectAccountError::InvalidRequest`] naming what is wrong.
    pub fn validate(&self) -> Result<(), ConnectAccountError> {
        self.authorization_params_json()?;
        if self.connection.is_empty() || self.connection.len() > 128 {
            return Err(ConnectAccountError::InvalidRequest(
                "the connection name must be 1 to 128 characters".into(),
            ));
        }
        if self.scopes.len() > 100 || self.scopes.iter().any(String::is_empty) {
            return Err(ConnectAccountError::InvalidRequest(
                "scopes must be 1 to 100 non-empty values".into(),
            ));
        }
        Ok(())
    }
}

/// A linked account, as the My Account API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectedAccount {
    /// Its id (`cac_…`).
    pub id: String,
    /// The connection it belongs to.
    pub connection: String,
    /// `offline` when Token Vault can get tokens without the user.
    pub access_type: String,
    /// The scopes granted at the other provider.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When it was linked (ISO 8601).
    pub created_at: String,
    /// When the link expires (ISO 8601), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The organization it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// A page of the user's connected accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectedAccountsPage {
    /// The accounts on this page.
    #[serde(default)]
    pub accounts: Vec<ConnectedAccount>,
    /// The cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The redirect that starts a connect flow at the provider, with the transaction cookie.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectRedirect {
    /// `connect_uri?ticket=…`.
    pub location: String,
    /// The sealed connect transaction's cookie.
    pub cookies: SetCookies,
    /// `Some` when getting the My Account token refreshed the session: save it.
    pub session: Option<SessionData>,
}

impl ConnectRedirect {
    /// A `302` to the provider, setting the transaction cookie.
    pub fn into_response(self) -> AuthResponse {
        response::redirect(&self.location, &self.cookies)
    }
}

/// Why a Connected Accounts call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnectAccountError {
    /// The request is incomplete or has a value the API does not accept.
    #[error("{0}")]
    InvalidRequest(String),
    /// No My Account token: no session, MFA required, refresh failed, store down.
    #[error(transparent)]
    AccessToken(#[from] AccessTokenError),
    /// The My Account API refused the call.
    #[error("the My Account API refused to {stage} the connected account: {error}")]
    Api {
        /// `connect`, `complete`, `list` or `delete`.
        stage: &'static str,
        /// Its problem details.
        error: MyAccountApiError,
    },
    /// The request's host is not an allowed application base URL (or none was given while the
    /// base URL depends on the request: see [`ConnectAccountOptions::at`]).
    #[error(transparent)]
    BaseUrl(#[from] BaseUrlError),
    /// The callback came back without a usable `connect_code`.
    #[error("the connect callback has no valid connect_code")]
    MissingConnectCode,
    /// The My Account API could not be reached, or DPoP is needed and not configured.
    #[error("the My Account API could not be reached: {0}")]
    Unreachable(String),
    /// The API answered something that is not what it documents.
    #[error("the My Account API gave an invalid answer: {0}")]
    InvalidResponse(String),
}

impl From<FetchError> for ConnectAccountError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::AccessToken(e) => Self::AccessToken(e),
            other => Self::Unreachable(other.to_string()),
        }
    }
}

impl ConnectAccountError {
    /// The HTTP status to answer with: the API's own 4xx, 502 when it failed or could not be
    /// reached.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::MissingConnectCode => http::StatusCode::BAD_REQUEST,
            Self::BaseUrl(_) => http::StatusCode::BAD_REQUEST,
            Self::AccessToken(e) => e.status(),
            Self::Api { error, .. } if (400..500).contains(&error.status) => {
                http::StatusCode::from_u16(error.status).unwrap_or(http::StatusCode::BAD_GATEWAY)
            }
            Self::Api { .. } | Self::Unreachable(_) | Self::InvalidResponse(_) => {
                http::StatusCode::BAD_GATEWAY
            }
        }
    }

    /// The wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::AccessToken(e) => e.code(),
            Self::Api {
                stage: "connect", ..
            } => "failed_to_initiate",
            Self::Api {
                stage: "complete", ..
            } => "failed_to_complete",
            Self::Api { .. } => "my_account_api_error",
            Self::MissingConnectCode => "missing_connect_code",
            Self::BaseUrl(_) => "invalid_host",
            Self::Unreachable(_) => "upstream_unreachable",
            Self::InvalidResponse(_) => "invalid_response",
        }
    }

    /// The JSON body: the `mfa_required` body when MFA is needed, else
    /// `{"error":{"message","code"}}`, with the API's validation errors when there are some.
    pub fn to_json(&self) -> Value {
        match self {
            Self::AccessToken(e) => e.to_json(),
            Self::Api { error, .. } => json!({"error": {
                "message": self.to_string(),
                "code": self.code(),
                "status": error.status,
                "validation_errors": error.validation_errors,
            }}),
            other => json!({"error": {"message": other.to_string(), "code": other.code()}}),
        }
    }

    /// The answer of the connect route.
    pub fn into_response(self) -> AuthResponse {
        response::json(self.status(), &self.to_json(), &SetCookies::new())
    }
}

/// What the transaction remembers of a connect flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ConnectTransaction {
    pub(crate) auth_session: String,
}

#[derive(Deserialize)]
struct ConnectTicket {
    connect_uri: String,
    auth_session: String,
    connect_params: ConnectParams,
}

#[derive(Deserialize)]
struct ConnectParams {
    ticket: String,
}

impl MyAccount<'_> {
    /// The token options for the My Account API (audience `{issuer}me/`) with `scope`.
    ///
    /// ```
    /// # fn f(auth: tollgate::Tollgate) {
    /// let opts = auth.my_account().token_options(tollgate::SCOPE_READ_CONNECTED_ACCOUNTS);
    /// assert_eq!(opts.audience_value(), Some(format!("{}me/", auth.config().issuer()).as_str()));
    /// # }
    /// ```
    pub fn token_options(&self, scope: &str) -> AccessTokenOptions {
        AccessTokenOptions::new()
            .audience(MyApi::Account.audience(&self.auth.config().issuer))
            .scope(scope)
    }

    /// Calls `{issuer}me/v1{path}` with `token` for `stage`; returns the body of a 2xx answer,
    /// else the API's problem details.
    async fn my_account_call(
        &self,
        token: &AccessToken,
        (method, path, stage): (Method, &str, &'static str),
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ConnectAccountError> {
        let url = format!(
            "{}{path}",
            MyApi::Account.base_url(&self.auth.config().issuer)
        );
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .header(http::header::ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
            .map_err(|e| ConnectAccountError::InvalidRequest(e.to_string()))?;
        let resp = self.auth.fetch_with_token(token, request).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(ConnectAccountError::Api {
                stage,
                error: MyAccountApiError::from_response(status, resp.body()),
            });
        }
        Ok(resp.into_body())
    }

    /// Starts linking an account: gets a My Account token (`create:me:connected_accounts`,
    /// refreshed when needed — save the redirect's session), asks the My Account API for a
    /// ticket, and returns the redirect to the provider with the transaction cookie. The
    /// provider sends the user back to the callback route, which completes the link and shows
    /// the account to the `on_callback` hook ([`CallbackSuccess::connected_account`](crate::CallbackSuccess::connected_account)).
    ///
    /// # Errors
    /// [`ConnectAccountError`]: a bad option, no token (`MfaRequired` included), the API's refusal.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, session: tollgate::SessionData) -> Result<(), tollgate::ConnectAccountError> {
    /// let opts = tollgate::ConnectAccountOptions::new("google-oauth2").scope("openid").return_to("/settings");
    /// let redirect = auth.my_account().connect(&session, &opts).await?;
    /// // save `redirect.session` if it is Some, then answer with redirect.into_response()
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        &self,
        session: &SessionData,
        opts: &ConnectAccountOptions,
    ) -> Result<ConnectRedirect, ConnectAccountError> {
        opts.validate()?;
        let token = self
            .auth
            .access_token(
                session,
                &self.token_options(SCOPE_CREATE_CONNECTED_ACCOUNTS),
            )
            .await?;
        let mut redirect = self.connect_with_token(&token.token, opts).await?;
        redirect.session = token.session;
        Ok(redirect)
    }

    /// [`connect`](Self::connect) with a My Account token already in hand.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with_token(
        &self,
        token: &AccessToken,
        opts: &ConnectAccountOptions,
    ) -> Result<ConnectRedirect, ConnectAccountError> {
        opts.validate()?;
        let config = self.auth.config();
        let app_base = config.base_url_for(&opts.origin)?;
        let return_to = self
            .auth
            .safe_return_to(&app_base, opts.return_to.as_deref());
        let state = crate::random::token(32);
        let verifier = crate::random::token(48);
        let redirect_uri =
            crate::config::app_url_at(&app_base, &config.routes.callback).to_string();
        let mut body = json!({
            "connection": opts.connection,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": crate::oidc::authorize::pkce_challenge(&verifier),
            "code_challenge_method": "S256",
        });
        if !opts.scopes.is_empty() {
            body["scopes"] = json!(opts.scopes);
        }
        if let Some(params) = opts.authorization_params_json()? {
            body["authorization_params"] = params;
        }
        let answer = self
            .my_account_call(
                token,
                (Method::POST, "/connected-accounts/connect", "connect"),
                Some(&body),
            )
            .await?;
        let ticket: ConnectTicket = serde_json::from_slice(&answer).map_err(|e| {
            ConnectAccountError::InvalidResponse(format!("the connect answer: {e}"))
        })?;
        // The browser is sent there: only to the provider's own origin.
        let mut location = url::Url::parse(&ticket.connect_uri)
            .ok()
            .filter(|u| u.origin() == config.issuer.origin())
            .ok_or_else(|| {
                ConnectAccountError::InvalidResponse(
                    "connect_uri is not on the provider's origin".into(),
                )
            })?;
        location
            .query_pairs_mut()
            .append_pair("ticket", &ticket.connect_params.ticket);
        let txn = Transaction {
            state,
            nonce: String::new(),
            code_verifier: verifier,
            return_to,
            redirect_uri,
            scope: String::new(),
            audience: None,
            max_age: None,
            acr_values: None,
            popup: false,
            silent: false,
            connect: Some(ConnectTransaction {
                auth_session: ticket.auth_session,
            }),
            exp: config.now() + config.transaction.max_age.as_secs(),
        };
        Ok(ConnectRedirect {
            location: location.into(),
            cookies: SetCookies::from(vec![transaction::store(
                config,
                self.auth.transaction_keys(),
                &txn,
            )]),
            session: None,
        })
    }

    /// Completes a connect flow at the callback: a fresh My Account token and the `complete`
    /// call with the transaction's `auth_session`, `redirect_uri` and PKCE verifier.
    pub(crate) async fn complete(
        &self,
        token: &AccessToken,
        txn: &Transaction,
        connect: &ConnectTransaction,
        connect_code: Option<&str>,
    ) -> Result<ConnectedAccount, ConnectAccountError> {
        let code = connect_code
            .filter(|c| !c.is_empty() && c.len() <= 46)
            .ok_or(ConnectAccountError::MissingConnectCode)?;
        let body = json!({
            "auth_session": connect.auth_session,
            "connect_code": code,
            "redirect_uri": txn.redirect_uri,
            "code_verifier": txn.code_verifier,
        });
        let answer = self
            .my_account_call(
                token,
                (Method::POST, "/connected-accounts/complete", "complete"),
                Some(&body),
            )
            .await?;
        serde_json::from_slice(&answer)
            .map_err(|e| ConnectAccountError::InvalidResponse(format!("the complete answer: {e}")))
    }

    /// One page of the user's connected accounts (`next`: the cursor of a previous page), with a
    /// token from [`token_options`](Self::token_options)`(SCOPE_READ_CONNECTED_ACCOUNTS)`.
    ///
    /// # Errors
    /// [`ConnectAccountError`]: the API's refusal or no answer.
    pub async fn list_with_token(
        &self,
        token: &AccessToken,
        next: Option<&str>,
    ) -> Result<ConnectedAccountsPage, ConnectAccountError> {
        let mut path = "/connected-accounts/accounts".to_owned();
        if let Some(n) = next {
            path.push_str("?next=");
            path.extend(url::form_urlencoded::byte_serialize(n.as_bytes()));
        }
        let answer = self
            .my_account_call(token, (Method::GET, &path, "list"), None)
            .await?;
        serde_json::from_slice(&answer)
            .map_err(|e| ConnectAccountError::InvalidResponse(format!("the accounts list: {e}")))
    }

    /// Unlinks every account of the user at `connection` (the reference SDK's
    /// `disconnectAccount`): lists them all, then deletes each, with a token from
    /// [`token_options`](Self::token_options)`("read:me:connected_accounts
    /// delete:me:connected_accounts")`. Returns the accounts removed (none is not an error).
    /// Drop the session's cached tokens for the connection with
    /// [`forget_connection_tokens`](crate::Tollgate::forget_connection_tokens); `tollgate_axum::Auth` does both.
    ///
    /// # Errors
    /// [`ConnectAccountError`]: the API's refusal or no answer.
    pub async fn disconnect_connection_with_token(
        &self,
        token: &AccessToken,
        connection: &str,
    ) -> Result<Vec<ConnectedAccount>, ConnectAccountError> {
        let mut matching = Vec::new();
        let mut next: Option<String> = None;
        // The API pages by 20; a hundred pages is more accounts than any user has.
        for _ in 0..100 {
            let page = self.list_with_token(token, next.as_deref()).await?;
            matching.extend(
                page.accounts
                    .into_iter()
                    .filter(|a| a.connection == connection),
            );
            match page.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        for account in &matching {
            self.disconnect_with_token(token, &account.id).await?;
        }
        Ok(matching)
    }

    /// Unlinks the connected account `id`, with a token from
    /// [`token_options`](Self::token_options)`(SCOPE_DELETE_CONNECTED_ACCOUNTS)`. The session's cached
    /// connection tokens are not touched: drop them with the session if you keep any.
    ///
    /// # Errors
    /// [`ConnectAccountError`]: the API's refusal (404 for an unknown id) or no answer.
    pub async fn disconnect_with_token(
        &self,
        token: &AccessToken,
        id: &str,
    ) -> Result<(), ConnectAccountError> {
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConnectAccountError::InvalidRequest(
                "a connected account id is letters, digits, '_' and '-'".into(),
            ));
        }
        let path = format!("/connected-accounts/accounts/{id}");
        self.my_account_call(token, (Method::DELETE, &path, "delete"), None)
            .await?;
        Ok(())
    }
}

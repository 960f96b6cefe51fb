//! Starting a login.

use super::{AuthRequest, Tollgate};
use crate::config::app_url_at;
use crate::error::{Error, ProviderError};
use crate::oidc::authorize::{AuthorizeRequest, LoginOptions, pkce_challenge};
use crate::session::base_url::RequestOrigin;
use crate::session::cookies::SetCookies;
use crate::session::return_to::sanitize_return_to;
use crate::session::transaction::{self, Transaction};
use crate::web::response::{self, AuthResponse};

/// Where to send the browser to log in, and the transaction cookie to set on the way.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginRedirect {
    /// The provider's `/authorize` URL with every parameter.
    pub url: url::Url,
    /// The sealed login transaction's cookie.
    pub cookies: SetCookies,
}

impl LoginRedirect {
    /// As an HTTP answer: `302` to the provider with the cookie.
    pub fn into_response(self) -> AuthResponse {
        response::redirect(self.url.as_str(), &self.cookies)
    }
}

impl Tollgate {
    /// Prepares a login for the request from `origin`: a fresh state, nonce and PKCE verifier
    /// sealed in a transaction cookie, and the `/authorize` URL. `returnTo` is sanitised; an
    /// unsafe one is replaced by the default page. With an allow-list of base URLs the redirect
    /// URI and `returnTo` are on the request's origin, which must be allowed; with a static base
    /// URL the origin is ignored (pass `&RequestOrigin::default()`).
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, headers: tollgate::http::HeaderMap) -> Result<(), tollgate::Error> {
    /// let origin = tollgate::RequestOrigin::from_headers(&headers);
    /// let login = auth.start_login(&origin, tollgate::LoginOptions::new()).await?;
    /// println!("redirect to {}", login.url);
    /// # Ok(()) }
    /// ```
    pub async fn start_login(
        &self,
        origin: &RequestOrigin,
        opts: LoginOptions,
    ) -> Result<LoginRedirect, Error> {
        self.login_at(origin, opts).await
    }

    async fn login_at(
        &self,
        origin: &RequestOrigin,
        opts: LoginOptions,
    ) -> Result<LoginRedirect, Error> {
        let config = self.config();
        let app_base = config.base_url_for(origin)?;
        let meta = self.inner.provider.metadata().await?;
        let return_to = self.safe_return_to(&app_base, opts.return_to.as_deref());
        let state = crate::random::token(32);
        let nonce = crate::random::token(32);
        let verifier = crate::random::token(48);
        let mut scope = opts.get("scope").unwrap_or(&config.scope).to_owned();
        if !scope.split_whitespace().any(|s| s == "openid") {
            scope = format!("openid {scope}");
        }
        let audience = opts
            .get("audience")
            .map(str::to_owned)
            .or_else(|| config.audience.clone());
        let max_age = opts.get("max_age").and_then(|m| m.parse::<u64>().ok());
        let redirect_uri = app_url_at(&app_base, &config.routes.callback).to_string();
        let challenge = pkce_challenge(&verifier);
        let mut extra: Vec<(&str, &str)> = config
            .authorization_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(a) = audience.as_deref() {
            extra.push(("audience", a));
        }
        extra.extend(opts.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        // DPoP: bind the authorization code to the key (RFC 9449 §10). A protected parameter,
        // so it is added after the pass-through ones are filtered.
        let dpop_jkt = config.dpop_key().map(|k| k.thumbprint());
        let request = AuthorizeRequest {
            endpoint: &meta.authorization_endpoint,
            client_id: &config.client_id,
            redirect_uri: &redirect_uri,
            scope: &scope,
            state: &state,
            nonce: &nonce,
            code_challenge: &challenge,
            dpop_jkt,
            extra,
        };
        let url = if config.pushed_authorization_requests {
            let request_uri = self.push_authorization_request(&meta, &request).await?;
            request.pushed_url(&request_uri)
        } else {
            request.url()
        }
        .map_err(|e| ProviderError::InvalidResponse {
            endpoint: "discovery document",
            reason: format!("authorization_endpoint is not a URL ({e})"),
        })?;
        let txn = Transaction {
            acr_values: opts.get("acr_values").map(str::to_owned),
            popup: opts.popup,
            silent: opts
                .get("prompt")
                .is_some_and(|p| p.split(' ').any(|v| v == "none")),
            connect: None,
            state,
            nonce,
            code_verifier: verifier,
            return_to,
            redirect_uri,
            scope,
            audience,
            max_age,
            exp: self.config().now() + config.transaction.max_age.as_secs(),
        };
        let mut cookies = SetCookies::new();
        cookies.push(transaction::store(
            config,
            &self.inner.transaction_keys,
            &txn,
        ));
        Ok(LoginRedirect { url, cookies })
    }

    /// Where to return after a login or a connect flow on `app_base`: `requested` when it is a
    /// safe same-origin path, else the default page.
    pub(crate) fn safe_return_to(&self, app_base: &url::Url, requested: Option<&str>) -> String {
        let config = self.config();
        let base = app_url_at(app_base, "/");
        requested
            .and_then(|r| {
                let safe = sanitize_return_to(r, &base);
                if safe.is_none() {
                    tracing::info!("refused an unsafe returnTo; using the default page");
                }
                safe
            })
            .or_else(|| {
                sanitize_return_to(
                    app_url_at(app_base, &config.default_return_to).as_ref(),
                    &base,
                )
            })
            .unwrap_or_else(|| format!("{}/", app_base.path().trim_end_matches('/')))
    }

    /// The login route. Query: `returnTo`, `challengeMode` and the authorization parameters the
    /// app allows ([`Config::login_query_params`](crate::Config::login_query_params); by default
    /// [`DEFAULT_LOGIN_QUERY_PARAMS`](crate::DEFAULT_LOGIN_QUERY_PARAMS), which has neither
    /// `audience` nor `scope`). Any other parameter, and the protected ones such as `state` or
    /// `redirect_uri`, answer 400 naming it; an unreachable provider answers 502; with an
    /// allow-list of base URLs, a host it does not name answers 400, with no redirect.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, headers: tollgate::http::HeaderMap, uri: tollgate::http::Uri) {
    /// let resp = auth.handle_login(&tollgate::AuthRequest::from_parts(&headers, &uri)).await;
    /// # }
    /// ```
    pub async fn handle_login(&self, req: &AuthRequest) -> AuthResponse {
        let result = match LoginOptions::from_query(req.query(), &self.config().login_query_params)
        {
            Ok(opts) => self.login_at(req.origin(), opts).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => r.into_response(),
            Err(e) => error_page(&e),
        }
    }
}

/// The HTML page for an error met in a browser flow.
pub(crate) fn error_page(e: &Error) -> AuthResponse {
    response::html_page(
        e.status(),
        "Sign-in problem",
        &e.to_string(),
        None,
        &SetCookies::new(),
    )
}

#[derive(serde::Deserialize)]
struct PushedRequest {
    request_uri: String,
}

impl Tollgate {
    /// Pushes the authorization parameters to the provider (RFC 9126) and returns the
    /// `request_uri` that stands for them.
    async fn push_authorization_request(
        &self,
        meta: &crate::ProviderMetadata,
        request: &AuthorizeRequest<'_>,
    ) -> Result<String, Error> {
        let endpoint = meta
            .pushed_authorization_request_endpoint
            .as_deref()
            .ok_or(ProviderError::MissingEndpoint(
                "pushed_authorization_request_endpoint",
            ))?;
        let config = self.config();
        let pushed: PushedRequest = self
            .inner
            .provider
            .http
            .post_form(
                "pushed authorization request endpoint",
                endpoint,
                &config.client_id,
                &config.client_auth,
                &request.pairs(),
            )
            .await
            .map_err(|e| {
                e.map_or_else(
                    |p| p,
                    |a| {
                        crate::oidc::provider::token::oauth_error(
                            "pushed authorization request endpoint",
                            a,
                        )
                    },
                )
            })?;
        if pushed.request_uri.is_empty() {
            return Err(ProviderError::InvalidResponse {
                endpoint: "pushed authorization request endpoint",
                reason: "request_uri is empty".into(),
            }
            .into());
        }
        Ok(pushed.request_uri)
    }
}

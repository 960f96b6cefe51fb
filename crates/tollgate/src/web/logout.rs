//! Signing out: local session, refresh token, and the provider's session.

use url::Url;

use super::{AuthRequest, Tollgate};
use crate::config::LogoutStrategy;
use crate::config::app_url_at;
use crate::session::cookies::SetCookies;
use crate::session::return_to::sanitize_return_to;
use crate::session::transaction;
use crate::web::response::{self, AuthResponse};

impl Tollgate {
    /// The logout route. Query: `returnTo` (same origin only; default the base URL), `federated`
    /// (presence), `state` (echoed by OIDC logout). The session and every transaction cookie are
    /// deleted and the refresh token revoked *whatever the provider does*; then the browser goes
    /// to the provider's logout endpoint (or straight to `returnTo` when the provider is
    /// unreachable). With an allow-list of base URLs, `returnTo` and its default are on the
    /// request's base URL, and a host the allow-list does not name answers 400 with nothing done.
    ///
    /// The method ([`AuthRequest::with_method`]) decides first: a `POST` is the documented way and
    /// must come from the application's own page (a cross-site `Origin` or `Sec-Fetch-Site:
    /// cross-site` answers 403, nothing signed out); a `GET` signs out unless
    /// [`logout_via_get(false)`](crate::ConfigBuilder::logout_via_get), which makes it 405 with
    /// `Allow: POST`; any other method is 405.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, headers: tollgate::http::HeaderMap, uri: tollgate::http::Uri) {
    /// let req = tollgate::AuthRequest::from_parts(&headers, &uri).with_method(tollgate::http::Method::POST);
    /// let resp = auth.handle_logout(&req).await;
    /// # }
    /// ```
    pub async fn handle_logout(&self, req: &AuthRequest) -> AuthResponse {
        let (query, jar) = (req.query(), req.cookies());
        let config = self.config();
        if let Some(refused) = refuse_logout(config, req) {
            return refused;
        }
        let app_base = match config.base_url_for(req.origin()) {
            Ok(b) => b,
            Err(e) => {
                let e = crate::Error::from(e);
                return response::html_page(
                    e.status(),
                    "Sign-out problem",
                    &e.to_string(),
                    None,
                    &SetCookies::new(),
                );
            }
        };
        let mut return_to = None;
        let mut federated = false;
        let mut state = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "returnTo" if return_to.is_none() => return_to = Some(v.into_owned()),
                "federated" => federated = true,
                "state" if state.is_none() => state = Some(v.into_owned()),
                _ => {}
            }
        }
        let base = app_url_at(&app_base, "/");
        let return_url: Url = return_to
            .as_deref()
            .and_then(|r| sanitize_return_to(r, &base))
            .and_then(|p| base.join(&p).ok())
            .unwrap_or(app_base);

        let session = self.session(jar).await.ok().flatten();
        let mut cookies = self.end_session(jar).await;
        cookies.append(transaction::clear_all(config, jar).into());

        if let Some(rt) = session
            .as_ref()
            .and_then(|s| s.token_set.refresh_token.as_deref())
        {
            self.inner
                .provider
                .revoke_refresh_token(&config.client_id, &config.client_auth, rt)
                .await;
        }

        let meta = match self.inner.provider.metadata().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "provider unreachable at logout; the local session is ended");
                return response::redirect(return_url.as_str(), &cookies);
            }
        };
        let use_oidc = match config.logout_strategy {
            LogoutStrategy::V2 => false,
            LogoutStrategy::Oidc | LogoutStrategy::Auto if meta.end_session_endpoint.is_some() => {
                true
            }
            LogoutStrategy::Auto => false,
            LogoutStrategy::Oidc => {
                return response::html_page(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "Sign-out problem",
                    "You are signed out of this application, but the provider does not support OpenID Connect logout (no end_session_endpoint): set the logout strategy to auto or v2.",
                    Some((return_url.as_str(), "Continue")),
                    &cookies,
                );
            }
        };
        let target = if use_oidc {
            let Ok(mut url) = Url::parse(meta.end_session_endpoint.as_deref().unwrap_or_default())
            else {
                return response::redirect(return_url.as_str(), &cookies);
            };
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("client_id", &config.client_id)
                    .append_pair("post_logout_redirect_uri", return_url.as_str());
                if let Some(s) = &state {
                    q.append_pair("state", s);
                }
                if let Some(s) = session.as_ref() {
                    if !s.internal.sid.is_empty() {
                        q.append_pair("logout_hint", &s.internal.sid);
                    }
                    if let Some(t) = s
                        .token_set
                        .id_token
                        .as_ref()
                        .filter(|_| config.id_token_hint_on_logout)
                    {
                        q.append_pair("id_token_hint", t);
                    }
                }
                if federated {
                    q.append_pair("federated", "");
                }
            }
            url
        } else {
            let Ok(mut url) = Url::parse(&meta.issuer).and_then(|i| i.join("v2/logout")) else {
                return response::redirect(return_url.as_str(), &cookies);
            };
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("client_id", &config.client_id)
                    .append_pair("returnTo", return_url.as_str());
                if federated {
                    q.append_pair("federated", "");
                }
            }
            url
        };
        response::redirect(target.as_str(), &cookies)
    }
}

/// The method and origin rules of the logout route: `Some(answer)` when nothing may be done.
fn refuse_logout(config: &crate::Config, req: &AuthRequest) -> Option<AuthResponse> {
    let not_allowed = |allow: &'static str| {
        let mut resp = response::html_page(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "Sign-out problem",
            "Sign out with a POST from this application's page.",
            None,
            &SetCookies::new(),
        );
        resp.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
        resp
    };
    match *req.method() {
        http::Method::GET | http::Method::HEAD if config.logout_via_get => None,
        http::Method::GET | http::Method::HEAD => Some(not_allowed("POST")),
        http::Method::POST => {
            let e =
                crate::web::same_origin::check(config, req.origin(), req.site_headers()).err()?;
            tracing::warn!(error = %e, "refused a cross-site logout");
            Some(response::html_page(
                http::StatusCode::FORBIDDEN,
                "Sign-out problem",
                "This sign-out request came from another site; you are still signed in.",
                None,
                &SetCookies::new(),
            ))
        }
        _ if config.logout_via_get => Some(not_allowed("GET, POST")),
        _ => Some(not_allowed("POST")),
    }
}

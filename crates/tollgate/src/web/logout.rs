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
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, headers: tollgate::http::HeaderMap, uri: tollgate::http::Uri) {
    /// let resp = auth.handle_logout(&tollgate::AuthRequest::from_parts(&headers, &uri)).await;
    /// # }
    /// ```
    pub async fn handle_logout(&self, req: &AuthRequest) -> AuthResponse {
        let (query, jar) = (req.query(), req.cookies());
        let config = self.config();
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

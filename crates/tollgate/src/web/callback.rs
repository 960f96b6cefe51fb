//! Finishing a login at the callback route.

use serde_json::{Map, Value};

use super::{AuthRequest, Tollgate};
use crate::error::{CallbackError, Error, IdTokenError, ProviderError};
use crate::oidc::id_token::{self, Expectations, VerifyError};
use crate::session::cookies::{CookieJar, SetCookies};
use crate::session::transaction;
use crate::session::{Authentication, Internal, SessionData, TokenSet, User};
use crate::web::response::{self, AuthResponse};

/// Profile claims kept in the session by default (nextjs-auth0's `DEFAULT_ID_TOKEN_CLAIMS`).
pub const DEFAULT_USER_CLAIMS: &[&str] = &[
    "sub",
    "name",
    "nickname",
    "given_name",
    "family_name",
    "picture",
    "email",
    "email_verified",
    "org_id",
];

/// A completed login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallbackSuccess {
    /// The new session (already sealed into the outcome's `cookies`).
    pub session: SessionData,
    /// The sanitised path to return to.
    pub return_to: String,
    /// All claims of the validated ID token (empty after a connect flow, which has none).
    pub id_token_claims: Map<String, Value>,
    /// After a Connected Accounts flow (`connect_code` callback): the account that was linked.
    /// The session is the user's existing one, unchanged but for a refreshed token.
    pub connected_account: Option<crate::my_account::ConnectedAccount>,
}

/// The result of the callback route, plus the cookies to set whatever happened (the transaction
/// cookie is always deleted: it is single use).
#[derive(Debug)]
#[non_exhaustive]
pub struct CallbackOutcome {
    /// The session, or why there is none.
    pub result: Result<CallbackSuccess, Error>,
    /// The session on success, and the deletion of the transaction cookie.
    pub cookies: SetCookies,
    /// What kind of login this callback finishes, which decides the answer.
    pub mode: CallbackMode,
}

/// What kind of login a callback finishes; [`CallbackOutcome::into_response`] answers each its
/// own way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackMode {
    /// An ordinary login: `302` to `returnTo`, or the error page with "Sign in again".
    Redirect,
    /// A step-up login (`acr_values` was asked for): on failure a "Verification needed" page
    /// whose link tries it again.
    StepUp {
        /// The login URL that repeats the step-up (same `returnTo`, `acr_values`, `max_age`).
        retry_url: String,
    },
    /// The login ran in a popup: a page posts the result to the opener and closes itself.
    Popup {
        /// The application's origin, the only one the result is posted to.
        origin: String,
    },
    /// A silent login (`prompt=none`) found that the provider needs the user
    /// (`login_required`, `consent_required`, `interaction_required`,
    /// `account_selection_required`): back to `returnTo`, signed out, with no error page.
    Silent {
        /// The sanitised path to return to.
        return_to: String,
    },
    /// A Connected Accounts flow (`connect_code`): the session is the user's existing one.
    Connect,
}

/// The errors with which a provider answers `prompt=none` when it needs the user.
const INTERACTION_NEEDED: [&str; 4] = [
    "login_required",
    "consent_required",
    "interaction_required",
    "account_selection_required",
];

impl CallbackOutcome {
    /// The default answer: `302` to `returnTo` on success; on failure a 400/502 HTML page that says
    /// what happened, with a link to start again. A silent login that needs the user also goes
    /// back to `returnTo`, signed out, with no error page.
    pub fn into_response(self, login_path: &str) -> AuthResponse {
        match (self.mode, self.result) {
            (CallbackMode::Popup { origin }, result) => popup_page(&origin, &result, &self.cookies),
            (CallbackMode::Silent { return_to }, _) => {
                response::redirect(&return_to, &self.cookies)
            }
            (_, Ok(ok)) => response::redirect(&ok.return_to, &self.cookies),
            (CallbackMode::StepUp { retry_url }, Err(e)) => response::html_page(
                http::StatusCode::FORBIDDEN,
                "Verification needed",
                &format!(
                    "This page needs an extra verification step, and it was not completed. Nothing was unlocked. ({e})"
                ),
                Some((&retry_url, "Try again")),
                &self.cookies,
            ),
            (_, Err(e)) => {
                // Signing in again cannot help when the application itself is misconfigured.
                let retry = !matches!(
                    e,
                    Error::Config(_) | Error::Callback(CallbackError::ClientRejected { .. })
                );
                response::html_page(
                    e.status(),
                    "Sign-in failed",
                    &e.to_string(),
                    retry.then_some((login_path, "Sign in again")),
                    &self.cookies,
                )
            }
        }
    }
}

/// The page a popup login ends on: it posts `{type: "auth_complete", success, user | error}` to the
/// opener — only to the application's own origin — and closes itself.
fn popup_page(
    origin: &str,
    result: &Result<CallbackSuccess, Error>,
    cookies: &SetCookies,
) -> AuthResponse {
    let message = match result {
        Ok(ok) => {
            serde_json::json!({"type": "auth_complete", "success": true, "user": ok.session.user})
        }
        Err(e) => serde_json::json!({
            "type": "auth_complete",
            "success": false,
            "error": {"code": e.code(), "message": e.to_string()},
        }),
    };
    // JSON inside a <script>: escape '<' so no "</script>" can end it early.
    let message = message.to_string().replace('<', "\\u003c");
    let origin_js = serde_json::Value::String(origin.to_owned())
        .to_string()
        .replace('<', "\\u003c");
    let script = format!(
        "(function(){{var m={message};if(window.opener){{window.opener.postMessage(m,{origin_js});}}window.close();}})();"
    );
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signing in</title></head>\n<body><main><p>You can close this window.</p></main>\n<script>{script}</script></body></html>\n"
    );
    // Only this page's own inline script may run: its hash is the policy.
    let hash = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()))
    };
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let mut resp = http::Response::new(body);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    if let Ok(csp) = http::HeaderValue::from_str(&csp) {
        response::page_security_headers(resp.headers_mut(), csp);
    }
    cookies.apply(resp.headers_mut());
    resp
}

#[derive(Default)]
struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
    connect_code: Option<String>,
}

fn parse_params(query: &str) -> CallbackParams {
    let mut p = CallbackParams::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "state" => &mut p.state,
            "code" => &mut p.code,
            "error" => &mut p.error,
            "error_description" => &mut p.error_description,
            "iss" => &mut p.iss,
            "connect_code" => &mut p.connect_code,
            _ => continue,
        };
        // A repeated parameter is ambiguous: keep the first, as most servers do.
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    p
}

impl Tollgate {
    /// Handles the provider's redirect back: checks the transaction, exchanges the code, validates
    /// the ID token, and builds the session. Nothing is stored when any step fails. With an
    /// allow-list of base URLs, the request's host must be allowed and be the one the login
    /// started at ([`CallbackError::BaseUrlMismatch`] otherwise); the code is exchanged with that
    /// login's exact `redirect_uri`.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, headers: tollgate::http::HeaderMap, uri: tollgate::http::Uri) {
    /// let outcome = auth.handle_callback(&tollgate::AuthRequest::from_parts(&headers, &uri)).await;
    /// let resp = auth.callback_response(outcome);
    /// # }
    /// ```
    pub async fn handle_callback(&self, req: &AuthRequest) -> CallbackOutcome {
        let (query, jar) = (req.query(), req.cookies());
        let app_base = match self.config().base_url_for(req.origin()) {
            Ok(b) => b,
            Err(e) => return CallbackOutcome::refused(e.into()),
        };
        let p = parse_params(query);
        let mut cookies = SetCookies::new();
        if let Some(clear) = p
            .state
            .as_deref()
            .and_then(|s| transaction::clear(self.config(), s))
        {
            cookies.push(clear);
        }
        let txn = p.state.as_deref().and_then(|s| {
            transaction::load(
                self.config(),
                &self.inner.transaction_keys,
                jar,
                s,
                self.config().now(),
            )
        });
        let mismatch = super::base_url::callback_mismatch(self.config(), &app_base, txn.as_ref());
        let txn = txn.filter(|_| mismatch.is_none());
        // Which kind of login this is; a popup wins over the others.
        let mode = match txn.as_ref() {
            Some(t) if t.popup => CallbackMode::Popup {
                origin: app_base.origin().ascii_serialization(),
            },
            Some(t)
                if t.silent
                    && p.error
                        .as_deref()
                        .is_some_and(|e| INTERACTION_NEEDED.contains(&e)) =>
            {
                CallbackMode::Silent {
                    return_to: t.return_to.clone(),
                }
            }
            Some(t) if t.acr_values.is_some() => CallbackMode::StepUp {
                retry_url: self.retry_url(t),
            },
            _ => CallbackMode::Redirect,
        };
        if let Some(t) = txn.as_ref().filter(|t| t.connect.is_some()) {
            let (result, mut lines) = self.finish_connect(&p, t, jar).await;
            if let Err(e) = &result {
                tracing::info!(error = %e, "connect account callback failed");
            }
            lines.append(cookies);
            return CallbackOutcome {
                result,
                cookies: lines,
                mode: CallbackMode::Connect,
            };
        }
        let mut result = match mismatch {
            Some(e) => Err(e),
            None => self.finish_login(&p, txn).await,
        };
        // The refresh token of the session this login replaces (a step-up, or a new login over an
        // old session): once the new session is stored it is dropped, so it is revoked.
        let mut replaced_refresh_token = None;
        if let Ok(ok) = &mut result
            && let Ok(Some(previous)) = self.load_session(jar).await
        {
            replaced_refresh_token = previous
                .data
                .token_set
                .refresh_token
                .clone()
                .filter(|old| ok.session.token_set.refresh_token.as_ref() != Some(old));
            // A new login of the same user (a step-up) keeps the tokens the session already had
            // for other APIs.
            if previous.data.user.sub() == ok.session.user.sub() {
                let new_audience = ok.session.token_set.audience.clone();
                ok.session.access_tokens.extend(
                    previous
                        .data
                        .access_tokens
                        .into_iter()
                        .filter(|e| Some(&e.audience) != new_audience.as_ref()),
                );
            }
        }
        if let Ok(ok) = &result {
            match self.create_session(jar, &ok.session).await {
                Ok(mut lines) => {
                    lines.append(cookies);
                    cookies = lines;
                    if let Some(old) = replaced_refresh_token {
                        let config = self.config();
                        self.inner
                            .provider
                            .revoke_refresh_token(&config.client_id, &config.client_auth, &old)
                            .await;
                    }
                }
                Err(e) => result = Err(e),
            }
        }
        if let Err(e) = &result {
            tracing::info!(error = %e, "login callback failed");
        }
        CallbackOutcome {
            result,
            cookies,
            mode,
        }
    }

    /// The callback route's answer: the `on_callback` hook's, or the default one; with the session
    /// and transaction cookies either way.
    pub fn callback_response(&self, outcome: CallbackOutcome) -> AuthResponse {
        let login = self.config().routes.login.clone();
        let custom = self
            .hooks()
            .on_callback
            .as_ref()
            .and_then(|hook| hook(outcome.result.as_ref()));
        match custom {
            Some(mut resp) => {
                outcome.cookies.apply(resp.headers_mut());
                resp
            }
            None => outcome.into_response(&login),
        }
    }

    /// The login URL that repeats a step-up transaction.
    fn retry_url(&self, t: &transaction::Transaction) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("returnTo", &t.return_to);
        if let Some(a) = &t.acr_values {
            q.append_pair("acr_values", a);
        }
        if let Some(m) = t.max_age {
            q.append_pair("max_age", &m.to_string());
        }
        format!("{}?{}", self.config().routes.login, q.finish())
    }

    /// The callback of a Connected Accounts flow: the user's session (still the same user), a
    /// My Account token, and the `complete` call. Returns the `Set-Cookie` lines of a session
    /// that a token refresh changed.
    async fn finish_connect(
        &self,
        p: &CallbackParams,
        txn: &transaction::Transaction,
        jar: &CookieJar,
    ) -> (Result<CallbackSuccess, Error>, SetCookies) {
        let Some(connect) = txn.connect.as_ref() else {
            return (
                Err(CallbackError::MissingTransaction.into()),
                SetCookies::new(),
            );
        };
        if let Some(error) = &p.error {
            let e = CallbackError::Authorization {
                error: error.clone(),
                description: p.error_description.clone(),
            };
            return (Err(e.into()), SetCookies::new());
        }
        let loaded = match self.load_session(jar).await {
            Ok(Some(l)) => l,
            Ok(None) => {
                let e = crate::my_account::ConnectAccountError::AccessToken(
                    crate::AccessTokenError::MissingSession,
                );
                return (Err(e.into()), SetCookies::new());
            }
            Err(e) => return (Err(e), SetCookies::new()),
        };
        let opts = self
            .my_account()
            .token_options(crate::my_account::SCOPE_CREATE_CONNECTED_ACCOUNTS);
        let crate::TokenFetch { token, saved, .. } =
            match self.access_token_for(jar, &loaded, &opts).await {
                Ok(t) => t,
                Err(e) => {
                    return (
                        Err(crate::my_account::ConnectAccountError::from(e).into()),
                        SetCookies::new(),
                    );
                }
            };
        let (session, lines) = match saved {
            Some(saved) => (saved.session.data, saved.cookies),
            None => (loaded.data, SetCookies::new()),
        };
        let result = self
            .my_account()
            .complete(&token, txn, connect, p.connect_code.as_deref())
            .await
            .map(|account| CallbackSuccess {
                session,
                return_to: txn.return_to.clone(),
                id_token_claims: Map::new(),
                connected_account: Some(account),
            })
            .map_err(Error::from);
        (result, lines)
    }

    async fn finish_login(
        &self,
        p: &CallbackParams,
        txn: Option<transaction::Transaction>,
    ) -> Result<CallbackSuccess, Error> {
        let config = self.config();
        let now = self.config().now();
        if p.state.is_none() {
            if let Some(error) = &p.error {
                return Err(CallbackError::Authorization {
                    error: error.clone(),
                    description: p.error_description.clone(),
                }
                .into());
            }
            return Err(CallbackError::MissingState.into());
        }
        let txn = txn.ok_or(CallbackError::MissingTransaction)?;
        let meta = self.inner.provider.metadata().await?;
        match &p.iss {
            Some(iss) if iss != &meta.issuer => return Err(CallbackError::IssuerMismatch.into()),
            // RFC 9207 §2.4: a provider that announces the parameter always sends it.
            None if meta.authorization_response_iss_parameter_supported => {
                return Err(CallbackError::MissingIssuer.into());
            }
            _ => {}
        }
        if let Some(error) = &p.error {
            return Err(CallbackError::Authorization {
                error: error.clone(),
                description: p.error_description.clone(),
            }
            .into());
        }
        let code = p
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(CallbackError::MissingCode)?;
        let tokens = self
            .inner
            .provider
            .exchange_code(
                &config.client_id,
                &config.client_auth,
                code,
                &txn.redirect_uri,
                &txn.code_verifier,
            )
            .await
            .map_err(|e| match e {
                ProviderError::OAuth { error, .. }
                    if error == "invalid_client" || error == "unauthorized_client" =>
                {
                    let e = CallbackError::ClientRejected { error };
                    tracing::warn!(error = %e, "the provider refused the application's credentials");
                    e
                }
                other => CallbackError::TokenExchange(other),
            })?;
        let raw_id_token =
            tokens
                .id_token
                .as_deref()
                .ok_or(CallbackError::IdToken(IdTokenError::Malformed(
                    "the token response has no id_token",
                )))?;
        let client_secret = config.client_secret();
        let claims = id_token::validate(
            &self.inner.provider,
            raw_id_token,
            &Expectations {
                issuer: &meta.issuer,
                client_id: &config.client_id,
                nonce: Some(&txn.nonce),
                max_age: txn.max_age,
                now,
                tolerance: config.clock_tolerance.as_secs(),
                algorithms: &config.id_token_algorithms.allowed(&meta),
                client_secret,
            },
        )
        .await
        .map_err(|e| match e {
            VerifyError::Token(t) => Error::Callback(CallbackError::IdToken(t)),
            VerifyError::Provider(p) => Error::Provider(p),
        })?;
        check_step_up(&claims, txn.acr_values.as_deref())?;
        let session = build_session(&claims, tokens, &txn, now);
        let session = self.run_before_saved(session, Some(claims.clone())).await;
        Ok(CallbackSuccess {
            session,
            return_to: txn.return_to,
            id_token_claims: claims,
            connected_account: None,
        })
    }
}

/// When `acr_values` were requested, the signed ID token must show one of them was satisfied: its
/// `acr` is one of them, or the multi-factor policy was requested and `amr` contains `mfa`.
fn check_step_up(
    claims: &Map<String, Value>,
    requested: Option<&str>,
) -> Result<(), CallbackError> {
    let Some(requested) = requested.filter(|r| !r.trim().is_empty()) else {
        return Ok(());
    };
    let acr = claims.get("acr").and_then(Value::as_str);
    let amr: Vec<String> = match claims.get("amr") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let wanted: Vec<&str> = requested.split_whitespace().collect();
    let acr_ok = acr.is_some_and(|a| wanted.contains(&a));
    let mfa_ok =
        wanted.contains(&crate::session::ACR_MULTI_FACTOR) && amr.iter().any(|m| m == "mfa");
    if acr_ok || mfa_ok {
        Ok(())
    } else {
        Err(CallbackError::StepUpNotSatisfied {
            requested: requested.to_owned(),
            acr: acr.map(str::to_owned),
            amr,
        })
    }
}

fn build_session(
    claims: &Map<String, Value>,
    tokens: crate::oidc::provider::token::TokenResponse,
    txn: &transaction::Transaction,
    now: u64,
) -> SessionData {
    let user: Map<String, Value> = claims
        .iter()
        .filter(|(k, _)| DEFAULT_USER_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let amr = match claims.get("amr") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let authentication = Authentication {
        amr,
        acr: claims.get("acr").and_then(Value::as_str).map(str::to_owned),
        auth_time: id_token::numeric_date(claims, "auth_time").ok().flatten(),
    };
    let sid = claims
        .get("sid")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| crate::random::token(24));
    SessionData {
        user: User(user),
        token_set: TokenSet {
            access_token: tokens.access_token,
            id_token: tokens.id_token,
            scope: tokens.scope.or_else(|| Some(txn.scope.clone())),
            requested_scope: Some(txn.scope.clone()),
            refresh_token: tokens.refresh_token,
            expires_at: now.saturating_add(tokens.expires_in.unwrap_or(0)),
            audience: txn.audience.clone(),
            token_type: Some(tokens.token_type),
        },
        access_tokens: Vec::new(),
        internal: Internal {
            sid,
            created_at: now,
            other: Map::new(),
        },
        authentication: Some(authentication),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ACR_MULTI_FACTOR;

    fn claims(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn step_up_is_checked_from_acr_or_amr() {
        let ok = |c: serde_json::Value, req: &str| check_step_up(&claims(c), Some(req)).is_ok();
        assert!(ok(
            serde_json::json!({"amr": ["pwd", "mfa"]}),
            ACR_MULTI_FACTOR
        ));
        assert!(ok(
            serde_json::json!({"acr": ACR_MULTI_FACTOR}),
            ACR_MULTI_FACTOR
        ));
        assert!(ok(serde_json::json!({"acr": "urn:b"}), "urn:a urn:b"));
        assert!(!ok(
            serde_json::json!({"amr": ["pwd"], "acr": "urn:weak"}),
            ACR_MULTI_FACTOR
        ));
        assert!(!ok(serde_json::json!({}), ACR_MULTI_FACTOR));
        assert!(
            !ok(serde_json::json!({"amr": "mfa"}), ACR_MULTI_FACTOR),
            "amr must be an array"
        );
        assert!(
            !ok(serde_json::json!({"amr": ["mfa"]}), "urn:a"),
            "mfa satisfies only the MFA policy"
        );
        assert!(
            check_step_up(&claims(serde_json::json!({})), None).is_ok(),
            "nothing asked, nothing checked"
        );
    }
}

//! `GET|POST /u/login`: the Universal-Login-like password page of a login transaction.

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::authorize::redirect_with_code;
use crate::events::NewEvent;
use crate::http::binding::{self, Purpose};
use crate::http::cookies;
use crate::http::pages;
use crate::http::params::Params;
use crate::mfa::login::MfaPassed;
use crate::state::TenantState;
use crate::store::{AuthorizeRequest, LoginTransaction};
use crate::{UserConfig, mfa};
use protection::Refusal;

pub(crate) mod protection;

/// The alert shown after a failed attempt, in Auth0's words.
const WRONG_CREDENTIALS: &str = "Wrong email or password.";
/// The alert once brute-force protection blocked the user from this address, in Auth0's words.
pub(crate) const ACCOUNT_BLOCKED: &str = "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.";
/// The alert once suspicious IP throttling stopped the address, in Auth0's words.
pub(crate) const SUSPICIOUS_IP: &str = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.";

/// Shows the login page.
pub(super) async fn show(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let Some(id) = params.get("state") else {
        return expired();
    };
    let Some(transaction) = state.store().transaction(id).cloned() else {
        return expired();
    };
    let email = transaction.request.login_hint.unwrap_or_default();
    pages::login_page(StatusCode::OK, id, &email, None)
}

/// Checks the email and password; on success starts (or refreshes) the SSO session. Refused
/// without the transaction's browser cookie, and (see [`protection`]) for a user blocked from
/// this address or an address that failed too often.
pub(super) async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = Params::from_query(query.as_deref());
    let form = Params::from_body(&headers, &body).unwrap_or_default();
    let Some(id) = form.owned("state").or_else(|| query.owned("state")) else {
        return expired();
    };
    let Some(client_id) = state
        .store()
        .transaction(&id)
        .map(|t| t.request.client_id.clone())
    else {
        return expired();
    };
    if let Err(refused) = binding::require(&headers, Purpose::Login, &id) {
        return refused;
    }
    let ip = peer.map_or_else(
        || "unknown".to_owned(),
        |Extension(ConnectInfo(a))| a.ip().to_string(),
    );
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let known = state.config.user_by_email(username);
    let now = state.moment();
    let admitted = state.store().attack.admit(username, &ip, now);
    if let Err(refusal) = admitted {
        return refuse(&state, refusal, &id, &client_id, username, known, &ip);
    }
    let Some(user) = known.filter(|user| user.password_matches(password)) else {
        tracing::info!(username, "wrong email or password");
        let blocked = state
            .store()
            .attack
            .failed(known.map(UserConfig::email), &ip, now);
        let mut event = NewEvent::new("f", WRONG_CREDENTIALS)
            .client(Some(&client_id))
            .user_name(username);
        event = match known {
            Some(known) => event.user(known).detail("reason", "wrong_password"),
            None => event.detail("reason", "unknown_user"),
        };
        state.events.record(event);
        if blocked {
            tracing::warn!(username, %ip, "brute-force protection blocked the user from this address");
        }
        return pages::login_page(
            StatusCode::BAD_REQUEST,
            &id,
            username,
            Some(WRONG_CREDENTIALS),
        );
    };
    state.store().attack.succeeded(user.email(), &ip);
    let Some(transaction) = state.store().transaction(&id).cloned() else {
        return expired();
    };
    after_password(&state, &headers, &id, transaction, user)
}

/// The answer to an attempt that attack protection refused: Auth0's message on the login page
/// (429) and a `limit_wc` or `limit_mu` event. Nothing is counted.
fn refuse(
    state: &TenantState,
    refusal: Refusal,
    id: &str,
    client_id: &str,
    username: &str,
    known: Option<&UserConfig>,
    ip: &str,
) -> Response {
    let (kind, description, alert) = match refusal {
        Refusal::Blocked => ("limit_wc", "Blocked Account", ACCOUNT_BLOCKED),
        Refusal::Throttled => ("limit_mu", "Blocked IP Address", SUSPICIOUS_IP),
    };
    tracing::info!(username, ip, kind, "login refused by attack protection");
    let mut event = NewEvent::new(kind, description)
        .client(Some(client_id))
        .user_name(username)
        .detail("ip", ip)
        .detail("error", "too_many_attempts");
    if let Some(user) = known {
        event = event.user(user);
    }
    state.events.record(event);
    pages::login_page(StatusCode::TOO_MANY_REQUESTS, id, username, Some(alert))
}

/// The step after a correct password: the MFA step when `acr_values`, the MFA API audience or
/// an MFA policy asks for it, else the end of the login.
fn after_password(
    state: &TenantState,
    headers: &HeaderMap,
    id: &str,
    transaction: LoginTransaction,
    user: &UserConfig,
) -> Response {
    let session = cookies::sso_cookie(headers)
        .and_then(|c| state.store().session(&c).cloned())
        .filter(|s| s.email == user.email());
    let browser = mfa::devices::Browser::of(headers);
    if mfa::login::needs_mfa(
        state,
        &transaction.request,
        session.as_ref(),
        user.email(),
        &browser,
    ) {
        tracing::debug!(acr_values = ?transaction.request.acr_values, "password accepted; MFA is due");
        return mfa::login::start(state, id, user.email(), true);
    }
    state.store().finish_transaction(id);
    let amr = vec!["pwd".to_owned()];
    complete_login(state, headers, transaction.request, user, amr, None)
}

/// Records the authentication in the SSO session (reusing the browser's session when it belongs
/// to the same user), sets the cookie and redirects to the callback with a code.
///
/// `mfa` is set when the user passed MFA in this transaction.
pub(crate) fn complete_login(
    state: &TenantState,
    headers: &HeaderMap,
    request: AuthorizeRequest,
    user: &UserConfig,
    amr: Vec<String>,
    mfa: Option<MfaPassed>,
) -> Response {
    let now = state.now();
    let lifetime = state.config.session_lifetime();
    let existing = cookies::sso_cookie(headers);
    let (cookie, session) = {
        let mut store = state.store();
        let same_user = existing
            .as_deref()
            .and_then(|c| store.session(c))
            .is_some_and(|s| s.email == user.email());
        let (cookie, session) = match existing {
            Some(cookie) if same_user => match store.reauthenticate(&cookie, now, amr.clone()) {
                Some(session) => (cookie, session),
                None => store.create_session(user.email(), now, amr.clone(), lifetime),
            },
            other => {
                if let Some(old) = other {
                    store.end_session(&old);
                }
                store.create_session(user.email(), now, amr.clone(), lifetime)
            }
        };
        if mfa.is_some() {
            let session = store.record_mfa(&cookie, now).unwrap_or(session);
            (cookie, session)
        } else {
            (cookie, session)
        }
    };
    tracing::info!(sub = %user.sub(), sid = %session.sid, ?amr, "user logged in");
    state.events.record(
        NewEvent::new("s", "Successful login")
            .client(Some(&request.client_id))
            .user(user)
            .detail("sid", session.sid.as_str())
            .detail("amr", amr.clone())
            .detail("mfa", mfa.is_some())
            .detail("audience", request.audience.clone())
            .detail("scope", crate::scope::join(&request.scope)),
    );
    let browser = mfa::devices::Browser::of(headers);
    let browser_cookies =
        mfa::login::record_browser(state, &request, user.email(), &browser, mfa.is_some());
    let acr = mfa.and_then(|m| m.acr);
    let mut response = redirect_with_code(state, request, &session, Some(amr), acr);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set_sso_cookie(&cookie, lifetime.as_secs()),
    );
    for value in browser_cookies {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Adds the cookie that binds login transaction `id` to this browser (see
/// [`binding`](crate::http::binding)) to `response`.
pub(crate) fn bind_to_browser(state: &TenantState, id: &str, mut response: Response) -> Response {
    let cookie = binding::set_cookie(
        Purpose::Login,
        id,
        state.config.login_transaction_lifetime().as_secs(),
        state.issuer.starts_with("https:"),
    );
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The page for an unknown or expired login transaction.
pub(crate) fn expired() -> Response {
    pages::error_page(
        StatusCode::BAD_REQUEST,
        "Login transaction expired",
        "This login transaction has expired or does not exist. Go back to the application and sign in again.",
    )
}

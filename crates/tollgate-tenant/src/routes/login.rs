//! `GET|POST /u/login`: the Universal-Login-like password page of a login transaction.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::authorize::redirect_with_code;
use crate::http::cookies;
use crate::http::pages;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::store::LoginTransaction;
use crate::{UserConfig, clock};

/// The alert shown after a failed attempt, in Auth0's words.
const WRONG_CREDENTIALS: &str = "Wrong email or password.";

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

/// Checks the email and password; on success starts (or refreshes) the SSO session.
pub(super) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = Params::from_query(query.as_deref());
    let form = Params::from_body(&headers, &body).unwrap_or_default();
    let Some(id) = form.owned("state").or_else(|| query.owned("state")) else {
        return expired();
    };
    if state.store().transaction(&id).is_none() {
        return expired();
    }
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let user = state
        .config
        .user_by_email(username)
        .filter(|user| user.password_matches(password));
    let Some(user) = user else {
        tracing::info!(username, "wrong email or password");
        return pages::login_page(
            StatusCode::BAD_REQUEST,
            &id,
            username,
            Some(WRONG_CREDENTIALS),
        );
    };
    let Some(transaction) = state.store().finish_transaction(&id) else {
        return expired();
    };
    after_password(&state, &headers, transaction, user)
}

/// The step after a correct password. An MFA challenge will be inserted here (keeping the
/// transaction and asking for a second factor when `acr_values` or policy requires it); today
/// the login completes at once.
fn after_password(
    state: &TenantState,
    headers: &HeaderMap,
    transaction: LoginTransaction,
    user: &UserConfig,
) -> Response {
    tracing::debug!(
        acr_values = ?transaction.request.acr_values,
        "password accepted; no second factor is required yet"
    );
    let amr = vec!["pwd".to_owned()];
    complete_login(state, headers, transaction, user, amr)
}

/// Records the authentication in the SSO session (reusing the browser's session when it belongs
/// to the same user), sets the cookie and redirects to the callback with a code.
fn complete_login(
    state: &TenantState,
    headers: &HeaderMap,
    transaction: LoginTransaction,
    user: &UserConfig,
    amr: Vec<String>,
) -> Response {
    let now = clock::now();
    let lifetime = state.config.session_lifetime();
    let existing = cookies::sso_cookie(headers);
    let (cookie, session) = {
        let mut store = state.store();
        let same_user = existing
            .as_deref()
            .and_then(|c| store.session(c))
            .is_some_and(|s| s.email == user.email());
        match existing {
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
        }
    };
    tracing::info!(sub = %user.sub(), sid = %session.sid, "user logged in");
    let mut response = redirect_with_code(state, transaction.request, &session, Some(amr));
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set_sso_cookie(&cookie, lifetime.as_secs()),
    );
    response
}

/// The page for an unknown or expired login transaction.
fn expired() -> Response {
    pages::error_page(
        StatusCode::BAD_REQUEST,
        "Login transaction expired",
        "This login transaction has expired or does not exist. Go back to the application and sign in again.",
    )
}

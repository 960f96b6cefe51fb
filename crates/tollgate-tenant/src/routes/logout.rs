//! `GET /v2/logout` (Auth0 logout) and `GET|POST /oidc/logout` (RP-initiated logout).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use crate::backchannel::{self, Initiator};
use crate::events::NewEvent;
use crate::http::cookies;
use crate::http::oauth_error::{redirect, with_query};
use crate::http::pages;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::store::Session;
use crate::{ClientConfig, jwt};

/// `/v2/logout?returnTo&client_id&federated`.
pub(super) async fn v2_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let claimed = params.get("client_id");
    let client = match claimed {
        Some(id) => match state.config.client(id) {
            Some(client) => Some(client),
            None => return failed(&state, claimed, &format!("Unknown client: {id}")),
        },
        None => None,
    };
    let target = match resolve_return_url(&state, client, params.get("returnTo")) {
        Ok(target) => target,
        Err(message) => return failed(&state, claimed, &message),
    };
    let ended = end_sessions(&state, &headers, None);
    let notified = backchannel::notify(&state, &ended, Initiator::RpLogout);
    record_logout(
        &state,
        claimed,
        &ended,
        notified,
        "/v2/logout",
        target.as_deref(),
    );
    finish(target)
}

/// `GET /oidc/logout` with query parameters.
pub(super) async fn oidc_logout_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    oidc_logout(
        &state,
        &headers,
        &Params::from_query(query.as_deref()),
        false,
    )
}

/// `POST /oidc/logout` with form parameters (also the target of the confirmation page).
pub(super) async fn oidc_logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(params) = Params::from_body(&headers, &body) else {
        return failed(&state, None, "The request body must be form-encoded");
    };
    let confirmed = params.get("confirm") == Some("yes");
    oidc_logout(&state, &headers, &params, confirmed)
}

fn oidc_logout(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    confirmed: bool,
) -> Response {
    let claimed = params.get("client_id");
    let bad_request = |message: &str| failed(state, claimed, message);
    let hint = match params.get("id_token_hint") {
        Some(token) => match jwt::verify_rs256(state.keys().all(), &state.issuer, token, false) {
            Some(claims) => Some(claims),
            None => {
                return bad_request(
                    "The id_token_hint is not a valid ID token issued by this tenant.",
                );
            }
        },
        None => None,
    };
    let hint_audiences: Vec<String> = match hint.as_ref().and_then(|c| c.get("aud")) {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let hint_sid = hint
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(Value::as_str)
        .map(str::to_owned);

    let client_id = match (params.get("client_id"), hint.is_some()) {
        (Some(id), true) if !hint_audiences.iter().any(|a| a == id) => {
            return bad_request("The client_id does not match the audience of the id_token_hint.");
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, _) => hint_audiences.first().cloned(),
    };
    let client = match client_id {
        Some(id) => match state.config.client(&id) {
            Some(client) => Some(client),
            None => return bad_request(&format!("Unknown client: {id}")),
        },
        None => None,
    };
    let logout_hint = params.get("logout_hint");
    if let Some(logout_hint) = logout_hint
        && hint.is_some()
        && hint_sid.as_deref() != Some(logout_hint)
    {
        return bad_request("The logout_hint does not match the session of the id_token_hint.");
    }
    let target = match resolve_return_url(state, client, params.get("post_logout_redirect_uri")) {
        Ok(target) => target,
        Err(message) => return bad_request(&message),
    };

    let current_sid =
        cookies::sso_cookie(headers).and_then(|c| state.store().session(&c).map(|s| s.sid.clone()));
    let hint_matches_session = logout_hint.is_some() && logout_hint == current_sid.as_deref();
    if hint.is_none() && !hint_matches_session && !confirmed {
        return pages::logout_confirm(&[
            ("client_id", client.map(ClientConfig::client_id)),
            (
                "post_logout_redirect_uri",
                params.get("post_logout_redirect_uri"),
            ),
            ("logout_hint", logout_hint),
            ("state", params.get("state")),
        ]);
    }
    let ended = end_sessions(state, headers, hint_sid.as_deref());
    let notified = backchannel::notify(state, &ended, Initiator::RpLogout);
    record_logout(
        state,
        client.map(ClientConfig::client_id),
        &ended,
        notified,
        "/oidc/logout",
        target.as_deref(),
    );
    finish(target.map(|url| with_query(&url, &[("state", params.get("state"))])))
}

/// The URL to return to: `requested` if allowed (for `client`, or for any client when none is
/// named), else the client's first logout URL, else nowhere. The error is the message for the
/// 400 page.
fn resolve_return_url(
    state: &TenantState,
    client: Option<&ClientConfig>,
    requested: Option<&str>,
) -> Result<Option<String>, String> {
    match (requested, client) {
        (Some(url), Some(client)) if client.allows_logout_url(url) => Ok(Some(url.to_owned())),
        (Some(url), None)
            if state
                .config
                .clients()
                .iter()
                .any(|c| c.allows_logout_url(url)) =>
        {
            Ok(Some(url.to_owned()))
        }
        (Some(url), _) => Err(format!(
            "The logout URL {url} is not in the list of Allowed Logout URLs. Add it to the application's settings."
        )),
        (None, Some(client)) => Ok(client.logout_urls().first().cloned()),
        (None, None) => Ok(None),
    }
}

/// Ends the browser's SSO session and the session named by `sid`, if any; returns the sessions
/// that ended.
fn end_sessions(state: &TenantState, headers: &HeaderMap, sid: Option<&str>) -> Vec<Session> {
    let mut store = state.store();
    let mut ended = Vec::new();
    if let Some(cookie) = cookies::sso_cookie(headers)
        && let Some(session) = store.end_session(&cookie)
    {
        tracing::info!(sid = %session.sid, "SSO session ended");
        ended.push(session);
    }
    if let Some(sid) = sid {
        ended.extend(store.end_session_by_sid(sid));
    }
    ended
}

/// Ends every SSO session of the user with this email, revokes their refresh tokens and sends
/// back-channel logout tokens (initiator `session-revoked`). Returns how many sessions ended;
/// an unknown user has none.
pub(crate) fn end_user_sessions(state: &AppState, email: &str) -> usize {
    let Some(user) = state.config.user_by_email(email) else {
        return 0;
    };
    let (ended, revoked) = {
        let mut store = state.store();
        let ended = store.end_sessions_of(user.email());
        (ended, store.refresh.revoke_user(user.email()))
    };
    let notified = backchannel::notify(state, &ended, Initiator::SessionRevoked);
    tracing::info!(sub = %user.sub(), sessions = ended.len(), revoked, "user's sessions ended");
    state.events.record(
        NewEvent::new("slo", "Sessions ended by an administrator")
            .user(user)
            .detail("endpoint", "admin")
            .detail("sids", sids(&ended))
            .detail("refresh_token_families_revoked", revoked)
            .detail("backchannel_logouts", notified),
    );
    ended.len()
}

fn sids(sessions: &[Session]) -> Vec<String> {
    sessions.iter().map(|s| s.sid.clone()).collect()
}

/// Records a successful logout (`slo`).
fn record_logout(
    state: &TenantState,
    client_id: Option<&str>,
    ended: &[Session],
    notified: usize,
    endpoint: &str,
    return_to: Option<&str>,
) {
    let mut event = NewEvent::new("slo", "Successful logout")
        .client(client_id)
        .detail("backchannel_logouts", notified)
        .detail("endpoint", endpoint)
        .detail("return_to", return_to)
        .detail("sids", sids(ended));
    if let Some(user) = ended
        .first()
        .and_then(|s| state.config.user_by_email(&s.email))
    {
        event = event.user(user);
    }
    state.events.record(event);
}

/// Records a refused logout (`flo`) and answers with the 400 page.
fn failed(state: &TenantState, client_id: Option<&str>, message: &str) -> Response {
    state
        .events
        .record(NewEvent::new("flo", message).client(client_id));
    bad_request(message)
}

/// Redirects to `target` (or shows the logged-out page) and clears the SSO cookie.
fn finish(target: Option<String>) -> Response {
    let mut response = match target {
        Some(url) => redirect(&url),
        None => pages::logged_out(),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear_sso_cookie());
    response
}

fn bad_request(message: &str) -> Response {
    pages::error_page(StatusCode::BAD_REQUEST, "Logout failed", message)
}

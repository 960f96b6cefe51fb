//! Client-Initiated Backchannel Authentication: `POST /bc-authorize` starts a login request that
//! the user approves or denies in the development outbox; the client polls the token endpoint
//! with `grant_type=urn:openid:params:grant-type:ciba`.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use crate::events::NewEvent;
use crate::http::client_auth;
use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::mfa::PushState;
use crate::state::TenantState;
use crate::store::{CibaRequest, RefreshFamily};
use crate::tokens::{self, GrantRecord, IdTokenSubject, TokenResponse};
use crate::{ClientConfig, random, scope};

/// The grant type of the poll.
pub(crate) const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";
/// Longest `requested_expiry` accepted, in seconds (Auth0: email approval up to three days).
const MAX_EXPIRY: u64 = 259_200;

/// `POST /bc-authorize`.
pub(super) async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match start(&state, &headers, &body) {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

fn start(state: &TenantState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::from_body(headers, body).map_err(|_| {
        OAuthError::invalid_request("The request body must be form-encoded or a JSON object")
    })?;
    let client = client_auth::authenticate(state, headers, &params)?;
    let hint = params
        .get("login_hint")
        .ok_or_else(|| OAuthError::missing("login_hint"))?;
    let hint: Value = serde_json::from_str(hint)
        .map_err(|_| OAuthError::invalid_request("login_hint must be a JSON object"))?;
    if hint["format"] != "iss_sub" || hint["iss"] != state.issuer.as_str() {
        return Err(OAuthError::invalid_request(format!(
            "login_hint must be {{\"format\":\"iss_sub\",\"iss\":\"{}\",\"sub\":…}}",
            state.issuer
        )));
    }
    let user = hint["sub"]
        .as_str()
        .and_then(|sub| state.config.users().iter().find(|u| u.sub() == sub))
        .ok_or_else(|| {
            OAuthError::new(StatusCode::BAD_REQUEST, "unknown_user_id", "Unknown user")
        })?;
    let requested = scope::parse(params.get("scope").unwrap_or_default());
    if !scope::has(&requested, "openid") {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must contain openid",
        ));
    }
    let message = params
        .get("binding_message")
        .ok_or_else(|| OAuthError::missing("binding_message"))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || " +-_.,:#".contains(c);
    if message.chars().count() > 64 || !message.chars().all(allowed) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_binding_message",
            "binding_message must be at most 64 characters: letters, digits, spaces and +-_.,:#",
        ));
    }
    let audience = match params.get("audience") {
        Some(a) => Some(
            state
                .api(a)
                .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {a}")))?
                .identifier()
                .to_owned(),
        ),
        None => None,
    };
    // Approving a backchannel request is one tap, with no way to ask for a second factor: a
    // policy covering the audience (or the MFA API) refuses the request before the user is
    // bothered.
    if crate::mfa::grants::requirement(
        state,
        crate::mfa::GrantKind::Ciba,
        audience.as_deref(),
        false,
    )
    .is_some()
    {
        return Err(OAuthError::access_denied(
            "Multifactor authentication is required for this audience, and a backchannel authentication request cannot ask for it",
        ));
    }
    let expires_in = match params.get("requested_expiry") {
        None => 300,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=MAX_EXPIRY).contains(s))
            .ok_or_else(|| {
                OAuthError::invalid_request(format!(
                    "requested_expiry must be between 1 and {MAX_EXPIRY} seconds"
                ))
            })?,
    };
    let interval = state
        .config
        .push_poll_interval()
        .max(Duration::from_secs(1));
    let auth_req_id = random::token(24);
    let mut store = state.store();
    let device = user.push_device().unwrap_or("Auth0 Guardian");
    let outbox_id = store
        .mfa
        .outbox
        .send_login_request(user.email(), device, message, state.now());
    store.ciba.requests.insert(
        auth_req_id.clone(),
        CibaRequest {
            client_id: client.client_id().to_owned(),
            email: user.email().to_owned(),
            scope: scope::grant(&requested, audience.as_deref().and_then(|a| state.api(a))),
            audience,
            outbox_id,
            expires_at: state.moment() + Duration::from_secs(expires_in),
            interval,
            last_poll: None,
        },
    );
    drop(store);
    state.events.record(
        NewEvent::new("sbca", "Backchannel authentication request started")
            .client(Some(client.client_id()))
            .user(user),
    );
    Ok(json!({
        "auth_req_id": auth_req_id,
        "expires_in": expires_in,
        "interval": interval.as_secs(),
    }))
}

/// The poll: pending, too fast, denied or expired, or the tokens (once).
pub(super) fn poll<'a>(
    state: &'a TenantState,
    client: &ClientConfig,
    params: &Params,
    record: &mut GrantRecord<'a>,
) -> Result<TokenResponse, OAuthError> {
    let id = params
        .get("auth_req_id")
        .ok_or_else(|| OAuthError::missing("auth_req_id"))?;
    let now = state.moment();
    let mut store = state.store();
    let request = store
        .ciba
        .requests
        .get_mut(id)
        .filter(|r| r.client_id == client.client_id())
        .ok_or_else(|| OAuthError::invalid_grant("Invalid or already used auth_req_id"))?;
    record.user = state.config.user_by_email(&request.email);
    let denied = || {
        OAuthError::access_denied(
            "The end-user denied the authorization request or it has been expired",
        )
    };
    if now >= request.expires_at {
        store.ciba.requests.remove(id);
        return Err(denied());
    }
    if let Some(last) = request.last_poll
        && now.saturating_duration_since(last) < request.interval
    {
        request.interval += Duration::from_secs(5);
        request.last_poll = Some(now);
        let wait = request.interval.as_secs();
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "slow_down",
            format!("You are polling faster than allowed. Try again in {wait} seconds."),
        )
        .with_field("interval", json!(wait)));
    }
    request.last_poll = Some(now);
    let outbox_id = request.outbox_id.clone();
    match store.mfa.outbox.push_state(&outbox_id) {
        Some(PushState::Approved) => {}
        Some(PushState::Denied) | None => {
            store.ciba.requests.remove(id);
            return Err(denied());
        }
        Some(PushState::Pending) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                "The end-user authorization is pending",
            ));
        }
    }
    let Some(request) = store.ciba.requests.remove(id) else {
        return Err(OAuthError::invalid_grant(
            "Invalid or already used auth_req_id",
        ));
    };
    let user = state
        .config
        .user_by_email(&request.email)
        .ok_or_else(denied)?;
    let audience = request.audience.as_deref();
    record.audience = request.audience.clone();
    let sid = random::token(16);
    let auth_time = state.now();
    let refresh_token = scope::has(&request.scope, "offline_access").then(|| {
        let family = RefreshFamily {
            client_id: client.client_id().to_owned(),
            email: user.email().to_owned(),
            sid: sid.clone(),
            scope: request.scope.clone(),
            audience: request.audience.clone(),
            auth_time,
            jkt: None,
            amr: Vec::new(),
        };
        store
            .refresh
            .issue(family, state.config.refresh_token_lifetime())
            .1
    });
    drop(store);
    let id_token = tokens::id_token(
        state,
        &IdTokenSubject {
            client,
            user,
            scope: &request.scope,
            nonce: None,
            sid: &sid,
            auth_time,
            amr: None,
            acr: None,
        },
    );
    Ok(TokenResponse {
        access_token: tokens::user_access_token(
            state,
            client.client_id(),
            user,
            audience,
            &request.scope,
            None,
            None,
        ),
        id_token: Some(id_token),
        refresh_token,
        token_type: "Bearer",
        expires_in: state.access_token_lifetime(audience).as_secs(),
        scope: Some(scope::join(&request.scope)),
        recovery_code: None,
        issued_token_type: None,
        dpop_nonce: None,
    })
}

//! `GET /authorize`: checks the request, then reuses the SSO session or starts a login
//! transaction and sends the browser to `/u/login`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::AppState;
use crate::events::NewEvent;
use crate::http::cookies;
use crate::http::oauth_error::{error_redirect, redirect, with_query};
use crate::http::pages;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::store::{AuthorizeRequest, Session};
use crate::{mfa, scope};

/// Prompt values that change the flow.
#[derive(Debug, Default, Clone, Copy)]
struct Prompt {
    none: bool,
    login: bool,
}

/// The handler.
pub(super) async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match super::par::resolve(&state, Params::from_query(query.as_deref())) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let (request, prompt) = match check(&state, &params) {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let now = state.now();
    let session = cookies::sso_cookie(&headers).and_then(|c| state.store().session(&c).cloned());
    let too_old = |s: &Session| {
        request
            .max_age
            .is_some_and(|max_age| max_age == 0 || now.saturating_sub(s.auth_time) > max_age)
    };
    match session {
        Some(session) if !prompt.login && !too_old(&session) => {
            let browser = mfa::devices::Browser::of(&headers);
            if !mfa::login::needs_mfa(&state, &request, Some(&session), &session.email, &browser) {
                tracing::debug!(sid = %session.sid, "reusing the SSO session");
                record_sso_login(&state, &request, &session, prompt.none);
                return redirect_with_code(&state, request, &session, None, None);
            }
            if !prompt.none {
                // Step up the SSO session: MFA without the password.
                let lifetime = state.config.login_transaction_lifetime();
                let id = state.store().create_transaction(request, lifetime);
                let response = mfa::login::start(&state, &id, &session.email, false);
                return super::login::bind_to_browser(&state, &id, response);
            }
            if session.mfa_at.is_some() {
                // Silent authentication in a session that passed MFA: no challenge is
                // possible, and the session's MFA counts.
                let acr = mfa::login::acr_claim(&request);
                record_sso_login(&state, &request, &session, true);
                return redirect_with_code(&state, request, &session, None, acr);
            }
            let description = "Multifactor authentication required";
            record_silent_failure(&state, &request, Some(&session), description);
            error_redirect(
                &request.redirect_uri,
                "login_required",
                description,
                request.state.as_deref(),
            )
        }
        _ if prompt.none => {
            record_silent_failure(&state, &request, None, "Login required");
            error_redirect(
                &request.redirect_uri,
                "login_required",
                "Login required",
                request.state.as_deref(),
            )
        }
        _ => {
            let lifetime = state.config.login_transaction_lifetime();
            let id = state.store().create_transaction(request, lifetime);
            let response = redirect(&with_query(
                &state.endpoint("u/login"),
                &[("state", Some(&id))],
            ));
            super::login::bind_to_browser(&state, &id, response)
        }
    }
}

/// Records a login through the SSO session: `ssa` for `prompt=none`, else `s`.
fn record_sso_login(
    state: &TenantState,
    request: &AuthorizeRequest,
    session: &Session,
    silent: bool,
) {
    let (kind, description) = if silent {
        ("ssa", "Successful silent authentication")
    } else {
        ("s", "Successful login")
    };
    let mut event = NewEvent::new(kind, description)
        .client(Some(&request.client_id))
        .detail("sid", session.sid.as_str())
        .detail("sso", true)
        .detail("audience", request.audience.clone())
        .detail("scope", scope::join(&request.scope));
    if let Some(user) = state.config.user_by_email(&session.email) {
        event = event.user(user);
    }
    state.events.record(event);
}

/// Records a failed `prompt=none` request (`fsa`).
fn record_silent_failure(
    state: &TenantState,
    request: &AuthorizeRequest,
    session: Option<&Session>,
    description: &str,
) {
    let mut event = NewEvent::new("fsa", description)
        .client(Some(&request.client_id))
        .detail("error", "login_required");
    if let Some(user) = session.and_then(|s| state.config.user_by_email(&s.email)) {
        event = event.user(user);
    }
    state.events.record(event);
}

/// Issues a code for a finished login and redirects to the callback with `code` and `state`.
///
/// `amr` is set when the user authenticated in this transaction; silent logins carry none.
/// `acr` is set when `acr_values` asked for MFA and the session passed it.
pub(crate) fn redirect_with_code(
    state: &TenantState,
    request: AuthorizeRequest,
    session: &Session,
    amr: Option<Vec<String>>,
    acr: Option<String>,
) -> Response {
    let redirect_uri = request.redirect_uri.clone();
    let client_state = request.state.clone();
    let code = state
        .store()
        .issue_code(request, session, amr, acr, state.config.code_lifetime());
    redirect(&with_query(
        &redirect_uri,
        &[("code", Some(&code)), ("state", client_state.as_deref())],
    ))
}

/// Validates the request. Problems with the client or redirect URI get an HTML page; the others
/// are redirected to the (now trusted) `redirect_uri`.
#[expect(
    clippy::result_large_err,
    reason = "the error is the early-return response, built at most once per request"
)]
fn check(state: &TenantState, params: &Params) -> Result<(AuthorizeRequest, Prompt), Response> {
    let bad_page =
        |message: String| pages::error_page(StatusCode::BAD_REQUEST, "Invalid request", &message);
    let client_id = params
        .get("client_id")
        .ok_or_else(|| bad_page("Missing required parameter: client_id".to_owned()))?;
    let client = state
        .config
        .client(client_id)
        .ok_or_else(|| bad_page(format!("Unknown client: {client_id}")))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.allows_callback(uri) => uri.to_owned(),
        Some(uri) => {
            return Err(pages::error_page(
                StatusCode::BAD_REQUEST,
                "Callback URL mismatch",
                &format!(
                    "The provided redirect_uri is not in the list of allowed callback URLs: {uri}. \
                     Add it to the application's Allowed Callback URLs."
                ),
            ));
        }
        None => client
            .callbacks()
            .first()
            .cloned()
            .ok_or_else(|| bad_page("Missing required parameter: redirect_uri".to_owned()))?,
    };
    let client_state = params.owned("state");
    let fail = |error: &str, description: &str| {
        error_redirect(&redirect_uri, error, description, client_state.as_deref())
    };

    match params.get("response_type") {
        None => {
            return Err(fail(
                "invalid_request",
                "Missing required parameter: response_type",
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                &format!("Unsupported response type: {other}"),
            ));
        }
    }
    if let Some(mode) = params.get("response_mode").filter(|m| *m != "query") {
        return Err(fail(
            "invalid_request",
            &format!("Unsupported response_mode: {mode}"),
        ));
    }
    let code_challenge =
        check_pkce(params).map_err(|description| fail("invalid_request", description))?;
    if client.is_public() && code_challenge.is_none() {
        // A public client has no secret: only PKCE ties the code to the app that asked for it.
        return Err(fail(
            "invalid_request",
            "Missing required parameter: code_challenge",
        ));
    }
    let api = match params.get("audience") {
        Some(audience) => Some(
            state
                .api(audience)
                .ok_or_else(|| fail("access_denied", &format!("Service not found: {audience}")))?,
        ),
        None => None,
    };
    let max_age = match params.get("max_age") {
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| fail("invalid_request", "max_age must be a non-negative integer"))?,
        ),
        None => None,
    };
    let prompt_values = scope::parse(params.get("prompt").unwrap_or_default());
    let prompt = Prompt {
        none: scope::has(&prompt_values, "none"),
        login: scope::has(&prompt_values, "login"),
    };
    if prompt.none && prompt_values.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let requested = scope::parse(params.get("scope").unwrap_or("openid"));

    let request = AuthorizeRequest {
        client_id: client.client_id().to_owned(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_sent: params.get("redirect_uri").is_some(),
        scope: scope::grant(&requested, api),
        state: client_state.clone(),
        nonce: params.owned("nonce"),
        code_challenge,
        audience: api.map(|a| a.identifier().to_owned()),
        max_age,
        acr_values: params.owned("acr_values"),
        login_hint: params.owned("login_hint"),
        dpop_jkt: params.owned("dpop_jkt"),
    };
    Ok((request, prompt))
}

/// Checks `code_challenge` / `code_challenge_method`: only S256 is accepted, as at Auth0.
fn check_pkce(params: &Params) -> Result<Option<String>, &'static str> {
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("Missing required parameter: code_challenge"),
        (Some(_), None) => Err("code_challenge_method is required with code_challenge; use S256"),
        (Some(_), Some(method)) if method != "S256" => {
            Err("Unsupported code_challenge_method; only S256 is supported")
        }
        (Some(challenge), Some(_)) => {
            let well_formed = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if well_formed {
                Ok(Some(challenge.to_owned()))
            } else {
                Err("Invalid code_challenge: expected the base64url SHA-256 of the verifier")
            }
        }
    }
}

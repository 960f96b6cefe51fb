//! `POST /oauth/token`: client authentication, then one handler per grant.

mod authorization_code;
mod client_credentials;
mod exchange;
mod refresh_token;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;

use crate::dpop;
use crate::events::NewEvent;
use crate::http::client_auth;
use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::mfa;
use crate::mfa::grants::MfaGrant;
use crate::state::TenantState;
use crate::tokens::{GrantRecord, TokenResponse};
pub(crate) use authorization_code::verifier_matches;

/// The handler.
pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut record = GrantRecord::default();
    let params = Params::from_body(&headers, &body);
    let result = match &params {
        Ok(params) => dispatch(&state, &headers, params, &mut record),
        Err(_) => Err(OAuthError::invalid_request(
            "The request body must be form-encoded or a JSON object",
        )),
    };
    if let Ok(params) = &params {
        log_grant(&state, &headers, params, record, &result);
    }
    match result {
        Ok(tokens) => tokens.into_response(),
        Err(error) => {
            tracing::info!(error = error.code(), "token request refused");
            error.into_response()
        }
    }
}

/// The event types of a grant: `(success, failure)`, Auth0's codes.
fn event_types(grant_type: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let types = match grant_type {
        "authorization_code" => ("seacft", "feacft", "Authorization Code for Access Token"),
        "refresh_token" => ("sertft", "fertft", "Refresh Token for Access Token"),
        "client_credentials" => ("seccft", "feccft", "Client Credentials for Access Token"),
        exchange::TOKEN_EXCHANGE => ("secte", "fecte", "Custom Token Exchange"),
        super::ciba::CIBA_GRANT => (
            "sbcaft",
            "fbcaft",
            "Backchannel Authentication for Access Token",
        ),
        exchange::FEDERATED_CONNECTION => (
            "sefcate",
            "fefcate",
            "Federated Connection Access Token Exchange",
        ),
        other => match MfaGrant::from_grant_type(other)? {
            MfaGrant::Otp => ("seotpft", "feotpft", "MFA OTP for Access Token"),
            MfaGrant::Oob => ("seoobft", "feoobft", "MFA OOB Code for Access Token"),
            MfaGrant::RecoveryCode => ("sercft", "fercft", "MFA Recovery Code for Access Token"),
        },
    };
    Some(types)
}

/// Records exactly one event for a token request of a known grant type: the grant's success
/// type, its failure type, `ferrt` for a refresh-token reuse or `mfar` for `mfa_required`.
fn log_grant(
    state: &TenantState,
    headers: &HeaderMap,
    params: &Params,
    record: GrantRecord<'_>,
    result: &Result<TokenResponse, OAuthError>,
) {
    let Some(grant_type) = params.get("grant_type") else {
        return;
    };
    let Some((success, failure, what)) = event_types(grant_type) else {
        return;
    };
    let client_id = record
        .client_id
        .or_else(|| client_auth::claimed_client_id(headers, params));
    let audience = record.audience.or_else(|| params.owned("audience"));
    let mut event = match result {
        Ok(tokens) => NewEvent::new(success, what).detail("scope", tokens.scope.clone()),
        Err(error) => {
            let kind = if record.reuse_detected {
                "ferrt"
            } else if error.code() == "mfa_required" {
                "mfar"
            } else {
                failure
            };
            let description = if record.reuse_detected {
                "Unsuccessful Refresh Token exchange, reused refresh token detected".to_owned()
            } else {
                error.description().to_owned()
            };
            NewEvent::new(kind, description)
                .detail("scope", params.owned("scope"))
                .detail("error", error.code())
                .detail("status", error.status().as_u16())
        }
    };
    event = event
        .client(client_id.as_deref())
        .detail("grant_type", grant_type)
        .detail("audience", audience);
    if let Some(user) = record.user {
        event = event.user(user);
    }
    for (name, value) in record.details {
        event = event.detail(name, value);
    }
    state.events.record(event);
}

fn dispatch<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    params: &Params,
    record: &mut GrantRecord<'a>,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::missing("grant_type"))?;
    let mfa_grant = MfaGrant::from_grant_type(grant_type);
    if mfa_grant.is_none()
        && !matches!(
            grant_type,
            "authorization_code"
                | "refresh_token"
                | "client_credentials"
                | exchange::TOKEN_EXCHANGE
                | exchange::FEDERATED_CONNECTION
                | super::ciba::CIBA_GRANT
        )
    {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        ));
    }
    let client = client_auth::authenticate(state, headers, params)?;
    record.client_id = Some(client.client_id().to_owned());
    let require_nonce = client.dpop_nonce_required();
    let endpoint = state.endpoint("oauth/token");
    let expected = dpop::Expected {
        htm: "POST",
        htu: &endpoint,
        access_token: None,
        require_nonce,
    };
    let jkt = dpop::check(&state.dpop, headers, &expected).map_err(|e| match e {
        dpop::ProofError::Invalid(description) => {
            OAuthError::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
        }
        dpop::ProofError::UseNonce => OAuthError::new(
            StatusCode::BAD_REQUEST,
            "use_dpop_nonce",
            dpop::USE_NONCE_DESCRIPTION,
        )
        .with_dpop_nonce(state.dpop.nonce()),
    })?;
    if jkt.is_some() {
        record.details.push(("dpop", serde_json::Value::Bool(true)));
    }
    let jkt = jkt.as_deref();
    let mut result = match mfa_grant {
        Some(grant) => mfa::grants::exchange(state, client, params, grant, record, jkt),
        None => match grant_type {
            "authorization_code" => {
                authorization_code::exchange(state, client, params, record, jkt)
            }
            "refresh_token" => refresh_token::exchange(state, client, params, record, jkt),
            exchange::TOKEN_EXCHANGE => exchange::custom(state, client, params, record, jkt),
            // Connection tokens belong to another provider: never bound here.
            exchange::FEDERATED_CONNECTION => exchange::federated(state, client, params, record),
            // CIBA tokens are not DPoP-bound in this tenant yet.
            super::ciba::CIBA_GRANT => super::ciba::poll(state, client, params, record),
            _ => client_credentials::exchange(state, client, params, record, jkt),
        },
    };
    if require_nonce && jkt.is_some() {
        // Keep the client supplied with the current nonce.
        result = match result {
            Ok(mut tokens) => {
                tokens.dpop_nonce = Some(state.dpop.nonce());
                Ok(tokens)
            }
            Err(e) => Err(e.with_dpop_nonce(state.dpop.nonce())),
        };
    }
    result
}

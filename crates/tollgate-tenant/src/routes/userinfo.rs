//! `GET|POST /userinfo`: the user's claims for an access token with the `openid` scope, sent as
//! `Bearer`, or as `DPoP` with a proof of the key the token is bound to (RFC 9449 §7).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use crate::dpop;
use crate::http::oauth_error::OAuthError;
use crate::state::TenantState;
use crate::{jwt, scope, tokens};

const INVALID_TOKEN: &str =
    "The access token is missing, invalid or expired, or lacks the openid scope";

/// Why a request was refused: the `WWW-Authenticate` scheme and error.
#[derive(Debug)]
enum Refusal {
    /// `invalid_token` (challenge in the scheme the request used).
    Token { dpop: bool },
    /// `invalid_dpop_proof`, with a description.
    Proof(&'static str),
    /// `use_dpop_nonce`, with the nonce to use.
    UseNonce(String),
}

/// The description of a `use_dpop_nonce` challenge at `/userinfo`.
const USE_NONCE_DESCRIPTION: &str = "Resource server requires nonce in DPoP proof";

/// The handler.
pub(super) async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    match claims_for(&state, &method, &headers) {
        Ok(claims) => Json(Value::Object(claims)).into_response(),
        Err(refusal) => {
            let mut nonce = None;
            let (error, description, challenge) = match refusal {
                Refusal::Token { dpop: false } => (
                    "invalid_token",
                    INVALID_TOKEN,
                    "Bearer error=\"invalid_token\"".to_owned(),
                ),
                Refusal::Token { dpop: true } => (
                    "invalid_token",
                    INVALID_TOKEN,
                    "DPoP error=\"invalid_token\", algs=\"ES256\"".to_owned(),
                ),
                Refusal::UseNonce(n) => {
                    nonce = Some(n);
                    (
                        "use_dpop_nonce",
                        USE_NONCE_DESCRIPTION,
                        format!(
                            "DPoP error=\"use_dpop_nonce\", error_description=\"{USE_NONCE_DESCRIPTION}\", algs=\"ES256\""
                        ),
                    )
                }
                Refusal::Proof(description) => (
                    "invalid_dpop_proof",
                    description,
                    format!(
                        "DPoP error=\"invalid_dpop_proof\", error_description=\"{description}\", algs=\"ES256\""
                    ),
                ),
            };
            let mut error = OAuthError::new(StatusCode::UNAUTHORIZED, error, description);
            if let Some(n) = nonce {
                error = error.with_dpop_nonce(n);
            }
            let mut response = error.into_response();
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

/// Resolves the access token (opaque, or a JWT whose audience includes `/userinfo`). A token
/// bound to a DPoP key is accepted only with the `DPoP` scheme and a proof of that key.
fn claims_for(
    state: &TenantState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<jwt::Claims, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::Token { dpop: false })?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(Refusal::Token { dpop: false })?;
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::Token { dpop: false });
    }
    let refuse = Refusal::Token { dpop };
    let token = token.trim();
    let opaque = state
        .store()
        .opaque_token(token)
        .map(|t| (t.email.clone(), t.scope.clone(), t.jkt.clone()));
    let (user, scopes, bound) = match opaque {
        Some((email, scopes, jkt)) => (
            state.config.user_by_email(&email).ok_or(refuse)?,
            scopes,
            jkt,
        ),
        None => {
            let claims = jwt::verify_rs256(state.keys().all(), &state.issuer, token, true)
                .ok_or(Refusal::Token { dpop })?;
            let userinfo = state.endpoint("userinfo");
            let audience_ok = match claims.get("aud") {
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&userinfo)),
                Some(Value::String(aud)) => *aud == userinfo,
                _ => false,
            };
            if !audience_ok {
                return Err(Refusal::Token { dpop });
            }
            let sub = claims.get("sub").and_then(Value::as_str);
            let user = sub
                .and_then(|s| state.config.user_by_sub(s))
                .ok_or(Refusal::Token { dpop })?;
            let scopes = claims
                .get("scope")
                .and_then(Value::as_str)
                .map(scope::parse)
                .ok_or(Refusal::Token { dpop })?;
            let jkt = claims
                .get("cnf")
                .and_then(|c| c.get("jkt"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            (user, scopes, jkt)
        }
    };
    match (dpop, bound) {
        // A bound token presented as a bearer token, or an unbound one as DPoP: refused.
        (false, Some(_)) | (true, None) => return Err(Refusal::Token { dpop }),
        (false, None) => {}
        (true, Some(bound)) => {
            let endpoint = state.endpoint("userinfo");
            let expected = dpop::Expected {
                htm: method.as_str(),
                htu: &endpoint,
                access_token: Some(token),
                require_nonce: state.config.dpop_nonce_required_at_userinfo(),
            };
            let jkt = match dpop::check(&state.dpop, headers, &expected) {
                Ok(Some(jkt)) => jkt,
                Ok(None) => return Err(Refusal::Proof("A DPoP proof is required")),
                Err(dpop::ProofError::Invalid(description)) => {
                    return Err(Refusal::Proof(description));
                }
                Err(dpop::ProofError::UseNonce) => {
                    return Err(Refusal::UseNonce(state.dpop.nonce()));
                }
            };
            if jkt != bound {
                return Err(Refusal::Proof(
                    "The DPoP proof key is not the key the access token is bound to",
                ));
            }
        }
    }
    if scope::has(&scopes, "openid") {
        Ok(tokens::profile_claims(state, user, &scopes))
    } else {
        Err(Refusal::Token { dpop })
    }
}

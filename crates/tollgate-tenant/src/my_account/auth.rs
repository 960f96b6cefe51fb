//! Who calls the My Account / My Organization API: an access token for the API's audience, as
//! `Bearer`, or as `DPoP` with a proof of the key it is bound to (RFC 9449 §7), with the scope the
//! endpoint needs.

use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::Value;

use super::Problem;
use crate::state::TenantState;
use crate::{UserConfig, dpop, jwt, scope};

/// A caller whose token was accepted.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: UserConfig,
    pub(crate) client_id: String,
    /// The key the token is bound to, when it is DPoP-bound.
    pub(crate) jkt: Option<String>,
    pub(crate) org_id: Option<String>,
}

fn challenge(dpop: bool, error: &str, description: &str) -> String {
    if dpop {
        format!("DPoP error=\"{error}\", error_description=\"{description}\", algs=\"ES256\"")
    } else {
        format!("Bearer realm=\"api\", error=\"{error}\", error_description=\"{description}\"")
    }
}

fn invalid_token(dpop: bool, description: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", description).with_challenge(challenge(
        dpop,
        "invalid_token",
        description,
    ))
}

fn audience_matches(claims: &jwt::Claims, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

/// Checks the request's token for `audience` and `scope`; `path` is the request path (for the
/// DPoP proof's `htu`).
pub(crate) fn authenticate(
    state: &TenantState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    audience: &str,
    needed_scope: &str,
) -> Result<Caller, Problem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Missing authentication",
            )
            .with_challenge("Bearer realm=\"api\"".to_owned())
        })?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| invalid_token(false, "Malformed Authorization header"))?;
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(invalid_token(false, "Unsupported authorization scheme"));
    }
    let token = token.trim();
    let claims = jwt::verify_rs256(state.keys().all(), &state.issuer, token, true)
        .ok_or_else(|| invalid_token(dpop, "Invalid or expired token"))?;
    if !audience_matches(&claims, audience) {
        return Err(invalid_token(dpop, "The token's audience is not this API"));
    }
    let user = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| state.config.user_by_sub(s))
        .ok_or_else(|| invalid_token(dpop, "Unknown user"))?
        .clone();
    let bound = claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match (dpop, &bound) {
        (false, Some(_)) => {
            return Err(invalid_token(
                false,
                "A DPoP-bound token must be sent with the DPoP scheme and a proof",
            ));
        }
        (true, None) => return Err(invalid_token(true, "The token is not DPoP-bound")),
        (false, None) => {}
        (true, Some(bound)) => {
            let htu = state.endpoint(path.trim_start_matches('/'));
            let expected = dpop::Expected {
                htm: method.as_str(),
                htu: &htu,
                access_token: Some(token),
                require_nonce: state.config.dpop_nonce_required_at_my_account(),
            };
            let proof_error = |description: &str| {
                Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", description)
                    .with_challenge(challenge(true, "invalid_dpop_proof", description))
            };
            let jkt = match dpop::check(&state.dpop, headers, &expected) {
                Ok(Some(jkt)) => jkt,
                Ok(None) => return Err(proof_error("A DPoP proof is required")),
                Err(dpop::ProofError::Invalid(description)) => {
                    return Err(proof_error(description));
                }
                Err(dpop::ProofError::UseNonce) => {
                    let description = "Resource server requires nonce in DPoP proof";
                    return Err(Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "Unauthorized",
                        description,
                    )
                    .with_challenge(challenge(true, "use_dpop_nonce", description))
                    .with_dpop_nonce(state.dpop.nonce()));
                }
            };
            if &jkt != bound {
                return Err(proof_error(
                    "The DPoP proof key is not the key the access token is bound to",
                ));
            }
        }
    }
    let scopes = scope::parse(
        claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    if !scope::has(&scopes, needed_scope) {
        let description = format!("Insufficient scope, expected: {needed_scope}");
        return Err(
            Problem::forbidden(description.clone()).with_challenge(challenge(
                dpop,
                "insufficient_scope",
                &description,
            )),
        );
    }
    Ok(Caller {
        user,
        client_id: claims
            .get("azp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        jkt: bound,
        org_id: claims
            .get("org_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

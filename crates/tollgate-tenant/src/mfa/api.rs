//! The MFA API: `GET /mfa/authenticators`, `POST /mfa/associate`,
//! `DELETE /mfa/authenticators/{id}` and `POST /mfa/challenge`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::factors::{ENROLLED_PUSH_DEVICE, Kind, is_e164};
use super::grants;
use super::log::{self, Via};
use super::store::{Lookup, MfaTransaction, SendError};
use super::totp;
use crate::http::client_auth;
use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::{UserConfig, jwt, random, scope};

const INVALID_TOKEN: &str = "Invalid MFA token";
const EXPIRED_TOKEN: &str = "mfa_token is expired";
const NOT_ENROLLED: &str =
    "User is not enrolled. You can use /mfa/associate endpoint to enroll the first authenticator.";

/// An access token for the MFA API (`aud` includes `{issuer}mfa/`).
#[derive(Debug, Clone)]
pub(crate) struct MfaAccess {
    pub(crate) email: String,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
}

/// The claims of a live access token for the MFA API issued by this tenant, if `token` is one.
pub(crate) fn mfa_access_token(state: &TenantState, token: &str) -> Option<MfaAccess> {
    let claims = jwt::verify_rs256(state.keys().all(), &state.issuer, token, true)?;
    let audience = state.mfa_audience();
    let for_mfa = match claims.get("aud")? {
        Value::String(aud) => aud == audience,
        Value::Array(auds) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !for_mfa {
        return None;
    }
    let user = state.config.user_by_sub(claims.get("sub")?.as_str()?)?;
    Some(MfaAccess {
        email: user.email().to_owned(),
        client_id: claims.get("azp")?.as_str()?.to_owned(),
        scopes: scope::parse(
            claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
    })
}

/// The bearer token of an MFA API call.
#[derive(Debug)]
enum Bearer {
    /// A raw `mfa_token` from an `mfa_required` answer.
    MfaToken(MfaTransaction),
    /// An access token for the MFA API.
    Access(MfaAccess),
}

impl Bearer {
    fn email(&self) -> &str {
        match self {
            Self::MfaToken(t) => &t.email,
            Self::Access(a) => &a.email,
        }
    }

    fn client_id(&self) -> &str {
        match self {
            Self::MfaToken(t) => &t.client_id,
            Self::Access(a) => &a.client_id,
        }
    }

    /// An access token must carry `scope`; an `mfa_token` may do everything but delete.
    fn require_scope(&self, needed: &str) -> Result<(), OAuthError> {
        match self {
            Self::Access(access) if !scope::has(&access.scopes, needed) => Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("Insufficient scope; expected: {needed}"),
            )),
            _ => Ok(()),
        }
    }
}

fn unauthorized(error: &'static str, description: &str) -> OAuthError {
    OAuthError::new(StatusCode::UNAUTHORIZED, error, description).with_bearer_challenge()
}

/// Reads `Authorization: Bearer …` as an `mfa_token` or an MFA API access token.
fn bearer(state: &TenantState, headers: &HeaderMap) -> Result<Bearer, OAuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| unauthorized("invalid_token", INVALID_TOKEN))?;
    let lookup = state.store().mfa.token(token);
    match lookup {
        Lookup::Live(transaction) => Ok(Bearer::MfaToken(transaction)),
        Lookup::Expired => Err(unauthorized("expired_token", EXPIRED_TOKEN)),
        Lookup::Unknown => mfa_access_token(state, token)
            .map(Bearer::Access)
            .ok_or_else(|| unauthorized("invalid_token", INVALID_TOKEN)),
    }
}

fn user_of<'a>(state: &'a TenantState, bearer: &Bearer) -> Result<&'a UserConfig, OAuthError> {
    state
        .config
        .user_by_email(bearer.email())
        .ok_or_else(|| unauthorized("invalid_token", INVALID_TOKEN))
}

fn respond(result: Result<Response, OAuthError>) -> Response {
    result.unwrap_or_else(|error| {
        tracing::info!(error = error.code(), "MFA API request refused");
        error.into_response()
    })
}

/// `GET /mfa/authenticators`.
pub(crate) async fn list(State(state): State<Arc<TenantState>>, headers: HeaderMap) -> Response {
    respond((|| {
        let bearer = bearer(&state, &headers)?;
        bearer.require_scope("read:authenticators")?;
        let user = user_of(&state, &bearer)?;
        let mut store = state.store();
        let list: Vec<Value> = store.mfa.user(user).all().map(|a| a.to_json()).collect();
        Ok(Json(Value::Array(list)).into_response())
    })())
}

/// `DELETE /mfa/authenticators/{id}`: only with an access token for the MFA API.
pub(crate) async fn delete(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| {
        let bearer = bearer(&state, &headers)?;
        if matches!(bearer, Bearer::MfaToken(_)) {
            return Err(unauthorized(
                "invalid_token",
                "An mfa_token cannot delete authenticators; complete MFA to get an access token for the MFA API with the remove:authenticators scope",
            ));
        }
        bearer.require_scope("remove:authenticators")?;
        let user = user_of(&state, &bearer)?;
        if state.store().mfa.user(user).remove(&id) {
            tracing::info!(sub = %user.sub(), %id, "authenticator removed");
            log::unenrolled(&state, user, bearer.client_id(), &id);
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(OAuthError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Authenticator not found",
            ))
        }
    })())
}

/// The fields of an `/mfa/associate` body (JSON arrays, or form fields that may repeat or be
/// space- or comma-separated).
#[derive(Debug, Default)]
struct AssociateRequest {
    types: Vec<String>,
    channels: Vec<String>,
    phone_number: Option<String>,
    email: Option<String>,
}

fn split_list(value: &str, into: &mut Vec<String>) {
    into.extend(
        value
            .split([' ', ','])
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    );
}

fn parse_associate(headers: &HeaderMap, body: &[u8]) -> Result<AssociateRequest, OAuthError> {
    let malformed =
        || OAuthError::invalid_request("The request body must be a JSON object or form-encoded");
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let mut request = AssociateRequest::default();
    if is_json {
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
            return Err(malformed());
        };
        let list = |name: &str, into: &mut Vec<String>| match object.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .for_each(|v| split_list(v, into)),
            Some(Value::String(v)) => split_list(v, into),
            _ => {}
        };
        list("authenticator_types", &mut request.types);
        list("oob_channels", &mut request.channels);
        let text = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        request.phone_number = text("phone_number");
        request.email = text("email");
    } else {
        let text = std::str::from_utf8(body).map_err(|_| malformed())?;
        for (name, value) in url::form_urlencoded::parse(text.as_bytes()) {
            match name.trim_end_matches("[]") {
                "authenticator_types" => split_list(&value, &mut request.types),
                "oob_channels" => split_list(&value, &mut request.channels),
                "phone_number" if !value.trim().is_empty() => {
                    request
                        .phone_number
                        .get_or_insert_with(|| value.trim().to_owned());
                }
                "email" if !value.trim().is_empty() => {
                    request.email.get_or_insert_with(|| value.trim().to_owned());
                }
                _ => {}
            }
        }
    }
    Ok(request)
}

/// What `/mfa/associate` enrolls.
#[derive(Debug)]
enum Enrollment {
    Otp,
    Phone { sms: bool, phone: String },
    Email { address: String },
    Push,
}

fn check_enrollment(
    request: &AssociateRequest,
    user: &UserConfig,
) -> Result<Enrollment, OAuthError> {
    let unsupported = |what: String| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_authenticator_type",
            what,
        )
    };
    let kind = request
        .types
        .first()
        .ok_or_else(|| OAuthError::missing("authenticator_types"))?;
    match kind.as_str() {
        "otp" => Ok(Enrollment::Otp),
        "oob" => {
            let channel = request
                .channels
                .first()
                .ok_or_else(|| OAuthError::missing("oob_channels"))?;
            match channel.as_str() {
                "sms" | "voice" => {
                    let phone = request.phone_number.clone().unwrap_or_default();
                    if !is_e164(&phone) {
                        return Err(OAuthError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_phone_number",
                            "phone_number is required and must be in E.164 format, e.g. +15555550100",
                        ));
                    }
                    Ok(Enrollment::Phone {
                        sms: channel == "sms",
                        phone,
                    })
                }
                "email" => {
                    let address = request
                        .email
                        .clone()
                        .unwrap_or_else(|| user.email().to_owned());
                    let valid = address
                        .split_once('@')
                        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                        && !address.contains(char::is_whitespace);
                    if !valid {
                        return Err(OAuthError::invalid_request(
                            "email must be a valid email address",
                        ));
                    }
                    Ok(Enrollment::Email { address })
                }
                "auth0" => Ok(Enrollment::Push),
                other => Err(unsupported(format!(
                    "Unsupported oob_channel: {other}. Use sms, voice, email or auth0."
                ))),
            }
        }
        other => Err(unsupported(format!(
            "Unsupported authenticator type: {other}. Use otp or oob."
        ))),
    }
}

/// `POST /mfa/associate`: starts an enrollment. A raw `mfa_token` may only enroll a user who has
/// no active authenticator; an MFA API access token needs the `enroll` scope.
pub(crate) async fn associate(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let bearer = bearer(&state, &headers)?;
        bearer.require_scope("enroll")?;
        let user = user_of(&state, &bearer)?;
        let request = parse_associate(&headers, &body)?;
        let enrollment = check_enrollment(&request, user)?;
        let mut store = state.store();
        if matches!(bearer, Bearer::MfaToken(_)) && store.mfa.user(user).is_enrolled() {
            return Err(OAuthError::access_denied("User is already enrolled."));
        }
        let lifetime = state.config.oob_code_lifetime();
        let (mut body, ids, send_to) = match &enrollment {
            Enrollment::Otp => {
                let secret = totp::generate_secret();
                let ids = store.mfa.user(user).add(
                    vec![Kind::Totp {
                        secret: secret.clone(),
                    }],
                    false,
                );
                let body = json!({
                    "authenticator_type": "otp",
                    "secret": secret,
                    "barcode_uri": totp::otpauth_uri(state.config.tenant_name(), user.email(), &secret),
                    "id": ids[0],
                });
                (body, ids, None)
            }
            Enrollment::Phone { sms, phone } => {
                let kinds = vec![
                    Kind::Sms {
                        phone: phone.clone(),
                    },
                    Kind::Voice {
                        phone: phone.clone(),
                    },
                ];
                let ids = store.mfa.user(user).add(kinds, false);
                let id = if *sms { ids[0].clone() } else { ids[1].clone() };
                let body = json!({
                    "authenticator_type": "oob",
                    "binding_method": "prompt",
                    "oob_channel": if *sms { "sms" } else { "voice" },
                    "id": id,
                });
                (body, ids, Some(id))
            }
            Enrollment::Email { address } => {
                let ids = store.mfa.user(user).add(
                    vec![Kind::Email {
                        address: address.clone(),
                    }],
                    false,
                );
                let body = json!({
                    "authenticator_type": "oob",
                    "binding_method": "prompt",
                    "oob_channel": "email",
                    "id": ids[0],
                });
                let id = ids[0].clone();
                (body, ids, Some(id))
            }
            Enrollment::Push => {
                let kinds = vec![
                    Kind::Push {
                        device: ENROLLED_PUSH_DEVICE.to_owned(),
                    },
                    Kind::Totp {
                        secret: totp::generate_secret(),
                    },
                ];
                let ids = store.mfa.user(user).add(kinds, false);
                let body = json!({
                    "authenticator_type": "oob",
                    "barcode_uri": format!(
                        "otpauth://totp/{}:{}?enrollment_tx_id={}&base_url={}",
                        totp::percent_encode(state.config.tenant_name()),
                        totp::percent_encode(user.email()),
                        random::id(),
                        totp::percent_encode(&state.issuer),
                    ),
                    "oob_channel": "auth0",
                    "id": ids[0],
                });
                let id = ids[0].clone();
                (body, ids, Some(id))
            }
        };
        let kinds: Vec<Kind> = ids
            .iter()
            .filter_map(|id| store.mfa.user(user).get(id).map(|a| a.kind.clone()))
            .collect();
        if let Some(id) = send_to {
            match store
                .mfa
                .send(user, &id, Some(bearer.client_id()), lifetime)
            {
                Ok(oob_code) => {
                    body["oob_code"] = json!(oob_code);
                    if let Some(kind) = store.mfa.user(user).get(&id).map(|a| a.kind.clone()) {
                        log::sent(&state, user, Some(bearer.client_id()), &kind, Via::Api);
                    }
                }
                Err(error) => {
                    store.mfa.user(user).remove(&ids[0]);
                    return Err(send_refusal(error));
                }
            }
        }
        if let Some(code) = store.mfa.user(user).pending_recovery_code() {
            body["recovery_codes"] = json!([code]);
        }
        tracing::info!(sub = %user.sub(), id = %ids[0], "enrollment started");
        if let Some(kind) = kinds.first() {
            log::enrollment_started(&state, user, bearer.client_id(), &ids[0], kind);
        }
        Ok(Json(body).into_response())
    })())
}

fn send_refusal(error: SendError) -> OAuthError {
    match error {
        SendError::RateLimited => OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many messages were sent to this authenticator. Wait before trying again.",
        ),
        SendError::NoSuchAuthenticator => OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_authenticator_id",
            "The authenticator cannot receive codes",
        ),
    }
}

/// `POST /mfa/challenge`: picks an authenticator the user has, of a type the application
/// accepts, and sends a code or push request for out-of-band ones.
pub(crate) async fn challenge(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let params = Params::from_body(&headers, &body).map_err(|_| {
            OAuthError::invalid_request("The request body must be form-encoded or a JSON object")
        })?;
        let client = client_auth::authenticate(&state, &headers, &params)?;
        let token = params
            .get("mfa_token")
            .ok_or_else(|| OAuthError::missing("mfa_token"))?;
        let transaction = match grants::resolve_token(&state, client, token) {
            Lookup::Live(transaction) => transaction,
            Lookup::Expired => return Err(unauthorized("expired_token", EXPIRED_TOKEN)),
            Lookup::Unknown => return Err(unauthorized("invalid_token", INVALID_TOKEN)),
        };
        let types = scope::parse(params.get("challenge_type").unwrap_or("otp oob"));
        if let Some(other) = types.iter().find(|t| !matches!(t.as_str(), "otp" | "oob")) {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_challenge_type",
                format!("Unsupported challenge type: {other}. Use otp and/or oob."),
            ));
        }
        let user = state
            .config
            .user_by_email(&transaction.email)
            .ok_or_else(|| unauthorized("invalid_token", INVALID_TOKEN))?;
        let mut store = state.store();
        let factors = store.mfa.user(user);
        if !factors.is_enrolled() {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "association_required",
                NOT_ENROLLED,
            ));
        }
        let acceptable = |kind: &Kind| {
            scope::has(&types, kind.authenticator_type())
                && transaction.may_answer(kind.factor_type())
        };
        let authenticator = match params.get("authenticator_id") {
            Some(id) => {
                let found = factors
                    .challengeable()
                    .find(|a| a.id == id)
                    .ok_or_else(|| {
                        OAuthError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_authenticator_id",
                            format!("The user has no active authenticator {id}"),
                        )
                    })?;
                if !acceptable(&found.kind) {
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "unsupported_challenge_type",
                        format!("Authenticator {id} cannot answer the requested challenge_type"),
                    ));
                }
                found.clone()
            }
            None => factors
                .challengeable()
                .find(|a| acceptable(&a.kind))
                .cloned()
                .ok_or_else(|| {
                    OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "unsupported_challenge_type",
                        "The user has no authenticator of the requested challenge types",
                    )
                })?,
        };
        if authenticator.kind.authenticator_type() == "otp" {
            return Ok(Json(json!({ "challenge_type": "otp" })).into_response());
        }
        let oob_code = store
            .mfa
            .send(
                user,
                &authenticator.id,
                Some(client.client_id()),
                state.config.oob_code_lifetime(),
            )
            .map_err(send_refusal)?;
        log::sent(
            &state,
            user,
            Some(client.client_id()),
            &authenticator.kind,
            Via::Api,
        );
        let mut body = json!({ "challenge_type": "oob", "oob_code": oob_code });
        if !matches!(authenticator.kind, Kind::Push { .. }) {
            body["binding_method"] = json!("prompt");
        }
        Ok(Json(body).into_response())
    })())
}

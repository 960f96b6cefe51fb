//! Token exchanges: Custom Token Exchange (`urn:ietf:params:oauth:grant-type:token-exchange`,
//! subject tokens accepted by a configured profile) and Token Vault's federated connection access
//! token exchange (a refresh token for the user's token at a linked connection).

use axum::http::StatusCode;

use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::mfa;
use crate::mfa::store::MfaTransaction;
use crate::state::TenantState;
use crate::store::RefreshFamily;
use crate::tokens::{self, IdTokenSubject};
use crate::tokens::{GrantRecord, TokenResponse};
use crate::{ClientConfig, random, scope};

/// RFC 8693 token exchange.
pub(super) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Token Vault's exchange.
pub(super) const FEDERATED_CONNECTION: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";
const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const FEDERATED_TOKEN_TYPE: &str =
    "http://auth0.com/oauth/token-type/federated-connection-access-token";

/// Custom Token Exchange: the profile for `subject_token_type` says which user the subject token
/// stands for (as an Auth0 Action validating it would).
pub(super) fn custom<'a>(
    state: &'a TenantState,
    client: &ClientConfig,
    params: &Params,
    record: &mut GrantRecord<'a>,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let subject = params
        .get("subject_token")
        .ok_or_else(|| OAuthError::missing("subject_token"))?;
    let subject_type = params
        .get("subject_token_type")
        .ok_or_else(|| OAuthError::missing("subject_token_type"))?;
    let actor = match (params.get("actor_token"), params.get("actor_token_type")) {
        (Some(_), Some(_)) => true,
        (None, None) => false,
        _ => {
            return Err(OAuthError::invalid_request(
                "actor_token and actor_token_type must be sent together",
            ));
        }
    };
    let profile = state
        .config
        .token_exchange_profile(subject_type)
        .ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "No token exchange profile for subject_token_type {subject_type}"
            ))
        })?;
    let user = profile
        .user_for(subject)
        .and_then(|email| state.config.user_by_email(email))
        .ok_or_else(|| OAuthError::invalid_request("Invalid subject token"))?;
    record.user = Some(user);
    let api =
        match params.get("audience") {
            Some(audience) => Some(state.api(audience).ok_or_else(|| {
                OAuthError::access_denied(format!("Service not found: {audience}"))
            })?),
            None => None,
        };
    record.audience = api.map(|a| a.identifier().to_owned());
    let requested = scope::parse(params.get("scope").unwrap_or("openid"));
    let granted = scope::grant(&requested, api);
    let audience = api.map(|a| a.identifier());
    // The subject token proves no second factor: a policy for the audience (or the MFA API)
    // answers mfa_required, and the MFA grant that answers it issues the tokens.
    if let Some(requirement) =
        mfa::grants::requirement(state, mfa::GrantKind::TokenExchange, audience, false)
    {
        let transaction = MfaTransaction {
            email: user.email().to_owned(),
            client_id: client.client_id().to_owned(),
            family: None,
            audience: audience.map(str::to_owned),
            scope: granted,
            requirement,
            passed: Vec::new(),
        };
        let mut store = state.store();
        return Err(mfa::grants::mfa_required(
            state,
            &mut store,
            user,
            transaction,
        ));
    }
    let bound = tokens::binding(state, audience, jkt);
    let access_token = tokens::user_access_token(
        state,
        client.client_id(),
        user,
        audience,
        &granted,
        None,
        bound,
    );
    let sid = random::token(16);
    let now = state.now();
    let id_token = scope::has(&granted, "openid").then(|| {
        tokens::id_token(
            state,
            &IdTokenSubject {
                client,
                user,
                scope: &granted,
                nonce: None,
                sid: &sid,
                auth_time: now,
                amr: None,
                acr: None,
            },
        )
    });
    // Delegated (actor) exchanges never get a refresh token.
    let refresh_token = (scope::has(&granted, "offline_access") && !actor).then(|| {
        let family = RefreshFamily {
            client_id: client.client_id().to_owned(),
            email: user.email().to_owned(),
            sid: sid.clone(),
            scope: granted.clone(),
            audience: audience.map(str::to_owned),
            auth_time: now,
            jkt: jkt.map(str::to_owned),
            amr: Vec::new(),
        };
        state
            .store()
            .refresh
            .issue(family, state.config.refresh_token_lifetime())
            .1
    });
    Ok(TokenResponse {
        access_token,
        id_token,
        refresh_token,
        token_type: tokens::token_type(bound),
        expires_in: state.access_token_lifetime(audience).as_secs(),
        scope: Some(scope::join(&granted)),
        recovery_code: None,
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
        dpop_nonce: None,
    })
}

/// Token Vault: the user's access token at `connection`, for the client's refresh token.
pub(super) fn federated<'a>(
    state: &'a TenantState,
    client: &ClientConfig,
    params: &Params,
    record: &mut GrantRecord<'a>,
) -> Result<TokenResponse, OAuthError> {
    let subject = params
        .get("subject_token")
        .ok_or_else(|| OAuthError::missing("subject_token"))?;
    let connection = params
        .get("connection")
        .ok_or_else(|| OAuthError::missing("connection"))?;
    if params.get("requested_token_type") != Some(FEDERATED_TOKEN_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "requested_token_type must be {FEDERATED_TOKEN_TYPE}"
        )));
    }
    if params.get("audience").is_some() || params.get("resource").is_some() {
        return Err(OAuthError::invalid_request(
            "audience and resource are not supported for federated connection access tokens",
        ));
    }
    let email = match params.get("subject_token_type") {
        Some(REFRESH_TOKEN_TYPE) => state
            .store()
            .refresh
            .peek(subject)
            .filter(|g| g.client_id == client.client_id())
            .map(|g| g.email.clone()),
        Some(ACCESS_TOKEN_TYPE) => {
            return Err(OAuthError::invalid_request(
                "access token exchange needs a Custom API Client, which this tenant does not have: use the refresh token",
            ));
        }
        _ => {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type must be {REFRESH_TOKEN_TYPE}"
            )));
        }
    };
    let user = email
        .and_then(|e| state.config.user_by_email(&e))
        .ok_or_else(|| {
            OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "The subject token is invalid or expired",
            )
        })?;
    record.user = Some(user);
    let linked = user.connections().iter().any(|c| c == connection)
        || state
            .store()
            .my_account
            .has_account(user.email(), connection);
    if !linked {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "federated_connection_refresh_token_not_found",
            "Federated connection Refresh Token not found.",
        ));
    }
    let granted = params.get("scope").map(str::to_owned);
    Ok(TokenResponse {
        access_token: format!("{connection}.{}", random::token(24)),
        id_token: None,
        refresh_token: None,
        token_type: "Bearer",
        expires_in: 3600,
        scope: granted,
        recovery_code: None,
        issued_token_type: Some(FEDERATED_TOKEN_TYPE),
        dpop_nonce: None,
    })
}

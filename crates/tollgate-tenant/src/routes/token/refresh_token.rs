//! The `refresh_token` grant: rotation with reuse detection, down-scoping and multi-resource
//! refresh (`audience` naming any configured API).

use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::mfa;
use crate::mfa::store::MfaTransaction;
use crate::state::TenantState;
use crate::store::RefreshOutcome;
use crate::tokens::{self, IdTokenSubject};
use crate::tokens::{GrantRecord, TokenResponse};
use crate::{ClientConfig, scope};

const INVALID_REFRESH_TOKEN: &str = "Unknown or invalid refresh token.";

/// Exchanges a refresh token for new tokens.
pub(super) fn exchange<'a>(
    state: &'a TenantState,
    client: &ClientConfig,
    params: &Params,
    record: &mut GrantRecord<'a>,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::missing("refresh_token"))?;
    let requested_api =
        match params.get("audience") {
            Some(audience) => Some(state.api(audience).ok_or_else(|| {
                OAuthError::access_denied(format!("Service not found: {audience}"))
            })?),
            None => None,
        };

    let (grant, new_token, scopes) = {
        let mut store = state.store();
        // Check the requested scope before using the token, so a refused request does not
        // rotate the client's token away.
        let original = store
            .refresh
            .peek(token)
            .filter(|g| g.client_id == client.client_id())
            .cloned()
            .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH_TOKEN))?;
        record.user = state.config.user_by_email(&original.email);
        // A family bound to a DPoP key is refreshed only with a proof of that key; refused
        // before the token is used, so it is not rotated away.
        if let Some(bound) = &original.jkt
            && jkt != Some(bound.as_str())
        {
            return Err(OAuthError::invalid_grant(crate::tokens::DPOP_KEY_MISMATCH));
        }
        record.audience = requested_api
            .map(|a| a.identifier().to_owned())
            .or_else(|| original.audience.clone());
        let requested = params
            .get("scope")
            .map_or_else(|| original.scope.clone(), scope::parse);
        let allowed = |s: &String| {
            scope::has(&original.scope, s) || requested_api.is_some_and(|a| a.defines_scope(s))
        };
        if !requested.iter().all(allowed) {
            return Err(OAuthError::invalid_grant(
                "The requested scope exceeds the scope granted by the resource owner",
            ));
        }
        // An MFA policy (or the MFA API audience) may ask for a second factor first; the
        // token is not used, so the client can retry it after MFA.
        let audience = requested_api
            .map(|a| a.identifier().to_owned())
            .or_else(|| original.audience.clone());
        if let Some(family_id) = store.refresh.family_of(token).map(str::to_owned)
            && let Some(requirement) =
                mfa::grants::refresh_requirement(state, &store, &family_id, audience.as_deref())
            && let Some(user) = state.config.user_by_email(&original.email)
        {
            let transaction = MfaTransaction {
                email: original.email.clone(),
                client_id: client.client_id().to_owned(),
                family: Some(family_id),
                audience,
                scope: requested,
                requirement,
                passed: Vec::new(),
            };
            return Err(mfa::grants::mfa_required(
                state,
                &mut store,
                user,
                transaction,
            ));
        }
        match store.refresh.present(
            token,
            client.client_id(),
            client.refresh_token_rotation(),
            client.rotation_leeway(),
        ) {
            RefreshOutcome::Granted { grant, new_token } => (grant, new_token, requested),
            RefreshOutcome::Invalid => {
                return Err(OAuthError::invalid_grant(INVALID_REFRESH_TOKEN));
            }
            RefreshOutcome::Reused => {
                record.reuse_detected = true;
                return Err(OAuthError::invalid_grant(INVALID_REFRESH_TOKEN));
            }
        }
    };

    let audience = requested_api
        .map(|a| a.identifier().to_owned())
        .or_else(|| grant.audience.clone());
    let api = audience.as_deref().and_then(|a| state.api(a));
    let granted = scope::grant(&scopes, api);
    let user = state
        .config
        .user_by_email(&grant.email)
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH_TOKEN))?;

    let bound = tokens::binding(state, audience.as_deref(), jkt);
    let access_token = tokens::user_access_token(
        state,
        client.client_id(),
        user,
        audience.as_deref(),
        &granted,
        Some(&grant.amr),
        bound,
    );
    let id_token = scope::has(&granted, "openid").then(|| {
        tokens::id_token(
            state,
            &IdTokenSubject {
                client,
                user,
                scope: &granted,
                nonce: None,
                sid: &grant.sid,
                auth_time: grant.auth_time,
                amr: None,
                acr: None,
            },
        )
    });
    Ok(TokenResponse {
        access_token,
        id_token,
        refresh_token: new_token,
        token_type: tokens::token_type(bound),
        expires_in: state.access_token_lifetime(audience.as_deref()).as_secs(),
        scope: Some(scope::join(&granted)),
        recovery_code: None,
        dpop_nonce: None,
        issued_token_type: None,
    })
}

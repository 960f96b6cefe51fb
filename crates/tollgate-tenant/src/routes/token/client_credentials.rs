//! The `client_credentials` grant: machine-to-machine access tokens for a configured API.

use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::tokens::{GrantRecord, TokenResponse};
use crate::{ClientConfig, scope, tokens};

/// Issues an access token with `sub` = `{client_id}@clients` and `gty: "client-credentials"`.
///
/// Without `scope`, every scope the API defines is granted; with it, the ones the API defines.
pub(super) fn exchange(
    state: &TenantState,
    client: &ClientConfig,
    params: &Params,
    _record: &mut GrantRecord<'_>,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let audience = params.get("audience").ok_or_else(|| {
        OAuthError::access_denied(
            "No audience parameter was provided, and no default audience has been configured",
        )
    })?;
    let api = state
        .config
        .api(audience)
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))?;
    let granted: Vec<String> = match params.get("scope") {
        Some(requested) => scope::parse(requested)
            .into_iter()
            .filter(|s| api.defines_scope(s))
            .collect(),
        None => api.scopes().to_vec(),
    };
    let bound = tokens::binding(state, Some(api.identifier()), jkt);
    let access_token =
        tokens::client_access_token(state, client.client_id(), api.identifier(), &granted, bound);
    Ok(TokenResponse {
        access_token,
        id_token: None,
        refresh_token: None,
        token_type: tokens::token_type(bound),
        expires_in: state.config.access_token_lifetime().as_secs(),
        scope: (!granted.is_empty()).then(|| scope::join(&granted)),
        recovery_code: None,
        dpop_nonce: None,
        issued_token_type: None,
    })
}

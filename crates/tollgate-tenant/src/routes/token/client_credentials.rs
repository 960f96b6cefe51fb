//! The `client_credentials` grant: machine-to-machine access tokens for an API the client has a
//! client grant for.

use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::tokens::{GrantRecord, TokenResponse};
use crate::{ClientConfig, scope, tokens};

/// Issues an access token with `sub` = `{client_id}@clients` and `gty: "client-credentials"`.
///
/// The client needs a client grant for the API ([`ClientConfig::with_client_grant`]), as at
/// Auth0; without one the answer is `403 access_denied` in Auth0's words (logged `feccft`).
/// Without `scope`, every scope of the grant is issued; with it, the requested ones, which must
/// all be in the grant (else `403 access_denied` "Client has not been granted scopes: …", as
/// Auth0 answers).
pub(super) fn exchange(
    state: &TenantState,
    client: &ClientConfig,
    params: &Params,
    record: &mut GrantRecord<'_>,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        // A public client cannot keep a secret, so it gets no machine-to-machine tokens.
        return Err(OAuthError::new(
            axum::http::StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }
    let audience = params.get("audience").ok_or_else(|| {
        OAuthError::access_denied(
            "No audience parameter was provided, and no default audience has been configured",
        )
    })?;
    let api = state
        .config
        .api(audience)
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))?;
    record.audience = Some(api.identifier().to_owned());
    let ceiling = client.client_grant(api.identifier()).ok_or_else(|| {
        OAuthError::access_denied(format!(
            "Client is not authorized to access \"{}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants",
            api.identifier()
        ))
    })?;
    let granted: Vec<String> = match params.get("scope") {
        Some(requested) => {
            let requested = scope::parse(requested);
            let missing: Vec<&str> = requested
                .iter()
                .filter(|s| !scope::has(ceiling, s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(OAuthError::access_denied(format!(
                    "Client has not been granted scopes: {}",
                    missing.join(" ")
                )));
            }
            requested
        }
        None => ceiling.to_vec(),
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

//! The `authorization_code` grant, with PKCE (S256).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::store::{CodeUse, RefreshFamily};
use crate::tokens::{self, IdTokenSubject};
use crate::tokens::{GrantRecord, TokenResponse};
use crate::{ClientConfig, scope};

const INVALID_CODE: &str = "Invalid authorization code";
const BAD_VERIFIER: &str = "Failed to verify code verifier";

/// Exchanges a code for tokens. A replayed code is refused and revokes the refresh tokens the
/// first exchange produced.
pub(super) fn exchange<'a>(
    state: &'a TenantState,
    client: &ClientConfig,
    params: &Params,
    record: &mut GrantRecord<'a>,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let code_value = params
        .get("code")
        .ok_or_else(|| OAuthError::missing("code"))?;
    let code = match state.store().use_code(code_value, client.client_id()) {
        CodeUse::Fresh(code) => code,
        CodeUse::Invalid => return Err(OAuthError::invalid_grant(INVALID_CODE)),
    };
    let request = &code.request;
    record.audience.clone_from(&request.audience);
    record.user = state.config.user_by_email(&code.email);
    let redirect_ok = match params.get("redirect_uri") {
        Some(uri) => uri == request.redirect_uri,
        None => !request.redirect_uri_sent,
    };
    if !redirect_ok {
        return Err(OAuthError::invalid_grant(
            "The redirect_uri does not match the one sent to /authorize",
        ));
    }
    // A public client's code always carries a challenge (/authorize requires one); a code
    // without one (issued before the client was made public) is not redeemed by it.
    if client.is_public() && request.code_challenge.is_none() {
        return Err(OAuthError::invalid_grant(BAD_VERIFIER));
    }
    if !verifier_matches(
        request.code_challenge.as_deref(),
        params.get("code_verifier"),
    ) {
        return Err(OAuthError::invalid_grant(BAD_VERIFIER));
    }
    // RFC 9449 §10: a code bound with dpop_jkt is redeemed only with a proof of that key.
    if let Some(bound) = &request.dpop_jkt
        && jkt != Some(bound.as_str())
    {
        return Err(OAuthError::invalid_grant(crate::tokens::DPOP_KEY_MISMATCH));
    }
    let user = state
        .config
        .user_by_email(&code.email)
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_CODE))?;

    let bound = tokens::binding(state, request.audience.as_deref(), jkt);
    let access_token = tokens::user_access_token(
        state,
        client.client_id(),
        user,
        request.audience.as_deref(),
        &request.scope,
        Some(&code.methods),
        bound,
    );
    let id_token = scope::has(&request.scope, "openid").then(|| {
        tokens::id_token(
            state,
            &IdTokenSubject {
                client,
                user,
                scope: &request.scope,
                nonce: request.nonce.as_deref(),
                sid: &code.sid,
                auth_time: code.auth_time,
                amr: code.amr.as_deref(),
                acr: code.acr.as_deref(),
            },
        )
    });
    let refresh_token = scope::has(&request.scope, "offline_access").then(|| {
        let grant = RefreshFamily {
            client_id: client.client_id().to_owned(),
            email: code.email.clone(),
            sid: code.sid.clone(),
            scope: request.scope.clone(),
            audience: request.audience.clone(),
            auth_time: code.auth_time,
            jkt: jkt.map(str::to_owned),
            amr: code.methods.clone(),
        };
        let mut store = state.store();
        let (family, token) = store
            .refresh
            .issue(grant, state.config.refresh_token_lifetime());
        if code.mfa_done {
            // The login passed MFA: policies that are satisfied once let this family through.
            store.refresh.mark_mfa_satisfied(&family);
        }
        store.link_code_family(code_value, &family);
        token
    });
    Ok(TokenResponse {
        access_token,
        id_token,
        refresh_token,
        token_type: tokens::token_type(bound),
        expires_in: state
            .access_token_lifetime(request.audience.as_deref())
            .as_secs(),
        scope: Some(scope::join(&request.scope)),
        recovery_code: None,
        dpop_nonce: None,
        issued_token_type: None,
    })
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`. A verifier without a challenge,
/// or a challenge without a verifier, fails.
pub(crate) fn verifier_matches(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, None) => true,
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::verifier_matches;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(Some(challenge), Some(verifier)));
        assert!(!verifier_matches(
            Some(challenge),
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx")
        ));
        assert!(!verifier_matches(Some(challenge), None));
        assert!(!verifier_matches(None, Some(verifier)));
        assert!(verifier_matches(None, None));
    }
}

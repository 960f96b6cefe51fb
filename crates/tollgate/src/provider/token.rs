//! Token endpoint calls: the code exchange and revocation.

use serde::Deserialize;

use super::Provider;
use super::http::ErrorAnswer;
use crate::config::ClientAuth;
use crate::error::ProviderError;

/// A successful token endpoint answer.
#[derive(Clone, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    pub(crate) token_type: String,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
    /// A new recovery code (mfa-recovery-code grant only).
    #[serde(default)]
    pub(crate) recovery_code: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A failed token endpoint call: the provider asked for MFA, or any other failure.
#[derive(Debug, Clone)]
pub(crate) enum GrantError {
    /// `403 mfa_required`, with the raw `mfa_token` and `mfa_requirements` when given.
    MfaRequired {
        description: String,
        mfa_token: Option<String>,
        requirements: Option<serde_json::Value>,
    },
    Other(ProviderError),
}

impl From<ProviderError> for GrantError {
    fn from(e: ProviderError) -> Self {
        Self::Other(e)
    }
}

fn grant_error(answer: ErrorAnswer) -> GrantError {
    let mfa = answer
        .body
        .as_ref()
        .filter(|b| b.get("error").and_then(|v| v.as_str()) == Some("mfa_required"));
    if let Some(body) = mfa {
        return GrantError::MfaRequired {
            description: body
                .get("error_description")
                .and_then(|v| v.as_str())
                .unwrap_or("Multifactor authentication required")
                .to_owned(),
            mfa_token: body
                .get("mfa_token")
                .and_then(|v| v.as_str())
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            requirements: body
                .get("mfa_requirements")
                .filter(|v| v.is_object())
                .cloned(),
        };
    }
    GrantError::Other(oauth_error("token endpoint", answer))
}

/// Turns a non-2xx answer into a typed error.
pub(crate) fn oauth_error(endpoint: &'static str, answer: ErrorAnswer) -> ProviderError {
    match answer.body {
        Some(body) => ProviderError::OAuth {
            endpoint,
            status: answer.status,
            error: body
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            description: body
                .get("error_description")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        },
        None => ProviderError::InvalidResponse {
            endpoint,
            reason: format!("HTTP status {} without an OAuth error body", answer.status),
        },
    }
}

impl Provider {
    /// `POST /oauth/token` with `grant_type=authorization_code`.
    pub(crate) async fn exchange_code(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<TokenResponse, ProviderError> {
        let meta = self.metadata().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
        ];
        let resp: TokenResponse = self
            .http
            .post_form(
                "token endpoint",
                &meta.token_endpoint,
                client_id,
                auth,
                &form,
            )
            .await
            .map_err(|e| e.map_or_else(|p| p, |a| oauth_error("token endpoint", a)))?;
        check_token_type(&resp)?;
        Ok(resp)
    }

    /// Any grant at the token endpoint; `mfa_required` answers are kept apart.
    pub(crate) async fn grant(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, GrantError> {
        let meta = self.metadata().await?;
        let resp: TokenResponse = self
            .http
            .post_form(
                "token endpoint",
                &meta.token_endpoint,
                client_id,
                auth,
                form,
            )
            .await
            .map_err(|e| match e {
                Ok(answer) => grant_error(answer),
                Err(p) => GrantError::Other(p),
            })?;
        check_token_type(&resp)?;
        Ok(resp)
    }

    /// `POST /oauth/revoke` for a refresh token. Failures are logged, never fatal.
    pub(crate) async fn revoke_refresh_token(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        token: &str,
    ) {
        let endpoint = match self.metadata().await {
            Ok(m) => m.revocation_endpoint.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "could not revoke the refresh token");
                return;
            }
        };
        let Some(url) = endpoint else {
            tracing::debug!("the provider has no revocation endpoint");
            return;
        };
        let form = [("token", token), ("token_type_hint", "refresh_token")];
        match self
            .http
            .post_form_raw("revocation endpoint", &url, client_id, auth, &form)
            .await
        {
            Ok((200..=299, _)) => {}
            Ok((status, _)) => {
                tracing::warn!(status, "the provider refused to revoke the refresh token")
            }
            Err(e) => tracing::warn!(error = %e, "could not revoke the refresh token"),
        }
    }
}

fn check_token_type(resp: &TokenResponse) -> Result<(), ProviderError> {
    if resp.access_token.is_empty() {
        return Err(ProviderError::InvalidResponse {
            endpoint: "token endpoint",
            reason: "access_token is empty".into(),
        });
    }
    if !resp.token_type.eq_ignore_ascii_case("bearer")
        && !resp.token_type.eq_ignore_ascii_case("dpop")
    {
        return Err(ProviderError::InvalidResponse {
            endpoint: "token endpoint",
            reason: format!("unsupported token_type {:?}", resp.token_type),
        });
    }
    Ok(())
}

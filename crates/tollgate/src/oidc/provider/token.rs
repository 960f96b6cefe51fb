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
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
        ];
        self.token_call(client_id, auth, &form)
            .await
            .map_err(|e| e.map_or_else(|p| p, |a| oauth_error("token endpoint", a)))
    }

    /// Any grant at the token endpoint; `mfa_required` answers are kept apart.
    pub(crate) async fn grant(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, GrantError> {
        self.token_call(client_id, auth, form)
            .await
            .map_err(|e| match e {
                Ok(answer) => grant_error(answer),
                Err(p) => GrantError::Other(p),
            })
    }

    /// One token endpoint call. With DPoP on, it carries a proof; when the server answers
    /// `use_dpop_nonce` with a `DPoP-Nonce`, the nonce is remembered for the origin and the call
    /// is made once more (after the configured delay) with a proof that carries it. A non-2xx
    /// answer is returned as `Err(Ok(answer))`.
    async fn token_call(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, Result<ErrorAnswer, ProviderError>> {
        const ENDPOINT: &str = "token endpoint";
        let meta = self.metadata().await.map_err(Err)?;
        let url = meta.token_endpoint.as_str();
        let mut retried = false;
        loop {
            let proof = self.dpop.as_ref().map(|d| d.proof_for("POST", url, None));
            let answer = self
                .http
                .post_form_answer(ENDPOINT, url, client_id, auth, form, proof.as_deref())
                .await
                .map_err(Err)?;
            if let (Some(dpop), Some(nonce)) = (&self.dpop, &answer.dpop_nonce) {
                dpop.learn_nonce(url, nonce);
            }
            if (200..300).contains(&answer.status) {
                let mut resp: TokenResponse =
                    super::http::parse_json(ENDPOINT, &answer.body).map_err(Err)?;
                check_token_type(&mut resp).map_err(Err)?;
                return Ok(resp);
            }
            let error = ErrorAnswer::parse(answer.status, &answer.body);
            if let Some(dpop) = &self.dpop
                && !retried
                && error.code() == Some("use_dpop_nonce")
                && answer.dpop_nonce.is_some()
            {
                retried = true;
                tracing::debug!("the token endpoint asked for a DPoP nonce; retrying once");
                tokio::time::sleep(dpop.options.delay()).await;
                continue;
            }
            return Err(Ok(error));
        }
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

/// Checks the answer has an access token of a known type, and writes the type as `Bearer` or
/// `DPoP` whatever its case on the wire.
fn check_token_type(resp: &mut TokenResponse) -> Result<(), ProviderError> {
    if resp.access_token.is_empty() {
        return Err(ProviderError::InvalidResponse {
            endpoint: "token endpoint",
            reason: "access_token is empty".into(),
        });
    }
    if resp.token_type.eq_ignore_ascii_case("bearer") {
        "Bearer".clone_into(&mut resp.token_type);
    } else if resp.token_type.eq_ignore_ascii_case("dpop") {
        "DPoP".clone_into(&mut resp.token_type);
    } else {
        return Err(ProviderError::InvalidResponse {
            endpoint: "token endpoint",
            reason: format!("unsupported token_type {:?}", resp.token_type),
        });
    }
    Ok(())
}

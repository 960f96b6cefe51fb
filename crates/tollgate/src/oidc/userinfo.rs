//! The provider's UserInfo endpoint (OpenID Connect Core §5.3), with the `sub` check of §5.3.2.

use serde_json::{Map, Value};

use crate::error::{Error, ProviderError};
use crate::session::SessionData;
use crate::web::Tollgate;

const ENDPOINT: &str = "userinfo";

impl Tollgate {
    /// Fetches the user's claims from the provider's UserInfo endpoint with the session's access
    /// token for the default audience.
    ///
    /// The answer is accepted only when its `sub` equals the session's (OpenID Connect Core
    /// §5.3.2): a provider, or anyone between it and the app, cannot swap in another user's claims.
    /// The session is not changed; merge what you need into it yourself. The token is used as
    /// stored: call [`access_token`](Self::access_token) first when it may have expired.
    ///
    /// # Errors
    /// [`ProviderError::MissingEndpoint`] when discovery has no `userinfo_endpoint`,
    /// [`ProviderError::OAuth`] for a refused token (the `WWW-Authenticate` error is reported as
    /// `invalid_token` when no JSON body says otherwise), [`ProviderError::InvalidResponse`] for
    /// an answer that is not a JSON object or whose `sub` differs, and
    /// [`ProviderError::Unreachable`] when the call fails or times out.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, session: tollgate::SessionData) -> Result<(), tollgate::Error> {
    /// let claims = auth.userinfo(&session).await?;
    /// println!("email: {:?}", claims.get("email"));
    /// # Ok(()) }
    /// ```
    pub async fn userinfo(&self, session: &SessionData) -> Result<Map<String, Value>, Error> {
        let meta = self.provider().metadata().await?;
        let url = meta
            .userinfo_endpoint
            .as_deref()
            .ok_or(ProviderError::MissingEndpoint("userinfo_endpoint"))?;
        let token = session.token_set.access_token.as_str();
        if token.is_empty() {
            return Err(Error::InvalidParameter {
                name: "access_token",
                reason: "the session holds no access token for the default audience",
            });
        }
        let bound = session
            .token_set
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
        let (status, body) = if bound {
            self.userinfo_with_dpop(url, token).await?
        } else {
            self.provider()
                .http
                .send_json(ENDPOINT, reqwest::Method::GET, url, Some(token), None)
                .await?
        };
        if !(200..300).contains(&status) {
            let parsed = serde_json::from_slice::<Map<String, Value>>(&body).ok();
            let field = |k: &str| {
                parsed
                    .as_ref()
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            return Err(ProviderError::OAuth {
                endpoint: ENDPOINT,
                status,
                error: field("error").unwrap_or_else(|| "invalid_token".to_owned()),
                description: field("error_description"),
            }
            .into());
        }
        check_claims(&body, session.user.sub())
    }
}

impl Tollgate {
    /// Calls UserInfo with a DPoP-bound token and a proof; once more with the nonce when the
    /// provider answers `401 use_dpop_nonce` with a `DPoP-Nonce` header.
    async fn userinfo_with_dpop(&self, url: &str, token: &str) -> Result<(u16, Vec<u8>), Error> {
        let provider = &self.provider();
        let dpop = provider.dpop.as_ref().ok_or(Error::InvalidParameter {
            name: "access_token",
            reason: "the session's access token is DPoP-bound but DPoP is not configured: configure the same DPoP key (ConfigBuilder::dpop or AUTH0_DPOP_*)",
        })?;
        let mut retried = false;
        loop {
            let proof = dpop.proof_for("GET", url, Some(token));
            let (answer, wants_nonce) = provider
                .http
                .get_with_dpop(ENDPOINT, url, token, &proof)
                .await?;
            if let Some(nonce) = &answer.dpop_nonce {
                dpop.learn_nonce(url, nonce);
            }
            if answer.status == 401 && wants_nonce && answer.dpop_nonce.is_some() && !retried {
                retried = true;
                tokio::time::sleep(dpop.options.delay()).await;
                continue;
            }
            return Ok((answer.status, answer.body));
        }
    }
}

/// Parses a UserInfo answer and checks that it describes `expected_sub`.
fn check_claims(body: &[u8], expected_sub: &str) -> Result<Map<String, Value>, Error> {
    let invalid = |reason: &str| ProviderError::InvalidResponse {
        endpoint: ENDPOINT,
        reason: reason.to_owned(),
    };
    let claims: Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| invalid("not a JSON object"))?;
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !expected_sub.is_empty() && sub == expected_sub => Ok(claims),
        Some(_) => Err(invalid("its sub is not the session's user").into()),
        None => Err(invalid("it has no sub").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_sessions_subject() {
        let ok = check_claims(
            br#"{"sub":"auth0|alice","email":"a@example.com"}"#,
            "auth0|alice",
        );
        assert_eq!(ok.unwrap()["email"], "a@example.com");
        for (body, sub) in [
            (&br#"{"sub":"auth0|aliceinvalid"}"#[..], "auth0|alice"),
            (br#"{"email":"a@example.com"}"#, "auth0|alice"),
            (br#"{"sub":""}"#, ""),
            (br#"["sub"]"#, "auth0|alice"),
            (b"<html>", "auth0|alice"),
        ] {
            let err = check_claims(body, sub).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Provider(ProviderError::InvalidResponse {
                        endpoint: "userinfo",
                        ..
                    })
                ),
                "{err:?}"
            );
        }
    }
}

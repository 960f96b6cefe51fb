//! The fetcher: calls an API with the session's access token attached the right way — `Bearer`,
//! or `DPoP` with a fresh proof (`ath` included) — refreshing the token when needed and retrying
//! once when the API demands a DPoP nonce.

use thiserror::Error;

use crate::error::ProviderError;
use crate::session::SessionData;
use crate::tokens::{AccessToken, AccessTokenError, AccessTokenOptions};
use crate::web::Tollgate;

/// Why a fetch failed before the API answered. An API's own error status is not an error here:
/// it is in the response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No access token could be had (no session, refresh failed, MFA required, …).
    #[error(transparent)]
    AccessToken(#[from] AccessTokenError),
    /// The request cannot be sent (not an absolute http(s) URL, a header that cannot be copied).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The token is DPoP-bound but no DPoP key is configured.
    #[error(
        "the access token is DPoP-bound but DPoP is not configured (ConfigBuilder::dpop or AUTH0_DPOP_*)"
    )]
    DpopNotConfigured,
    /// The API could not be reached, timed out, or answered more than 16 MiB.
    #[error(transparent)]
    Unreachable(#[from] ProviderError),
}

/// What [`Tollgate::fetch_with_auth`] returns: the API's answer, and the session when getting
/// the token changed it (a refresh) — save it, or `tollgate_axum::Auth` does.
#[derive(Debug)]
#[non_exhaustive]
pub struct FetchOutcome {
    /// The API's answer, whatever its status.
    pub response: http::Response<Vec<u8>>,
    /// `Some` when the session changed and must be saved.
    pub session: Option<SessionData>,
}

impl Tollgate {
    /// Calls an API with an access token for `opts` (audience, scope): cached, or refreshed when
    /// needed. A `Bearer` token goes in `Authorization: Bearer`; a DPoP-bound token goes in
    /// `Authorization: DPoP` with a proof for this method and URL. When the API answers `401`
    /// with `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce`, the request is
    /// sent once more with the nonce (remembered per origin for the next calls). Any
    /// `Authorization` or `DPoP` header in `request` is replaced.
    ///
    /// # Errors
    /// [`FetchError`]: no token, a request that cannot be sent, or no answer.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, session: tollgate::SessionData) -> Result<(), tollgate::FetchError> {
    /// let request = http::Request::get("https://payments.example.com/v1/payments").body(Vec::new()).unwrap();
    /// let opts = tollgate::AccessTokenOptions::new().audience("https://payments.example.com");
    /// let outcome = auth.fetch_with_auth(&session, request, &opts).await?;
    /// println!("{}", outcome.response.status());
    /// if let Some(updated) = outcome.session {
    ///     // save `updated`: the token was refreshed
    /// #   let _ = updated;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn fetch_with_auth(
        &self,
        session: &SessionData,
        request: http::Request<Vec<u8>>,
        opts: &AccessTokenOptions,
    ) -> Result<FetchOutcome, FetchError> {
        let token = self.access_token(session, opts).await?;
        let response = self.fetch_with_token(&token.token, request).await?;
        Ok(FetchOutcome {
            response,
            session: token.session,
        })
    }

    /// Like [`fetch_with_auth`](Self::fetch_with_auth) with a token already in hand.
    ///
    /// # Errors
    /// As [`fetch_with_auth`](Self::fetch_with_auth), without the token errors.
    pub async fn fetch_with_token(
        &self,
        token: &AccessToken,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(FetchError::InvalidRequest(format!(
                "{url:?} is not an absolute http(s) URL"
            )));
        }
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
            .map_err(|_| FetchError::InvalidRequest("unsupported method".into()))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &parts.headers {
            let name = name.as_str();
            if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("dpop") {
                continue;
            }
            let (Ok(n), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
            ) else {
                return Err(FetchError::InvalidRequest(format!(
                    "header {name} cannot be sent"
                )));
            };
            headers.append(n, v);
        }
        let provider = &self.provider();
        let bound = token.token_type.eq_ignore_ascii_case("dpop");
        if !bound {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                bearer_value("Bearer", &token.token)?,
            );
            return Ok(provider.http.fetch(method, &url, headers, body).await?);
        }
        let dpop = provider
            .dpop
            .as_ref()
            .ok_or(FetchError::DpopNotConfigured)?;
        headers.insert(
            reqwest::header::AUTHORIZATION,
            bearer_value("DPoP", &token.token)?,
        );
        let mut retried = false;
        loop {
            let proof = dpop.proof_for(method.as_str(), &url, Some(&token.token));
            let mut h = headers.clone();
            h.insert(
                "dpop",
                reqwest::header::HeaderValue::from_str(&proof)
                    .map_err(|_| FetchError::InvalidRequest("the proof is not a header".into()))?,
            );
            let response = provider
                .http
                .fetch(method.clone(), &url, h, body.clone())
                .await?;
            let nonce = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(n) = &nonce {
                dpop.learn_nonce(&url, n);
            }
            let wants_nonce = response.status() == 401
                && response
                    .headers()
                    .get_all(http::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| v.contains("use_dpop_nonce"));
            if wants_nonce && nonce.is_some() && !retried {
                retried = true;
                tokio::time::sleep(dpop.options.delay()).await;
                continue;
            }
            return Ok(response);
        }
    }
}

fn bearer_value(scheme: &str, token: &str) -> Result<reqwest::header::HeaderValue, FetchError> {
    reqwest::header::HeaderValue::from_str(&format!("{scheme} {token}"))
        .map_err(|_| FetchError::InvalidRequest("the access token is not a header value".into()))
}

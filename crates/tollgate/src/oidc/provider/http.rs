//! The HTTP client that talks to the provider: no redirects, timeouts, bounded bodies, JSON only.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::ClientAuth;
use crate::error::ProviderError;

/// Largest provider response body read, in bytes.
const MAX_BODY: usize = 1 << 20;

/// A provider answer that is not a 2xx, with its parsed OAuth error body when there is one.
#[derive(Debug, Clone)]
pub(crate) struct ErrorAnswer {
    pub(crate) status: u16,
    pub(crate) body: Option<serde_json::Map<String, Value>>,
}

impl ErrorAnswer {
    /// Parses an error body: a JSON object with a string `error`, or nothing.
    pub(crate) fn parse(status: u16, body: &[u8]) -> Self {
        let parsed = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| match v {
                Value::Object(m) if m.get("error").is_some_and(Value::is_string) => Some(m),
                _ => None,
            });
        Self {
            status,
            body: parsed,
        }
    }

    /// The OAuth `error` code.
    pub(crate) fn code(&self) -> Option<&str> {
        self.body.as_ref()?.get("error")?.as_str()
    }
}

/// A provider answer as it came: status, body and the `DPoP-Nonce` header.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) dpop_nonce: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    inner: reqwest::Client,
    /// Dates client assertions.
    clock: std::sync::Arc<dyn crate::time::Clock>,
}

impl HttpClient {
    pub(crate) fn new(
        timeout: Duration,
        clock: std::sync::Arc<dyn crate::time::Clock>,
        extra_roots: &[reqwest::Certificate],
    ) -> Self {
        let inner = reqwest::Client::builder()
            .tls_certs_merge(extra_roots.iter().cloned())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("invariant: a reqwest client with these options always builds");
        Self { inner, clock }
    }

    /// GETs a JSON document.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: &str,
    ) -> Result<T, ProviderError> {
        let resp = self
            .inner
            .get(url)
            .header("accept", "application/json")
            .send()
            .await;
        let (status, body) = read(endpoint, resp).await?;
        if !(200..300).contains(&status) {
            return Err(ProviderError::InvalidResponse {
                endpoint,
                reason: format!("HTTP status {status}"),
            });
        }
        parse_json(endpoint, &body)
    }

    /// POSTs a form with client authentication. A non-2xx answer is returned as `Err(Ok(answer))`.
    pub(crate) async fn post_form<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: &str,
        client_id: &str,
        auth: &ClientAuth,
        form: &[(&str, &str)],
    ) -> Result<T, Result<ErrorAnswer, ProviderError>> {
        let (status, body) = self
            .post_form_raw(endpoint, url, client_id, auth, form)
            .await
            .map_err(Err)?;
        if (200..300).contains(&status) {
            return parse_json(endpoint, &body).map_err(Err);
        }
        Err(Ok(ErrorAnswer::parse(status, &body)))
    }

    /// POSTs a form with client authentication and returns status and body as they are.
    pub(crate) async fn post_form_raw(
        &self,
        endpoint: &'static str,
        url: &str,
        client_id: &str,
        auth: &ClientAuth,
        form: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        let a = self
            .post_form_answer(endpoint, url, client_id, auth, form, None)
            .await?;
        Ok((a.status, a.body))
    }

    /// POSTs a form with client authentication and, when given, a `DPoP` proof header; the
    /// answer as it came, with its `DPoP-Nonce`.
    pub(crate) async fn post_form_answer(
        &self,
        endpoint: &'static str,
        url: &str,
        client_id: &str,
        auth: &ClientAuth,
        form: &[(&str, &str)],
        dpop_proof: Option<&str>,
    ) -> Result<Answer, ProviderError> {
        let assertion: String;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut req = self.inner.post(url).header("accept", "application/json");
        if let Some(proof) = dpop_proof {
            req = req.header("dpop", proof);
        }
        match auth {
            ClientAuth::SecretPost(secret) => {
                fields.push(("client_id", client_id));
                fields.push(("client_secret", secret.expose()));
            }
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
                let user = form_encode(client_id);
                let pass = form_encode(secret.expose());
                req = req.basic_auth(user, Some(pass));
            }
            ClientAuth::PrivateKeyJwt { key, audience } => {
                assertion = key.assertion(client_id, audience, self.clock.now());
                fields.push(("client_id", client_id));
                fields.push(("client_assertion_type", crate::JWT_BEARER_ASSERTION));
                fields.push(("client_assertion", &assertion));
            }
        }
        read_answer(endpoint, req.form(&fields).send().await).await
    }
}

impl HttpClient {
    /// A JSON (or body-less) request with an optional bearer token; status and body as they are.
    pub(crate) async fn send_json(
        &self,
        endpoint: &'static str,
        method: reqwest::Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        let mut req = self
            .inner
            .request(method, url)
            .header("accept", "application/json");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        read(endpoint, req.send().await).await
    }
}

impl HttpClient {
    /// A GET with a DPoP-bound access token: `Authorization: DPoP <token>` and the proof in the
    /// `DPoP` header (RFC 9449 §7.1). The answer as it came, with its `DPoP-Nonce` and whether
    /// its `WWW-Authenticate` asks for a nonce.
    pub(crate) async fn get_with_dpop(
        &self,
        endpoint: &'static str,
        url: &str,
        token: &str,
        proof: &str,
    ) -> Result<(Answer, bool), ProviderError> {
        let resp = self
            .inner
            .get(url)
            .header("accept", "application/json")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
            .await;
        let wants_nonce = resp.as_ref().is_ok_and(|r| {
            r.headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.contains("use_dpop_nonce"))
        });
        Ok((read_answer(endpoint, resp).await?, wants_nonce))
    }
}

/// Largest API response the fetcher reads, in bytes.
const MAX_FETCH_BODY: usize = 16 << 20;

impl HttpClient {
    /// Sends an application's request to one of its APIs as it is (no redirects followed, the
    /// client's timeouts); the answer with any body up to 16 MiB.
    pub(crate) async fn fetch(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
    ) -> Result<http::Response<Vec<u8>>, ProviderError> {
        let endpoint = "API";
        let mut resp = self
            .inner
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(endpoint, &e))?;
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_FETCH_BODY as u64)
        {
            return Err(too_large(endpoint));
        }
        let mut out = http::Response::builder().status(resp.status().as_u16());
        for (name, value) in resp.headers() {
            out = out.header(name.as_str(), value.as_bytes());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(endpoint, &e))? {
            if body.len() + chunk.len() > MAX_FETCH_BODY {
                return Err(too_large(endpoint));
            }
            body.extend_from_slice(&chunk);
        }
        out.body(body).map_err(|e| ProviderError::InvalidResponse {
            endpoint,
            reason: format!("the answer cannot be represented ({e})"),
        })
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn read(
    endpoint: &'static str,
    resp: Result<reqwest::Response, reqwest::Error>,
) -> Result<(u16, Vec<u8>), ProviderError> {
    let a = read_answer(endpoint, resp).await?;
    Ok((a.status, a.body))
}

async fn read_answer(
    endpoint: &'static str,
    resp: Result<reqwest::Response, reqwest::Error>,
) -> Result<Answer, ProviderError> {
    let mut resp = resp.map_err(|e| unreachable(endpoint, &e))?;
    let status = resp.status().as_u16();
    let dpop_nonce = resp
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large(endpoint));
    }
    let json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            ct == "application/json" || ct.ends_with("+json")
        });
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(endpoint, &e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large(endpoint));
        }
        body.extend_from_slice(&chunk);
    }
    if !json && !body.is_empty() && (200..300).contains(&status) {
        return Err(ProviderError::InvalidResponse {
            endpoint,
            reason: "the content type is not JSON".into(),
        });
    }
    Ok(Answer {
        status,
        body,
        dpop_nonce,
    })
}

pub(crate) fn parse_json<T: DeserializeOwned>(
    endpoint: &'static str,
    body: &[u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::InvalidResponse {
        endpoint,
        reason: format!("malformed JSON ({e})"),
    })
}

fn unreachable(endpoint: &'static str, e: &reqwest::Error) -> ProviderError {
    tracing::warn!(endpoint, error = %e, "provider request failed");
    ProviderError::Unreachable {
        endpoint,
        timeout: e.is_timeout(),
    }
}

fn too_large(endpoint: &'static str) -> ProviderError {
    ProviderError::InvalidResponse {
        endpoint,
        reason: format!("the body is larger than {MAX_BODY} bytes"),
    }
}

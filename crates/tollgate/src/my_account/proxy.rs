//! The My Account / My Organization API proxy (backend for frontend): the browser calls
//! `/me/…` or `/my-org/…` on the application with its session cookie and a `scope` header; the
//! server gets a token for the API's audience and scope (refreshing it when needed), attaches it
//! as `Bearer` or `DPoP` with a proof, and forwards the request with an allow-list of headers.

use http::{HeaderMap, HeaderName, Method, Response};
use serde_json::{Value, json};
use thiserror::Error;

use super::MyAccount;
use crate::config::Routes;
use crate::session::SessionData;
use crate::tokens::fetcher::FetchError;
use crate::tokens::{AccessToken, AccessTokenError, AccessTokenOptions};

/// Request headers forwarded upstream; every other header (cookies, authorization, …) stays
/// with the application.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "content-language",
    "content-type",
    "user-agent",
    "cache-control",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "etag",
    "x-request-id",
    "x-correlation-id",
    "traceparent",
    "tracestate",
    "auth0-client",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
];

/// Response headers never passed back: hop-by-hop headers (RFC 9110 §7.6.1), the length (the
/// framework sets it), and cookies (the upstream API must not set cookies on the application's
/// domain).
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "set-cookie",
];

/// Which API a proxied request is for.
///
/// ```
/// let issuer = url::Url::parse("https://example.eu.auth0.com/").unwrap();
/// assert_eq!(tollgate::MyApi::Account.audience(&issuer), "https://example.eu.auth0.com/me/");
/// assert_eq!(tollgate::MyApi::Organization.audience(&issuer), "https://example.eu.auth0.com/my-org/");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MyApi {
    /// The My Account API: `{issuer}me/v1`, audience `{issuer}me/`.
    Account,
    /// The My Organization API: `{issuer}my-org`, audience `{issuer}my-org/`.
    Organization,
}

impl MyApi {
    /// The API's audience at `issuer`.
    pub fn audience(self, issuer: &url::Url) -> String {
        match self {
            Self::Account => format!("{issuer}me/"),
            Self::Organization => format!("{issuer}my-org/"),
        }
    }

    /// The API's base URL at `issuer`.
    pub fn base_url(self, issuer: &url::Url) -> String {
        match self {
            Self::Account => format!("{issuer}me/v1"),
            Self::Organization => format!("{issuer}my-org"),
        }
    }

    /// The application path prefix it is served under.
    pub fn mount(self, routes: &Routes) -> &str {
        match self {
            Self::Account => &routes.my_account,
            Self::Organization => &routes.my_org,
        }
    }
}

/// Why a proxied request was not forwarded, or failed before the API answered. The API's own
/// error answers are not errors: they are passed back as they are.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The path is not under the proxy's prefix.
    #[error("this path is not served by the proxy")]
    NotProxied,
    /// The path or a header cannot be forwarded safely (`.`/`..` segments, encoded slashes, a
    /// malformed `scope` header).
    #[error("the request cannot be forwarded: {0}")]
    InvalidRequest(String),
    /// The request body is larger than the proxy forwards.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A state-changing request came from another origin.
    #[error("cross-origin {method} requests to the proxy are refused (Origin {origin:?})")]
    CrossOrigin {
        /// The request's method.
        method: String,
        /// The request's `Origin`.
        origin: String,
    },
    /// No token could be had: no session, MFA required, refresh failed, store down.
    #[error(transparent)]
    AccessToken(#[from] AccessTokenError),
    /// The token is DPoP-bound and DPoP is not configured.
    #[error("the access token is DPoP-bound but DPoP is not configured")]
    DpopNotConfigured,
    /// The API could not be reached or timed out.
    #[error("the API could not be reached: {0}")]
    Unreachable(String),
}

impl From<FetchError> for ProxyError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::AccessToken(e) => Self::AccessToken(e),
            FetchError::InvalidRequest(m) => Self::InvalidRequest(m),
            FetchError::DpopNotConfigured => Self::DpopNotConfigured,
            FetchError::Unreachable(e) => Self::Unreachable(e.to_string()),
        }
    }
}

impl ProxyError {
    /// The HTTP status the proxy answers with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::NotProxied => http::StatusCode::NOT_FOUND,
            Self::InvalidRequest(_) => http::StatusCode::BAD_REQUEST,
            Self::BodyTooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            Self::CrossOrigin { .. } => http::StatusCode::FORBIDDEN,
            Self::AccessToken(e) => e.status(),
            Self::DpopNotConfigured => http::StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unreachable(_) => http::StatusCode::BAD_GATEWAY,
        }
    }

    /// The wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotProxied => "not_found",
            Self::InvalidRequest(_) => "invalid_request",
            Self::BodyTooLarge { .. } => "request_too_large",
            Self::CrossOrigin { .. } => "cross_origin_request",
            Self::AccessToken(e) => e.code(),
            Self::DpopNotConfigured => "dpop_not_configured",
            Self::Unreachable(_) => "upstream_unreachable",
        }
    }

    /// The JSON body: the `mfa_required` body when MFA is needed, else
    /// `{"error":{"message","code"}}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::AccessToken(e) => e.to_json(),
            other => json!({"error": {"message": other.to_string(), "code": other.code()}}),
        }
    }

    /// The answer to send the browser.
    pub fn into_response(self) -> Response<Vec<u8>> {
        let mut resp = Response::new(self.to_json().to_string().into_bytes());
        *resp.status_mut() = self.status();
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        resp
    }
}

/// A request checked and rewritten for the upstream API, not yet sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PreparedProxy {
    /// Which API.
    pub api: MyApi,
    /// A CORS preflight: forwarded without a session or a token.
    pub preflight: bool,
    /// The upstream request (absolute URL, forwarded headers only).
    pub request: http::Request<Vec<u8>>,
    /// The token to attach: the API's audience and the `scope` header's scopes.
    pub token_options: AccessTokenOptions,
}

/// A proxied answer, and the session to save when getting the token refreshed it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ProxyOutcome {
    /// The API's answer (any status), with hop-by-hop headers and cookies removed.
    pub response: Response<Vec<u8>>,
    /// `Some` when the session changed and must be saved.
    pub session: Option<SessionData>,
}

fn unsafe_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    segment == "."
        || segment == ".."
        || lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
        || segment.contains('\\')
}

/// The upstream path: the API's base path, then the request's path after the prefix, without
/// repeating segments the base already ends with (`/me/v1/x` → `{issuer}me/v1/x`).
fn upstream_url(base: &str, rest: &str, query: Option<&str>) -> Result<String, ProxyError> {
    let rest_segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(bad) = rest_segments.iter().find(|s| unsafe_segment(s)) {
        return Err(ProxyError::InvalidRequest(format!(
            "the path segment {bad:?} is not allowed"
        )));
    }
    let (origin, base_path) = match base.find("://").map(|i| i + 3) {
        Some(start) => match base[start..].find('/') {
            Some(slash) => base.split_at(start + slash),
            None => (base, ""),
        },
        None => (base, ""),
    };
    let base_segments: Vec<&str> = base_path.split('/').filter(|s| !s.is_empty()).collect();
    let max = base_segments.len().min(rest_segments.len());
    let overlap = (1..=max)
        .rev()
        .find(|&i| base_segments[base_segments.len() - i..] == rest_segments[..i])
        .unwrap_or(0);
    let mut url = origin.to_owned();
    for s in base_segments.iter().chain(&rest_segments[overlap..]) {
        url.push('/');
        url.push_str(s);
    }
    if rest.ends_with('/') && rest_segments.len() > overlap {
        url.push('/');
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn forwarded_headers(from: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in FORWARDED_REQUEST_HEADERS {
        for v in from.get_all(*name) {
            out.append(HeaderName::from_static(name), v.clone());
        }
    }
    out
}

/// The scopes of the `scope` header: space-separated scope tokens (RFC 6749 §3.3).
fn scope_header(headers: &HeaderMap) -> Result<Option<String>, ProxyError> {
    let Some(v) = headers.get("scope") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .ok()
        .filter(|s| {
            s.bytes()
                .all(|b| b == b' ' || (b'!'..=b'~').contains(&b) && b != b'"' && b != b'\\')
        })
        .ok_or_else(|| {
            ProxyError::InvalidRequest("the scope header must be space-separated scopes".into())
        })?;
    Ok(Some(s.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty()))
}

/// Removes hop-by-hop headers, the length and cookies from an upstream answer.
fn clean_response(mut resp: Response<Vec<u8>>) -> Response<Vec<u8>> {
    for name in DROPPED_RESPONSE_HEADERS {
        resp.headers_mut().remove(*name);
    }
    resp
}

impl MyAccount<'_> {
    /// Checks and rewrites a browser request to the `api` proxy: the path after the prefix is
    /// appended to the API's base URL (no `.`/`..` or encoded-slash segments), the query is kept,
    /// only an allow-list of headers is forwarded, and the `scope` header becomes the token's scope.
    /// A state-changing request (not `GET`/`HEAD`/`OPTIONS`) whose `Origin` is not the
    /// application's is refused: cookies alone do not prove the page is the application's.
    ///
    /// # Errors
    /// [`ProxyError::NotProxied`], [`ProxyError::InvalidRequest`], [`ProxyError::CrossOrigin`].
    ///
    /// ```
    /// # fn f(auth: tollgate::Tollgate) {
    /// let request = http::Request::get("/me/v1/connected-accounts/accounts?next=abc")
    ///     .header("scope", "read:me:connected_accounts")
    ///     .body(Vec::new())
    ///     .unwrap();
    /// let prepared = auth.my_account().prepare_proxy(tollgate::MyApi::Account, request).unwrap();
    /// assert_eq!(
    ///     prepared.request.uri().to_string(),
    ///     format!("{}me/v1/connected-accounts/accounts?next=abc", auth.config().issuer())
    /// );
    /// # }
    /// ```
    pub fn prepare_proxy(
        &self,
        api: MyApi,
        request: http::Request<Vec<u8>>,
    ) -> Result<PreparedProxy, ProxyError> {
        let config = self.auth.config();
        let (parts, body) = request.into_parts();
        let mount = api.mount(&config.routes).trim_end_matches('/');
        let path = parts.uri.path();
        let rest = path
            .strip_prefix(mount)
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or(ProxyError::NotProxied)?;
        let url = upstream_url(&api.base_url(&config.issuer), rest, parts.uri.query())?;
        let preflight = parts.method == Method::OPTIONS
            && parts.headers.contains_key("access-control-request-method");
        if !is_safe_method(&parts.method)
            && let Err(e) = crate::web::same_origin::check(
                config,
                &crate::session::base_url::RequestOrigin::from_parts(&parts.headers, &parts.uri),
                &parts.headers,
            )
        {
            return Err(ProxyError::CrossOrigin {
                method: parts.method.to_string(),
                origin: e.origin.unwrap_or_default(),
            });
        }
        let mut token_options = AccessTokenOptions::new().audience(api.audience(&config.issuer));
        if let Some(scope) = scope_header(&parts.headers)? {
            token_options = token_options.scope(scope);
        }
        let mut upstream = http::Request::new(body);
        *upstream.method_mut() = parts.method.clone();
        *upstream.uri_mut() = url
            .parse()
            .map_err(|_| ProxyError::InvalidRequest("the path is not a valid URL".into()))?;
        *upstream.headers_mut() = forwarded_headers(&parts.headers);
        Ok(PreparedProxy {
            api,
            preflight,
            request: upstream,
            token_options,
        })
    }

    /// Forwards a CORS preflight as it is, with no session, token or proof (RFC 9110 §9.3.7:
    /// preflights carry no credentials), and passes the API's CORS answer back.
    ///
    /// # Errors
    /// [`ProxyError::Unreachable`].
    pub async fn proxy_preflight(
        &self,
        prepared: PreparedProxy,
    ) -> Result<Response<Vec<u8>>, ProxyError> {
        let (parts, body) = prepared.request.into_parts();
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &parts.headers {
            headers.append(name.clone(), value.clone());
        }
        let resp = self
            .auth
            .provider()
            .http
            .fetch(
                reqwest::Method::OPTIONS,
                &parts.uri.to_string(),
                headers,
                body,
            )
            .await
            .map_err(|e| ProxyError::Unreachable(e.to_string()))?;
        Ok(clean_response(resp))
    }

    /// Sends a prepared request with `token` (`Bearer`, or `DPoP` with a proof and one nonce
    /// retry).
    ///
    /// # Errors
    /// [`ProxyError::DpopNotConfigured`], [`ProxyError::Unreachable`].
    pub async fn proxy_with_token(
        &self,
        prepared: PreparedProxy,
        token: &AccessToken,
    ) -> Result<Response<Vec<u8>>, ProxyError> {
        let resp = self.auth.fetch_with_token(token, prepared.request).await?;
        Ok(clean_response(resp))
    }

    /// The whole proxy for one request: preflights go through without a session; other requests
    /// need `session`, get a token for the API (refreshed when needed — save the outcome's
    /// session) and are forwarded. Frameworks with a session store should prefer
    /// `tollgate_axum`'s routes, which refresh under the store's lock.
    ///
    /// # Errors
    /// [`ProxyError`]: answer with [`ProxyError::into_response`].
    pub async fn proxy(
        &self,
        session: Option<&SessionData>,
        api: MyApi,
        request: http::Request<Vec<u8>>,
    ) -> Result<ProxyOutcome, ProxyError> {
        let prepared = self.prepare_proxy(api, request)?;
        if prepared.preflight {
            return Ok(ProxyOutcome {
                response: self.proxy_preflight(prepared).await?,
                session: None,
            });
        }
        let session = session.ok_or(AccessTokenError::MissingSession)?;
        let token = self
            .auth
            .access_token(session, &prepared.token_options)
            .await?;
        let response = self.proxy_with_token(prepared, &token.token).await?;
        Ok(ProxyOutcome {
            response,
            session: token.session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_paths_do_not_repeat_the_version() {
        let base = "https://t.example/me/v1";
        let cases = [
            ("/v1/profile", "https://t.example/me/v1/profile"),
            ("/profile", "https://t.example/me/v1/profile"),
            ("", "https://t.example/me/v1"),
            ("/v1", "https://t.example/me/v1"),
            ("/v1/a/b/", "https://t.example/me/v1/a/b/"),
        ];
        for (rest, want) in cases {
            assert_eq!(upstream_url(base, rest, None).unwrap(), want, "{rest}");
        }
        assert_eq!(
            upstream_url("https://t.example/my-org", "/details", Some("a=1&a=2")).unwrap(),
            "https://t.example/my-org/details?a=1&a=2"
        );
        assert_eq!(
            upstream_url("https://t.example/tenant/me/v1", "/me/v1/x", None).unwrap(),
            "https://t.example/tenant/me/v1/x"
        );
    }

    #[test]
    fn traversal_segments_are_refused() {
        for rest in [
            "/v1/../../oauth/token",
            "/./x",
            "/v1/%2e%2e/x",
            "/v1/a%2Fb",
            "/v1/a%5cb",
            "/v1/a\\b",
        ] {
            assert!(
                matches!(
                    upstream_url("https://t.example/me/v1", rest, None),
                    Err(ProxyError::InvalidRequest(_))
                ),
                "{rest}"
            );
        }
    }

    #[test]
    fn only_allowed_headers_are_forwarded() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "__session=secret".parse().unwrap());
        h.insert("authorization", "Bearer x".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("traceparent", "00-abc-def-01".parse().unwrap());
        h.insert("connection", "keep-alive".parse().unwrap());
        // What the browser claims about the client's address or the app's host is not forwarded.
        for name in [
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-real-ip",
            "forwarded",
        ] {
            h.insert(name, "6.6.6.6".parse().unwrap());
        }
        let out = forwarded_headers(&h);
        assert_eq!(out.len(), 2);
        assert!(out.contains_key("content-type") && out.contains_key("traceparent"));
    }

    #[test]
    fn scope_header_is_normalised_or_refused() {
        let mut h = HeaderMap::new();
        assert_eq!(scope_header(&h).unwrap(), None);
        h.insert("scope", "  read:a   write:b ".parse().unwrap());
        assert_eq!(scope_header(&h).unwrap().as_deref(), Some("read:a write:b"));
        h.insert("scope", "read:\"a\"".parse().unwrap());
        assert!(scope_header(&h).is_err());
    }
}

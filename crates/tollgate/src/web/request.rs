//! [`AuthRequest`]: what the SDK's route handlers read from an HTTP request.

use crate::session::base_url::RequestOrigin;
use crate::session::cookies::CookieJar;

/// The parts of an HTTP request that the route handlers ([`Tollgate::handle_login`],
/// [`Tollgate::handle_callback`], [`Tollgate::handle_logout`], [`Tollgate::handle_profile`]) read:
/// where it came from (for an allow-list of base URLs), its cookies and its query string.
///
/// [`from_parts`](Self::from_parts) reads all three from the request's headers and URI; with a
/// static base URL the origin is ignored, so a hand-made request needs only what the handler
/// reads.
///
/// ```
/// use tollgate::{AuthRequest, CookieJar, http};
///
/// let uri: http::Uri = "/auth/login?returnTo=%2Fbilling".parse().unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("host", http::HeaderValue::from_static("app.example.com"));
/// headers.insert("cookie", http::HeaderValue::from_static("a=1"));
/// let req = AuthRequest::from_parts(&headers, &uri);
/// assert_eq!(req.query(), "returnTo=%2Fbilling");
/// assert_eq!(req.origin().host(), Some("app.example.com"));
/// assert_eq!(req.cookies().get("a"), Some("1"));
///
/// // The same by hand.
/// let req = AuthRequest::new()
///     .with_query("returnTo=%2Fbilling")
///     .with_cookies(CookieJar::parse("a=1"));
/// assert_eq!(req.query(), "returnTo=%2Fbilling");
/// ```
///
/// [`Tollgate::handle_login`]: crate::Tollgate::handle_login
/// [`Tollgate::handle_callback`]: crate::Tollgate::handle_callback
/// [`Tollgate::handle_logout`]: crate::Tollgate::handle_logout
/// [`Tollgate::handle_profile`]: crate::Tollgate::handle_profile
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    origin: RequestOrigin,
    jar: CookieJar,
    query: String,
    method: http::Method,
    /// The `Origin` and `Sec-Fetch-Site` headers, for the logout `POST`'s same-origin check.
    site_headers: http::HeaderMap,
}

impl AuthRequest {
    /// A request with no host, no cookies and no query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the origin ([`RequestOrigin::from_parts`]), the `Cookie` headers, the query, and the
    /// `Origin` and `Sec-Fetch-Site` headers (for the `POST` check of
    /// [`handle_logout`](crate::Tollgate::handle_logout)). The method is `GET` unless
    /// [`with_method`](Self::with_method) says otherwise.
    pub fn from_parts(headers: &http::HeaderMap, uri: &http::Uri) -> Self {
        let mut site_headers = http::HeaderMap::new();
        for name in ["origin", "sec-fetch-site"] {
            if let Some(v) = headers.get(name) {
                site_headers.insert(name, v.clone());
            }
        }
        Self {
            origin: RequestOrigin::from_parts(headers, uri),
            jar: CookieJar::from_headers(headers),
            query: uri.query().unwrap_or_default().to_owned(),
            method: http::Method::GET,
            site_headers,
        }
    }

    /// Sets the request's method (default `GET`):
    /// [`handle_logout`](crate::Tollgate::handle_logout) checks the origin of a `POST` and can
    /// refuse a `GET`.
    #[must_use]
    pub fn with_method(mut self, method: http::Method) -> Self {
        self.method = method;
        self
    }

    /// The request's method.
    pub fn method(&self) -> &http::Method {
        &self.method
    }

    /// Sets one of the headers the logout `POST`'s same-origin check reads (`Origin`,
    /// `Sec-Fetch-Site`); other names are ignored.
    #[must_use]
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        if name == http::header::ORIGIN || name.as_str() == "sec-fetch-site" {
            self.site_headers.insert(name, value);
        }
        self
    }

    /// The `Origin` and `Sec-Fetch-Site` headers the same-origin check reads.
    pub(crate) fn site_headers(&self) -> &http::HeaderMap {
        &self.site_headers
    }

    /// Sets where the request came from.
    #[must_use]
    pub fn with_origin(mut self, origin: RequestOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// Sets the request's cookies.
    #[must_use]
    pub fn with_cookies(mut self, jar: CookieJar) -> Self {
        self.jar = jar;
        self
    }

    /// Sets the query string (without the `?`).
    #[must_use]
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// Where the request came from.
    pub fn origin(&self) -> &RequestOrigin {
        &self.origin
    }

    /// The request's cookies.
    pub fn cookies(&self) -> &CookieJar {
        &self.jar
    }

    /// The query string (without the `?`; empty when there is none).
    pub fn query(&self) -> &str {
        &self.query
    }
}

//! The one check that a browser request comes from the application's own pages: used by the
//! logout `POST`, the MFA routes and the My Account / My Organization proxy.

use http::HeaderMap;

use crate::config::Config;
use crate::session::base_url::RequestOrigin;

/// A browser request that came from another site's page: its `Origin` is not the application's,
/// or it says `Sec-Fetch-Site: cross-site`.
///
/// ```
/// # fn f(auth: tollgate::Tollgate) {
/// let mut headers = tollgate::http::HeaderMap::new();
/// headers.insert("origin", "https://evil.example".parse().unwrap());
/// let uri: tollgate::http::Uri = "/auth/mfa/verify".parse().unwrap();
/// assert!(auth.check_same_origin(&headers, &uri).is_err());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cross-site request refused (Origin {origin:?}, Sec-Fetch-Site {fetch_site:?})")]
#[non_exhaustive]
pub struct CrossSiteRequest {
    /// The request's `Origin`, when it sent one.
    pub origin: Option<String>,
    /// The request's `Sec-Fetch-Site`, when it sent one.
    pub fetch_site: Option<String>,
}

fn text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Refuses `headers` when `Sec-Fetch-Site` is `cross-site`, when `Origin` is `null` without
/// `Sec-Fetch-Site: same-origin`, or when an `Origin` is present and is not the application's
/// origin for this request (with an allow-list of base URLs, the request's
/// own allowed origin; a host outside the list has none, so any `Origin` is refused). A request
/// with neither header (a non-browser client) passes: every current browser sends `Origin` on a
/// `POST`, and a cross-site page cannot remove it.
pub(crate) fn check(
    config: &Config,
    at: &RequestOrigin,
    headers: &HeaderMap,
) -> Result<(), CrossSiteRequest> {
    let origin = headers.get(http::header::ORIGIN);
    let fetch_site = headers.get("sec-fetch-site");
    let cross_site = fetch_site.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    let same_origin_fetch =
        fetch_site.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"same-origin"));
    let foreign_origin = origin.is_some_and(|origin| {
        // A page sent with `Referrer-Policy: no-referrer` makes the browser send `Origin: null`
        // on its own form posts (Fetch: "serializing a request origin"); such a request is
        // accepted only when the browser vouches with `Sec-Fetch-Site: same-origin`, which a page
        // cannot set. A sandboxed frame or a `data:` page elsewhere sends `null` without it.
        if origin.as_bytes() == b"null" {
            return !same_origin_fetch;
        }
        let own = config
            .base_url_for(at)
            .map(|b| b.origin().ascii_serialization())
            .unwrap_or_default();
        own.is_empty() || origin.as_bytes() != own.as_bytes()
    });
    if cross_site || foreign_origin {
        return Err(CrossSiteRequest {
            origin: text(headers, http::header::ORIGIN),
            fetch_site: text(
                headers,
                http::header::HeaderName::from_static("sec-fetch-site"),
            ),
        });
    }
    Ok(())
}

impl crate::Tollgate {
    /// Checks that a browser request comes from the application's own pages (see
    /// [`CrossSiteRequest`]): the check the logout `POST`, the MFA routes and the API proxies
    /// make. Use it on an application's own state-changing routes too.
    ///
    /// # Errors
    /// [`CrossSiteRequest`] when `Sec-Fetch-Site` is `cross-site` or the `Origin` is another
    /// site's; a request without either header passes.
    pub fn check_same_origin(
        &self,
        headers: &HeaderMap,
        uri: &http::Uri,
    ) -> Result<(), CrossSiteRequest> {
        check(
            self.config(),
            &RequestOrigin::from_parts(headers, uri),
            headers,
        )
    }
}

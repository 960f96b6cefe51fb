//! The tenant's front door, one middleware in front of every route:
//!
//! - **Host.** Only requests whose `Host` is the issuer's `host:port` or a configured alias are
//!   answered; anything else gets `421 Misdirected Request`. A DNS-rebinding page reaches the
//!   tenant under the attacker's own name, so it is refused before any handler runs.
//! - **Same-origin form posts.** The form endpoints of the pages (`/u/login`, `/u/mfa*`, the
//!   consent page, `/dev/*`) refuse a post whose `Origin` is another origin or whose
//!   `Sec-Fetch-Site` says it came from another site. `/dev/*` posts must also *prove* they are
//!   same-origin (an `Origin` or a `Sec-Fetch-Site` header), because they have no other
//!   protection.
//! - **Development pages switch.** With the development pages off, every `/dev/*` path is 404.
//! - **Page headers.** Every HTML answer gets a strict `Content-Security-Policy` (unless the page
//!   set its own), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
//!   `Referrer-Policy: no-referrer`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use url::Url;

use super::pages;
use crate::TenantConfig;

/// What the middleware checks against, computed once per tenant.
#[derive(Debug)]
pub(crate) struct SitePolicy {
    /// `http` or `https`: the issuer's scheme.
    scheme: String,
    /// Every accepted `host:port`, lower case.
    hosts: Vec<String>,
    /// The default `Content-Security-Policy` of HTML pages.
    csp: HeaderValue,
    /// Whether the `/dev/*` routes are served.
    dev_pages: bool,
}

/// The SHA-256 of the pages' only inline style, as a CSP source.
pub(crate) fn style_hash() -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(pages::STYLE.as_bytes()))
    )
}

/// A CSP source that matches `url` as a navigation target: its origin, or its scheme for a
/// custom scheme (native apps' callbacks).
fn csp_source(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    match url.scheme() {
        "http" | "https" => {
            let origin = url.origin().ascii_serialization();
            (origin != "null").then_some(origin)
        }
        other => Some(format!("{other}:")),
    }
}

/// The default page policy: nothing but the pages' own style, forms that post to the tenant,
/// and (because browsers apply `form-action` to the redirects that follow a form post) the
/// origins of the configured callback and logout URLs, where the login and logout forms end.
fn default_csp(config: &TenantConfig) -> HeaderValue {
    let mut targets: Vec<String> = config
        .clients()
        .iter()
        .flat_map(|c| c.callbacks().iter().chain(c.logout_urls()))
        .filter_map(|u| csp_source(u))
        .collect();
    targets.sort();
    targets.dedup();
    let mut form_action = "'self'".to_owned();
    for target in &targets {
        form_action.push(' ');
        form_action.push_str(target);
    }
    let policy = format!(
        "default-src 'none'; style-src {}; img-src 'self' data:; form-action {form_action}; \
         base-uri 'none'; frame-ancestors 'none'",
        style_hash()
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        )
    })
}

/// Whether `host` (without a port) is a loopback address or `localhost`: names that always
/// mean this machine, which no DNS answer can rebind.
fn is_loopback_name(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SitePolicy {
    /// The policy of a tenant with this issuer and configuration.
    pub(crate) fn new(issuer: &str, config: &TenantConfig) -> Self {
        let url = Url::parse(issuer).ok();
        let scheme = url
            .as_ref()
            .map_or_else(|| "http".to_owned(), |u| u.scheme().to_owned());
        let host = url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let port = url.as_ref().and_then(Url::port_or_known_default);
        let with_port = |name: &str| match port {
            Some(port) => format!("{name}:{port}"),
            None => name.to_owned(),
        };
        let mut hosts = vec![with_port(&host)];
        if is_loopback_name(&host) {
            // The other names of this machine, with the same port: a rebinding attack needs a
            // name the attacker's DNS answers, which these never are.
            for alias in ["127.0.0.1", "localhost", "[::1]"] {
                hosts.push(with_port(alias));
            }
        }
        for alias in config.allowed_hosts() {
            let alias = alias.trim().to_ascii_lowercase();
            let has_port = match alias.rfind(']') {
                Some(end) => alias[end..].contains(':'),
                None => alias.contains(':'),
            };
            hosts.push(if has_port { alias } else { with_port(&alias) });
        }
        hosts.sort();
        hosts.dedup();
        Self {
            scheme,
            hosts,
            csp: default_csp(config),
            dev_pages: config.dev_pages(),
        }
    }

    /// `host[:port]` in lower case with the scheme's default port made explicit.
    fn normalize(&self, authority: &str) -> String {
        let authority = authority.trim().to_ascii_lowercase();
        let has_port = match authority.rfind(']') {
            Some(end) => authority[end..].contains(':'),
            None => authority.contains(':'),
        };
        if has_port {
            authority
        } else {
            let default = if self.scheme == "https" { 443 } else { 80 };
            format!("{authority}:{default}")
        }
    }

    /// Whether the request's `Host` (or, for HTTP/2, its authority) is accepted.
    fn host_allowed(&self, request: &Request) -> bool {
        let host = match request.headers().get(header::HOST) {
            Some(value) => value.to_str().ok().map(str::to_owned),
            None => request.uri().authority().map(|a| a.as_str().to_owned()),
        };
        host.is_some_and(|h| self.hosts.contains(&self.normalize(&h)))
    }

    /// Whether `origin` (an `Origin` header value) is the tenant's own, under an accepted host.
    fn origin_allowed(&self, origin: &str) -> bool {
        origin
            .strip_prefix(self.scheme.as_str())
            .and_then(|rest| rest.strip_prefix("://"))
            .filter(|authority| !authority.is_empty() && !authority.contains('/'))
            .is_some_and(|authority| self.hosts.contains(&self.normalize(authority)))
    }

    /// Refuses a form post that a browser says came from another origin: an `Origin` other than
    /// the tenant's, or `Sec-Fetch-Site: cross-site` (or `same-site` without our `Origin`). With
    /// `require_proof`, a post with neither a real `Origin` nor `Sec-Fetch-Site` is refused
    /// too.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the early-return response, built at most once per request"
    )]
    pub(crate) fn check_post(
        &self,
        headers: &HeaderMap,
        require_proof: bool,
    ) -> Result<(), Response> {
        // `Origin: null` carries no information: browsers send it for posts from pages with
        // `Referrer-Policy: no-referrer` (ours), and from sandboxed or opaque origins. Such a
        // post is judged by `Sec-Fetch-Site`, which a page cannot set or suppress.
        let origin = headers
            .get(header::ORIGIN)
            .map(|v| v.to_str().unwrap_or("invalid"))
            .filter(|o| *o != "null");
        let fetch_site = headers
            .get("sec-fetch-site")
            .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
        let origin_ok = origin.map(|o| self.origin_allowed(o));
        if origin_ok == Some(false) {
            return Err(cross_site(origin));
        }
        match fetch_site.as_deref() {
            None | Some("same-origin" | "none") => {}
            // Same site but another origin (another port of this host, say): only with an
            // `Origin` that is ours, which the match above already checked.
            Some("same-site") if origin_ok == Some(true) => {}
            Some(_) => return Err(cross_site(origin)),
        }
        if require_proof && origin.is_none() && fetch_site.is_none() {
            return Err(pages::error_page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This endpoint changes the tenant's state and accepts only same-origin posts: \
                 send an Origin header with the tenant's origin (browsers do), or \
                 Sec-Fetch-Site: same-origin.",
            ));
        }
        Ok(())
    }
}

/// The page for a post that came from another site.
fn cross_site(origin: Option<&str>) -> Response {
    let from = origin.map_or_else(String::new, |o| format!(" (from {o})"));
    pages::error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        &format!(
            "This form was sent from another site{from}, so it was not processed. \
             Go back to the application and sign in again."
        ),
    )
}

/// Whether a `POST` to `path` is a form post of the tenant's pages, and whether it must prove
/// its origin.
fn page_post(path: &str) -> Option<bool> {
    if path.starts_with("/dev/") {
        Some(true)
    } else if path == "/u/login"
        || path.starts_with("/u/mfa")
        || path == "/connected-accounts/connect"
    {
        Some(false)
    } else {
        None
    }
}

/// The middleware.
pub(crate) async fn guard(
    State(policy): State<Arc<SitePolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if !policy.host_allowed(&request) {
        tracing::info!(host = ?request.headers().get(header::HOST), "refused a request for another host");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Misdirected Request: this tenant answers only for its issuer's host.\n",
        )
            .into_response();
    }
    let path = request.uri().path();
    if !policy.dev_pages && (path == "/dev" || path.starts_with("/dev/")) {
        return with_page_headers(
            &policy,
            pages::error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "The development pages are turned off on this tenant.",
            ),
        );
    }
    if request.method() == Method::POST
        && let Some(require_proof) = page_post(path)
        && let Err(refused) = policy.check_post(request.headers(), require_proof)
    {
        tracing::info!(path, "refused a cross-site form post");
        return with_page_headers(&policy, refused);
    }
    with_page_headers(&policy, next.run(request).await)
}

/// Adds the page headers to an HTML answer; a page's own `Content-Security-Policy` is kept.
fn with_page_headers(policy: &SitePolicy, mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return response;
    }
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy.csp.clone());
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(issuer: &str, config: TenantConfig) -> SitePolicy {
        SitePolicy::new(issuer, &config)
    }

    #[test]
    fn loopback_issuers_accept_the_other_loopback_names_on_the_same_port() {
        let p = policy("http://127.0.0.1:4000/", TenantConfig::new());
        for host in ["127.0.0.1:4000", "localhost:4000", "[::1]:4000"] {
            assert!(p.hosts.contains(&host.to_owned()), "{host}");
        }
        assert!(!p.hosts.contains(&"localhost:4001".to_owned()));
        assert!(p.origin_allowed("http://localhost:4000"));
        assert!(!p.origin_allowed("https://127.0.0.1:4000"));
        assert!(!p.origin_allowed("http://127.0.0.1:4001"));
        assert!(!p.origin_allowed("null"));
    }

    #[test]
    fn aliases_without_a_port_take_the_issuers_port() {
        let config = TenantConfig::new()
            .with_allowed_host("tenant.test")
            .with_allowed_host("other.test:8443");
        let p = policy("http://127.0.0.1:4000/", config);
        assert!(p.hosts.contains(&"tenant.test:4000".to_owned()));
        assert!(p.hosts.contains(&"other.test:8443".to_owned()));
        assert!(p.origin_allowed("http://TENANT.test:4000"));
    }

    #[test]
    fn default_ports_are_implied_in_origins() {
        let p = policy("https://tenant.example.com/", TenantConfig::new());
        assert_eq!(p.hosts, vec!["tenant.example.com:443".to_owned()]);
        assert!(p.origin_allowed("https://tenant.example.com"));
        assert!(!p.origin_allowed("http://tenant.example.com"));
    }
}

//! Dynamic application base URLs: the request's own origin, accepted only when an allow-list of
//! base URLs names it.
//!
//! The `Host` header (and `X-Forwarded-Host`) is whatever the client or a proxy wrote, so it is
//! never trusted by itself: with an allow-list ([`ConfigBuilder::app_base_urls`], or a
//! comma-separated `APP_BASE_URL`), each request's origin is parsed strictly and matched against
//! it, and a request from any other host gets a [`BaseUrlError`] — never a redirect to that host.
//! There is no unbounded inference (nextjs-auth0 v4 infers the base from any host when
//! `APP_BASE_URL` is unset); a configuration without a static base URL or an allow-list fails at
//! build.
//!
//! [`ConfigBuilder::app_base_urls`]: crate::ConfigBuilder::app_base_urls

use std::fmt;
use std::net::Ipv6Addr;

use url::{Host, Url};

use crate::error::{BaseUrlError, ConfigError};

/// Longest host (with port) read from a request, in bytes.
const MAX_HOST_LEN: usize = 262;

/// The request information the base URL is chosen from: its host (`X-Forwarded-Host`, else
/// `Host`, else the request URI's authority) and scheme (`X-Forwarded-Proto`, else the
/// connection's scheme when given, else the scheme of the matching allow-list entry). Only the
/// first comma-separated value of a forwarded header counts (the one the outermost proxy wrote).
///
/// With a static base URL it is ignored; with an allow-list it must match an entry.
///
/// ```
/// use tollgate::http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("host", HeaderValue::from_static("internal:8080"));
/// headers.insert("x-forwarded-host", HeaderValue::from_static("pr-7.preview.example.com, proxy"));
/// headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
/// let origin = tollgate::RequestOrigin::from_headers(&headers);
/// assert_eq!(origin.host(), Some("pr-7.preview.example.com"));
/// assert_eq!(origin.proto(), Some("https"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    host: Option<String>,
    forwarded_proto: Option<String>,
    scheme: Option<String>,
}

/// The first comma-separated value of the first `name` header, trimmed; `None` when absent or
/// empty. Bytes that are not UTF-8 are kept as U+FFFD, which no host or scheme accepts.
fn first_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let first = text.split(',').next().unwrap_or_default().trim();
    (!first.is_empty()).then(|| first.to_owned())
}

impl RequestOrigin {
    /// Reads `X-Forwarded-Host`, `Host` and `X-Forwarded-Proto`.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        Self {
            host: first_value(headers, "x-forwarded-host").or_else(|| first_value(headers, "host")),
            forwarded_proto: first_value(headers, "x-forwarded-proto"),
            scheme: None,
        }
    }

    /// Like [`from_headers`](Self::from_headers), falling back to the URI's authority when there
    /// is no `Host` header (HTTP/2 sends `:authority` instead), and taking the URI's scheme as the
    /// connection's. User info in the URI is ignored.
    ///
    /// ```
    /// let uri: tollgate::http::Uri = "https://app.example.com/auth/login".parse().unwrap();
    /// let origin = tollgate::RequestOrigin::from_parts(&tollgate::http::HeaderMap::new(), &uri);
    /// assert_eq!(origin.host(), Some("app.example.com"));
    /// ```
    pub fn from_parts(headers: &http::HeaderMap, uri: &http::Uri) -> Self {
        let mut origin = Self::from_headers(headers);
        if origin.host.is_none() {
            origin.host = uri.host().map(|h| match uri.port_u16() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            });
        }
        if let Some(s) = uri.scheme_str() {
            origin.scheme = Some(s.to_owned());
        }
        origin
    }

    /// An origin from a host (with optional port) alone, for frameworks that hand it over
    /// directly.
    ///
    /// ```
    /// let origin = tollgate::RequestOrigin::new("app.example.com:8443").with_scheme("https");
    /// assert_eq!(origin.host(), Some("app.example.com:8443"));
    /// ```
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: Some(host.into()),
            ..Self::default()
        }
    }

    /// The scheme of the connection itself (`https` when the application terminates TLS). A
    /// forwarded `X-Forwarded-Proto` still wins.
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// The host (and port) the request names, as given, unchecked.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The scheme the request names (`X-Forwarded-Proto`, else the connection's), as given.
    pub fn proto(&self) -> Option<&str> {
        self.forwarded_proto.as_deref().or(self.scheme.as_deref())
    }
}

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else if s.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else {
            None
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// One entry of the allow-list: an exact origin (`https://app.example.com`,
/// `http://localhost:3000`) or a wildcard for preview deployments (`https://*.preview.example.com`)
/// that stands for exactly one more DNS label — `pr-1.preview.example.com`, but neither
/// `preview.example.com` nor `a.b.preview.example.com`.
///
/// Entries are origins: no path, query, fragment or user info. `http` is accepted only for loopback
/// hosts (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`), for development.
///
/// ```
/// let entry = tollgate::AllowedBaseUrl::parse("https://*.preview.example.com").unwrap();
/// assert!(entry.is_wildcard());
/// assert_eq!(entry.to_string(), "https://*.preview.example.com");
/// assert!(tollgate::AllowedBaseUrl::parse("https://app.example.com/app").is_err());
/// assert!(tollgate::AllowedBaseUrl::parse("http://app.example.com").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedBaseUrl {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Exact(Host<String>),
    /// `*.{suffix}`; the suffix is lowercase ASCII with at least two labels.
    Wildcard(String),
}

impl AllowedBaseUrl {
    /// Parses one entry. The error names `APP_BASE_URL` and says what to change.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let value = value.trim();
        let invalid = |reason: &str| ConfigError::InvalidUrl {
            name: "APP_BASE_URL",
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = value.split_once("://").ok_or_else(|| {
            invalid("it has no scheme; write it as https://host (or http://localhost:3000 in development)")
        })?;
        let scheme = Scheme::parse(scheme)
            .ok_or_else(|| invalid("the scheme must be https (or http for a loopback host)"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err(invalid("an allowed base URL has no user info"));
        }
        if authority.contains(['/', '?', '#', '\\']) {
            return Err(invalid(
                "an entry of an allow-list is an origin (scheme, host and port): remove the path, query or fragment",
            ));
        }
        let (wildcard, authority) = match authority.strip_prefix("*.") {
            Some(suffix) => (true, suffix),
            None => (false, authority),
        };
        if authority.contains('*') {
            return Err(invalid(
                "a wildcard is allowed only as the whole leftmost label, as in https://*.preview.example.com",
            ));
        }
        let (host, port) = split_host(authority)
            .ok_or_else(|| invalid("the host is not a valid host name, IP address or port"))?;
        let url = canonical(scheme, &host, port)
            .ok_or_else(|| invalid("the host is not a valid host name, IP address or port"))?;
        let Some(parsed_host) = url.host().map(|h| h.to_owned()) else {
            return Err(invalid("it has no host"));
        };
        let port = url
            .port_or_known_default()
            .expect("invariant: http and https have a known default port");
        let host = if wildcard {
            match &parsed_host {
                Host::Domain(d) if d.contains('.') => HostPattern::Wildcard(d.clone()),
                Host::Domain(_) => {
                    return Err(invalid(
                        "a wildcard needs at least two labels after it (https://*.preview.example.com, never https://*.com)",
                    ));
                }
                _ => return Err(invalid("a wildcard cannot stand for part of an IP address")),
            }
        } else {
            HostPattern::Exact(parsed_host.clone())
        };
        if scheme == Scheme::Http && !is_loopback(&parsed_host) {
            return Err(invalid(
                "an allowed base URL must be https; plain http is accepted only for loopback hosts (localhost, *.localhost, 127.0.0.1, [::1]) in development",
            ));
        }
        Ok(Self { scheme, host, port })
    }

    /// Whether the entry is a wildcard (`https://*.preview.example.com`).
    pub fn is_wildcard(&self) -> bool {
        matches!(self.host, HostPattern::Wildcard(_))
    }

    /// Whether the entry is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// Whether this entry allows the origin `scheme://host:port` (a parsed, lowercase host).
    fn allows(&self, scheme: Scheme, host: &Host<&str>, port: u16) -> bool {
        if self.scheme != scheme || self.port != port {
            return false;
        }
        match (&self.host, host) {
            (HostPattern::Exact(Host::Domain(a)), Host::Domain(b)) => a == b,
            (HostPattern::Exact(Host::Ipv4(a)), Host::Ipv4(b)) => a == b,
            (HostPattern::Exact(Host::Ipv6(a)), Host::Ipv6(b)) => a == b,
            (HostPattern::Wildcard(suffix), Host::Domain(d)) => d
                .strip_suffix(suffix.as_str())
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
            _ => false,
        }
    }
}

impl fmt::Display for AllowedBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Exact(h) => write!(f, "{h}")?,
            HostPattern::Wildcard(s) => write!(f, "*.{s}")?,
        }
        let default = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        if self.port != default {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Loopback: `localhost` and `*.localhost` (RFC 6761), 127.0.0.0/8 and `::1`.
fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Domain(d) => d == "localhost" || d.ends_with(".localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Splits `host[:port]` after a strict check: visible ASCII only; a bracketed IPv6 address or a
/// name of letters, digits, dots and hyphens in labels of 1 to 63 bytes; a port of 1 to 5 digits,
/// not 0. Anything else — user info, paths, spaces, empty labels, a trailing dot — is `None`.
fn split_host(raw: &str) -> Option<(String, Option<u16>)> {
    if raw.is_empty() || raw.len() > MAX_HOST_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (host, port) = if let Some(v6) = raw.strip_prefix('[') {
        let (inner, after) = v6.split_once(']')?;
        inner.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{inner}]"), port)
    } else {
        let (name, port) = match raw.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (raw, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if name.len() > 253 || !name.split('.').all(label_ok) {
            return None;
        }
        (name.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) if (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// `scheme://host[:port]/`, normalised by the URL parser (lowercase, default port dropped, IPv4
/// in dotted form).
fn canonical(scheme: Scheme, host: &str, port: Option<u16>) -> Option<Url> {
    let text = match port {
        Some(p) => format!("{}://{host}:{p}/", scheme.as_str()),
        None => format!("{}://{host}/", scheme.as_str()),
    };
    let url = Url::parse(&text).ok()?;
    url.host()?;
    Some(url)
}

/// A request value shortened for an error message (it is attacker-controlled).
fn shown(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The base URL for a request: the origin it names when an entry of `allowed` allows it.
pub(crate) fn resolve(
    allowed: &[AllowedBaseUrl],
    origin: &RequestOrigin,
) -> Result<Url, BaseUrlError> {
    let raw = origin.host.as_deref().ok_or(BaseUrlError::MissingHost)?;
    let (host, port) =
        split_host(raw).ok_or_else(|| BaseUrlError::MalformedHost { host: shown(raw) })?;
    let schemes: &[Scheme] = match origin.proto() {
        Some(p) => match Scheme::parse(p) {
            Some(Scheme::Https) => &[Scheme::Https],
            Some(Scheme::Http) => &[Scheme::Http],
            None => return Err(BaseUrlError::MalformedProto { proto: shown(p) }),
        },
        // Unknown: the entry decides, https first.
        None => &[Scheme::Https, Scheme::Http],
    };
    for &scheme in schemes {
        let url = canonical(scheme, &host, port)
            .ok_or_else(|| BaseUrlError::MalformedHost { host: shown(raw) })?;
        let (Some(h), Some(p)) = (url.host(), url.port_or_known_default()) else {
            return Err(BaseUrlError::MalformedHost { host: shown(raw) });
        };
        if allowed.iter().any(|e| e.allows(scheme, &h, p)) {
            return Ok(url);
        }
    }
    let shown_scheme = schemes[0].as_str();
    Err(BaseUrlError::NotAllowed {
        origin: shown(&format!(
            "{shown_scheme}://{host}{}",
            port.map(|p| format!(":{p}")).unwrap_or_default()
        )),
    })
}

#[cfg(test)]
mod tests;

//! Small builders for the HTTP answers of the auth routes, framework-agnostic (`http` types).

use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};

use crate::session::cookies::SetCookies;

/// The answer of an auth route: status, headers (including `Set-Cookie`) and a text body.
pub type AuthResponse = Response<String>;

fn with_cookies(mut resp: AuthResponse, cookies: &SetCookies) -> AuthResponse {
    cookies.apply(resp.headers_mut());
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A `302 Found` to `location`, setting `cookies`.
pub(crate) fn redirect(location: &str, cookies: &SetCookies) -> AuthResponse {
    let mut resp = Response::new(String::new());
    *resp.status_mut() = StatusCode::FOUND;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
        }
        Err(_) => *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
    }
    with_cookies(resp, cookies)
}

/// A JSON answer.
pub(crate) fn json(
    status: StatusCode,
    body: &serde_json::Value,
    cookies: &SetCookies,
) -> AuthResponse {
    let mut resp = Response::new(body.to_string());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    with_cookies(resp, cookies)
}

/// An empty answer with `status`.
pub(crate) fn empty(status: StatusCode, cookies: &SetCookies) -> AuthResponse {
    let mut resp = Response::new(String::new());
    *resp.status_mut() = status;
    with_cookies(resp, cookies)
}

/// The policy of the SDK's HTML pages: nothing loads, nothing runs, nothing frames them.
const PAGE_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The headers every HTML page of the SDK sends: `Content-Security-Policy` (`csp`), no framing,
/// no MIME sniffing, no referrer.
pub(crate) fn page_security_headers(headers: &mut http::HeaderMap, csp: HeaderValue) {
    headers.insert(http::header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(
        http::header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// A small HTML page with a title, a message and an optional link.
pub(crate) fn html_page(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
    cookies: &SetCookies,
) -> AuthResponse {
    let link = link
        .map(|(href, text)| format!("<p><a href=\"{}\">{}</a></p>", escape(href), escape(text)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title></head>\n<body><main><h1>{t}</h1><p role=\"alert\">{m}</p>{link}</main></body></html>\n",
        t = escape(title),
        m = escape(message),
    );
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    page_security_headers(resp.headers_mut(), HeaderValue::from_static(PAGE_CSP));
    with_cookies(resp, cookies)
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

//! The page frame shared by every page: document head, navigation and security headers.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub(crate) use tollgate::escape_html as escape;

/// Inline styles only. Pages load nothing and run no script, except the ones built with
/// [`scripted_page`], which may load the demo's own scripts.
const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;color:#1b1b1f}\
header{background:#1b1b1f;padding:.75rem 1.5rem}\
header ul{list-style:none;margin:0;padding:0;display:flex;gap:1.25rem}\
header a{color:#fff}\
main{max-width:42rem;margin:2rem auto;padding:0 1.5rem}\
a:focus{outline:3px solid #f5a623;outline-offset:2px}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid #ddd;overflow-wrap:anywhere}\
.ledger th,.ledger td{overflow-wrap:normal}.ledger th,.ledger time{white-space:nowrap}\
dt{font-weight:600}dd{margin:0 0 .75rem 0}\
label{display:block;font-weight:600;margin:.5rem 0 .25rem}\
input{font:inherit;padding:.3rem .5rem}\
button{font:inherit;padding:.3rem 1rem;margin:.5rem 0}\
input:focus,button:focus{outline:3px solid #f5a623;outline-offset:2px}\
[role=alert]{color:#a4000f;font-weight:600}";

/// Nothing but inline styles may load; no framing, no referrer, no sniffing. Forms: see
/// [`form_action`].
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

/// [`CSP`], plus scripts and `fetch` to the app's own origin (never inline script).
const SCRIPTED_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

/// The `form-action` directive added to every page's policy by [`form_action`]: the only form
/// is the logout button, whose `POST` redirects through the provider's logout endpoint and back,
/// and browsers check `form-action` at each hop of that chain.
pub(crate) fn form_action_directive(provider_origin: &str) -> String {
    format!("form-action 'self' {provider_origin}")
}

/// Completes the `Content-Security-Policy` of the pages in `router` with
/// [`form_action_directive`] for `provider_origin`.
pub(crate) fn form_action(router: axum::Router, provider_origin: &str) -> axum::Router {
    let directive = form_action_directive(provider_origin);
    router.layer(axum::middleware::map_response(
        move |mut response: Response| {
            let directive = directive.clone();
            async move {
                let headers = response.headers_mut();
                let completed = headers
                    .get(CONTENT_SECURITY_POLICY)
                    .and_then(|v| v.to_str().ok())
                    .filter(|csp| !csp.contains("form-action"))
                    .map(|csp| format!("{csp}; {directive}"))
                    .and_then(|csp| HeaderValue::from_str(&csp).ok());
                if let Some(csp) = completed {
                    headers.insert(CONTENT_SECURITY_POLICY, csp);
                }
                response
            }
        },
    ))
}

/// The logout button: a `POST` from the app's own page, the way the SDK documents (a cross-site
/// `GET` could otherwise sign the user out).
pub(crate) fn logout_button(logout_route: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><button type=\"submit\">Log out</button></form>",
        escape(logout_route)
    )
}

/// A complete HTML page. `title` is plain text (escaped here); `body` is markup whose
/// user-supplied parts the caller has already escaped.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    respond(status, document(title, body), CSP)
}

/// Like [`page`], but the page may run the demo's own scripts (`<script type="module"
/// src="/…">` in `body`) and call the app with `fetch`. Inline scripts stay forbidden.
pub(crate) fn scripted_page(status: StatusCode, title: &str, body: &str) -> Response {
    respond(status, document(title, body), SCRIPTED_CSP)
}

fn respond(status: StatusCode, html: String, csp: &'static str) -> Response {
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    // Pages show who is signed in: never cache them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The HTML document around `body`.
fn document(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Tollgate demo</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><nav aria-label=\"Main\"><ul>\
         <li><a href=\"/\">Home</a></li><li><a href=\"/profile\">Profile</a></li>\
         <li><a href=\"/billing\">Billing</a></li><li><a href=\"/payments\">Payments</a></li>\
         <li><a href=\"/connections\">Connections</a></li>\
         </ul></nav></header>\n\
         <main>\n{body}\n</main>\n</body>\n</html>\n"
    )
}

/// A page script: JavaScript, revalidated on every load, never sniffed.
pub(crate) fn script_response(script: &'static str) -> Response {
    let mut response = script.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The page for a path the demo does not serve.
pub(crate) async fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        "<h1>Not found</h1>\n<p>There is no page here. <a href=\"/\">Go to the home page</a>.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_escaped() {
        let html = document("<b>&", "<p>body</p>");
        assert!(html.contains("<title>&lt;b&gt;&amp; · Tollgate demo</title>"));
        assert!(html.contains("<main>\n<p>body</p>\n</main>"));
    }

    #[test]
    fn pages_are_not_cached_and_load_nothing() {
        let response = page(StatusCode::OK, "t", "");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert!(
            response.headers()[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'")
        );
        assert!(!CSP.contains("script-src"));
    }

    #[test]
    fn scripted_pages_run_same_origin_scripts_only() {
        let response = scripted_page(StatusCode::OK, "t", "");
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script_src, "script-src 'self'", "no inline script");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn the_navigation_lists_every_page() {
        let html = document("t", "");
        for path in ["/", "/profile", "/billing", "/payments", "/connections"] {
            assert!(html.contains(&format!("<a href=\"{path}\">")), "{path}");
        }
    }
}

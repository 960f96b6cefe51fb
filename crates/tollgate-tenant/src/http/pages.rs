//! The tenant's HTML pages: login, errors and logout. Plain HTML that works without JavaScript;
//! everything that came from a request is escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for use in HTML content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The pages' only style sheet, inline (the CSP allows it by its hash).
pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f4f6;margin:0}\
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px}\
label{display:block;margin-top:1rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.6rem;margin-top:.3rem;font-size:1rem}\
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;background:#3b3bd4;color:#fff;border:0;border-radius:4px}\
button:focus,input:focus{outline:3px solid #f5a623}\
[role=alert]{color:#b00020;font-weight:600}\
main.wide{max-width:64rem}\
a{color:#2a2ab0}a:focus{outline:3px solid #f5a623}\
code{font-size:1.1rem;letter-spacing:.1em;word-break:break-all}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}\
td form{display:inline}td button{width:auto;margin:0 .3rem 0 0;padding:.3rem .6rem}";

/// A complete page with `status`; `title` and `body` must already be escaped where needed.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    render(status, title, body, "<main>")
}

/// A page with a wider `<main>`, for tables.
pub(crate) fn wide_page(status: StatusCode, title: &str, body: &str) -> Response {
    render(status, title, body, "<main class=\"wide\">")
}

fn render(status: StatusCode, title: &str, body: &str, main: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{main}\n{body}\n</main>\n</body>\n</html>\n"
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error page (never a redirect): used when the request cannot be trusted to redirect.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let title = escape(title);
    let body = format!("<h1>{title}</h1>\n<p>{}</p>", escape(message));
    page(status, &title, &body)
}

/// The login page for the transaction `state`, with an optional error and the typed email.
pub(crate) fn login_page(
    status: StatusCode,
    state: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let action = format!(
        "/u/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", state)
            .finish()
    );
    let alert = error
        .map(|e| format!("<p role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in</h1>\n<p>Log in to continue.</p>\n{alert}\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"state\" value=\"{state}\">\n\
         <label for=\"username\">Email address</label>\n\
         <input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" required value=\"{email}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Continue</button>\n\
         </form>",
        action = escape(&action),
        state = escape(state),
        email = escape(email),
    );
    page(status, "Log in", &body)
}

/// The page shown when a logout has no place to return to.
pub(crate) fn logged_out() -> Response {
    page(
        StatusCode::OK,
        "Logged out",
        "<h1>Logged out</h1>\n<p>You have been logged out.</p>",
    )
}

/// The RP-initiated logout confirmation: a POST form that carries the request's parameters.
pub(crate) fn logout_confirm(fields: &[(&str, Option<&str>)]) -> Response {
    let mut hidden = String::new();
    for (name, value) in fields {
        if let Some(value) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            ));
        }
    }
    let body = format!(
        "<h1>Log out</h1>\n<p>Do you want to log out?</p>\n\
         <form method=\"post\" action=\"/oidc/logout\">\n{hidden}\
         <input type=\"hidden\" name=\"confirm\" value=\"yes\">\n\
         <button type=\"submit\">Yes, log me out</button>\n</form>"
    );
    page(StatusCode::OK, "Log out", &body)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

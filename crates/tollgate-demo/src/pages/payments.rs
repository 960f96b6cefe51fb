//! `GET /payments`: recent payments, read from `/api/payments` by a small script
//! (`GET /payments.js`, an ES module that imports Tollgate's browser module). When the API
//! answers `403 mfa_required`, the script lists the user's authenticators, starts an OTP
//! challenge, asks for the one-time code in an accessible form, verifies it and calls the API
//! again. The page itself needs a login but no second factor: only the payments API asks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tollgate::{Routes, Tollgate};
use tollgate_axum::User;

use super::home::display_name;
use super::layout::{escape, script_response, scripted_page};
use crate::api::PAYMENTS_AUDIENCE;

/// Where the page's script is served.
pub(super) const SCRIPT_PATH: &str = "/payments.js";

/// The page's script: no framework, no inline code (the page's CSP forbids it).
const SCRIPT: &str = include_str!("payments.js");

/// The payments page; the script fills it in.
pub(super) async fn page(State(auth): State<Tollgate>, user: User) -> Response {
    let body = render(&user, auth.config().routes());
    scripted_page(StatusCode::OK, "Payments", &body)
}

/// `GET /payments.js`.
pub(super) async fn script() -> Response {
    script_response(SCRIPT)
}

fn render(user: &tollgate::User, routes: &Routes) -> String {
    let login = format!("{}?returnTo=%2Fpayments", routes.login);
    format!(
        "<h1>Payments</h1>\n\
         <p>Recent payments of <strong>{name}</strong>, from the payments API \
         (<code>{audience}</code>). Its access token needs a second factor once per session: \
         when the API asks for one, this page asks you for a one-time code.</p>\n\
         <div id=\"payments\" data-api=\"/api/payments\" data-client-js=\"{client_js}\" \
         data-login=\"{login}\">\n\
         <p id=\"payments-status\" role=\"status\">Loading your payments…</p>\n\
         <p id=\"payments-error\" role=\"alert\"></p>\n\
         <form id=\"payments-mfa\" aria-labelledby=\"payments-mfa-title\" hidden>\n\
         <h2 id=\"payments-mfa-title\">Verify your identity</h2>\n\
         <p id=\"payments-code-hint\">Enter the 6-digit code from your authenticator app.</p>\n\
         <label for=\"payments-code\">One-time code</label>\n\
         <input id=\"payments-code\" name=\"code\" type=\"text\" autocomplete=\"one-time-code\" \
         inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"6\" required \
         aria-describedby=\"payments-code-hint payments-error\">\n\
         <button type=\"submit\" id=\"payments-verify\">Verify</button>\n\
         </form>\n\
         <div id=\"payments-result\"></div>\n\
         </div>\n\
         <noscript><p>This page needs JavaScript to call the payments API.</p></noscript>\n\
         <script type=\"module\" src=\"{SCRIPT_PATH}\"></script>",
        name = escape(display_name(user)),
        audience = escape(PAYMENTS_AUDIENCE),
        client_js = escape(&routes.client_js),
        login = escape(&login),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> tollgate::User {
        serde_json::from_str(r#"{"sub":"auth0|1","name":"Alice <i>"}"#).unwrap()
    }

    #[test]
    fn the_code_form_is_labelled_and_hidden_until_needed() {
        let html = render(&alice(), &Routes::default());
        assert!(html.contains("<label for=\"payments-code\">One-time code</label>"));
        assert!(html.contains("<input id=\"payments-code\""));
        assert!(html.contains("autocomplete=\"one-time-code\""));
        assert!(
            html.contains(
                "<form id=\"payments-mfa\" aria-labelledby=\"payments-mfa-title\" hidden>"
            )
        );
        assert!(html.contains("<p id=\"payments-error\" role=\"alert\"></p>"));
        assert!(html.contains("<button type=\"submit\" id=\"payments-verify\">Verify</button>"));
        assert!(html.contains("<script type=\"module\" src=\"/payments.js\"></script>"));
        assert!(html.contains("Recent payments of <strong>Alice &lt;i&gt;</strong>"));
        assert!(!html.contains("<i>"));
    }

    #[test]
    fn the_script_finds_the_configured_routes_in_the_page() {
        let mut routes = Routes::default();
        routes.client_js = "/sso/\"client\".js".into();
        routes.login = "/sso/login".into();
        let html = render(&alice(), &routes);
        assert!(html.contains("data-client-js=\"/sso/&quot;client&quot;.js\""));
        assert!(html.contains("data-login=\"/sso/login?returnTo=%2Fpayments\""));
        assert!(SCRIPT.contains("root.dataset.clientJs"));
        assert!(SCRIPT.contains("mfa.verify("));
        assert!(
            !SCRIPT.contains("innerHTML"),
            "the script writes text only, never markup"
        );
    }
}

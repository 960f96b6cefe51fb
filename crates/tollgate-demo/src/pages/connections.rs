//! `GET /connections`: the accounts the user linked at other identity providers (Connected
//! Accounts) and their sign-in methods, read in the browser through Tollgate's My Account API
//! proxy (`/me/v1/…` with a `scope` header) by `GET /connections.js`. Each connection the tenant
//! offers gets a "Connect" link to `/auth/connect`, which sends the user through the provider's
//! consent page and back here; each linked account gets a "Disconnect" button.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tollgate::{Routes, Tollgate};
use tollgate_axum::User;

use super::home::display_name;
use super::layout::{escape, script_response, scripted_page};

/// Where the page's script is served.
pub(super) const SCRIPT_PATH: &str = "/connections.js";

/// The page's script: no framework, no inline code (the page's CSP forbids it).
const SCRIPT: &str = include_str!("connections.js");

/// The connections page; the script fills it in.
pub(super) async fn page(State(auth): State<Tollgate>, user: User) -> Response {
    let body = render(&user, auth.config().routes());
    scripted_page(StatusCode::OK, "Connections", &body)
}

/// `GET /connections.js`.
pub(super) async fn script() -> Response {
    script_response(SCRIPT)
}

fn render(user: &tollgate::User, routes: &Routes) -> String {
    format!(
        "<h1>Connected accounts</h1>\n\
         <p>Link <strong>{name}</strong>'s accounts at other providers so this app can use them \
         on your behalf. The list comes from the My Account API through the app's \
         <code>{me}</code> proxy: your tokens never reach this page.</p>\n\
         <div id=\"connections\" data-me=\"{me}\" data-connect=\"{connect}\">\n\
         <p id=\"connections-error\" role=\"alert\"></p>\n\
         <section aria-labelledby=\"linked-title\">\n\
         <h2 id=\"linked-title\">Linked accounts</h2>\n\
         <p id=\"linked-status\" role=\"status\">Loading your linked accounts…</p>\n\
         <ul id=\"linked\"></ul>\n</section>\n\
         <section aria-labelledby=\"offered-title\">\n\
         <h2 id=\"offered-title\">Connect another account</h2>\n\
         <ul id=\"offered\"></ul>\n</section>\n\
         <section aria-labelledby=\"methods-title\">\n\
         <h2 id=\"methods-title\">Your sign-in methods</h2>\n\
         <p id=\"methods-status\" role=\"status\">Loading your sign-in methods…</p>\n\
         <ul id=\"methods\"></ul>\n</section>\n\
         </div>\n\
         <script type=\"module\" src=\"{SCRIPT_PATH}\"></script>",
        name = escape(display_name(user)),
        me = escape(&routes.my_account),
        connect = escape(&routes.connect_account),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_the_proxy_and_the_connect_route_and_loads_its_script() {
        let user: tollgate::User =
            serde_json::from_str(r#"{"sub":"auth0|1","name":"Ada <b>"}"#).unwrap();
        let html = render(&user, &Routes::default());
        assert!(html.contains("data-me=\"/me\" data-connect=\"/auth/connect\""));
        assert!(html.contains("<strong>Ada &lt;b&gt;</strong>"));
        assert!(html.contains("<script type=\"module\" src=\"/connections.js\"></script>"));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn the_script_sends_scopes_and_builds_no_markup_from_strings() {
        for scope in [
            "read:me:connected_accounts",
            "delete:me:connected_accounts",
            "read:me:authentication_methods",
        ] {
            assert!(SCRIPT.contains(scope), "{scope}");
        }
        assert!(!SCRIPT.contains("innerHTML"));
    }
}

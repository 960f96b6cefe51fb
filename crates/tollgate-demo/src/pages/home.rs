//! `GET /`: who is signed in, and the way in or out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tollgate::{Routes, Tollgate};
use tollgate_axum::User;

use super::layout::{escape, page as layout};

/// The home page; signing in is optional here.
pub(super) async fn page(State(auth): State<Tollgate>, user: Option<User>) -> Response {
    let body = render(user.as_deref(), auth.config().routes());
    layout(StatusCode::OK, "Home", &body)
}

/// What to call the user: the name, else the email, else the subject.
pub(super) fn display_name<'a>(user: &'a tollgate::User) -> &'a str {
    let given = |claim: Option<&'a str>| claim.filter(|v| !v.trim().is_empty());
    given(user.name())
        .or_else(|| given(user.email()))
        .unwrap_or_else(|| user.sub())
}

fn render(user: Option<&tollgate::User>, routes: &Routes) -> String {
    let intro = "<h1>Tollgate demo</h1>\n\
        <p>An axum app that signs users in with Auth0 through Tollgate.</p>\n";
    match user {
        None => format!(
            "{intro}<p>You are not signed in.</p>\n\
             <p><a href=\"{login}\">Log in</a></p>\n\
             <p>Your <a href=\"/profile\">profile</a> asks you to log in first; \
             <a href=\"/billing\">billing</a> also asks for a second factor.</p>",
            login = escape(&routes.login),
        ),
        Some(user) => format!(
            "{intro}<p>Signed in as <strong>{name}</strong>.</p>\n\
             <ul>\n\
             <li><a href=\"/profile\">Your profile</a></li>\n\
             <li><a href=\"/billing\">Billing</a>: asks for a one-time code once per session</li>\n\
             <li><a href=\"/payments\">Payments</a>: the payments API asks for a one-time code, \
             right on the page</li>\n\
             </ul>\n\
             {logout}",
            name = escape(display_name(user)),
            logout = super::layout::logout_button(&routes.logout),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(json: &str) -> tollgate::User {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn signed_out_offers_the_login() {
        let html = render(None, &Routes::default());
        assert!(html.contains("<a href=\"/auth/login\">Log in</a>"));
        assert!(!html.contains("Log out"));
    }

    #[test]
    fn signed_in_shows_the_escaped_name_and_the_logout() {
        let html = render(
            Some(&user(
                r#"{"sub":"auth0|1","name":"<script>alert(1)</script>"}"#,
            )),
            &Routes::default(),
        );
        assert!(html.contains("<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<form method=\"post\" action=\"/auth/logout\"><button type=\"submit\">Log out</button></form>"));
        assert!(!html.contains("Log in"));
        for page in ["/profile", "/billing", "/payments"] {
            assert!(html.contains(&format!("<a href=\"{page}\">")), "{page}");
        }
    }

    #[test]
    fn the_display_name_falls_back_to_email_then_sub() {
        assert_eq!(display_name(&user(r#"{"sub":"s","email":"e@x"}"#)), "e@x");
        assert_eq!(
            display_name(&user(r#"{"sub":"s","name":" ","email":"e@x"}"#)),
            "e@x"
        );
        assert_eq!(display_name(&user(r#"{"sub":"s","name":" "}"#)), "s");
    }
}

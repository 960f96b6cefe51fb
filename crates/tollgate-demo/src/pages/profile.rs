//! `GET /profile`: the signed-in user's profile claims. Requires a login: without a session the
//! [`User`] extractor redirects the browser to the login route, which returns here afterwards.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use tollgate::{Routes, Tollgate};
use tollgate_axum::User;

use super::home::display_name;
use super::layout::{escape, page as layout};

/// The profile page.
pub(super) async fn page(State(auth): State<Tollgate>, user: User) -> Response {
    let body = render(&user, auth.config().routes());
    layout(StatusCode::OK, "Profile", &body)
}

fn render(user: &tollgate::User, routes: &Routes) -> String {
    let email = user.email().unwrap_or("(none)");
    let mut claims: Vec<_> = user.0.iter().collect();
    claims.sort_by(|a, b| a.0.cmp(b.0));
    let mut rows = String::new();
    for (claim, value) in claims {
        rows.push_str(&format!(
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>\n",
            escape(claim),
            escape(&claim_text(value)),
        ));
    }
    format!(
        "<h1>Your profile</h1>\n\
         <dl>\n<dt>Name</dt><dd>{name}</dd>\n<dt>Email</dt><dd>{email}</dd>\n</dl>\n\
         <table>\n<caption>Profile claims of your session</caption>\n\
         <thead><tr><th scope=\"col\">Claim</th><th scope=\"col\">Value</th></tr></thead>\n\
         <tbody>\n{rows}</tbody>\n</table>\n\
         {logout}",
        name = escape(display_name(user)),
        email = escape(email),
        logout = super::layout::logout_button(&routes.logout),
    )
}

/// A claim as text: strings as they are, anything else as JSON.
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_name_email_and_every_claim_escaped() {
        let user: tollgate::User = serde_json::from_str(
            r#"{"sub":"auth0|1","name":"Ada <b>","email":"ada@example.com",
                "email_verified":true,"\"><i>":"x","groups":["a&b"]}"#,
        )
        .unwrap();
        let html = render(&user, &Routes::default());
        assert!(html.contains("<dt>Name</dt><dd>Ada &lt;b&gt;</dd>"));
        assert!(html.contains("<dt>Email</dt><dd>ada@example.com</dd>"));
        assert!(html.contains("<code>email_verified</code></th><td>true</td>"));
        assert!(html.contains("<code>&quot;&gt;&lt;i&gt;</code>"));
        assert!(html.contains("<td>[&quot;a&amp;b&quot;]</td>"));
        assert!(!html.contains("<b>") && !html.contains("<i>"));
        assert!(html.contains("<form method=\"post\" action=\"/auth/logout\"><button type=\"submit\">Log out</button></form>"));
    }

    #[test]
    fn a_profile_without_email_says_so() {
        let user: tollgate::User = serde_json::from_str(r#"{"sub":"auth0|1"}"#).unwrap();
        assert!(render(&user, &Routes::default()).contains("<dd>(none)</dd>"));
    }
}

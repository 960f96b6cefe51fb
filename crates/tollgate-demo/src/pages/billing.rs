//! `GET /billing`: the user's invoices, behind a second factor. [`router`] wraps the page in
//! [`RequireMfa`]: a session without multi-factor authentication is sent to the login route with
//! `acr_values`, so the tenant asks for a one-time code (no password while its own session
//! lasts) and the callback returns here. Once done, the session shows it, and later visits pass
//! without a prompt until logout.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tollgate::{Routes, Tollgate};
use tollgate_axum::{RequireMfa, User};

use super::home::display_name;
use super::layout::{escape, page as layout};

/// One made-up invoice.
struct Invoice {
    number: &'static str,
    date: &'static str,
    description: &'static str,
    amount: &'static str,
    status: &'static str,
}

/// The invoices every user "has": the demo keeps no data.
const INVOICES: &[Invoice] = &[
    Invoice {
        number: "INV-2024-0041",
        date: "2024-04-01",
        description: "Team plan, April",
        amount: "€49.00",
        status: "Paid",
    },
    Invoice {
        number: "INV-2024-0057",
        date: "2024-05-01",
        description: "Team plan, May",
        amount: "€49.00",
        status: "Paid",
    },
    Invoice {
        number: "INV-2024-0063",
        date: "2024-05-14",
        description: "Extra seats & support <priority>",
        amount: "€120.00",
        status: "Due 2024-06-13",
    },
];

/// `/billing` behind [`RequireMfa`] (as a route layer, so it guards this route only).
pub(super) fn router() -> Router<Tollgate> {
    Router::new()
        .route("/billing", get(page))
        .route_layer(RequireMfa::new())
}

/// The billing page; [`RequireMfa`] has checked the second factor before this runs.
async fn page(State(auth): State<Tollgate>, user: User) -> Response {
    let body = render(&user, auth.config().routes());
    layout(StatusCode::OK, "Billing", &body)
}

fn render(user: &tollgate::User, routes: &Routes) -> String {
    let mut rows = String::new();
    for invoice in INVOICES {
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td><time datetime=\"{date}\">{date}</time></td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(invoice.number),
            escape(invoice.description),
            escape(invoice.amount),
            escape(invoice.status),
            date = escape(invoice.date),
        ));
    }
    format!(
        "<h1>Billing</h1>\n\
         <p>Invoices of <strong>{name}</strong>.</p>\n\
         <p id=\"billing-verified\">You confirmed your identity with a second factor in this \
         session, so this page stays open until you log out.</p>\n\
         <table id=\"invoices\" class=\"ledger\">\n<caption>Your invoices (made up for the demo)</caption>\n\
         <thead><tr><th scope=\"col\">Invoice</th><th scope=\"col\">Date</th>\
         <th scope=\"col\">Description</th><th scope=\"col\">Amount</th>\
         <th scope=\"col\">Status</th></tr></thead>\n\
         <tbody>\n{rows}</tbody>\n</table>\n\
         {logout}",
        name = escape(display_name(user)),
        logout = super::layout::logout_button(&routes.logout),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_escaped_name_and_every_invoice() {
        let user: tollgate::User =
            serde_json::from_str(r#"{"sub":"auth0|1","name":"Ada <b>&"}"#).unwrap();
        let html = render(&user, &Routes::default());
        assert!(html.contains("<h1>Billing</h1>"));
        assert!(html.contains("Invoices of <strong>Ada &lt;b&gt;&amp;</strong>"));
        for invoice in INVOICES {
            assert!(html.contains(&escape(invoice.number)));
        }
        assert!(html.contains("Extra seats &amp; support &lt;priority&gt;"));
        assert!(!html.contains("<b>") && !html.contains("<priority>"));
        assert!(html.contains("<form method=\"post\" action=\"/auth/logout\"><button type=\"submit\">Log out</button></form>"));
    }
}

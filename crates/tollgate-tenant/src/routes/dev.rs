//! Development pages: the event log (`GET /dev/logs`, `GET /dev/logs.json`) and ending a
//! user's sessions (`POST /dev/users/logout`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, logout};
use crate::TenantEvent;
use crate::http::pages::{error_page, escape, page as simple_page, wide_page};
use crate::http::params::Params;

/// The form that ends a user's sessions, shown on the logs page.
const END_SESSIONS_FORM: &str = "<form method=\"post\" action=\"/dev/users/logout\">\n\
     <label for=\"email\">End every session of a user (back-channel logout)</label>\n\
     <input id=\"email\" name=\"email\" type=\"email\" required>\n\
     <button type=\"submit\">End sessions</button>\n</form>";

/// `POST /dev/users/logout` with the form field `email`: ends the user's SSO sessions, revokes
/// their refresh tokens and sends back-channel logout tokens; answers a page with the count.
pub(super) async fn end_user_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_body(&headers, &body).unwrap_or_default();
    let Some(email) = params.get("email") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Missing email",
            "Send the form field email with the address of the user whose sessions should end.",
        );
    };
    if state.config.user_by_email(email).is_none() {
        return error_page(
            StatusCode::NOT_FOUND,
            "No such user",
            &format!("There is no user {email} in this tenant."),
        );
    }
    let ended = logout::end_user_sessions(&state, email);
    let plural = if ended == 1 { "" } else { "s" };
    let body = format!(
        "<h1>Sessions ended</h1>\n<p role=\"status\" id=\"sessions-ended\">Ended {ended} session{plural} of {}. \
         Their refresh tokens are revoked and back-channel logout tokens are on their way.</p>\n\
         <p><a href=\"/dev/logs\">See the logs</a></p>",
        escape(email)
    );
    simple_page(StatusCode::OK, "Sessions ended", &body)
}

/// The events `?type=` and `?client_id=` select, newest first.
fn selected(state: &AppState, query: Option<&str>) -> Vec<TenantEvent> {
    let params = Params::from_query(query);
    let kind = params.get("type");
    let client_id = params.get("client_id");
    let mut events = state.events.matching(|e| {
        kind.is_none_or(|k| e.kind == k)
            && client_id.is_none_or(|c| e.client_id.as_deref() == Some(c))
    });
    events.reverse();
    events
}

/// `GET /dev/logs.json[?type=…][&client_id=…]`: the events as a JSON array, newest first.
pub(super) async fn json(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let mut response = Json(selected(&state, query.as_deref())).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /dev/logs[?type=…][&client_id=…]`: the events as an HTML table, newest first.
pub(super) async fn page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let events = selected(&state, query.as_deref());
    let mut rows = String::new();
    for event in &events {
        let cell = |value: Option<&str>| escape(value.unwrap_or_default());
        rows.push_str(&format!(
            "<tr id=\"event-{id}\"><td>{date}</td><td><code>{kind}</code></td><td>{description}</td>\
             <td>{client}</td><td>{user}</td><td><code>{details}</code></td></tr>\n",
            id = escape(&event.id),
            date = escape(&event.date),
            kind = escape(&event.kind),
            description = escape(&event.description),
            client = cell(event.client_id.as_deref()),
            user = cell(event.user_name.as_deref().or(event.user_id.as_deref())),
            details = escape(&event.details.to_string()),
        ));
    }
    let table = if rows.is_empty() {
        "<p>No events yet.</p>".to_owned()
    } else {
        format!(
            "<table>\n<caption>Events, newest first</caption>\n<thead><tr><th scope=\"col\">Date (UTC)</th>\
             <th scope=\"col\">Type</th><th scope=\"col\">Description</th><th scope=\"col\">Client</th>\
             <th scope=\"col\">User</th><th scope=\"col\">Details</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"
        )
    };
    let body = format!(
        "<h1>Tenant logs</h1>\n\
         <p>Logins, token grants, MFA and logouts, like an Auth0 tenant's logs. \
         Also as JSON at <a href=\"/dev/logs.json\">/dev/logs.json</a> \
         (filters: <code>?type=</code>, <code>?client_id=</code>).</p>\n{END_SESSIONS_FORM}\n{table}"
    );
    wide_page(StatusCode::OK, "Tenant logs", &body)
}

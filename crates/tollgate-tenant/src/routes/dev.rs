//! Development pages for the event log: `GET /dev/logs` (HTML) and `GET /dev/logs.json`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::TenantEvent;
use crate::http::pages::{escape, wide_page};
use crate::http::params::Params;

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
         (filters: <code>?type=</code>, <code>?client_id=</code>).</p>\n{table}"
    );
    wide_page(StatusCode::OK, "Tenant logs", &body)
}

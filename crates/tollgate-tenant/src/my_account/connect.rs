//! Connected Accounts (wire contract §10): a ticket from `connect`, the other provider's consent
//! (a tenant page stands in for Google, GitHub, …), a single-use `connect_code` back to the
//! application, and `complete`, which links the account so that the Token Vault exchange then
//! issues tokens for that connection.

use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Problem, json_response, me as caller, respond};
use crate::http::binding::{self, Purpose};
use crate::http::oauth_error::{redirect, with_query};
use crate::http::pages::{error_page, escape, page};
use crate::random;
use crate::state::TenantState;
use crate::store::{Account, Pending};

/// How long a ticket and a `connect_code` live.
const TICKET_LIFETIME: Duration = Duration::from_secs(300);
/// Accounts per page of the list.
const PAGE_SIZE: usize = 20;

const CONNECT_FIELDS: [&str; 7] = [
    "connection",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scopes",
    "authorization_params",
];
const AUTHORIZATION_PARAMS: [&str; 9] = [
    "acr_values",
    "audience",
    "resource",
    "display",
    "id_token_hint",
    "login_hint",
    "max_age",
    "prompt",
    "ui_locales",
];

/// The body as a JSON object whose keys are all in `allowed`.
fn object(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Problem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Problem::invalid("body", "The body must be a JSON object"))?;
    let Value::Object(map) = value else {
        return Err(Problem::invalid("body", "The body must be a JSON object"));
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Problem::invalid(
            extra,
            "Additional properties are not allowed",
        ));
    }
    Ok(map)
}

/// A string field of `len` characters (`None` when absent and optional).
fn string<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    len: std::ops::RangeInclusive<usize>,
    required: bool,
) -> Result<Option<&'a str>, Problem> {
    match map.get(field) {
        None if !required => Ok(None),
        None => Err(Problem::invalid(field, "Missing required property")),
        Some(Value::String(s)) if len.contains(&s.chars().count()) => Ok(Some(s)),
        Some(_) => Err(Problem::invalid(
            field,
            format!(
                "Must be a string of {} to {} characters",
                len.start(),
                len.end()
            ),
        )),
    }
}

fn check_authorization_params(value: &Value) -> Result<(), Problem> {
    let field = "authorization_params";
    let map = value
        .as_object()
        .ok_or_else(|| Problem::invalid(field, "Must be an object"))?;
    for (k, v) in map {
        let ok = match k.as_str() {
            "display" => ["page", "popup", "touch", "wap"].contains(&v.as_str().unwrap_or("")),
            "prompt" => {
                ["none", "login", "consent", "select_account"].contains(&v.as_str().unwrap_or(""))
            }
            "max_age" => v.as_u64().is_some(),
            other if AUTHORIZATION_PARAMS.contains(&other) => v.is_string(),
            _ => {
                return Err(Problem::invalid(
                    &format!("{field}/{k}"),
                    "Additional properties are not allowed",
                ));
            }
        };
        if !ok {
            return Err(Problem::invalid(&format!("{field}/{k}"), "Invalid value"));
        }
    }
    Ok(())
}

fn scopes_of(map: &Map<String, Value>) -> Result<Vec<String>, Problem> {
    let Some(value) = map.get("scopes") else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .filter(|l| (1..=100).contains(&l.len()))
        .ok_or_else(|| Problem::invalid("scopes", "Must be an array of 1 to 100 strings"))?;
    let mut out: Vec<String> = Vec::new();
    for s in list {
        let s = s
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Problem::invalid("scopes", "Must be an array of 1 to 100 strings"))?;
        if out.iter().any(|o| o == s) {
            return Err(Problem::invalid("scopes", "Items must be unique"));
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

/// `POST /me/v1/connected-accounts/connect`.
pub(super) async fn connect(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let caller = caller(
            &state,
            &method,
            &uri,
            &headers,
            "create:me:connected_accounts",
        )?;
        let map = object(&body, &CONNECT_FIELDS)?;
        let connection = string(&map, "connection", 1..=128, true)?.unwrap_or_default();
        let redirect_uri = string(&map, "redirect_uri", 1..=2048, true)?.unwrap_or_default();
        let registered = state
            .config
            .client(&caller.client_id)
            .is_some_and(|c| c.callbacks().iter().any(|cb| cb == redirect_uri));
        if url::Url::parse(redirect_uri).is_err() || !registered {
            return Err(Problem::invalid(
                "redirect_uri",
                "Must be one of the application's allowed callback URLs",
            ));
        }
        let st = string(&map, "state", 1..=4096, false)?;
        let challenge = string(&map, "code_challenge", 43..=128, false)?;
        match (challenge, map.get("code_challenge_method")) {
            (Some(_), Some(Value::String(m))) if m == "S256" => {}
            (None, None) => {}
            _ => {
                return Err(Problem::invalid(
                    "code_challenge_method",
                    "Must be S256, and sent with code_challenge",
                ));
            }
        }
        let scopes = scopes_of(&map)?;
        if let Some(params) = map.get("authorization_params") {
            check_authorization_params(params)?;
        }
        if !state
            .config
            .connected_account_connections()
            .iter()
            .any(|c| c == connection)
        {
            return Err(Problem::invalid(
                "connection",
                format!("The connection {connection} is not enabled for Connected Accounts"),
            ));
        }
        let ticket = random::token(24);
        let auth_session = random::token(32);
        let pending = Pending {
            auth_session: auth_session.clone(),
            email: caller.user.email().to_owned(),
            connection: connection.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: st.map(str::to_owned),
            code_challenge: challenge.map(str::to_owned),
            scopes,
            jkt: caller.jkt.clone(),
            expires_at: state.moment() + TICKET_LIFETIME,
        };
        {
            let mut store = state.store();
            store.my_account.purge(state.moment());
            store.my_account.tickets.insert(ticket.clone(), pending);
        }
        Ok(json_response(
            StatusCode::CREATED,
            &json!({
                "connect_uri": state.endpoint("connected-accounts/connect"),
                "auth_session": auth_session,
                "connect_params": {"ticket": ticket},
                "expires_in": TICKET_LIFETIME.as_secs(),
            }),
        ))
    })())
}

#[derive(Deserialize)]
pub(super) struct TicketQuery {
    #[serde(default)]
    ticket: String,
}

/// `GET /connected-accounts/connect?ticket=…`: the other provider's consent page.
pub(super) async fn consent_page(
    State(state): State<Arc<TenantState>>,
    Query(q): Query<TicketQuery>,
) -> Response {
    let pending = {
        let mut store = state.store();
        store.my_account.purge(state.moment());
        store.my_account.tickets.get(&q.ticket).cloned()
    };
    let Some(p) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Link expired",
            "This account-linking link is unknown, expired or already used. Start again from the application.",
        );
    };
    let scopes = if p.scopes.is_empty() {
        "<p>No extra permissions are requested.</p>".to_owned()
    } else {
        let items: String = p
            .scopes
            .iter()
            .map(|s| format!("<li><code>{}</code></li>", escape(s)))
            .collect();
        format!("<p>It asks for:</p><ul>{items}</ul>")
    };
    let body = format!(
        "<h1>Connect {conn}</h1>\n<p>An application wants to link your <strong>{conn}</strong> \
         account to <strong>{email}</strong>.</p>\n{scopes}\n\
         <form method=\"post\" action=\"/connected-accounts/connect\">\n\
         <input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
        conn = escape(&p.connection),
        email = escape(&p.email),
        ticket = escape(&q.ticket),
    );
    let mut response = page(
        StatusCode::OK,
        &format!("Connect {}", escape(&p.connection)),
        &body,
    );
    // Only the browser that was shown this page may answer it.
    response.headers_mut().append(
        axum::http::header::SET_COOKIE,
        binding::set_cookie(
            Purpose::Consent,
            &q.ticket,
            TICKET_LIFETIME.as_secs(),
            state.issuer.starts_with("https:"),
        ),
    );
    response
}

#[derive(Deserialize)]
pub(super) struct Decision {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    decision: String,
}

/// `POST /connected-accounts/connect` (from the browser that was shown the page, see
/// [`binding`]): Allow sends a `connect_code` back; Deny sends
/// `error=access_denied`. The ticket is spent either way.
pub(super) async fn decide(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    Form(form): Form<Decision>,
) -> Response {
    if let Err(refused) = binding::require(&headers, Purpose::Consent, &form.ticket) {
        return refused;
    }
    let pending = state.store().my_account.tickets.remove(&form.ticket);
    let Some(p) = pending.filter(|p| p.expires_at > state.moment()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Link expired",
            "This account-linking link is unknown, expired or already used. Start again from the application.",
        );
    };
    let st = p.state.clone();
    let location = if form.decision == "allow" {
        let code = random::token(32);
        let redirect_uri = p.redirect_uri.clone();
        state.store().my_account.codes.insert(
            code.clone(),
            Pending {
                expires_at: state.moment() + TICKET_LIFETIME,
                ..p
            },
        );
        with_query(
            &redirect_uri,
            &[("connect_code", Some(&code)), ("state", st.as_deref())],
        )
    } else {
        with_query(
            &p.redirect_uri,
            &[
                ("error", Some("access_denied")),
                (
                    "error_description",
                    Some("The user did not allow the connection"),
                ),
                ("state", st.as_deref()),
            ],
        )
    };
    redirect(&location)
}

/// `POST /me/v1/connected-accounts/complete`.
pub(super) async fn complete(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let caller = caller(
            &state,
            &method,
            &uri,
            &headers,
            "create:me:connected_accounts",
        )?;
        let map = object(
            &body,
            &[
                "auth_session",
                "connect_code",
                "redirect_uri",
                "code_verifier",
            ],
        )?;
        let auth_session = string(&map, "auth_session", 1..=64, true)?.unwrap_or_default();
        let code = string(&map, "connect_code", 1..=46, true)?.unwrap_or_default();
        let redirect_uri = string(&map, "redirect_uri", 1..=2048, true)?.unwrap_or_default();
        let verifier = string(&map, "code_verifier", 43..=128, false)?;
        // The code is spent by any attempt, as an authorization code is.
        let pending = state.store().my_account.codes.remove(code);
        let p = pending
            .filter(|p| p.expires_at > state.moment())
            .ok_or_else(|| Problem::invalid("connect_code", "Invalid or expired connect_code"))?;
        if p.auth_session != auth_session {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "Conflict",
                "auth_session does not match the connect request",
            ));
        }
        if p.email != caller.user.email() {
            return Err(Problem::forbidden(
                "The connect request was started by another user",
            ));
        }
        if p.redirect_uri != redirect_uri {
            return Err(Problem::invalid(
                "redirect_uri",
                "Must be the redirect_uri of the connect request",
            ));
        }
        if p.jkt.is_some() && p.jkt != caller.jkt {
            return Err(Problem::forbidden(
                "The connect request was made with another DPoP key",
            ));
        }
        if !crate::routes::verifier_matches(p.code_challenge.as_deref(), verifier) {
            return Err(Problem::invalid(
                "code_verifier",
                "Does not match the code_challenge",
            ));
        }
        let account = Account {
            id: format!("cac_{}", random::token(16)),
            email: p.email,
            connection: p.connection,
            scopes: p.scopes,
            created_at: state.now(),
        };
        let answer = account.to_json();
        {
            let mut store = state.store();
            // Linking the same connection again replaces the old link.
            store
                .my_account
                .accounts
                .retain(|a| !(a.email == account.email && a.connection == account.connection));
            store.my_account.accounts.push(account);
        }
        Ok(json_response(StatusCode::CREATED, &answer))
    })())
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    next: Option<String>,
}

/// `GET /me/v1/connected-accounts/accounts?next=…`: 20 per page.
pub(super) async fn list(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    respond((|| {
        let caller = caller(
            &state,
            &method,
            &uri,
            &headers,
            "read:me:connected_accounts",
        )?;
        let start = match q.next.as_deref() {
            None => 0,
            Some(n) => n
                .strip_prefix("p")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Problem::invalid("next", "Invalid cursor"))?,
        };
        let mine: Vec<Value> = state
            .store()
            .my_account
            .accounts
            .iter()
            .filter(|a| a.email == caller.user.email())
            .map(Account::to_json)
            .collect();
        let page: Vec<Value> = mine.iter().skip(start).take(PAGE_SIZE).cloned().collect();
        let mut body = json!({ "accounts": page });
        if start + PAGE_SIZE < mine.len() {
            body["next"] = json!(format!("p{}", start + PAGE_SIZE));
        }
        Ok(json_response(StatusCode::OK, &body))
    })())
}

/// `DELETE /me/v1/connected-accounts/accounts/{id}`.
pub(super) async fn delete(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| {
        let caller = caller(
            &state,
            &method,
            &uri,
            &headers,
            "delete:me:connected_accounts",
        )?;
        let mut store = state.store();
        let before = store.my_account.accounts.len();
        store
            .my_account
            .accounts
            .retain(|a| !(a.id == id && a.email == caller.user.email()));
        if store.my_account.accounts.len() == before {
            return Err(Problem::not_found("Connected account not found"));
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// `GET /me/v1/connected-accounts/connections`.
pub(super) async fn connections(
    State(state): State<Arc<TenantState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        caller(
            &state,
            &method,
            &uri,
            &headers,
            "read:me:connected_accounts",
        )?;
        let list: Vec<Value> = state
            .config
            .connected_account_connections()
            .iter()
            .map(|c| json!({"name": c, "strategy": c.split('-').next().unwrap_or(c)}))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({ "connections": list }),
        ))
    })())
}

//! The demo's JSON API: `GET /api/payments`, which needs an access token for the payments API.
//!
//! The tenant's MFA policy answers the refresh grant for that audience with `mfa_required`, so
//! the first call of a session gets `403` and the `mfa_required` body with a sealed `mfa_token`
//! (exactly what [`tollgate::AccessTokenError::to_json`] writes). The page at `/payments` then
//! verifies a one-time code through `/auth/mfa/*`, which stores the token in the session, and the
//! next call succeeds without asking again.
//!
//! The payments API itself is served here too, at `/payments-api/payments`, as a separate
//! resource server would be: it accepts only a valid access token for its audience, issued to a
//! user who passed MFA (the namespaced methods claim [`AMR_CLAIM`]), with the `read:payments`
//! scope ([`RequireToken::mfa_claim`]), and
//! `/api/payments` calls it over HTTP with the user's token through Tollgate's fetcher. The scope
//! alone proves nothing about how the user signed in.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tollgate::AccessTokenOptions;
use tollgate::Tollgate;
use tollgate::api::{ApiConfig, ApiValidator};
use tollgate_axum::{ApiToken, Auth, RequireToken};

/// The API whose token `/api/payments` needs (the example tenant's API with an MFA policy).
pub(crate) const PAYMENTS_AUDIENCE: &str = "https://payments.example.com";

/// The access-token claim that lists how the user signed in. Auth0 puts no `amr` in access
/// tokens (and Actions may not set it), so an Action copies the methods into this namespaced
/// claim; the local tenant does the same ([`tollgate_tenant::AMR_CLAIM`]). Against a real
/// tenant, add the Action: `api.accessToken.setCustomClaim("https://tollgate.example/amr",
/// event.authentication.methods.map((m) => m.name))`.
pub(crate) const AMR_CLAIM: &str = tollgate_tenant::AMR_CLAIM;

/// The scope `/payments-api/payments` requires.
pub(crate) const READ_PAYMENTS: &str = "read:payments";

/// Where the payments API lists payments, relative to the app's base URL.
const PAYMENTS_API_PATH: &str = "payments-api/payments";

/// The API routes: `/api/payments` (needs [`SessionLayer`](tollgate_axum::SessionLayer), which
/// [`crate::app`] adds) and the payments API, which trusts nothing but its bearer token.
pub(crate) fn router(auth: &Tollgate) -> Router {
    let bff = Router::new()
        .route("/api/payments", get(payments))
        .with_state(PaymentsApi::new(auth));
    match payments_api(auth) {
        Some(api) => bff.merge(api),
        None => bff,
    }
}

/// The payments API as a resource server of the app's provider.
fn payments_api(auth: &Tollgate) -> Option<Router> {
    let config = ApiConfig::new(auth.config().issuer().as_str(), PAYMENTS_AUDIENCE)
        .insecure_allow_http_loopback_issuer()
        .realm("payments")
        .build()
        .inspect_err(|e| tracing::error!(error = %e, "the payments API cannot start"))
        .ok()?;
    Some(
        Router::new()
            .route(&format!("/{PAYMENTS_API_PATH}"), get(list_payments))
            .route_layer(
                RequireToken::new(ApiValidator::new(config))
                    .mfa_claim(AMR_CLAIM)
                    .scopes([READ_PAYMENTS]),
            ),
    )
}

/// `GET /payments-api/payments`: the payments, for a user whose token shows MFA (`amr`) and
/// grants `read:payments`; machine-to-machine tokens and password-only tokens are refused.
async fn list_payments(token: ApiToken) -> Json<Value> {
    let mut body = payments_body(Some(PAYMENTS_AUDIENCE));
    body["caller"] = json!(token.sub());
    Json(body)
}

/// Where the payments API is, for the app's own calls.
#[derive(Clone, Debug)]
struct PaymentsApi {
    url: String,
}

impl PaymentsApi {
    fn new(auth: &Tollgate) -> Self {
        let base = auth.config().app_base_url();
        Self {
            url: base
                .join(PAYMENTS_API_PATH)
                .map(String::from)
                .unwrap_or_default(),
        }
    }
}

/// `200 {"payments": […], "token_audience": …}` with a token for the payments API, else the
/// status and JSON of the [`AccessTokenError`](tollgate::AccessTokenError): `403` and the
/// `mfa_required` body, `401` without a session.
async fn payments(State(api): State<PaymentsApi>, auth: Auth) -> Response {
    let options = AccessTokenOptions::new()
        .audience(PAYMENTS_AUDIENCE)
        .scope(READ_PAYMENTS);
    let request = http::Request::get(&api.url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new());
    let (status, body) = match request {
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "payments_api_url_invalid"}),
        ),
        // The fetcher attaches the token (Bearer, or DPoP with a proof) and saves a refresh.
        Ok(request) => match auth.fetch_with_auth(request, options).await {
            Ok(answer) => (
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                serde_json::from_slice(answer.body())
                    .unwrap_or_else(|_| json!({"error": "payments_api_invalid_answer"})),
            ),
            Err(tollgate::FetchError::AccessToken(error)) => (error.status(), error.to_json()),
            Err(error) => {
                tracing::warn!(%error, "the payments API could not be called");
                (
                    StatusCode::BAD_GATEWAY,
                    json!({"error": "payments_api_unreachable"}),
                )
            }
        },
    };
    let mut response = (status, Json(body)).into_response();
    // Per-user data and MFA tokens: never cache.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The made-up payments, as the payments API would list them.
fn payments_body(audience: Option<&str>) -> Value {
    json!({
        "payments": [
            {"id": "pay_1001", "date": "2024-05-02", "payee": "Northwind Hosting",
             "amount": "49.00", "currency": "EUR", "status": "settled"},
            {"id": "pay_1002", "date": "2024-05-09", "payee": "Smith & Sons <Couriers>",
             "amount": "18.50", "currency": "EUR", "status": "settled"},
            {"id": "pay_1003", "date": "2024-05-16", "payee": "Contoso Office Supplies",
             "amount": "230.00", "currency": "EUR", "status": "pending"},
        ],
        "token_audience": audience,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payments_name_the_tokens_audience() {
        let body = payments_body(Some(PAYMENTS_AUDIENCE));
        assert_eq!(body["token_audience"], PAYMENTS_AUDIENCE);
        let payments = body["payments"].as_array().unwrap();
        assert_eq!(payments.len(), 3);
        for payment in payments {
            for field in ["id", "date", "payee", "amount", "currency", "status"] {
                assert!(payment[field].is_string(), "{field} in {payment}");
            }
        }
    }
}

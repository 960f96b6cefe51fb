//! The demo's JSON API: `GET /api/payments`, which needs an access token for the payments API.
//!
//! The tenant's MFA policy answers the refresh grant for that audience with `mfa_required`, so
//! the first call of a session gets `403` and the `mfa_required` body with a sealed `mfa_token`
//! (exactly what [`tollgate::AccessTokenError::to_json`] writes). The page at `/payments` then
//! verifies a one-time code through `/auth/mfa/*`, which stores the token in the session, and the
//! next call succeeds without asking again.

use axum::Json;
use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tollgate::AccessTokenOptions;
use tollgate_axum::Auth;

/// The API whose token `/api/payments` needs (the example tenant's API with an MFA policy).
pub(crate) const PAYMENTS_AUDIENCE: &str = "https://payments.example.com";

/// The API routes. They need [`SessionLayer`](tollgate_axum::SessionLayer), which
/// [`crate::app`] adds.
pub(crate) fn router() -> Router {
    Router::new().route("/api/payments", get(payments))
}

/// `200 {"payments": […], "token_audience": …}` with a token for the payments API, else the
/// status and JSON of the [`AccessTokenError`](tollgate::AccessTokenError): `403` and the
/// `mfa_required` body, `401` without a session.
async fn payments(auth: Auth) -> Response {
    let options = AccessTokenOptions::new().audience(PAYMENTS_AUDIENCE);
    let (status, body) = match auth.access_token(options).await {
        // A real app would call the payments API with `token.token` here.
        Ok(token) => (StatusCode::OK, payments_body(token.audience.as_deref())),
        Err(error) => (
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error.to_json(),
        ),
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

//! The auth routes.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::mfa_routes;
use tollgate::{CookieJar, RequestOrigin, Tollgate};

/// A router with Tollgate's routes at the configured paths: `/auth/login`, `/auth/callback`,
/// `/auth/logout`, `/auth/profile`, `/auth/access-token`, `/auth/mfa/authenticators` (GET),
/// `/auth/mfa/challenge`, `/auth/mfa/associate`, `/auth/mfa/verify` (POST) and the browser module
/// `/auth/client.js`. Merge it into the application's router, under a [`SessionLayer`](crate::SessionLayer)
/// (the MFA and access-token routes need it).
///
/// The login, callback and logout routes hand the request's host to the SDK: with an allow-list
/// of base URLs ([`tollgate::ConfigBuilder::app_base_urls`]) each request is served on its own
/// allowed origin, and any other host gets `400`; with a static base URL the host is ignored.
///
/// ```
/// # fn f(auth: tollgate::Tollgate) {
/// let app: axum::Router = axum::Router::new().merge(tollgate_axum::routes(auth));
/// # }
/// ```
pub fn routes<S>(auth: Tollgate) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let r = auth.config().routes().clone();
    Router::new()
        .route(&r.login, get(login))
        .route(&r.callback, get(callback))
        .route(&r.logout, get(logout))
        .route(&r.profile, get(profile))
        .route(&r.access_token, get(mfa_routes::access_token))
        .route(&r.mfa_authenticators, get(mfa_routes::authenticators))
        .route(&r.mfa_challenge, post(mfa_routes::challenge))
        .route(&r.mfa_associate, post(mfa_routes::associate))
        .route(&r.mfa_verify, post(mfa_routes::verify))
        .route(&r.client_js, get(mfa_routes::client_js))
        .route(&r.backchannel_logout, post(backchannel_logout))
        .with_state(auth)
}

async fn login(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let origin = RequestOrigin::from_parts(&headers, &uri);
    auth.handle_login_at(&origin, uri.query().unwrap_or(""))
        .await
        .into_response()
}

async fn callback(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let origin = RequestOrigin::from_parts(&headers, &uri);
    let jar = CookieJar::from_headers(&headers);
    let outcome = auth
        .handle_callback_at(&origin, uri.query().unwrap_or(""), &jar)
        .await;
    auth.callback_response(outcome).into_response()
}

async fn logout(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let origin = RequestOrigin::from_parts(&headers, &uri);
    let jar = CookieJar::from_headers(&headers);
    auth.handle_logout_at(&origin, uri.query().unwrap_or(""), &jar)
        .await
        .into_response()
}

async fn profile(State(auth): State<Tollgate>, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    auth.handle_profile(&jar).await.into_response()
}

async fn backchannel_logout(State(auth): State<Tollgate>, body: axum::body::Bytes) -> Response {
    auth.handle_backchannel_logout(&body).await.into_response()
}

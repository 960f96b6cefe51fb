//! The auth routes.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tollgate::{CookieJar, Tollgate};

/// A router with Tollgate's routes at the configured paths (default `/auth/login`,
/// `/auth/callback`, `/auth/logout`, `/auth/profile`). Merge it into the application's router.
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
        .with_state(auth)
}

async fn login(State(auth): State<Tollgate>, uri: Uri) -> Response {
    auth.handle_login(uri.query().unwrap_or(""))
        .await
        .into_response()
}

async fn callback(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    let outcome = auth.handle_callback(uri.query().unwrap_or(""), &jar).await;
    let login_path = auth.config().routes().login.clone();
    outcome.into_response(&login_path).into_response()
}

async fn logout(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    auth.handle_logout(uri.query().unwrap_or(""), &jar)
        .await
        .into_response()
}

async fn profile(State(auth): State<Tollgate>, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    auth.handle_profile(&jar).await.into_response()
}

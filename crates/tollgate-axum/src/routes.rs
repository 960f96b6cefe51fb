//! The auth routes.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::mfa_routes;
use axum::body::Body;
use axum::extract::Request;
use tollgate::{AuthRequest, ConnectAccountOptions, MyApi, ProxyError, RequestOrigin, Tollgate};

use crate::auth::Auth;

/// A router with Tollgate's routes at the configured paths: `/auth/login`, `/auth/callback`,
/// `/auth/logout` (`POST` from the application's own page; `GET` too unless
/// [`logout_via_get(false)`](tollgate::ConfigBuilder::logout_via_get)), `/auth/profile`, `/auth/access-token`, `/auth/mfa/authenticators` (GET),
/// `/auth/mfa/challenge`, `/auth/mfa/associate`, `/auth/mfa/verify` (POST; every MFA route
/// refuses a cross-site `Origin` or `Sec-Fetch-Site: cross-site` with 403), the browser module
/// `/auth/client.js`, the My Account and My Organization API proxies `/me/*` and `/my-org/*`
/// (unless [`api_proxies(false)`](tollgate::ConfigBuilder::api_proxies)), and `/auth/connect`
/// when [`enable_connect_account_endpoint`](tollgate::ConfigBuilder::enable_connect_account_endpoint)
/// is on. Merge it into the application's router, under a [`SessionLayer`](crate::SessionLayer)
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
    let mut router = Router::new();
    if auth.config().connect_account_endpoint() {
        router = router.route(&r.connect_account, get(connect_account));
    }
    if auth.config().api_proxies() {
        let me = r.my_account.trim_end_matches('/');
        let org = r.my_org.trim_end_matches('/');
        router = router
            .route(me, any(my_account))
            .route(&format!("{me}/{{*rest}}"), any(my_account))
            .route(org, any(my_org))
            .route(&format!("{org}/{{*rest}}"), any(my_org));
    }
    router
        .route(&r.login, get(login))
        .route(&r.callback, get(callback))
        .route(&r.logout, get(logout).post(logout))
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
    let req = AuthRequest::from_parts(&headers, &uri);
    auth.handle_login(&req).await.into_response()
}

async fn callback(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let outcome = auth
        .handle_callback(&AuthRequest::from_parts(&headers, &uri))
        .await;
    auth.callback_response(outcome).into_response()
}

async fn logout(
    State(auth): State<Tollgate>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = AuthRequest::from_parts(&headers, &uri).with_method(method);
    auth.handle_logout(&req).await.into_response()
}

async fn profile(State(auth): State<Tollgate>, uri: Uri, headers: HeaderMap) -> Response {
    let req = AuthRequest::from_parts(&headers, &uri);
    auth.handle_profile(&req).await.into_response()
}

async fn backchannel_logout(State(auth): State<Tollgate>, body: axum::body::Bytes) -> Response {
    auth.backchannel_logout()
        .handle(&body)
        .await
        .into_response()
}

async fn connect_account(auth: Auth, uri: Uri, headers: HeaderMap) -> Response {
    let result = async {
        let opts = ConnectAccountOptions::from_query(uri.query().unwrap_or(""))?
            .at(RequestOrigin::from_parts(&headers, &uri));
        auth.connect_account(&opts).await
    }
    .await;
    match result {
        Ok(redirect) => redirect.into_response().into_response(),
        Err(e) => e.into_response().into_response(),
    }
}

/// The largest request body the proxies forward.
const MAX_PROXY_BODY: usize = 1024 * 1024;

async fn proxy(auth: Auth, api: MyApi, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_PROXY_BODY).await else {
        let e = ProxyError::BodyTooLarge {
            limit: MAX_PROXY_BODY,
        };
        return e.into_response().map(Body::from);
    };
    let request = http::Request::from_parts(parts, body.to_vec());
    match auth.proxy(api, request).await {
        Ok(resp) => resp.map(Body::from),
        Err(e) => e.into_response().map(Body::from),
    }
}

async fn my_account(auth: Auth, request: Request) -> Response {
    proxy(auth, MyApi::Account, request).await
}

async fn my_org(auth: Auth, request: Request) -> Response {
    proxy(auth, MyApi::Organization, request).await
}

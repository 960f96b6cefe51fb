//! The tenant's HTTP routes, shaped like Auth0's Authentication API.

pub(crate) mod authorize;
mod ciba;
mod dev;
mod discovery;
pub(crate) mod login;
pub(crate) mod logout;
mod par;
mod revoke;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::http::{cors, guard};
use crate::mfa;
use crate::state::TenantState;

pub(crate) use token::verifier_matches;

/// Shared state as handlers receive it.
type AppState = Arc<TenantState>;

/// All routes of one tenant.
pub(crate) fn router(state: AppState) -> Router {
    let policy = Arc::new(guard::SitePolicy::new(&state.issuer, &state.config));
    let cors_policy = Arc::new(cors::CorsPolicy::new(&state.config));
    Router::new()
        .merge(crate::my_account::router(state.clone()))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::openid_configuration),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/u/login", get(login::show).post(login::submit))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/bc-authorize", post(ciba::authorize))
        .route("/oauth/par", post(par::push))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/v2/logout", get(logout::v2_logout))
        .route(
            "/oidc/logout",
            get(logout::oidc_logout_get).post(logout::oidc_logout_post),
        )
        .route("/mfa/authenticators", get(mfa::api::list))
        .route("/mfa/authenticators/{id}", delete(mfa::api::delete))
        .route("/mfa/associate", post(mfa::api::associate))
        .route("/mfa/challenge", post(mfa::api::challenge))
        .route("/u/mfa", get(mfa::login::show).post(mfa::login::submit))
        .route("/u/mfa/complete", post(mfa::login::complete))
        .route("/u/mfa/cancel", get(mfa::login::cancel))
        .route(
            "/u/mfa-enroll",
            get(mfa::login::enroll_show).post(mfa::login::enroll_submit),
        )
        .route("/dev/outbox", get(mfa::dev::page))
        .route("/dev/outbox.json", get(mfa::dev::json))
        .route("/dev/outbox/push/{id}/approve", post(mfa::dev::approve))
        .route("/dev/outbox/push/{id}/deny", post(mfa::dev::deny))
        .route("/dev/logs", get(dev::page))
        .route("/dev/logs.json", get(dev::json))
        .route("/dev/users/logout", post(dev::end_user_sessions))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            cors_policy,
            cors::cors,
        ))
        .layer(axum::middleware::from_fn_with_state(policy, guard::guard))
}

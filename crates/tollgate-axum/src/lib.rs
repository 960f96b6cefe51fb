//! # tollgate-axum
//!
//! The axum adapter for [Tollgate](tollgate): one call mounts the auth routes, one layer keeps
//! rolling sessions fresh, and extractors hand the session or the user to handlers.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tollgate::{Config, Tollgate};
//! use tollgate_axum::{User, SessionLayer};
//!
//! async fn profile(user: User) -> String {
//!     format!("Hello {}", user.name().unwrap_or("there"))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Tollgate::new(Config::from_env()?);
//! let app: Router = Router::new()
//!     .route("/profile", get(profile))
//!     .merge(tollgate_axum::routes(auth.clone()))   // /auth/login, /auth/callback, /auth/logout, /auth/profile
//!     .layer(SessionLayer::new(auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! A page request without a session is redirected to the login route with `returnTo` set to the
//! page; an API request (one that does not accept `text/html`) gets `401` JSON instead.

mod api;
mod auth;
#[cfg(doctest)]
mod docs;
mod error;
mod extract;
mod layer;
mod mfa_routes;
mod rejection;
mod routes;
mod step_up;

pub use api::{ApiToken, RequireToken, RequireTokenService};
pub use auth::Auth;
pub use error::AuthError;
pub use extract::{Session, User};
pub use layer::{SessionLayer, SessionService};
pub use rejection::{
    HostNotAllowed, LoginRequired, MissingSessionLayer, SessionRejection, SessionUnavailable,
};
pub use routes::routes;
pub use step_up::{RequireMfa, RequireMfaService};
pub use tollgate;

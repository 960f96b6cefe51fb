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
//!
//! ## Tasks
//!
//! * **Step-up MFA for a page or API**: [`RequireMfa`] on the routes (`route_layer`), once per
//!   session, or `RequireMfa::with(StepUp::mfa().max_age(..))` for recent MFA.
//! * **Access tokens and their errors**: the [`Auth`] extractor's `access_token` refreshes and
//!   saves the session; return its error with `?` as an [`AuthError`], which answers with the
//!   SDK's status and body (`mfa_required` with its `mfa_token` included).
//! * **Sessions in Redis**: build the SDK with a store before the layer,
//!   `Tollgate::builder(config).store(Arc::new(RedisStore::connect(url).await?)).build()`
//!   (the core's `redis` feature); an outage answers `503`, never a logout.
//! * **Testing**: run your app against the `tollgate-tenant` crate's local Auth0, or mint a
//!   session cookie with `tollgate::testing`. EXAMPLES.md has each of these in full.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tollgate::AccessTokenOptions;
//! use tollgate_axum::{Auth, AuthError, RequireMfa, SessionLayer, User};
//!
//! async fn billing(user: User) -> String {
//!     format!("Billing for {}", user.name().unwrap_or("you"))
//! }
//!
//! async fn payments(auth: Auth) -> Result<String, AuthError> {
//!     let token = auth
//!         .access_token(AccessTokenOptions::new().audience("https://payments.example.com"))
//!         .await?;
//!     Ok(format!("a {} token for the payments API", token.token_type))
//! }
//!
//! # fn app(auth: tollgate::Tollgate) -> Router {
//! Router::new()
//!     .route("/billing", get(billing))
//!     .route_layer(RequireMfa::new())              // the routes above need MFA, once per session
//!     .route("/api/payments", get(payments))
//!     .merge(tollgate_axum::routes(auth.clone()))
//!     .layer(SessionLayer::new(auth))
//! # }
//! ```

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

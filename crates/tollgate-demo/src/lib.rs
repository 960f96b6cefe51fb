//! # Tollgate demo
//!
//! A small axum app that signs users in with Tollgate: a home page, a profile page that requires
//! a login, a billing page that requires a second factor once per session, a payments page whose
//! API asks for a one-time code in the browser, and Tollgate's `/auth/*` routes. By default it also starts the local tenant
//! (`tollgate-tenant`) so it runs with no account anywhere:
//!
//! ```sh
//! cargo run -p tollgate-demo            # app on 127.0.0.1:3000, tenant on 127.0.0.1:4000
//! cargo run -p tollgate-demo -- --app-addr 127.0.0.1:8080 --tenant-addr 127.0.0.1:8081
//! ```
//!
//! Log in as `alice@example.com` / `alice-password-1` or `bob@example.com` / `bob-password-1`.
//!
//! ## Configuration
//!
//! Every setting can be overridden with the variables of
//! [`tollgate::ConfigBuilder::from_env`] (`AUTH0_CLIENT_ID`, `AUTH0_SECRET`, `APP_BASE_URL`,
//! cookie and session variables, …). Without `AUTH0_SECRET` the demo seals sessions with
//! [`DEVELOPMENT_SECRET`] and says so. With `AUTH0_DOMAIN` set, the demo signs users in with that
//! provider instead and starts no tenant; the configuration then comes from the environment
//! alone (plus the development secret and `APP_BASE_URL` defaults).
//!
//! The embedded tenant keeps its keys, SSO sessions and refresh tokens in a state directory, so
//! a restarted demo keeps its users logged in: [`STATE_DIR_VAR`] (`TOLLGATE_DEMO_STATE_DIR`),
//! by default `target/tollgate-demo-state` when run through cargo, else the user's data
//! directory; `none` keeps them in memory. The banner says which. The app's cookie secret is
//! `AUTH0_SECRET` or the fixed [`DEVELOPMENT_SECRET`], so session cookies open after a restart
//! too (on the same ports: the tenant's issuer is its address).
//!
//! ## In tests
//!
//! [`start`] runs the whole demo in-process; [`DemoOptions::ephemeral`] puts both servers on
//! free ports, with no state directory (give each test its own with
//! [`DemoOptions::with_state_dir`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tollgate_demo::DemoError> {
//! let demo = tollgate_demo::start(tollgate_demo::DemoOptions::ephemeral()).await?;
//! assert!(demo.url("/profile").starts_with("http://127.0.0.1:"));
//! assert!(demo.tenant().is_some());
//! assert!(demo.banner().contains("alice@example.com"));
//! demo.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Adding pages
//!
//! Pages live in `src/pages/`, one module each, listed in `pages::router`. A handler that takes
//! [`tollgate_axum::User`] requires a login; one that takes `Option<User>` does not.
//!
//! ## Step-up MFA
//!
//! - `/billing` sits behind [`tollgate_axum::RequireMfa`] (a route layer). Alice, who signed in
//!   with her password only, is sent through the tenant's "Verify your identity" page when she
//!   opens it (no password again), comes back to Billing, and is not asked again until she logs
//!   out. Bob, who has no second factor, sets up an authenticator app on the tenant's enrollment
//!   page first. A cancelled verification ends on Tollgate's "Verification needed" page with a
//!   "Try again" link.
//! - `/api/payments` asks for an access token for `https://payments.example.com` with the
//!   [`tollgate_axum::Auth`] extractor; the tenant's MFA policy answers `mfa_required`, which the
//!   handler passes on as `403` and the `mfa_required` JSON. `/payments` calls it from the
//!   browser, asks for the one-time code with `/auth/client.js` (`mfa.getAuthenticators`,
//!   `mfa.challenge`, `mfa.verify`) and shows the payments once the code is accepted.
//! - `/payments-api/payments` is the payments API itself, a resource server that trusts only a
//!   bearer token for its audience with `read:payments` ([`tollgate_axum::RequireToken`]);
//!   `/api/payments` calls it over HTTP with the user's token.
//!
//! ## Connected accounts
//!
//! `/connections` reads the user's linked accounts, the connections on offer and their sign-in
//! methods from the My Account API through Tollgate's `/me` proxy (the browser never sees a
//! token). "Connect google-oauth2" goes through `/auth/connect` to the tenant's consent page and
//! back; "Disconnect" unlinks through the proxy.
//!
//! ## Security
//!
//! The demo serves loopback addresses only. The embedded tenant keeps plain-text passwords and
//! speaks plain HTTP, and the development secret is public: both are for local use only.

mod api;
mod error;
mod options;
mod pages;
mod provider;
mod server;

use axum::Router;
use tollgate::Tollgate;
use tollgate_axum::SessionLayer;

pub use error::DemoError;
pub use options::{
    DEFAULT_APP_ADDR, DEFAULT_TENANT_ADDR, DemoOptions, STATE_DIR_VAR, USAGE, UsageError,
};
pub use provider::{ALICE, BOB, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEVELOPMENT_SECRET, DemoLogin};
pub use server::{RunningDemo, start};

/// The demo's router: its pages, Tollgate's routes and the session layer, for `auth`.
pub fn app(auth: Tollgate) -> Router {
    pages::router(auth.clone())
        .merge(api::router(&auth))
        .merge(tollgate_axum::routes(auth.clone()))
        .layer(SessionLayer::new(auth))
}

//! A local, Auth0-compatible tenant for demos and tests: login page, token endpoint, discovery,
//! keys, userinfo and logout, served on a loopback port with no network access.
//!
//! # Quick start
//!
//! ```
//! use tollgate_tenant::{ApiConfig, ClientConfig, Tenant, TenantConfig, UserConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tollgate_tenant::TenantError> {
//! let config = TenantConfig::new()
//!     .with_client(
//!         ClientConfig::new("app-client-id", "app-client-secret")
//!             .with_callback("http://127.0.0.1:3000/auth/callback")
//!             .with_logout_url("http://127.0.0.1:3000/"),
//!     )
//!     .with_user(UserConfig::new("alice@example.com", "alice-password-1").with_name("Alice Example"))
//!     .with_api(ApiConfig::new("https://payments.example.com").with_scopes(["read:payments"]));
//! let tenant = Tenant::start(config, "127.0.0.1:0").await?;
//! // Point the SDK at `tenant.issuer()`: "http://127.0.0.1:PORT/".
//! let discovery = tenant.base_url().join(".well-known/openid-configuration").unwrap();
//! assert!(discovery.as_str().starts_with(tenant.issuer()));
//! tenant.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it serves
//!
//! | Route | Behaviour |
//! |---|---|
//! | `GET /.well-known/openid-configuration` (and `/.well-known/oauth-authorization-server`) | Auth0-shaped discovery; `end_session_endpoint` only when enabled |
//! | `GET /.well-known/jwks.json` | RS256 keys, current first |
//! | `GET /authorize` | `response_type=code`, PKCE S256, `prompt`, `max_age`, `audience`, `acr_values`; SSO reuse |
//! | `GET/POST /u/login?state=…` | an accessible HTML login form (`username`, `password`, `state`) |
//! | `GET/POST /u/mfa?state=…`, `GET/POST /u/mfa-enroll?state=…` | the MFA step: TOTP, SMS, voice, email, push, recovery code; TOTP enrollment with a QR code |
//! | `POST /oauth/token` | `authorization_code`, `refresh_token` (rotation, reuse detection, leeway, MRRT, `mfa_required`), `client_credentials` (with a client grant), Custom Token Exchange (`mfa_required` under an API policy), `mfa-otp`, `mfa-oob`, `mfa-recovery-code` |
//! | `GET /mfa/authenticators`, `POST /mfa/associate`, `POST /mfa/challenge`, `DELETE /mfa/authenticators/{id}` | the MFA API |
//! | `GET /dev/outbox`, `GET /dev/outbox.json`, `POST /dev/outbox/push/{id}/approve\|deny` | the development outbox of codes and push requests |
//! | `GET /dev/logs`, `GET /dev/logs.json?type=…&client_id=…` | the event log ([`RunningTenant::events`]), newest first |
//! | `GET /userinfo` | profile claims by scope |
//! | `POST /bc-authorize`, `POST /oauth/par` | CIBA requests (approved in the outbox) and pushed authorization requests |
//! | `POST /me/v1/connected-accounts/connect\|complete`, `GET /me/v1/connected-accounts/accounts\|connections`, `DELETE …/accounts/{id}`, `GET/POST /connected-accounts/connect?ticket=…` | the My Account API's Connected Accounts, with a consent page standing in for the other provider; a linked account feeds the Token Vault exchange |
//! | `GET/DELETE /me/v1/authentication-methods[/{id}]`, `GET/PATCH /my-org/details` | the user's factors, and the organization in the token's `org_id` ([`UserConfig::with_organization`]); tokens for `{issuer}me/` and `{issuer}my-org/`, Bearer or DPoP; RFC 7807 errors; CORS for [`TenantConfig::with_allowed_web_origin`] |
//! | `POST /oauth/revoke` | revokes a refresh-token family |
//! | `GET /v2/logout`, `GET/POST /oidc/logout` | end the SSO session, send back-channel logout tokens, return to an allowed URL |
//! | `POST /dev/users/logout` | end a user's sessions ([`RunningTenant::end_user_sessions`]) |
//!
//! Errors use Auth0's wire shapes: `{"error","error_description"}` JSON bodies from endpoints,
//! `error`/`error_description`/`state` redirects from `/authorize`, and HTML 400 pages when the
//! client or redirect URI cannot be trusted.
//!
//! # Multi-factor authentication
//!
//! Users start with the factors their [`UserConfig`] names; an [`MfaPolicy`] stands in for the
//! post-login Action that requires MFA. A policy for an API covers every grant that issues
//! tokens for it: a login with that `audience` passes the `/u/mfa` page before the code, and a
//! matching refresh-token or token-exchange request is answered with
//! `403 mfa_required` and an `mfa_token`, which the MFA API and the `mfa-*` grants accept;
//! `acr_values=http://schemas.openid.net/pape/policies/2007/06/multi-factor` adds the `/u/mfa`
//! page to the login. A policy with [`MfaPolicy::with_required_factor_count`] chains factors:
//! each MFA grant but the last answers a new `mfa_required` for a different factor. Codes and
//! push requests land in the development outbox instead of a phone or mailbox.
//!
//! ```
//! use tollgate_tenant::{ClientConfig, MfaPolicy, Tenant, TenantConfig, UserConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tollgate_tenant::TenantError> {
//! let config = TenantConfig::new()
//!     .with_client(ClientConfig::new("app", "secret").with_callback("http://127.0.0.1:3000/cb"))
//!     .with_user(
//!         UserConfig::new("alice@example.com", "alice-password-1")
//!             .with_totp_secret("JBSWY3DPEHPK3PXP")
//!             .with_phone("+15555550100"),
//!     )
//!     .with_mfa_policy(MfaPolicy::new().for_audience("https://payments.example.com"));
//! let tenant = Tenant::start(config, "127.0.0.1:0").await?;
//! // The code an authenticator app would show now.
//! let code = tenant.totp_code("alice@example.com").unwrap();
//! assert_eq!(code.len(), 6);
//! // SMS codes sent by /mfa/challenge or the /u/mfa page appear here.
//! assert!(tenant.outbox().is_empty());
//! tenant.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Back-channel logout and the event log
//!
//! A client with [`ClientConfig::with_backchannel_logout_url`] receives an Auth0-shaped
//! `logout_token` when an SSO session it was logged in through ends. Deliveries run in the
//! background and land in the event log as `sslo` / `fslo`:
//!
//! ```
//! use std::time::Duration;
//! use tollgate_tenant::{ClientConfig, Tenant, TenantConfig, UserConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tollgate_tenant::TenantError> {
//! let config = TenantConfig::new()
//!     .with_client(
//!         ClientConfig::new("app", "secret")
//!             .with_callback("http://127.0.0.1:3000/cb")
//!             .with_backchannel_logout_url("http://127.0.0.1:3000/auth/backchannel-logout"),
//!     )
//!     .with_user(UserConfig::new("alice@example.com", "alice-password-1"));
//! let tenant = Tenant::start(config, "127.0.0.1:0").await?;
//! // … log alice in through the app, then end her sessions as an administrator would:
//! assert_eq!(tenant.end_user_sessions("alice@example.com"), 0);
//! tenant.wait_for_backchannel_logouts().await;
//! let delivered = tenant.events_of_type("sslo");
//! assert!(delivered.is_empty());
//! let _ = tenant.wait_for_events(|e| e.is("slo"), 1, Duration::from_secs(1)).await;
//! tenant.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Negative testing
//!
//! [`RunningTenant::set_id_token_fault`] builds a defect ([`IdTokenFault`]) into every ID token,
//! [`RunningTenant::sign_jwt`] signs any token with the tenant's key, and
//! [`RunningTenant::rotate_signing_key`] / [`RunningTenant::drop_previous_keys`] exercise a
//! relying party's key handling.
//!
//! # Time and keys in tests
//!
//! A tenant reads one [`Clock`] ([`TenantConfig::with_clock`], [`SystemClock`] by default):
//! give it a [`ManualClock`] and advance it to expire codes, tokens, sessions and `mfa_token`s,
//! pass polling intervals or move to the next TOTP step without sleeping. Tenants without key
//! files share one RSA signing key per process, generated by the first start;
//! [`TenantConfig::with_fresh_signing_key`] gives a tenant a key of its own.
//!
//! # Security
//!
//! This is a test double. It binds loopback addresses only, keeps everything in memory (or, with
//! [`TenantConfig::with_state_dir`], in files readable by their owner only, private keys and
//! tokens included), stores passwords in plain text in its configuration, and serves plain
//! HTTP. Never use it as a real
//! identity provider.

mod backchannel;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench_support;
mod clock;
mod config;
mod dpop;
mod error;
mod events;
mod fault;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod issuer;
mod jwt;
mod keys;
mod mfa;
mod my_account;
mod persist;
mod random;
mod routes;
mod scope;
mod server;
mod state;
mod store;
mod tls;
mod tokens;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    ApiConfig, AppType, ClientConfig, ConfigError, TenantConfig, TokenEndpointAuthMethod,
    TokenExchangeProfile, UserConfig,
};
pub use error::TenantError;
pub use events::TenantEvent;
pub use fault::IdTokenFault;
pub use mfa::{GrantKind, MfaPolicy, MfaRequirements, OutboxChannel, OutboxMessage, PushState};
pub use server::{RunningTenant, Tenant};
pub use tls::TlsConfig;
pub use tokens::AMR_CLAIM;

//! # Tollgate
//!
//! Sign users in with Auth0 (or any OpenID Connect provider), keep them in a secure session, and
//! sign them out — the framework-agnostic core. The axum adapter (`tollgate-axum`) mounts the
//! routes and extractors; this crate does the protocol work and speaks in plain types: a
//! [`CookieJar`] parsed from the request, `Set-Cookie` lines, and [`http::Response`]s.
//!
//! ## Quick start
//!
//! ```no_run
//! # async fn run() -> Result<(), tollgate::Error> {
//! use tollgate::{Config, CookieJar, LoginOptions, Tollgate};
//!
//! // AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_SECRET, APP_BASE_URL
//! let auth = Tollgate::new(Config::from_env()?);
//!
//! // GET /auth/login
//! let resp = auth.handle_login("returnTo=%2Fbilling").await;
//! assert_eq!(resp.status(), 302);
//!
//! // GET /auth/callback?code=…&state=…  (with the request's cookies)
//! let jar = CookieJar::parse("__txn_abc=…");
//! let outcome = auth.handle_callback("code=…&state=abc", &jar).await;
//! match &outcome.result {
//!     Ok(done) => println!("welcome {}", done.session.user.sub()),
//!     Err(e) => println!("login failed: {e}"),
//! }
//!
//! // Any later request
//! if let Some(session) = auth.session(&jar).await? {
//!     println!("signed in as {:?}", session.user.name());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Sessions
//!
//! By default the whole session lives in the `__session` cookie, sealed as a compact JWE
//! (`dir` + `A256GCM`) with a key derived by HKDF-SHA-256 from `AUTH0_SECRET` — byte for byte the
//! format of nextjs-auth0 v4, so a Next.js front end and a Rust API on one domain share one login.
//! Values above 3,500 bytes are split over `__session__0..N`. Sessions roll: each request extends
//! them by the inactivity duration (1 day) up to the absolute duration (3 days).
//!
//! ## Several hosts: dynamic base URLs
//!
//! `APP_BASE_URL=https://app.example.com,https://*.preview.example.com` (or
//! [`ConfigBuilder::app_base_urls`]) serves each request on its own origin when the allow-list
//! names it, and refuses any other host with [`BaseUrlError`]. The request-aware methods
//! ([`Tollgate::handle_login_at`], [`Tollgate::handle_callback_at`], [`Tollgate::handle_logout_at`],
//! [`Tollgate::start_login_at`]) take a [`RequestOrigin`] read from the request's headers.
//!
//! ## DPoP
//!
//! With a [`DpopKey`] ([`ConfigBuilder::dpop`], or `AUTH0_DPOP_PRIVATE_KEY` and
//! `AUTH0_DPOP_PUBLIC_KEY`), tokens are bound to the key (RFC 9449): the login sends `dpop_jkt`,
//! every token endpoint call carries a proof and is repeated once when the provider asks for a
//! nonce, and each token keeps its `token_type` (`DPoP` or `Bearer`) in the session.
//! [`DpopKey::proof`] makes the proof for a call to an API.
//!
//! ## Security
//!
//! * ID tokens: signature with an algorithm allow-list (RS256 by default; never `none`, HS* only
//!   when configured), the key's type must fit the algorithm, `iss` exact, `aud` (and `azp`),
//!   `exp`/`iat` with a clock tolerance, `nonce` in constant time, `auth_time` against `max_age`.
//! * Keys: fetched again on an unknown `kid`, single-flight, at most once per 30 s.
//! * The provider client never follows redirects, has timeouts, caps bodies at 1 MiB, and refuses
//!   plain http except on loopback with an explicitly insecure switch.
//! * Every sealed artifact has its own derived key: a transaction cookie can never be read as a
//!   session. `returnTo` only ever points at the application's own origin.
//! * The `Host` header is untrusted: a static base URL ignores it, an allow-list must name it.
//! * `AUTH0_SECRET` may list several secrets: the first seals, all unseal (rotation without
//!   logging everyone out).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
mod authorize;
mod backchannel;
mod base_url;
mod browser;
mod ciba;
mod client;
mod client_assertion;
mod config;
mod cookies;
mod dpop;
mod error;
mod exchange;
mod fetcher;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hooks;
mod id_token;
mod jwe;
mod mfa;
mod my_account;
mod provider;
mod random;
mod refresh;
mod response;
mod return_to;
mod secret;
mod session;
mod session_cookie;
mod step_up;
pub mod store;
pub mod testing;
mod time;
mod tokens;
mod transaction;
mod userinfo;

pub use authorize::LoginOptions;
pub use backchannel::{
    BACKCHANNEL_LOGOUT_EVENT, LogoutTokenError, MemoryRevocations, RevocationList,
};
pub use base_url::{AllowedBaseUrl, RequestOrigin};
pub use browser::browser_module;
pub use ciba::{
    BackchannelAuthError, BackchannelAuthOptions, BackchannelPoll, BackchannelRequest, CIBA_GRANT,
};
pub use client::{
    CallbackOutcome, CallbackSuccess, DEFAULT_USER_CLAIMS, LoadedSession, LoginRedirect, Tollgate,
};
pub use client_assertion::{ClientAssertionKey, JWT_BEARER_ASSERTION};
pub use config::{
    ClientAuth, Config, ConfigBuilder, DEFAULT_SCOPE, LogoutStrategy, Routes, SessionConfig,
    TransactionConfig,
};
pub use cookies::{CookieAttributes, CookieJar, MAX_CHUNK_SIZE, SameSite};
pub use dpop::{DpopKey, DpopKeyError, DpopOptions, MAX_DPOP_CLOCK_TOLERANCE};
pub use error::{BaseUrlError, CallbackError, ConfigError, Error, IdTokenError, ProviderError};
pub use exchange::{
    ConnectionToken, ConnectionTokenError, ConnectionTokenOptions, ExchangedTokens,
    TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_GRANT_FEDERATED, TokenExchangeError, TokenExchangeOptions,
};
pub use fetcher::{FetchError, FetchOutcome};
pub use hooks::Hooks;
pub use mfa::{
    Authenticator, ChallengeRequest, ChallengeResponse, EnrollRequest, FactorRequirement, Mfa,
    MfaError, MfaRequiredError, MfaRequirements, VerifyOutcome, VerifyRequest,
};
pub use my_account::{
    CONNECT_AUTHORIZATION_PARAMS, ConnectAccountError, ConnectAccountOptions, ConnectRedirect,
    ConnectedAccount, ConnectedAccountsPage, MyAccountApiError, MyApi, PreparedProxy, ProxyError,
    ProxyOutcome, SCOPE_CREATE_CONNECTED_ACCOUNTS, SCOPE_DELETE_CONNECTED_ACCOUNTS,
    SCOPE_READ_CONNECTED_ACCOUNTS, ValidationError,
};
pub use provider::ProviderMetadata;
pub use response::{AuthResponse, escape as escape_html};
pub use return_to::{MAX_RETURN_TO_LEN, sanitize_return_to};
pub use secret::{KeyPurpose, Keyring, MIN_SECRET_LEN, Secret};
pub use session::{
    ACR_MULTI_FACTOR, AccessTokenEntry, Authentication, Internal, SessionData, TokenSet, User,
};
pub use session_cookie::{CookieSessionCodec, ROLLING_GRANULARITY};
pub use step_up::StepUp;
pub use tokens::{AccessToken, AccessTokenError, AccessTokenOptions, AccessTokenOutcome};

/// Re-exported so applications name the same `http` types.
pub use http;

//! # Tollgate
//!
//! Sign users in with Auth0 (or any OpenID Connect provider), keep them in a secure session, and
//! sign them out — the framework-agnostic core. The axum adapter (`tollgate-axum`) mounts the
//! routes and extractors; this crate does the protocol work and speaks in plain types: a
//! [`CookieJar`] parsed from the request, [`SetCookies`] to send, and [`http::Response`]s.
//!
//! ## Quick start
//!
//! ```no_run
//! # async fn run() -> Result<(), tollgate::Error> {
//! use tollgate::{AuthRequest, Config, CookieJar, Tollgate};
//!
//! // AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_SECRET, APP_BASE_URL
//! let auth = Tollgate::new(Config::from_env()?);
//!
//! // GET /auth/login?returnTo=%2Fbilling  (AuthRequest::from_parts(&headers, &uri) in a server)
//! let resp = auth.handle_login(&AuthRequest::new().with_query("returnTo=%2Fbilling")).await;
//! assert_eq!(resp.status(), 302);
//!
//! // GET /auth/callback?code=…&state=…  (with the request's cookies)
//! let jar = CookieJar::parse("__txn_abc=…");
//! let callback = AuthRequest::new().with_query("code=…&state=abc").with_cookies(jar.clone());
//! let outcome = auth.handle_callback(&callback).await;
//! match &outcome.result {
//!     Ok(done) => println!("welcome {}", done.session.user.sub()),
//!     Err(e) => println!("login failed: {e}"),
//! }
//! let resp = auth.callback_response(outcome); // 302 with the session cookie, or an error page
//!
//! // Any later request
//! if let Some(session) = auth.session(&jar).await? {
//!     println!("signed in as {:?}", session.user.name());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Tasks
//!
//! * **Step-up MFA.** A page: guard it with a [`StepUp`] (`tollgate_axum::RequireMfa`); the
//!   browser is sent round the login with `acr_values` and comes back with a session whose signed
//!   ID token shows the second factor, once per session. An API: [`Tollgate::access_token`]
//!   answers [`AccessTokenError::MfaRequired`] with a sealed `mfa_token`, and [`Mfa`]
//!   (`auth.mfa(&session)`) challenges and verifies. EXAMPLES.md, "Step-up".
//! * **Access tokens and their errors.** [`Tollgate::access_token`] (or
//!   [`Tollgate::access_token_for`], which also saves the refreshed session) returns the cached
//!   token or refreshes it, single-flight; [`AccessTokenError`] has `status()`, `code()` and
//!   `to_json()` in the reference SDK's shape.
//! * **Stores.** The default [`store::CookieStore`] keeps the whole session in the cookie;
//!   [`store::MemoryStore`] and, with the `redis` feature, `store::RedisStore` keep it
//!   server-side: `Tollgate::builder(config).store(Arc::new(store)).build()`.
//! * **Testing.** [`testing`] makes signed-in session cookies for your own tests; the
//!   `tollgate-tenant` crate is a local Auth0 to run them against; a [`ManualClock`] in
//!   [`ConfigBuilder::clock`] moves time without sleeping.
//!
//! ## Where things are
//!
//! The crate's root re-exports every public type; the source is grouped by what it does:
//!
//! | folder | what it holds |
//! |---|---|
//! | `session/` | the session data, the cookie format (`codec.rs`: nextjs-auth0 v4's JWE, `jwe.rs`; keys per purpose, `secret.rs`; chunking, `cookies.rs`), the login transaction, `returnTo` sanitising, base URLs, and the stores (`store/`: cookie, memory, Redis) |
//! | `tokens/` | access tokens: the public types, the cache in the session (`cache.rs`), getting and refreshing them (`refresh.rs`), single-flight refresh (`single_flight.rs`), token exchange and Token Vault (`exchange/`), `fetch_with_auth` (`fetcher.rs`) |
//! | `step_up/` | step-up MFA, both paths explained in its module doc: [`StepUp`] for pages (`acr_values`), and for APIs the `mfa_required` error, the sealed `mfa_token` and the MFA API client (`mfa/`) |
//! | `oidc/` | the wire: provider metadata, JWKS and the token endpoint (`provider/`), ID-token validation, DPoP, client assertions, the authorization request, back-channel logout, CIBA, UserInfo |
//! | `web/` | [`Tollgate`] and its handlers: login, callback, logout, session load and save, the browser module |
//! | `resource_server/` | validating the access tokens an API receives ([`resource_server`]) |
//! | `my_account/` | Connected Accounts and the My Account / My Organization API proxy |
//! | `config.rs`, `error.rs`, `hooks.rs` | [`Config`], the error types, [`Hooks`] |
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
//! names it, and refuses any other host with [`BaseUrlError`]. The route handlers
//! ([`Tollgate::handle_login`], [`Tollgate::handle_callback`], [`Tollgate::handle_logout`]) read
//! the origin from their [`AuthRequest`], and [`Tollgate::start_login`] takes a
//! [`RequestOrigin`] read from the request's headers.
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
//! * ID tokens: signature with an algorithm allow-list (the provider's discovery list within
//!   RS256/384/512, PS256/384/512, ES256/384 and EdDSA, RS256 when it lists none, or a pinned set;
//!   never `none`, HS* only when pinned), the key's type must fit the algorithm, `iss` exact, `aud` (and `azp`),
//!   `exp`/`iat` with a clock tolerance, `nonce` in constant time, `auth_time` against `max_age`.
//! * Keys: fetched again on an unknown `kid`, single-flight, at most once per 30 s.
//! * Cookies: the `Cookie` header is parsed in linear time, at most [`MAX_COOKIE_PAIRS`] pairs.
//! * Logout by `POST` and the MFA routes refuse cross-site requests
//!   ([`Tollgate::check_same_origin`]); `GET` logout can be turned off.
//! * The provider client never follows redirects, has timeouts, caps bodies at 1 MiB, and refuses
//!   plain http except on loopback with an explicitly insecure switch.
//! * Every sealed artifact has its own derived key: a transaction cookie can never be read as a
//!   session. `returnTo` only ever points at the application's own origin.
//! * The `Host` header is untrusted: a static base URL ignores it, an allow-list must name it.
//! * `AUTH0_SECRET` may list several secrets: the first seals, all unseal (rotation without
//!   logging everyone out).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hooks;
mod my_account;
mod oidc;
mod random;
pub mod resource_server;
mod session;
mod step_up;
pub mod testing;
mod time;
mod tokens;
mod web;

/// The former name of [`resource_server`], kept so existing imports keep compiling.
pub use resource_server as api;
pub use session::store;

pub use config::{
    ClientAuth, Config, ConfigBuilder, DEFAULT_SCOPE, LogoutStrategy, Routes, SessionConfig,
    TransactionConfig,
};
pub use error::{BaseUrlError, CallbackError, ConfigError, Error, IdTokenError, ProviderError};
pub use hooks::Hooks;
pub use my_account::{
    CONNECT_AUTHORIZATION_PARAMS, ConnectAccountError, ConnectAccountOptions, ConnectRedirect,
    ConnectedAccount, ConnectedAccountsPage, MyAccount, MyAccountApiError, MyApi, PreparedProxy,
    ProxyError, ProxyOutcome, SCOPE_CREATE_CONNECTED_ACCOUNTS, SCOPE_DELETE_CONNECTED_ACCOUNTS,
    SCOPE_READ_CONNECTED_ACCOUNTS, ValidationError,
};
pub use oidc::authorize::{DEFAULT_LOGIN_QUERY_PARAMS, LoginOptions};
pub use oidc::backchannel::{
    BACKCHANNEL_LOGOUT_EVENT, BackchannelLogout, LogoutTokenError, MemoryRevocations,
    RevocationList,
};
pub use oidc::ciba::{
    BackchannelAuthError, BackchannelAuthOptions, BackchannelPoll, BackchannelRequest, CIBA_GRANT,
    Ciba,
};
pub use oidc::client_assertion::{ClientAssertionKey, JWT_BEARER_ASSERTION};
pub use oidc::dpop::{DpopKey, DpopKeyError, DpopOptions, MAX_DPOP_CLOCK_TOLERANCE};
pub use oidc::provider::ProviderMetadata;
pub use session::base_url::{AllowedBaseUrl, RequestOrigin};
// The cookie codec and its constants are implementation details that the benchmarks, the
// nextjs-auth0 interop tests and the fuzz targets drive directly; hidden, not a stable API.
#[doc(hidden)]
pub use session::codec::{CookieSessionCodec, ROLLING_GRANULARITY};
#[doc(hidden)]
pub use session::cookies::MAX_CHUNK_SIZE;
pub use session::cookies::{CookieAttributes, CookieJar, MAX_COOKIE_PAIRS, SameSite, SetCookies};
pub use session::return_to::{MAX_RETURN_TO_LEN, sanitize_return_to};
pub use session::secret::{MIN_SECRET_LEN, Secret};
pub use session::{
    ACR_MULTI_FACTOR, AccessTokenEntry, Authentication, Internal, SessionData, TokenSet, User,
};
pub use step_up::StepUp;
pub use step_up::mfa::{
    Authenticator, ChallengeRequest, ChallengeResponse, EnrollRequest, FactorRequirement, Mfa,
    MfaError, MfaRequiredError, MfaRequirements, VerifyOutcome, VerifyRequest,
};
pub use time::{Clock, ManualClock, SystemClock};
pub use tokens::exchange::{
    ConnectionToken, ConnectionTokenError, ConnectionTokenOptions, ExchangedTokens,
    TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_GRANT_FEDERATED, TokenExchangeError, TokenExchangeOptions,
};
pub use tokens::fetcher::{FetchError, FetchOutcome};
pub use tokens::{
    AccessToken, AccessTokenError, AccessTokenOptions, AccessTokenOutcome, TokenFetch,
};
pub use web::browser::browser_module;
pub use web::response::AuthResponse;
pub use web::same_origin::CrossSiteRequest;
// The escaper of the SDK's own HTML pages, which the demo's pages share so both escape alike;
// hidden, not a stable API.
#[doc(hidden)]
pub use web::response::escape as escape_html;
pub use web::{
    AuthRequest, CallbackMode, CallbackOutcome, CallbackSuccess, DEFAULT_USER_CLAIMS,
    LoadedSession, LoginRedirect, SavedSession, Tollgate, TollgateBuilder,
};

/// Re-exported so applications name the same `http` types.
pub use http;

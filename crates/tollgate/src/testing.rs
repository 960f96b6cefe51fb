//! Helpers for an application's own tests: a signed-in session without a provider or a browser
//! (the counterpart of nextjs-auth0's `generateSessionCookie`).
//!
//! ```
//! # async fn run() -> Result<(), tollgate::Error> {
//! use tollgate::testing;
//!
//! let config = tollgate::Config::builder()
//!     .domain("tenant.example.com")
//!     .client_id("app")
//!     .client_secret("app-secret")
//!     .secret("a-secret-of-at-least-thirty-two-characters")
//!     .app_base_url("http://localhost:3000")
//!     .build()?;
//! let auth = tollgate::Tollgate::new(config);
//!
//! // A session for `user_123` with an access token for the default audience.
//! let session = testing::session(serde_json::json!({"sub": "user_123", "name": "Test User"}))
//!     .access_token("at_123", 3600);
//! // The `Cookie` header a browser with that session sends: put it on your test requests.
//! let cookie = testing::cookie_header(&auth, &session).await?;
//! assert!(cookie.starts_with("__session="));
//!
//! // The app reads it back like any session it made itself.
//! let jar = tollgate::CookieJar::parse(&cookie);
//! assert_eq!(auth.session(&jar).await?.unwrap().user.sub(), "user_123");
//! # Ok(()) }
//! ```

use serde_json::{Value, json};

use crate::config::Config;
use crate::error::{ConfigError, Error};
use crate::session::codec::CookieSessionCodec;
use crate::session::cookies::CookieJar;
use crate::session::{ACR_MULTI_FACTOR, Authentication, SessionData};
use crate::web::Tollgate;

/// A session under construction; turn it into [`SessionData`] with [`build`](Self::build) or pass
/// it to [`cookie_header`] / [`generate_session_cookie`] directly.
#[derive(Debug, Clone)]
#[must_use]
pub struct TestSession {
    data: SessionData,
}

/// A session for `user` (ID-token claims; `sub` is required for the session to mean anything),
/// created now, with a fresh `sid` and no tokens.
pub fn session(user: Value) -> TestSession {
    let now = crate::time::system_now();
    let user = match user {
        Value::Object(m) => Value::Object(m),
        _ => json!({}),
    };
    let data = serde_json::from_value(json!({
        "user": user,
        "tokenSet": {"accessToken": "", "expiresAt": 0},
        "internal": {"sid": crate::random::token(16), "createdAt": now},
    }))
    .expect("invariant: a session with these members always parses");
    TestSession { data }
}

impl TestSession {
    /// An access token for the default audience, expiring `expires_in` seconds from now.
    pub fn access_token(mut self, token: impl Into<String>, expires_in: u64) -> Self {
        self.data.token_set.access_token = token.into();
        self.data.token_set.expires_at = crate::time::system_now().saturating_add(expires_in);
        self
    }

    /// A refresh token.
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.data.token_set.refresh_token = Some(token.into());
        self
    }

    /// Marks the session as having passed multi-factor authentication (`amr: ["pwd", "mfa"]`,
    /// Auth0's multi-factor `acr`), so step-up guards let it through.
    pub fn with_mfa(mut self) -> Self {
        self.data.authentication = Some(Authentication {
            amr: vec!["pwd".to_owned(), "mfa".to_owned()],
            acr: Some(ACR_MULTI_FACTOR.to_owned()),
            auth_time: Some(crate::time::system_now()),
        });
        self
    }

    /// The session data.
    pub fn build(self) -> SessionData {
        self.data
    }
}

impl From<TestSession> for SessionData {
    fn from(t: TestSession) -> Self {
        t.data
    }
}

impl AsRef<SessionData> for TestSession {
    fn as_ref(&self) -> &SessionData {
        &self.data
    }
}

/// The `Cookie` header value that carries `session` for `auth`'s application, in whatever session
/// store it uses: sealed into `__session` (chunked when large) for cookie sessions, or saved in
/// the store with the id cookie returned here.
///
/// # Errors
/// [`Error::Store`] when the store cannot save the session.
pub async fn cookie_header(
    auth: &Tollgate,
    session: impl AsRef<SessionData>,
) -> Result<String, Error> {
    let lines = auth
        .create_session(&CookieJar::default(), session.as_ref())
        .await?;
    Ok(lines
        .lines()
        .filter(|l| !l.contains("Max-Age=0"))
        .filter_map(|l| l.split(';').next())
        .collect::<Vec<_>>()
        .join("; "))
}

/// The value of a `__session` cookie sealed with `secret`, as nextjs-auth0's
/// `generateSessionCookie` makes it (readable by nextjs-auth0 too). It lives for the default
/// absolute session lifetime (three days) from the session's `createdAt`.
///
/// # Errors
/// [`ConfigError::SecretTooShort`] when `secret` is shorter than 32 bytes.
///
/// ```
/// let session = tollgate::testing::session(serde_json::json!({"sub": "user_123"}));
/// let value = tollgate::testing::generate_session_cookie(
///     session,
///     "a-secret-of-at-least-thirty-two-characters",
/// )?;
/// assert!(value.starts_with("eyJ"));
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
pub fn generate_session_cookie(
    session: impl AsRef<SessionData>,
    secret: &str,
) -> Result<String, ConfigError> {
    // Only the secret and the session lifetimes matter for sealing; the rest is placeholder.
    let config = Config::builder()
        .domain("tenant.testing.invalid")
        .client_id("testing")
        .client_secret("testing")
        .secret(secret)
        .app_base_url("http://localhost")
        .build()?;
    let session = session.as_ref();
    let exp = session
        .internal
        .created_at
        .saturating_add(config.session().absolute_duration.as_secs());
    Ok(CookieSessionCodec::new(&config).seal_session(session, exp))
}

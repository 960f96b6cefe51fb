//! Hooks: filter or enrich the session before it is saved, answer the callback yourself, and
//! decide per request whether a session rolls.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::session::SessionData;
use crate::session::store::BoxFuture;
use crate::web::CallbackSuccess;
use crate::web::response::AuthResponse;

type BeforeSaved = dyn Fn(SessionData, Option<Map<String, Value>>) -> BoxFuture<'static, SessionData>
    + Send
    + Sync;
type OnCallback = dyn Fn(Result<&CallbackSuccess, &Error>) -> Option<AuthResponse> + Send + Sync;
type BeforeRolled = dyn Fn(&SessionData) -> bool + Send + Sync;

/// The application's hooks. Every hook is optional.
///
/// ```
/// use tollgate::Hooks;
/// let hooks = Hooks::new()
///     .before_session_saved(|mut session, claims| async move {
///         // keep a custom claim from the ID token, drop the picture
///         if let Some(roles) = claims.as_ref().and_then(|c| c.get("https://example.com/roles")) {
///             session.user.0.insert("roles".into(), roles.clone());
///         }
///         session.user.0.remove("picture");
///         session
///     })
///     .before_session_rolled(|session| session.user.email() != Some("kiosk@example.com"));
/// ```
#[derive(Clone, Default)]
pub struct Hooks {
    pub(crate) before_session_saved: Option<Arc<BeforeSaved>>,
    pub(crate) on_callback: Option<Arc<OnCallback>>,
    pub(crate) before_session_rolled: Option<Arc<BeforeRolled>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("before_session_saved", &self.before_session_saved.is_some())
            .field("on_callback", &self.on_callback.is_some())
            .field(
                "before_session_rolled",
                &self.before_session_rolled.is_some(),
            )
            .finish()
    }
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs before a session is saved at login (with the ID token's claims) and after a refresh
    /// that changed it (with the new ID token's claims, when there is one). Its result is saved,
    /// except the SDK's own members — `internal` and `authentication` — which are put back.
    pub fn before_session_saved<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(SessionData, Option<Map<String, Value>>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = SessionData> + Send + 'static,
    {
        self.before_session_saved = Some(Arc::new(move |s, c| Box::pin(f(s, c))));
        self
    }

    /// Answers the callback instead of the default redirect or error page (`None` keeps the
    /// default). The session cookie and transaction deletion are added to whatever it returns.
    pub fn on_callback<F>(mut self, f: F) -> Self
    where
        F: Fn(Result<&CallbackSuccess, &Error>) -> Option<AuthResponse> + Send + Sync + 'static,
    {
        self.on_callback = Some(Arc::new(f));
        self
    }

    /// Decides whether this request rolls the session (default: always).
    pub fn before_session_rolled<F>(mut self, f: F) -> Self
    where
        F: Fn(&SessionData) -> bool + Send + Sync + 'static,
    {
        self.before_session_rolled = Some(Arc::new(f));
        self
    }
}

impl crate::web::Tollgate {
    /// Runs `before_session_saved`, keeping the SDK's own members.
    pub(crate) async fn run_before_saved(
        &self,
        session: SessionData,
        claims: Option<Map<String, Value>>,
    ) -> SessionData {
        let Some(hook) = self.hooks().before_session_saved.clone() else {
            return session;
        };
        let internal = session.internal.clone();
        let authentication = session.authentication.clone();
        let mut out = hook(session, claims).await;
        out.internal = internal;
        out.authentication = authentication;
        out
    }
}

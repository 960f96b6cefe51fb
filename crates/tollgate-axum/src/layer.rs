//! The session layer: reads the session once per request for the extractors, and keeps rolling
//! sessions fresh by re-sealing the cookie when its expiry should move.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::SET_COOKIE;
use axum::response::Response;
use tollgate::{CookieJar, LoadedSession, SavedSession, SessionData, SetCookies, Tollgate};
use tower::{Layer, Service};

/// What the layer leaves in the request extensions for the extractors.
#[derive(Clone, Debug)]
pub(crate) struct SessionContext {
    pub(crate) auth: Tollgate,
    pub(crate) jar: Arc<CookieJar>,
    pub(crate) state: Arc<Mutex<AuthState>>,
}

/// The request's session, and the session cookie lines a handler asked to write.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    pub(crate) loaded: Option<LoadedSession>,
    pub(crate) session: Option<Arc<SessionData>>,
    pub(crate) pending: Option<SetCookies>,
    /// The session store failed for this request (answer 503 where a session is needed).
    pub(crate) error: Option<tollgate::Error>,
}

impl SessionContext {
    fn state(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn session(&self) -> Option<Arc<SessionData>> {
        self.state().session.clone()
    }

    pub(crate) fn loaded(&self) -> Option<LoadedSession> {
        self.state().loaded.clone()
    }

    pub(crate) fn error(&self) -> Option<tollgate::Error> {
        self.state().error.clone()
    }

    /// Records a saved session and the cookies that carry it.
    pub(crate) fn saved(&self, saved: SavedSession) {
        let mut state = self.state();
        state.session = Some(Arc::new(saved.session.data.clone()));
        state.loaded = Some(saved.session);
        state.pending = Some(saved.cookies);
    }
}

/// A [`Layer`] that makes the session available to [`Session`](crate::Session) and
/// [`User`](crate::User), and rolls it.
///
/// ```
/// # fn f(auth: tollgate::Tollgate) {
/// let app: axum::Router = axum::Router::new().layer(tollgate_axum::SessionLayer::new(auth));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SessionLayer {
    auth: Tollgate,
}

impl SessionLayer {
    /// A layer for `auth`.
    pub fn new(auth: Tollgate) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service of [`SessionLayer`].
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    auth: Tollgate,
}

impl<S> Service<Request> for SessionService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // Take the service that was driven to readiness, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let is_auth_route = is_auth_route(&auth, req.uri().path());
            let jar = CookieJar::from_headers(req.headers());
            let mut state = AuthState::default();
            let mut touch = SetCookies::new();
            match auth.session_with_touch(&jar).await {
                Ok(Some(saved)) => {
                    state.session = Some(Arc::new(saved.session.data.clone()));
                    state.loaded = Some(saved.session);
                    touch = saved.cookies;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the session");
                    state.error = Some(e);
                }
            }
            let state = Arc::new(Mutex::new(state));
            req.extensions_mut().insert(SessionContext {
                auth: auth.clone(),
                jar: Arc::new(jar),
                state: state.clone(),
            });
            let mut resp = inner.call(req).await?;
            let pending = state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pending
                .take();
            if let Some(cookies) = pending {
                // The handler changed the session (refresh, MFA verify, update): its cookie wins.
                cookies.apply(resp.headers_mut());
            } else if !is_auth_route && !touch.is_empty() && !sets_session_cookie(&auth, &resp) {
                touch.apply(resp.headers_mut());
            }
            Ok(resp)
        })
    }
}

fn is_auth_route(auth: &Tollgate, path: &str) -> bool {
    auth.config().routes().all().contains(&path)
}

/// Whether the handler already wrote the session cookie (then its version wins).
fn sets_session_cookie(auth: &Tollgate, resp: &Response) -> bool {
    let name = &auth.config().session().cookie_name;
    resp.headers().get_all(SET_COOKIE).iter().any(|v| {
        v.to_str().ok().is_some_and(|s| {
            s.strip_prefix(name.as_str())
                .is_some_and(|rest| rest.starts_with('=') || rest.starts_with("__"))
        })
    })
}

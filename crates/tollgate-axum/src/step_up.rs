//! [`RequireMfa`]: a route layer that lets a request through only when the session shows the
//! required step-up; otherwise pages are sent to log in with `acr_values`, APIs get 403 JSON.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tollgate::StepUp;
use tower::{Layer, Service};

use crate::layer::SessionContext;
use crate::rejection::{LoginRequired, MissingSessionLayer, check_host, wants_html_headers};

/// Requires step-up authentication on the routes it wraps (use `Router::route_layer`). Once the
/// user has done it, later visits pass without a prompt until logout or the session's end.
///
/// ```
/// use axum::{Router, routing::get};
/// use tollgate_axum::RequireMfa;
/// # fn f(auth: tollgate::Tollgate) {
/// let app: Router = Router::new()
///     .route("/billing", get(|| async { "billing" }))
///     .route_layer(RequireMfa::new())
///     .merge(tollgate_axum::routes(auth.clone()))
///     .layer(tollgate_axum::SessionLayer::new(auth));
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequireMfa {
    step_up: StepUp,
}

impl RequireMfa {
    /// Multi-factor authentication once per session.
    pub fn new() -> Self {
        Self::default()
    }

    /// A custom requirement (e.g. `StepUp::mfa().max_age(..)`).
    pub fn with(step_up: StepUp) -> Self {
        Self { step_up }
    }
}

impl<S> Layer<S> for RequireMfa {
    type Service = RequireMfaService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireMfaService {
            inner,
            step_up: self.step_up.clone(),
        }
    }
}

/// The service of [`RequireMfa`].
#[derive(Clone, Debug)]
pub struct RequireMfaService<S> {
    inner: S,
    step_up: StepUp,
}

impl<S> Service<Request> for RequireMfaService<S>
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

    fn call(&mut self, req: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let step_up = self.step_up.clone();
        Box::pin(async move {
            let Some(ctx) = req.extensions().get::<SessionContext>().cloned() else {
                return Ok(MissingSessionLayer.into_response());
            };
            if let Some(e) = ctx.error() {
                // The store is down: the user may well be signed in and stepped up. A 503, never
                // a step-up login or a 401 that looks like a logout.
                return Ok(crate::rejection::SessionUnavailable(e.to_string()).into_response());
            }
            let session = ctx.session();
            let now = ctx.auth.config().now();
            if session
                .as_deref()
                .is_some_and(|s| step_up.is_satisfied(s, now))
            {
                return inner.call(req).await;
            }
            let here = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let login = format!(
                "{}?{}",
                ctx.auth.config().routes().login,
                step_up.login_query(here)
            );
            if wants_html_headers(req.headers()) {
                if let Err(e) = check_host(&ctx.auth, req.headers(), req.uri()) {
                    return Ok(e.into_response());
                }
                let mut resp = StatusCode::FOUND.into_response();
                if let Ok(v) = HeaderValue::from_str(&login) {
                    resp.headers_mut().insert(LOCATION, v);
                }
                resp.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return Ok(resp);
            }
            if session.is_none() {
                return Ok(LoginRequired { redirect_to: None }.into_response());
            }
            Ok((StatusCode::FORBIDDEN, Json(step_up.api_error(&login))).into_response())
        })
    }
}

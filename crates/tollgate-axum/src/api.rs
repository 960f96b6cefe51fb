//! APIs that receive Auth0 access tokens: [`RequireToken`] verifies the bearer token of each
//! request and its scopes and claims; handlers read it with the [`ApiToken`] extractor.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tollgate::api::{AccessTokenClaims, ApiTokenError, ApiValidator, DpopMode};
use tower::{Layer, Service};

/// Lets a request through only with a valid access token for the API, holding every required
/// scope and claim. Refusals follow RFC 6750: `401` with `WWW-Authenticate: Bearer …` for a
/// missing or invalid token, `403` `insufficient_scope` for a missing scope or claim (or a
/// machine-to-machine token with [`users_only`](Self::users_only)), `401`
/// `insufficient_user_authentication` (RFC 9470) for a token without MFA with
/// [`mfa`](Self::mfa), `503` when the provider's keys cannot be fetched. Use with
/// `Router::route_layer`.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use tollgate::api::{ApiConfig, ApiValidator};
/// use tollgate_axum::{ApiToken, RequireToken};
///
/// async fn payments(token: ApiToken) -> String {
///     format!("payments of {}", token.sub())
/// }
///
/// # fn f() -> Result<(), tollgate::api::ApiTokenError> {
/// let api = ApiValidator::new(
///     ApiConfig::new("tenant.eu.auth0.com", "https://payments.example.com").build()?,
/// );
/// let app: Router = Router::new()
///     .route("/api/payments", get(payments))
///     .route_layer(
///         RequireToken::new(api)
///             .mfa()
///             .scopes(["read:payments"])
///             .claim("https://example.com/tier", serde_json::json!("gold")),
///     );
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireToken {
    rules: Arc<Rules>,
}

#[derive(Debug)]
struct Rules {
    validator: ApiValidator,
    scopes: Vec<String>,
    claims: Vec<(String, Value)>,
    users_only: bool,
    /// The claim that lists the authentication methods, when MFA is required.
    mfa: Option<String>,
}

impl RequireToken {
    /// Requires a valid token for `validator`'s API.
    pub fn new(validator: ApiValidator) -> Self {
        Self {
            rules: Arc::new(Rules {
                validator,
                scopes: Vec::new(),
                claims: Vec::new(),
                users_only: false,
                mfa: None,
            }),
        }
    }

    /// Also requires every one of `scopes` (in `scope` or the RBAC `permissions`).
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with_rules(|r| r.scopes.extend(scopes.into_iter().map(Into::into)))
    }

    /// Also requires claim `name` to equal `value` (or, for an array claim, to contain it).
    pub fn claim(self, name: impl Into<String>, value: Value) -> Self {
        self.with_rules(|r| r.claims.push((name.into(), value)))
    }

    /// Also refuses machine-to-machine tokens (`client_credentials`: `gty` is
    /// `client-credentials` or `sub` ends with `@clients`) with `403 insufficient_scope`: for an
    /// API that acts on a user's data.
    pub fn users_only(self) -> Self {
        self.with_rules(|r| r.users_only = true)
    }

    /// Also requires the token to show multi-factor authentication (RFC 9068's `amr` contains
    /// `mfa`, or `acr` is the multi-factor policy), else `401` with RFC 9470's
    /// `error="insufficient_user_authentication"` and `acr_values`. Implies
    /// [`users_only`](Self::users_only). The scope alone never proves MFA: a provider policy that
    /// missed one grant would otherwise open the API with a password.
    pub fn mfa(self) -> Self {
        self.mfa_claim("amr")
    }

    /// [`mfa`](Self::mfa), reading the methods from the array claim `name` instead of `amr`.
    /// Auth0 puts no `amr` in access tokens; an Action adds a namespaced copy:
    /// `api.accessToken.setCustomClaim("https://example.com/amr", event.authentication.methods.map(m => m.name))`.
    pub fn mfa_claim(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.with_rules(|r| {
            r.mfa = Some(name);
            r.users_only = true;
        })
    }

    fn with_rules(self, f: impl FnOnce(&mut Rules)) -> Self {
        let mut rules = Rules {
            validator: self.rules.validator.clone(),
            scopes: self.rules.scopes.clone(),
            claims: self.rules.claims.clone(),
            users_only: self.rules.users_only,
            mfa: self.rules.mfa.clone(),
        };
        f(&mut rules);
        Self {
            rules: Arc::new(rules),
        }
    }
}

impl Rules {
    async fn check(
        &self,
        seen: Result<Seen, ApiTokenError>,
    ) -> Result<AccessTokenClaims, ApiTokenError> {
        let seen = seen?;
        let token = self
            .validator
            .verify_request(
                seen.authorization.as_deref(),
                seen.dpop.as_deref(),
                &seen.method,
                &seen.url,
            )
            .await?;
        if self.users_only {
            token.require_user()?;
        }
        if let Some(claim) = &self.mfa {
            token.require_mfa_in(claim)?;
        }
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        token.require_scopes(&scopes)?;
        for (name, value) in &self.claims {
            token.require_claim(name, value)?;
        }
        Ok(token)
    }
}

impl<S> Layer<S> for RequireToken {
    type Service = RequireTokenService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService {
            inner,
            rules: self.rules.clone(),
        }
    }
}

/// The service of [`RequireToken`].
#[derive(Clone, Debug)]
pub struct RequireTokenService<S> {
    inner: S,
    rules: Arc<Rules>,
}

impl<S> Service<Request> for RequireTokenService<S>
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
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rules = self.rules.clone();
        let seen = Seen::of(&req);
        Box::pin(async move {
            match rules.check(seen).await {
                Ok(token) => {
                    req.extensions_mut().insert(ApiToken(Arc::new(token)));
                    inner.call(req).await
                }
                Err(e) => Ok(refusal(&e, rules.validator.config())),
            }
        })
    }
}

/// What of a request the token check needs, read before the request moves on.
struct Seen {
    authorization: Option<String>,
    dpop: Option<String>,
    method: String,
    /// The URL the client called, for the DPoP proof's `htu`: the `Host` header's origin (with
    /// `X-Forwarded-Proto`'s scheme, else http) and the path.
    url: String,
}

impl Seen {
    fn of(req: &Request) -> Result<Self, ApiTokenError> {
        let header = |name: &str| -> Result<Option<String>, ApiTokenError> {
            match req.headers().get(name) {
                None => Ok(None),
                Some(v) => v.to_str().map(|s| Some(s.to_owned())).map_err(|_| {
                    ApiTokenError::InvalidRequest(format!("the {name} header is not ASCII"))
                }),
            }
        };
        let uri = req.uri();
        let url = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
            _ => {
                let host = header("host")?.unwrap_or_default();
                let scheme = header("x-forwarded-proto")?.unwrap_or_else(|| "http".into());
                format!("{scheme}://{host}{}", uri.path())
            }
        };
        Ok(Self {
            authorization: header(AUTHORIZATION.as_str())?,
            dpop: header("dpop")?,
            method: req.method().as_str().to_owned(),
            url,
        })
    }
}

/// The RFC 6750 / RFC 9449 answer for `e`.
fn refusal(e: &ApiTokenError, config: &tollgate::api::BuiltApiConfig) -> Response {
    let realm = config.realm();
    if matches!(e, ApiTokenError::Unavailable(_)) {
        tracing::warn!(error = %e, "access token not checked: the provider's keys are unavailable");
    }
    let status = e.status();
    let mut resp = (status, Json(e.to_json())).into_response();
    let challenge = match config.dpop_mode() {
        DpopMode::Disabled => e.www_authenticate(realm),
        mode => e.dpop_challenges(realm, mode == DpopMode::Required),
    };
    if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The verified access token of a request that passed [`RequireToken`].
#[derive(Clone, Debug)]
pub struct ApiToken(pub Arc<AccessTokenClaims>);

impl Deref for ApiToken {
    type Target = AccessTokenClaims;
    fn deref(&self) -> &AccessTokenClaims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        parts.extensions.get::<ApiToken>().cloned().ok_or_else(|| {
            tracing::error!("ApiToken used on a route without the RequireToken layer");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this route needs tollgate_axum::RequireToken",
            )
                .into_response()
        })
    }
}

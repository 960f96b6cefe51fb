//! CORS for the endpoints a browser application calls with `fetch`, as Auth0 answers them per
//! client: `/oauth/token`, `/oauth/revoke`, `/userinfo`, `/mfa/*` (the MFA API) and
//! `/.well-known/*`.
//!
//! - **Allowed origins.** An origin is allowed when some client lists it in `allowed_origins`
//!   or `web_origins`, or has a callback URL on it (Auth0 allows a client's callback origins by
//!   default). A preflight names no client, so this union decides it; the actual request then
//!   authenticates a client, and [`client_auth`](super::client_auth) refuses it (`403
//!   access_denied`) unless that client allows the origin.
//! - **Preflight** (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): `204` with
//!   `Access-Control-Allow-Origin: <origin>`, `Vary: Origin`, the path's methods, the headers the
//!   Auth0 SDKs send (`Auth0-Client`, `Authorization`, `Content-Type`, `DPoP`) and a max age;
//!   for an origin no client allows, `403 access_denied` without any CORS header.
//! - **Every answer** on those paths to an allowed origin, errors included, carries
//!   `Access-Control-Allow-Origin: <origin>` and `Access-Control-Expose-Headers: DPoP-Nonce`;
//!   all carry `Vary: Origin`. No `Access-Control-Allow-Credentials`: these endpoints take no
//!   cookies.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::oauth_error::OAuthError;
use crate::TenantConfig;

/// The request headers a browser may send: those of `@auth0/auth0-spa-js` and DPoP.
const ALLOW_HEADERS: &str = "Auth0-Client, Authorization, Content-Type, DPoP";
/// The response headers a script may read.
const EXPOSE_HEADERS: &str = "DPoP-Nonce";
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "86400";

/// The origins any client allows, computed once per tenant.
#[derive(Debug)]
pub(crate) struct CorsPolicy {
    origins: HashSet<String>,
}

impl CorsPolicy {
    /// The policy of a tenant with this configuration.
    pub(crate) fn new(config: &TenantConfig) -> Self {
        let mut origins = HashSet::new();
        for client in config.clients() {
            origins.extend(client.allowed_origins().iter().cloned());
            origins.extend(client.web_origins().iter().cloned());
            origins.extend(client.callbacks().iter().filter_map(|callback| {
                let url = url::Url::parse(callback).ok()?;
                matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
            }));
        }
        Self { origins }
    }

    /// Whether some client allows `origin`.
    fn allows(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }
}

/// The methods of a CORS-enabled path, or `None` for the other paths.
fn methods(path: &str) -> Option<&'static str> {
    match path {
        "/oauth/token" | "/oauth/revoke" | "/mfa/associate" | "/mfa/challenge" => Some("POST"),
        "/userinfo" => Some("GET, POST"),
        "/mfa/authenticators" => Some("GET"),
        p if p.starts_with("/mfa/authenticators/") => Some("DELETE"),
        p if p.starts_with("/.well-known/") => Some("GET"),
        _ => None,
    }
}

/// The middleware.
pub(crate) async fn cors(
    State(policy): State<Arc<CorsPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(methods) = methods(request.uri().path()) else {
        return next.run(request).await;
    };
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let allowed = origin
        .as_deref()
        .filter(|o| policy.allows(o))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let preflight = request.method() == Method::OPTIONS
        && origin.is_some()
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        match &allowed {
            Some(_) => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                let headers = response.headers_mut();
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(methods),
                );
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOW_HEADERS),
                );
                headers.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(MAX_AGE),
                );
                response
            }
            None => {
                let origin = origin.as_deref().unwrap_or_default();
                tracing::info!(
                    origin,
                    "refused a CORS preflight from an origin no client allows"
                );
                OAuthError::access_denied(format!("Origin {origin} is not allowed")).into_response()
            }
        }
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Some(origin) = allowed {
        add_allow_origin(headers, origin);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// `Access-Control-Allow-Origin: <origin>` and the exposed headers.
fn add_allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

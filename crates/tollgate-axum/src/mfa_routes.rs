//! The MFA routes, the access-token route and the browser module, with the reference SDK's
//! contracts: JSON errors `{error, error_description}` with Auth0's codes, `403` + the
//! `mfa_required` body, `401` for an expired or invalid MFA token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tollgate::{AccessTokenOptions, ChallengeRequest, EnrollRequest, MfaError, VerifyRequest};

use crate::auth::Auth;

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn mfa_error(e: &MfaError) -> Response {
    reply(e.status(), e.to_json())
}

fn bearer(headers: &HeaderMap) -> Result<&str, MfaError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            MfaError::InvalidRequest(
                "Send the mfa_token as Authorization: Bearer <mfa_token>.".into(),
            )
        })
}

/// The MFA routes answer only the application's own pages: a cross-site `Origin` or
/// `Sec-Fetch-Site: cross-site` is refused before anything else is read (the core's one check,
/// shared with the logout `POST` and the API proxies).
fn same_site(auth: &Auth, headers: &HeaderMap, uri: &Uri) -> Result<(), MfaError> {
    auth.tollgate()
        .check_same_origin(headers, uri)
        .map_err(|e| {
            tracing::warn!(error = %e, path = uri.path(), "refused a cross-site MFA request");
            MfaError::CrossSite
        })
}

fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, MfaError> {
    serde_json::from_slice(body)
        .map_err(|e| MfaError::InvalidRequest(format!("The JSON body is invalid: {e}.")))
}

pub(crate) async fn authenticators(auth: Auth, uri: Uri, headers: HeaderMap) -> Response {
    let result = async {
        same_site(&auth, &headers, &uri)?;
        let token = bearer(&headers)?;
        let session = auth.session().ok_or(MfaError::MissingSession)?;
        auth.tollgate().mfa(&session).authenticators(token).await
    }
    .await;
    match result {
        Ok(list) => reply(StatusCode::OK, json!(list)),
        Err(e) => mfa_error(&e),
    }
}

#[derive(Deserialize)]
struct ChallengeBody {
    mfa_token: String,
    #[serde(flatten)]
    request: ChallengeRequest,
}

pub(crate) async fn challenge(auth: Auth, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        same_site(&auth, &headers, &uri)?;
        let b: ChallengeBody = json_body(&body)?;
        let session = auth.session().ok_or(MfaError::MissingSession)?;
        auth.tollgate()
            .mfa(&session)
            .challenge(&b.mfa_token, &b.request)
            .await
    }
    .await;
    match result {
        Ok(c) => reply(StatusCode::OK, json!(c)),
        Err(e) => mfa_error(&e),
    }
}

pub(crate) async fn associate(auth: Auth, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        same_site(&auth, &headers, &uri)?;
        let token = bearer(&headers)?;
        let req: EnrollRequest = json_body(&body)?;
        let session = auth.session().ok_or(MfaError::MissingSession)?;
        auth.tollgate().mfa(&session).enroll(token, &req).await
    }
    .await;
    match result {
        Ok(v) => reply(StatusCode::OK, v),
        Err(e) => mfa_error(&e),
    }
}

pub(crate) async fn verify(auth: Auth, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        same_site(&auth, &headers, &uri)?;
        let token = bearer(&headers)?;
        let req: VerifyRequest = json_body(&body).map_err(|_| {
            MfaError::InvalidRequest(
                "Send one of {\"otp\"}, {\"oob_code\", \"binding_code\"} or {\"recovery_code\"}."
                    .into(),
            )
        })?;
        let session = auth.session().ok_or(MfaError::MissingSession)?;
        let outcome = auth.tollgate().mfa(&session).verify(token, &req).await?;
        auth.save_session(outcome.session)
            .await
            .map_err(|e| MfaError::InvalidRequest(e.to_string()))?;
        Ok::<_, MfaError>(outcome.recovery_code)
    }
    .await;
    match result {
        Ok(Some(code)) => reply(
            StatusCode::OK,
            json!({"success": true, "recovery_code": code}),
        ),
        Ok(None) => reply(StatusCode::OK, json!({"success": true})),
        Err(e) => mfa_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct AccessTokenQuery {
    audience: Option<String>,
    scope: Option<String>,
    refresh: Option<String>,
    #[serde(rename = "mergeScopes")]
    merge_scopes: Option<String>,
}

pub(crate) async fn access_token(auth: Auth, Query(q): Query<AccessTokenQuery>) -> Response {
    let mut opts = AccessTokenOptions::new();
    if let Some(a) = q.audience {
        opts = opts.audience(a);
    }
    if let Some(s) = q.scope {
        opts = opts.scope(s);
    }
    if q.refresh.as_deref() == Some("true") {
        opts = opts.force_refresh();
    }
    if q.merge_scopes.as_deref() == Some("false") {
        opts = opts.merge_scopes(false);
    }
    let now = auth.tollgate().config().now();
    match auth.access_token(opts).await {
        Ok(t) => reply(StatusCode::OK, t.to_json(now)),
        Err(e) => reply(e.status(), e.to_json()),
    }
}

pub(crate) async fn client_js(auth: Auth) -> Response {
    let body = tollgate::browser_module(auth.tollgate().config().routes());
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

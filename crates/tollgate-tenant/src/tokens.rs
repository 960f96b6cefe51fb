//! Building ID tokens, access tokens and the user profile claims they share with `/userinfo`;
//! the token response every grant answers, and the record of a token request for the event log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::jwt::{self, Claims};
use crate::state::TenantState;
use crate::{ClientConfig, UserConfig, clock, fault, scope};

/// The user's claims that `scope` releases: always `sub`; `profile` adds `name`, `nickname`,
/// `picture` and `updated_at` (ISO-8601); `email` adds `email` and `email_verified`.
pub(crate) fn profile_claims(state: &TenantState, user: &UserConfig, scopes: &[String]) -> Claims {
    let mut claims = Claims::new();
    claims.insert("sub".to_owned(), json!(user.sub()));
    if scope::has(scopes, "profile") {
        claims.insert("name".to_owned(), json!(user.name()));
        claims.insert("nickname".to_owned(), json!(user.nickname()));
        claims.insert("picture".to_owned(), json!(user.picture()));
        claims.insert(
            "updated_at".to_owned(),
            json!(clock::iso8601(state.updated_at)),
        );
    }
    if scope::has(scopes, "email") {
        claims.insert("email".to_owned(), json!(user.email()));
        claims.insert("email_verified".to_owned(), json!(user.email_verified()));
    }
    claims
}

/// What an ID token is about.
#[derive(Debug)]
pub(crate) struct IdTokenSubject<'a> {
    pub(crate) client: &'a ClientConfig,
    pub(crate) user: &'a UserConfig,
    pub(crate) scope: &'a [String],
    pub(crate) nonce: Option<&'a str>,
    pub(crate) sid: &'a str,
    pub(crate) auth_time: u64,
    /// `None` for tokens from silent authentication and refresh, which carry no `amr` at Auth0.
    pub(crate) amr: Option<&'a [String]>,
    /// The `acr` claim (the multi-factor policy URI after a requested MFA step).
    pub(crate) acr: Option<&'a str>,
}

/// Issues a signed ID token (with the configured fault, if any).
pub(crate) fn id_token(state: &TenantState, subject: &IdTokenSubject<'_>) -> String {
    let now = state.now();
    let mut claims = profile_claims(state, subject.user, subject.scope);
    claims.insert("iss".to_owned(), json!(state.issuer));
    claims.insert("aud".to_owned(), json!(subject.client.client_id()));
    claims.insert("iat".to_owned(), json!(now));
    claims.insert(
        "exp".to_owned(),
        json!(now + state.config.id_token_lifetime().as_secs()),
    );
    claims.insert("sid".to_owned(), json!(subject.sid));
    claims.insert("auth_time".to_owned(), json!(subject.auth_time));
    if let Some(nonce) = subject.nonce {
        claims.insert("nonce".to_owned(), json!(nonce));
    }
    if let Some(amr) = subject.amr {
        claims.insert("amr".to_owned(), json!(amr));
    }
    if let Some(acr) = subject.acr {
        claims.insert("acr".to_owned(), json!(acr));
    }
    fault::sign_id_token(state, subject.client.client_secret(), claims)
}

/// The claim of a user's access token (for an API) that lists how the user authenticated, as
/// the ID token's `amr` does: `["pwd"]`, `["pwd","mfa"]`, `["mfa"]`.
///
/// Auth0 puts no `amr` in access tokens (it is a restricted claim that Actions cannot set); an
/// API that needs to know about MFA gets a namespaced custom claim from a post-login Action
/// (`api.accessToken.setCustomClaim(…, event.authentication.methods…)`). The tenant's MFA
/// policies stand in for that Action and set this claim, so an API checks the same claim
/// locally and against Auth0 (with such an Action). Tokens whose methods the tenant does not
/// know (Custom Token Exchange, CIBA) have no such claim.
pub const AMR_CLAIM: &str = "https://tollgate.example/amr";

/// Issues a user's access token: a JWT for `audience`, or an opaque token for `/userinfo` when
/// there is no audience. With `jkt`, the token is DPoP-bound to that key (`cnf.jkt`). `amr`
/// (the authentication methods) becomes the [`AMR_CLAIM`] of a JWT.
pub(crate) fn user_access_token(
    state: &TenantState,
    client_id: &str,
    user: &UserConfig,
    audience: Option<&str>,
    scopes: &[String],
    amr: Option<&[String]>,
    jkt: Option<&str>,
) -> String {
    let lifetime = state.access_token_lifetime(audience);
    let Some(audience) = audience else {
        return state.store().issue_opaque_token(
            user.email(),
            scopes.to_vec(),
            jkt.map(str::to_owned),
            lifetime,
        );
    };
    let aud = if scope::has(scopes, "openid") {
        json!([audience, state.endpoint("userinfo")])
    } else {
        json!(audience)
    };
    let mut claims = access_claims(state, &user.sub(), aud, client_id, scopes);
    claims.remove("gty");
    if let Some(org) = user.organization() {
        claims.insert("org_id".to_owned(), json!(org));
    }
    if let Some(amr) = amr.filter(|m| !m.is_empty()) {
        claims.insert(AMR_CLAIM.to_owned(), json!(amr));
    }
    claims.insert("exp".to_owned(), json!(state.now() + lifetime.as_secs()));
    if let Some(jkt) = jkt {
        claims.insert("cnf".to_owned(), json!({ "jkt": jkt }));
    }
    jwt::sign_rs256(&state.current_key(), &claims)
}

/// The key a new access token for `audience` is bound to: the proof's, unless the API issues
/// Bearer tokens only.
pub(crate) fn binding<'a>(
    state: &TenantState,
    audience: Option<&str>,
    jkt: Option<&'a str>,
) -> Option<&'a str> {
    jkt.filter(|_| {
        audience
            .and_then(|a| state.api(a))
            .is_none_or(crate::ApiConfig::dpop_bound_tokens)
    })
}

/// `DPoP` for a bound token, `Bearer` otherwise.
pub(crate) fn token_type(bound: Option<&str>) -> &'static str {
    if bound.is_some() { "DPoP" } else { "Bearer" }
}

/// Issues a machine-to-machine access token (`client_credentials`).
pub(crate) fn client_access_token(
    state: &TenantState,
    client_id: &str,
    audience: &str,
    scopes: &[String],
    jkt: Option<&str>,
) -> String {
    let sub = format!("{client_id}@clients");
    let mut claims = access_claims(state, &sub, json!(audience), client_id, scopes);
    if let Some(jkt) = jkt {
        claims.insert("cnf".to_owned(), json!({ "jkt": jkt }));
    }
    jwt::sign_rs256(&state.current_key(), &claims)
}

fn access_claims(
    state: &TenantState,
    sub: &str,
    aud: Value,
    client_id: &str,
    scopes: &[String],
) -> Claims {
    let now = state.now();
    let mut claims = Claims::new();
    claims.insert("iss".to_owned(), json!(state.issuer));
    claims.insert("sub".to_owned(), json!(sub));
    claims.insert("aud".to_owned(), aud);
    claims.insert("iat".to_owned(), json!(now));
    claims.insert(
        "exp".to_owned(),
        json!(now + state.config.access_token_lifetime().as_secs()),
    );
    claims.insert("scope".to_owned(), json!(scope::join(scopes)));
    claims.insert("azp".to_owned(), json!(client_id));
    claims.insert("gty".to_owned(), json!("client-credentials"));
    claims
}

/// A successful token response.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// The replacement recovery code (`mfa-recovery-code` grant only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recovery_code: Option<String>,
    /// What was issued (token exchanges only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issued_token_type: Option<&'static str>,
    /// A `DPoP-Nonce` header for the client's next proof.
    #[serde(skip)]
    pub(crate) dpop_nonce: Option<String>,
}

/// `invalid_grant` when a code or refresh token is bound to another DPoP key than the proof's.
pub(crate) const DPOP_KEY_MISMATCH: &str =
    "The DPoP proof key does not match the key this grant is bound to";

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let nonce = self
            .dpop_nonce
            .as_deref()
            .and_then(|n| HeaderValue::from_str(n).ok());
        let mut response = (StatusCode::OK, Json(self)).into_response();
        let headers = response.headers_mut();
        if let Some(nonce) = nonce {
            headers.insert("dpop-nonce", nonce);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// What a token request turned out to be about, for the event log: the grants fill it in as
/// they learn it.
#[derive(Debug, Default)]
pub(crate) struct GrantRecord<'a> {
    /// The authenticated client.
    pub(crate) client_id: Option<String>,
    /// The user the grant is for.
    pub(crate) user: Option<&'a UserConfig>,
    /// The effective audience.
    pub(crate) audience: Option<String>,
    /// A rotated-away refresh token was presented and its family revoked.
    pub(crate) reuse_detected: bool,
    /// Extra `details` members.
    pub(crate) details: Vec<(&'static str, serde_json::Value)>,
}

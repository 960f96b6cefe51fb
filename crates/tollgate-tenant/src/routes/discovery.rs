//! `/.well-known/openid-configuration` and `/.well-known/jwks.json`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;

/// The discovery document, like an Auth0 tenant's (endpoints this tenant lacks are left out).
pub(super) async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let mut doc = json!({
        "issuer": state.issuer,
        "authorization_endpoint": state.endpoint("authorize"),
        "token_endpoint": state.endpoint("oauth/token"),
        "userinfo_endpoint": state.endpoint("userinfo"),
        "jwks_uri": state.endpoint(".well-known/jwks.json"),
        "revocation_endpoint": state.endpoint("oauth/revoke"),
        "scopes_supported": ["openid", "profile", "offline_access", "name", "given_name", "family_name",
            "nickname", "email", "email_verified", "picture", "created_at", "identities", "phone", "address"],
        // Like a real tenant, these lists are wider than what is served here (only `code`,
        // `S256` and `query` are accepted), so SDKs see the same document as in production.
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
            "token id_token", "code token id_token"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "claims_supported": ["aud", "auth_time", "created_at", "email", "email_verified", "exp",
            "family_name", "given_name", "iat", "identities", "iss", "name", "nickname",
            "phone_number", "picture", "sub"],
        "request_uri_parameter_supported": false,
        "request_parameter_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_authentication_endpoint": state.endpoint("bc-authorize"),
        "pushed_authorization_request_endpoint": state.endpoint("oauth/par"),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_logout_session_supported": true,
    });
    if state.config.end_session_endpoint_discovery() {
        doc["end_session_endpoint"] = json!(state.endpoint("oidc/logout"));
    }
    Json(doc)
}

/// The published keys, current first.
pub(super) async fn jwks(State(state): State<AppState>) -> Json<Value> {
    Json(state.keys().jwks())
}

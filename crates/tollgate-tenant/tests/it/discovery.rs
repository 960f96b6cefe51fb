//! Discovery document, JWKS shape and signing-key rotation.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn discovery_document_matches_auth0() {
    let tenant = start().await;
    let http = browser();
    let issuer = tenant.issuer().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:") && issuer.ends_with('/'));

    for path in [
        ".well-known/openid-configuration",
        ".well-known/oauth-authorization-server",
    ] {
        let response = http.get(url(&tenant, path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(doc["authorization_endpoint"], format!("{issuer}authorize"));
        assert_eq!(doc["token_endpoint"], format!("{issuer}oauth/token"));
        assert_eq!(doc["userinfo_endpoint"], format!("{issuer}userinfo"));
        assert_eq!(doc["jwks_uri"], format!("{issuer}.well-known/jwks.json"));
        assert_eq!(doc["revocation_endpoint"], format!("{issuer}oauth/revoke"));
        assert_eq!(doc["end_session_endpoint"], format!("{issuer}oidc/logout"));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["HS256", "RS256", "PS256"])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ])
        );
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            serde_json::json!(["ES256"])
        );
        assert_eq!(
            doc["backchannel_authentication_endpoint"],
            format!("{issuer}bc-authorize")
        );
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            format!("{issuer}oauth/par")
        );
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256", "plain"])
        );
        assert_eq!(
            doc["subject_types_supported"],
            serde_json::json!(["public"])
        );
        assert_eq!(doc["request_parameter_supported"], false);
        assert_eq!(doc["backchannel_logout_supported"], true);
        assert_eq!(doc["backchannel_logout_session_supported"], true);
    }
    tenant.shutdown().await;
}

#[tokio::test]
async fn end_session_endpoint_is_advertised_only_when_enabled() {
    let tenant = start_with(config().with_end_session_endpoint_discovery(false)).await;
    let doc: Value = browser()
        .get(url(&tenant, ".well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("end_session_endpoint").is_none());
    // The endpoint itself still works, as at Auth0.
    let response = browser()
        .get(url(&tenant, "oidc/logout"))
        .query(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn jwks_has_auth0_shape() {
    let tenant = start().await;
    let raw: Value = browser()
        .get(url(&tenant, ".well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = raw["keys"].as_array().expect("a keys array");
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    // 2048-bit modulus: 256 bytes → 342 base64url characters.
    assert_eq!(key["n"].as_str().unwrap().len(), 342);
    assert_eq!(key["kid"].as_str().unwrap().len(), 22);
}

#[tokio::test]
async fn key_rotation_keeps_then_drops_the_previous_key() {
    let tenant = start().await;
    let http = browser();
    let old_kid = jwks(&http, &tenant).await.keys[0]
        .common
        .key_id
        .clone()
        .unwrap();
    let code = login_code(&http, &tenant).await;
    let old_tokens = exchange(&http, &tenant, &code).await;
    let old_id_token = old_tokens["id_token"].as_str().unwrap().to_owned();

    tenant.rotate_signing_key();
    let set = jwks(&http, &tenant).await;
    let kids: Vec<String> = set
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0], old_kid, "the new key comes first");
    assert_eq!(kids[1], old_kid);
    // Tokens signed before rotation still verify; new ones use the new kid.
    verify(&http, &tenant, &old_id_token, CLIENT_ID).await;
    let refreshed = token(
        &http,
        &tenant,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                old_tokens["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: Value = refreshed.json().await.unwrap();
    let new_id_token = refreshed["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(new_id_token)
            .unwrap()
            .kid
            .as_deref(),
        Some(kids[0].as_str())
    );
    verify(&http, &tenant, new_id_token, CLIENT_ID).await;

    tenant.drop_previous_keys();
    let set = jwks(&http, &tenant).await;
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].common.key_id.as_deref(), Some(kids[0].as_str()));
    assert!(set.find(&old_kid).is_none());
}

/// Tenants of one process sign with one default key, generated once; a tenant started with
/// `with_fresh_signing_key(true)` has its own, so its tokens do not verify with another tenant's
/// keys. Rotating one tenant's key leaves the others' JWKS alone.
#[tokio::test]
async fn tenants_share_the_default_key_unless_one_asks_for_a_fresh_key() {
    let http = browser();
    let first = start().await;
    let second = start().await;
    let fresh = start_with(config().with_fresh_signing_key(true)).await;
    let first_keys = jwks(&http, &first).await;
    let fresh_keys = jwks(&http, &fresh).await;
    let kid = |set: &jsonwebtoken::jwk::JwkSet| set.keys[0].common.key_id.clone().unwrap();
    assert_eq!(kid(&jwks(&http, &second).await), kid(&first_keys));
    assert_ne!(kid(&fresh_keys), kid(&first_keys));

    let serde_json::Value::Object(claims) = serde_json::json!({"sub": "auth0|someone"}) else {
        unreachable!()
    };
    let token = fresh.sign_jwt(serde_json::Map::new(), claims);
    let verifies_with = |set: &jsonwebtoken::jwk::JwkSet| {
        let key = jsonwebtoken::DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &key, &validation).map(|_| ())
    };
    verifies_with(&fresh_keys).unwrap();
    assert_eq!(
        verifies_with(&first_keys).unwrap_err().kind(),
        &jsonwebtoken::errors::ErrorKind::InvalidSignature
    );

    first.rotate_signing_key();
    assert_ne!(kid(&jwks(&http, &first).await), kid(&first_keys));
    assert_eq!(kid(&jwks(&http, &second).await), kid(&first_keys));
}

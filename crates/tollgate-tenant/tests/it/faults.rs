//! Each `IdTokenFault` changes the ID token exactly as documented.

use crate::common::*;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Map, Value, json};
use tollgate_tenant::{IdTokenFault, RunningTenant};

/// Logs in with a fresh browser while `fault` is set and returns the ID token.
async fn id_token_with(tenant: &RunningTenant, fault: IdTokenFault) -> String {
    tenant.set_id_token_fault(Some(fault));
    let http = browser();
    let tokens = exchange(&http, tenant, &login_code(&http, tenant).await).await;
    tenant.set_id_token_fault(None);
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// Verifies only the RS256 signature against the published key named by `kid`.
async fn signature_check(
    tenant: &RunningTenant,
    token: &str,
) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    let kid = jsonwebtoken::decode_header(token)?.kid.unwrap_or_default();
    let set = jwks(&browser(), tenant).await;
    let jwk = set.find(&kid).expect("the kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Map<String, Value>>(token, &DecodingKey::from_jwk(jwk)?, &validation)
        .map(|d| d.claims)
}

#[tokio::test]
async fn signature_faults() {
    let tenant = start().await;
    let current_kid = jwks(&browser(), &tenant).await.keys[0]
        .common
        .key_id
        .clone()
        .unwrap();

    // alg none, empty signature.
    let token = id_token_with(&tenant, IdTokenFault::AlgNone).await;
    assert_eq!(
        header_json(&token),
        json!({"alg": "none", "typ": "JWT"})
            .as_object()
            .unwrap()
            .clone()
    );
    assert!(token.ends_with('.'));
    assert_eq!(claims(&token)["aud"], CLIENT_ID);

    // Flipped signature.
    let token = id_token_with(&tenant, IdTokenFault::BadSignature).await;
    assert_eq!(header_json(&token)["kid"], current_kid.as_str());
    let error = signature_check(&tenant, &token).await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::InvalidSignature);
    assert_eq!(claims(&token)["nonce"], "n-0S6_WzA2Mj");

    // Unknown kid.
    let token = id_token_with(&tenant, IdTokenFault::UnknownKid).await;
    let header = header_json(&token);
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().unwrap();
    assert_ne!(kid, current_kid);
    assert!(jwks(&browser(), &tenant).await.find(kid).is_none());

    // HS256 with the client secret.
    let token = id_token_with(&tenant, IdTokenFault::Hs256WithClientSecret).await;
    assert_eq!(header_json(&token)["alg"], "HS256");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[CLIENT_ID]);
    jsonwebtoken::decode::<Map<String, Value>>(
        &token,
        &DecodingKey::from_secret(CLIENT_SECRET.as_bytes()),
        &validation,
    )
    .expect("HMAC with the client secret");

    // HS256 with the public key PEM: the algorithm-confusion attack.
    let token = id_token_with(&tenant, IdTokenFault::Hs256WithPublicKey).await;
    let header = header_json(&token);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], current_kid.as_str());
    let set = jwks(&browser(), &tenant).await;
    let jwk = serde_json::to_value(set.find(&current_kid).unwrap()).unwrap();
    let decode = |field: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[field].as_str().unwrap())
            .unwrap()
    };
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&decode("n")),
        rsa::BigUint::from_bytes_be(&decode("e")),
    )
    .unwrap();
    let pem = public.to_public_key_pem(LineEnding::LF).unwrap();
    jsonwebtoken::decode::<Map<String, Value>>(
        &token,
        &DecodingKey::from_secret(pem.as_bytes()),
        &validation,
    )
    .expect("HMAC with the public key PEM");
}

#[tokio::test]
async fn claim_faults() {
    let tenant = start().await;
    let now = now();

    let token = id_token_with(&tenant, IdTokenFault::WrongIssuer).await;
    let c = signature_check(&tenant, &token)
        .await
        .expect("still validly signed");
    assert_eq!(c["iss"], "https://wrong-issuer.example.com/");

    let token = id_token_with(&tenant, IdTokenFault::WrongAudience).await;
    let c = signature_check(&tenant, &token).await.unwrap();
    assert_eq!(c["aud"], "some-other-client");

    let token = id_token_with(&tenant, IdTokenFault::MultipleAudiencesWithoutAzp).await;
    let c = signature_check(&tenant, &token).await.unwrap();
    assert_eq!(c["aud"], json!([CLIENT_ID, "other"]));
    assert!(!c.contains_key("azp"));

    let token = id_token_with(&tenant, IdTokenFault::WrongNonce).await;
    let c = signature_check(&tenant, &token).await.unwrap();
    assert_eq!(c["nonce"], "wrong-nonce");

    let token = id_token_with(&tenant, IdTokenFault::Expired).await;
    let c = signature_check(&tenant, &token).await.unwrap();
    let exp = c["exp"].as_u64().unwrap();
    assert!(
        exp < now && (now - exp).abs_diff(3600) <= 5,
        "exp {exp}, now {now}"
    );

    let token = id_token_with(&tenant, IdTokenFault::IssuedInFuture).await;
    let c = signature_check(&tenant, &token).await.unwrap();
    let iat = c["iat"].as_u64().unwrap();
    assert!((iat - now).abs_diff(3600) <= 5, "iat {iat}, now {now}");
    assert!(c["exp"].as_u64().unwrap() > iat);

    let token = id_token_with(&tenant, IdTokenFault::RemoveClaim("sid".to_owned())).await;
    let c = signature_check(&tenant, &token).await.unwrap();
    assert!(!c.contains_key("sid"));
    assert!(c.contains_key("sub"));

    let token = id_token_with(
        &tenant,
        IdTokenFault::SetClaim("azp".to_owned(), json!("intruder")),
    )
    .await;
    let c = signature_check(&tenant, &token).await.unwrap();
    assert_eq!(c["azp"], "intruder");
    let token = id_token_with(
        &tenant,
        IdTokenFault::SetClaim("email_verified".to_owned(), json!(false)),
    )
    .await;
    assert_eq!(claims(&token)["email_verified"], false);
}

#[tokio::test]
async fn fault_applies_to_refresh_and_clears() {
    let tenant = start().await;
    let http = browser();
    let tokens = exchange(&http, &tenant, &login_code(&http, &tenant).await).await;
    // Tokens issued before the fault are clean.
    verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;

    tenant.set_id_token_fault(Some(IdTokenFault::WrongAudience));
    let response = refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        tokens["refresh_token"].as_str().unwrap(),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    assert_eq!(
        claims(refreshed["id_token"].as_str().unwrap())["aud"],
        "some-other-client"
    );
    // Access tokens are not affected.
    assert_eq!(
        refreshed["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        1
    );

    tenant.set_id_token_fault(None);
    let response = refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        refreshed["refresh_token"].as_str().unwrap(),
        &[],
    )
    .await;
    let clean: Value = response.json().await.unwrap();
    verify(
        &http,
        &tenant,
        clean["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
}

//! The SDK against the local tenant over HTTPS, named by a host name (`https://localhost:PORT/`),
//! with its generated CA trusted through `ConfigBuilder::extra_root_certificate_pem`: login,
//! session, access token, refresh, step-up and logout all through real TLS.

use crate::common;

use crate::common::{HttpBrowser, TestApp};
use tollgate::{CookieJar, SessionData};

const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

async fn session_of(app: &TestApp, b: &HttpBrowser) -> SessionData {
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    app.auth.session(&jar).await.unwrap().unwrap()
}

fn browser(app: &TestApp) -> HttpBrowser {
    HttpBrowser::trusting(app.tenant.ca_pem().expect("an HTTPS tenant has a CA"))
}

#[tokio::test]
async fn login_refresh_and_logout_against_an_https_tenant() {
    let app = common::start_https(|c| c).await;
    let issuer = app.tenant.issuer().to_owned();
    assert!(issuer.starts_with("https://localhost:"), "{issuer}");
    let mut b = browser(&app);

    let callback = b.login(&app, "").await;
    assert_eq!(callback.status, 302, "{callback:?}");
    assert!(callback.sets("__session"));
    assert_eq!(
        b.get(&app.url("/profile")).await.body,
        "profile of Alice Example"
    );
    // The SDK checked the ID token's `iss` against this issuer; discovery names it too.
    let before = session_of(&app, &b).await;
    let discovery = b
        .get(&format!("{issuer}.well-known/openid-configuration"))
        .await;
    let doc: serde_json::Value = serde_json::from_str(&discovery.body).unwrap();
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["token_endpoint"], format!("{issuer}oauth/token"));

    b.accept = "application/json";
    let token = b.get(&app.url("/auth/access-token")).await;
    assert_eq!(token.status, 200, "{token:?}");
    let refreshed = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let after = session_of(&app, &b).await;
    assert_ne!(
        before.token_set.refresh_token, after.token_set.refresh_token,
        "the refresh over HTTPS rotated the refresh token"
    );

    b.accept = "text/html";
    let logout = b.get(&app.url("/auth/logout")).await;
    assert_eq!(logout.status, 302, "{logout:?}");
    let end = logout.location().clone();
    assert!(
        end.as_str().starts_with(&format!("{issuer}oidc/logout")),
        "{end}"
    );
    let back = b.get(end.as_str()).await;
    assert_eq!(back.status, 302, "{back:?}");
    assert_eq!(back.location().as_str(), app.url("/"));
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 401);
}

#[tokio::test]
async fn step_up_against_an_https_tenant() {
    let app = common::start_https(|c| c).await;
    let mut b = browser(&app);
    b.login(&app, "").await;
    let billing = b.get(&app.url("/billing")).await;
    assert_eq!(billing.status, 302);
    let start = billing.location().to_string();
    let back = b
        .step_up_with(&app, &start, |app| {
            app.tenant.totp_code(common::ALICE.0).unwrap()
        })
        .await;
    assert_eq!(back.status, 302, "{back:?}");
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.location().as_str(), app.url("/billing"));
    let authn = session_of(&app, &b).await.authentication.unwrap();
    assert_eq!(authn.acr.as_deref(), Some(MFA));
    assert_eq!(
        b.get(&app.url("/billing")).await.body,
        "billing for Alice Example"
    );
}

#[tokio::test]
async fn an_sdk_that_does_not_trust_the_ca_cannot_log_in() {
    let app = common::start_https(|c| c).await;
    // The same settings without the CA: discovery fails the TLS handshake.
    let untrusting = tollgate_testkit::local_config(
        app.tenant.issuer(),
        (common::CLIENT_ID, common::CLIENT_SECRET),
        "0123456789abcdef0123456789abcdef-untrusting",
        app.base.as_str(),
    )
    .build()
    .unwrap();
    let auth = tollgate::Tollgate::builder(untrusting).build();
    let error = auth.metadata().await.unwrap_err();
    assert!(
        error.to_string().contains("could not be reached"),
        "{error}"
    );
    // The app that trusts it reaches the same tenant.
    assert_eq!(
        app.auth.metadata().await.unwrap().issuer.as_str(),
        app.tenant.issuer()
    );
}

#[tokio::test]
async fn an_api_verifies_tokens_of_an_https_tenant_once_it_trusts_the_ca() {
    use tollgate::api::{ApiConfig, ApiValidator};
    let app = common::start_https(|c| c).await;
    let issuer = app.tenant.issuer().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({"iss": issuer, "sub": "auth0|alice",
        "aud": [tollgate_testkit::app::PAYMENTS], "iat": now, "exp": now + 300,
        "azp": common::CLIENT_ID, "scope": "read:payments"});
    let header = serde_json::json!({"typ": "at+jwt"});
    let token = app.tenant.sign_jwt(
        header.as_object().unwrap().clone(),
        claims.as_object().unwrap().clone(),
    );
    // The API's keys come from the tenant's JWKS over TLS: with the CA trusted they verify...
    let trusting = ApiValidator::new(
        ApiConfig::new(issuer.clone(), tollgate_testkit::app::PAYMENTS)
            .extra_root_certificate_pem(app.tenant.ca_pem().unwrap())
            .build()
            .unwrap(),
    );
    let verified = trusting.verify(&token).await.unwrap();
    assert_eq!(verified.sub(), "auth0|alice");
    // ...and without it the keys cannot be fetched, so the token is not accepted.
    let untrusting = ApiValidator::new(
        ApiConfig::new(issuer, tollgate_testkit::app::PAYMENTS)
            .build()
            .unwrap(),
    );
    assert!(untrusting.verify(&token).await.is_err());
}

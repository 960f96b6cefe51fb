//! Custom Token Exchange and Token Vault connection tokens against the local tenant: the happy
//! paths, each refusal with its typed error, and the connection token cached in the session.

use crate::common;

use tollgate::{
    ConnectionTokenError, ConnectionTokenOptions, ProviderError, TokenExchangeError,
    TokenExchangeOptions,
};
use tollgate_tenant::{
    ApiConfig, ClientConfig, RunningTenant, Tenant, TenantConfig, TokenExchangeProfile, UserConfig,
};

const LEGACY: &str = "urn:acme:legacy-token";
const API: &str = "https://api.example.com";

async fn tenant() -> RunningTenant {
    Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new(common::CLIENT_ID, common::CLIENT_SECRET)
                    .with_callback(format!("{}/auth/callback", common::APP)),
            )
            .with_user(
                UserConfig::new(common::ALICE.0, common::ALICE.1).with_connection("google-oauth2"),
            )
            .with_api(ApiConfig::new(API).with_scopes(["read:data"]))
            .with_token_exchange_profile(
                TokenExchangeProfile::new(LEGACY).with_subject("legacy-alice", common::ALICE.0),
            ),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_custom_token_exchange_returns_validated_tokens_for_the_subject() {
    let tenant = tenant().await;
    let auth = common::client(&tenant, |b| b);
    let tokens = auth
        .custom_token_exchange(
            TokenExchangeOptions::new("legacy-alice", LEGACY)
                .audience(API)
                .scope("openid email read:data offline_access"),
        )
        .await
        .unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(
        tokens.scope.as_deref(),
        Some("openid email read:data offline_access")
    );
    assert!(tokens.refresh_token.is_some());
    let claims = tokens.id_token_claims.as_ref().unwrap();
    assert_eq!(claims["email"], common::ALICE.0);
    assert!(
        tokens.access_token.split('.').count() == 3,
        "a JWT for the API"
    );

    // With an actor (delegation), no refresh token is issued.
    let delegated = auth
        .custom_token_exchange(
            TokenExchangeOptions::new("legacy-alice", LEGACY)
                .scope("openid offline_access")
                .actor("service-token", "urn:acme:service-token"),
        )
        .await
        .unwrap();
    assert!(delegated.refresh_token.is_none());
}

#[tokio::test]
async fn refused_exchanges_are_typed() {
    let tenant = tenant().await;
    let auth = common::client(&tenant, |b| b);
    let refused = |e: TokenExchangeError| match e {
        TokenExchangeError::ExchangeFailed(ProviderError::OAuth { error, status, .. }) => {
            (status, error)
        }
        other => panic!("{other:?}"),
    };
    let bad_subject = auth
        .custom_token_exchange(TokenExchangeOptions::new("forged", LEGACY))
        .await
        .unwrap_err();
    assert_eq!(bad_subject.code(), "exchange_failed");
    assert_eq!(refused(bad_subject), (400, "invalid_request".to_owned()));
    let unknown_type = auth
        .custom_token_exchange(TokenExchangeOptions::new(
            "legacy-alice",
            "urn:acme:other-token",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused(unknown_type), (400, "invalid_request".to_owned()));
    let unknown_api = auth
        .custom_token_exchange(
            TokenExchangeOptions::new("legacy-alice", LEGACY).audience("https://nope.example"),
        )
        .await
        .unwrap_err();
    assert_eq!(refused(unknown_api), (403, "access_denied".to_owned()));
    // Caught before any call.
    let before = tenant.events().len();
    let e = auth
        .custom_token_exchange(TokenExchangeOptions::new("legacy-alice", LEGACY).actor_token("a"))
        .await
        .unwrap_err();
    assert_eq!(e, TokenExchangeError::MissingActorTokenType);
    assert_eq!(
        tenant.events().len(),
        before,
        "no request reached the tenant"
    );
}

#[tokio::test]
async fn a_connection_token_is_exchanged_once_then_served_from_the_session() {
    let tenant = tenant().await;
    let auth = common::client(&tenant, |b| b);
    let session = common::signed_in(&auth).await;
    assert!(session.token_set.refresh_token.is_some());

    let google = ConnectionTokenOptions::new("google-oauth2");
    let (token, changed) = auth
        .access_token_for_connection(&session, &google)
        .await
        .unwrap();
    assert_eq!(token.connection, "google-oauth2");
    assert!(token.access_token.starts_with("google-oauth2."));
    let session = changed.expect("the new token is cached in the session");
    let exchanges = |t: &RunningTenant| t.events_of_type("sefcate").len();
    assert_eq!(exchanges(&tenant), 1);

    // Cached: the same token, no call, no change.
    let (again, changed) = auth
        .access_token_for_connection(&session, &google)
        .await
        .unwrap();
    assert_eq!(again.access_token, token.access_token);
    assert!(changed.is_none());
    assert_eq!(exchanges(&tenant), 1);
    // Forced: a new one.
    let (fresh, _) = auth
        .access_token_for_connection(&session, &google.clone().force_refresh())
        .await
        .unwrap();
    assert_ne!(fresh.access_token, token.access_token);

    // A connection the user has no account at.
    let err = auth
        .access_token_for_connection(&session, &ConnectionTokenOptions::new("github"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectionTokenError::FailedToExchange(ProviderError::OAuth { status: 401, error, .. })
            if error == "federated_connection_refresh_token_not_found"),
        "{err:?}"
    );
    // No refresh token, no exchange.
    let mut without = session.clone();
    without.token_set.refresh_token = None;
    without.extra.clear();
    assert_eq!(
        auth.access_token_for_connection(&without, &google)
            .await
            .unwrap_err(),
        ConnectionTokenError::MissingRefreshToken
    );
}

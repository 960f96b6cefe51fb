//! `private_key_jwt` client authentication against the local tenant: logins, refreshes and MFA
//! API calls authenticate with ES256 assertions; an unregistered key is refused; configuration
//! errors are clear.

use crate::common;

use tollgate::{
    AccessTokenOptions, CallbackError, ClientAssertionKey, ConfigBuilder, Error, LoginOptions,
    Tollgate,
};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};

async fn tenant(key: &ClientAssertionKey) -> RunningTenant {
    Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new(common::CLIENT_ID, "unused-secret-of-a-key-client")
                    .with_callback(format!("{}/auth/callback", common::APP))
                    .with_client_assertion_key(key.public_key_pem()),
            )
            .with_user(UserConfig::new(common::ALICE.0, common::ALICE.1)),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

fn client(tenant: &RunningTenant, key: ClientAssertionKey) -> Tollgate {
    Tollgate::new(
        tollgate_testkit::loopback_issuer(tenant.issuer())
            .client_id(common::CLIENT_ID)
            .client_assertion_key(key)
            .secret(common::SECRET)
            .app_base_url(common::APP)
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn logins_and_refreshes_authenticate_with_the_clients_key() {
    let key = ClientAssertionKey::generate().with_kid("app-key-1");
    let tenant = tenant(&key).await;
    let auth = client(&tenant, key);
    let session = common::signed_in(&auth).await;
    assert!(session.token_set.refresh_token.is_some());
    let refreshed = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap();
    assert_ne!(refreshed.token.token, session.token_set.access_token);
    assert_eq!(tenant.events_of_type("seacft").len(), 1);
    assert_eq!(tenant.events_of_type("sertft").len(), 1);
}

#[tokio::test]
async fn an_unregistered_key_is_refused_as_invalid_client() {
    let registered = ClientAssertionKey::generate();
    let tenant = tenant(&registered).await;
    let auth = client(&tenant, ClientAssertionKey::generate());
    let browser = common::tenant_browser();
    let (query, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let err = auth
        .handle_callback(&common::callback_request(&query, jar.clone()))
        .await
        .result
        .unwrap_err();
    assert!(
        matches!(&err, Error::Callback(CallbackError::ClientRejected { error }) if error == "invalid_client"),
        "{err:?}"
    );
}

#[test]
fn configuration_needs_a_secret_or_a_key_and_only_es256() {
    let vars = |extra: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            [
                ("AUTH0_DOMAIN", "tenant.example.com"),
                ("AUTH0_CLIENT_ID", "app"),
                ("AUTH0_SECRET", "a-secret-of-at-least-thirty-two-characters"),
                ("APP_BASE_URL", "https://app.example.com"),
            ]
            .iter()
            .chain(extra)
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
        }
    };
    let err = ConfigBuilder::from_vars(vars(&[]))
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("AUTH0_CLIENT_ASSERTION_SIGNING_KEY"),
        "{err}"
    );
    let err = ConfigBuilder::from_vars(vars(&[("AUTH0_CLIENT_ASSERTION_SIGNING_ALG", "RS256")]))
        .unwrap_err();
    assert!(err.to_string().contains("ES256"), "{err}");
    let err = ConfigBuilder::from_vars(vars(&[(
        "AUTH0_CLIENT_ASSERTION_SIGNING_KEY",
        "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",
    )]))
    .unwrap_err();
    assert!(
        !err.to_string().contains("nope"),
        "the key is not echoed: {err}"
    );
}

//! The fetcher against the local tenant's `/userinfo` as the API: Bearer and DPoP-bound tokens
//! attached the right way, a nonce demand met with one retry, an expired token refreshed (and the
//! session handed back to save), and requests that cannot be sent refused before any call.

use crate::common;

use tollgate::{AccessTokenOptions, FetchError, SessionData, Tollgate};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};

async fn tenant(nonce_at_userinfo: bool) -> RunningTenant {
    Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new(common::CLIENT_ID, common::CLIENT_SECRET)
                    .with_callback(format!("{}/auth/callback", common::APP)),
            )
            .with_user(UserConfig::new(common::ALICE.0, common::ALICE.1).with_name("Alice Example"))
            .with_dpop_nonce_required_at_userinfo(nonce_at_userinfo),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

async fn signed_in(tenant: &RunningTenant, dpop: bool) -> (Tollgate, SessionData) {
    let auth = common::client(tenant, |b| b.use_dpop(dpop));
    let session = common::signed_in(&auth).await;
    (auth, session)
}

fn userinfo(tenant: &RunningTenant) -> http::Request<Vec<u8>> {
    http::Request::get(format!("{}userinfo", tenant.issuer()))
        .header("accept", "application/json")
        .header("authorization", "Bearer something-the-caller-set")
        .body(Vec::new())
        .unwrap()
}

fn sub_of(response: &http::Response<Vec<u8>>) -> String {
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    body["sub"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn bearer_and_dpop_tokens_reach_the_api_and_a_nonce_demand_is_retried_once() {
    for (dpop, nonce) in [(false, false), (true, false), (true, true)] {
        let tenant = tenant(nonce).await;
        let (auth, session) = signed_in(&tenant, dpop).await;
        let expected = if dpop { "DPoP" } else { "Bearer" };
        assert_eq!(session.token_set.token_type.as_deref(), Some(expected));
        let outcome = auth
            .fetch_with_auth(&session, userinfo(&tenant), &AccessTokenOptions::new())
            .await
            .unwrap();
        assert_eq!(outcome.response.status(), 200, "dpop={dpop} nonce={nonce}");
        assert_eq!(sub_of(&outcome.response), session.user.sub());
        assert!(outcome.session.is_none(), "a fresh token: nothing to save");
    }
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_session_handed_back() {
    let tenant = tenant(false).await;
    let (auth, mut session) = signed_in(&tenant, true).await;
    session.token_set.expires_at = 1;
    let outcome = auth
        .fetch_with_auth(&session, userinfo(&tenant), &AccessTokenOptions::new())
        .await
        .unwrap();
    assert_eq!(outcome.response.status(), 200);
    let saved = outcome.session.expect("the refreshed token must be saved");
    assert_ne!(saved.token_set.access_token, session.token_set.access_token);
    assert_eq!(saved.token_set.token_type.as_deref(), Some("DPoP"));
    assert_eq!(tenant.events_of_type("sertft").len(), 1);
}

#[tokio::test]
async fn requests_that_cannot_be_sent_and_missing_tokens_are_typed() {
    let tenant = tenant(false).await;
    let (auth, session) = signed_in(&tenant, false).await;
    let relative = http::Request::get("/userinfo").body(Vec::new()).unwrap();
    let err = auth
        .fetch_with_auth(&session, relative, &AccessTokenOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidRequest(_)), "{err:?}");

    let mut without = session.clone();
    without.token_set.expires_at = 1;
    without.token_set.refresh_token = None;
    let err = auth
        .fetch_with_auth(&without, userinfo(&tenant), &AccessTokenOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::AccessToken(_)), "{err:?}");

    // An API's refusal is an answer, not an error.
    let mut wrong = session.clone();
    wrong.token_set.access_token = "not-a-token".into();
    let outcome = auth
        .fetch_with_auth(&wrong, userinfo(&tenant), &AccessTokenOptions::new())
        .await
        .unwrap();
    assert_eq!(outcome.response.status(), 401);
}

//! `tollgate::testing`: an application's own tests sign a user in without a provider or a browser,
//! in cookie and server-side session modes, with or without MFA.

use crate::common;

use std::sync::Arc;

use serde_json::json;
use tollgate::store::MemoryStore;
use tollgate::testing;

async fn get(app: &common::TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.get(app.url(path)).header("accept", "text/html");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_generated_session_signs_the_user_in_and_mfa_is_honoured() {
    for app in [
        common::start().await,
        common::start_store(Arc::new(MemoryStore::new()), |t| t).await,
    ] {
        let session = testing::session(json!({"sub": "user_123", "name": "Test User"}))
            .access_token("at_123", 3600);
        let cookie = testing::cookie_header(&app.auth, &session).await.unwrap();

        let home = get(&app, "/", Some(&cookie)).await;
        assert_eq!(home.text().await.unwrap(), "home: signed in as user_123");
        let profile = get(&app, "/profile", Some(&cookie)).await;
        assert_eq!(profile.text().await.unwrap(), "profile of Test User");

        // Without MFA the step-up guard sends the user to log in again; with it, Billing opens.
        let billing = get(&app, "/billing", Some(&cookie)).await;
        assert_eq!(billing.status(), 302);
        assert!(
            billing.headers()["location"]
                .to_str()
                .unwrap()
                .contains("/auth/login")
        );
        let mfa = testing::cookie_header(&app.auth, session.clone().with_mfa())
            .await
            .unwrap();
        let billing = get(&app, "/billing", Some(&mfa)).await;
        assert_eq!(billing.status(), 200);
        assert_eq!(billing.text().await.unwrap(), "billing for Test User");

        // The access token is served as it is, like one from a real login.
        let token = get(&app, "/auth/access-token", Some(&cookie)).await;
        assert_eq!(token.status(), 200);
        let body: serde_json::Value = token.json().await.unwrap();
        assert_eq!(body["token"], "at_123");

        // No cookie, no session.
        let anonymous = get(&app, "/", None).await;
        assert_eq!(anonymous.text().await.unwrap(), "home: anonymous");
    }
}

#[tokio::test]
async fn generate_session_cookie_matches_the_apps_secret_only() {
    let app = common::start().await;
    let session = testing::session(json!({"sub": "user_456"})).refresh_token("rt_1");
    let value = testing::generate_session_cookie(&session, common::SECRET).unwrap();
    let cookie = format!("__session={value}");
    let home = get(&app, "/", Some(&cookie)).await;
    assert_eq!(home.text().await.unwrap(), "home: signed in as user_456");

    let other =
        testing::generate_session_cookie(&session, "another-secret-another-secret-0123").unwrap();
    let home = get(&app, "/", Some(&format!("__session={other}"))).await;
    assert_eq!(home.text().await.unwrap(), "home: anonymous");

    let err = testing::generate_session_cookie(&session, "short").unwrap_err();
    assert!(
        matches!(err, tollgate::ConfigError::SecretTooShort { .. }),
        "{err:?}"
    );
}

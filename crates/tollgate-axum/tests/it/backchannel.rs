//! Back-channel logout end to end: the tenant ends the user's provider sessions and POSTs logout
//! tokens to the app, which ends the matching sessions — cookie sessions through the revocation
//! list, Redis sessions across every app instance sharing the store.

use crate::common;

use std::sync::Arc;

use crate::common::{HttpBrowser, start, start_store};
use tollgate::store::{RedisStore, SessionStore};
use tollgate_testkit::RedisServer;

#[tokio::test]
async fn an_admin_logout_at_the_provider_ends_cookie_sessions() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 200);
    assert_eq!(app.tenant.end_user_sessions(common::ALICE.0), 1);
    app.tenant.wait_for_backchannel_logouts().await;
    assert_eq!(
        app.tenant.events_of_type("sslo").len(),
        1,
        "the app answered 200"
    );
    assert!(app.tenant.events_of_type("fslo").is_empty());
    assert!(
        b.cookies.contains_key("__session"),
        "the browser still has its cookie…"
    );
    assert_eq!(
        b.get(&app.url("/auth/profile")).await.status,
        401,
        "…but it opens no session"
    );
    // A new login works again.
    b.login(&app, "").await;
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 200);
}

#[tokio::test]
async fn redis_sessions_end_on_every_instance() {
    let redis = RedisServer::start();
    let store: Arc<dyn SessionStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let app = start_store(store, |t| t).await;
    let other = app.second_instance().await;
    let (mut laptop, mut phone) = (HttpBrowser::default(), HttpBrowser::default());
    laptop.login(&app, "").await;
    phone.login(&app, "").await;
    for b in [&mut laptop, &mut phone] {
        assert_eq!(
            b.get(other.join("/auth/profile").unwrap().as_str())
                .await
                .status,
            200,
            "shared store"
        );
    }
    assert_eq!(app.tenant.end_user_sessions(common::ALICE.0), 2);
    app.tenant.wait_for_backchannel_logouts().await;
    assert_eq!(app.tenant.events_of_type("sslo").len(), 2);
    for b in [&mut laptop, &mut phone] {
        assert_eq!(b.get(&app.url("/auth/profile")).await.status, 401);
        assert_eq!(
            b.get(other.join("/auth/profile").unwrap().as_str())
                .await
                .status,
            401
        );
    }
}

#[tokio::test]
async fn rp_initiated_logout_is_followed_by_a_verified_back_channel_call() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let out = b.get(&app.url("/auth/logout")).await;
    b.get(out.location().as_str()).await;
    app.tenant.wait_for_backchannel_logouts().await;
    assert_eq!(
        app.tenant.events_of_type("sslo").len(),
        1,
        "the app verified and accepted the token"
    );
}

//! The same app with sessions in a server-side store (memory and Redis): the cookie holds only a
//! sealed id, every login gets a new id, logout deletes the record, nothing is resurrected, tokens
//! refreshed in one request are in the store for the next — and with Redis, two app instances
//! refresh once between them and a Redis outage is a 503, not a logout.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use crate::common::{HttpBrowser, TestApp, start_store};
use tollgate::CookieJar;
use tollgate::store::{MemoryStore, RedisStore, SessionStore};
use tollgate_testkit::RedisServer;
use tollgate_testkit::now;

async fn store_id(app: &TestApp, b: &HttpBrowser) -> String {
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    app.auth
        .load_session(&jar)
        .await
        .unwrap()
        .unwrap()
        .store_id()
        .unwrap()
        .to_owned()
}

async fn the_store_keeps_the_session(store: Arc<dyn SessionStore>) {
    let app = start_store(store.clone(), |t| t).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let cookie = b.cookies["__session"].clone();
    assert!(
        cookie.len() < 250,
        "the cookie holds a sealed id, not the tokens ({} bytes)",
        cookie.len()
    );
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 200);
    let first = store_id(&app, &b).await;
    let stored = store
        .get(&first, now())
        .await
        .unwrap()
        .expect("in the store");
    assert!(stored.session.token_set.refresh_token.is_some());

    // A new login in the same browser gets a new id, and the old record is gone (fixation).
    b.login(&app, "").await;
    let second = store_id(&app, &b).await;
    assert_ne!(first, second);
    assert!(store.get(&first, now()).await.unwrap().is_none());

    // A refresh is saved in the store.
    b.accept = "application/json";
    let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let after = store.get(&second, now()).await.unwrap().unwrap();
    assert_ne!(
        after.session.token_set.refresh_token,
        stored.session.token_set.refresh_token
    );
    assert!(after.version >= 2);

    // Logout deletes the record; the old cookie is worth nothing.
    let old_cookie = b.cookies["__session"].clone();
    b.accept = "text/html";
    b.get(&app.url("/auth/logout")).await;
    assert!(store.get(&second, now()).await.unwrap().is_none());
    let mut replay = HttpBrowser::default();
    replay.cookies.insert("__session".into(), old_cookie);
    assert_eq!(replay.get(&app.url("/auth/profile")).await.status, 401);
}

async fn a_deleted_session_is_never_resurrected(store: Arc<dyn SessionStore>) {
    let app = start_store(store.clone(), |t| t).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let id = store_id(&app, &b).await;
    store.delete(&id).await.unwrap(); // a concurrent logout, elsewhere
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 401);
    let page = b.get(&app.url("/")).await;
    assert_eq!(page.body, "home: anonymous");
    assert!(
        store.get(&id, now()).await.unwrap().is_none(),
        "no request brought it back"
    );
}

#[tokio::test]
async fn memory_store_keeps_the_session() {
    the_store_keeps_the_session(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn memory_store_never_resurrects() {
    a_deleted_session_is_never_resurrected(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn redis_store_keeps_the_session() {
    let redis = RedisServer::start();
    the_store_keeps_the_session(Arc::new(RedisStore::connect(&redis.url()).await.unwrap())).await;
}

#[tokio::test]
async fn redis_store_never_resurrects() {
    let redis = RedisServer::start();
    a_deleted_session_is_never_resurrected(Arc::new(
        RedisStore::connect(&redis.url()).await.unwrap(),
    ))
    .await;
}

#[tokio::test]
async fn two_app_instances_on_one_redis_refresh_once() {
    let redis = RedisServer::start();
    let store: Arc<dyn SessionStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    // Both instances read one clock, which the test moves instead of sleeping.
    let clock = tollgate::ManualClock::starting_now();
    let app = tollgate_testkit::app::start_store_with(
        store.clone(),
        |t| t.with_access_token_lifetime(Duration::from_secs(6)),
        |c| c.clock(Arc::new(clock.clone())),
    )
    .await;
    let other = app.second_instance().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let id = store_id(&app, &b).await;
    let before = store.get(&id, now()).await.unwrap().unwrap().session;
    // The login token expires; the refreshed one then lives 6 s, and the clock stands still
    // while the burst runs.
    clock.advance(Duration::from_secs(7));

    let client = reqwest::Client::new();
    let cookie = format!("__session={}", b.cookies["__session"]);
    let mut handles = Vec::new();
    for i in 0..40 {
        let url = if i % 2 == 0 {
            app.url("/auth/access-token")
        } else {
            other.join("/auth/access-token").unwrap().to_string()
        };
        let (client, cookie) = (client.clone(), cookie.clone());
        handles.push(tokio::spawn(async move {
            let r = client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert_eq!(status, 200, "{body}");
        tokens.insert(body["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        tokens.len(),
        1,
        "one refresh grant between the two instances"
    );
    let after = store.get(&id, now()).await.unwrap().unwrap().session;
    assert_ne!(
        after.token_set.refresh_token, before.token_set.refresh_token,
        "the rotated token was saved"
    );
    assert!(tokens.contains(&after.token_set.access_token));
    // The family is alive: the saved refresh token still refreshes.
    let r = reqwest::Client::new()
        .post(format!("{}oauth/token", app.tenant.issuer()))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                after.token_set.refresh_token.as_deref().unwrap(),
            ),
            ("client_id", common::CLIENT_ID),
            ("client_secret", common::CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_redis_outage_is_a_503_and_service_resumes() {
    let redis = RedisServer::start();
    let store: Arc<dyn SessionStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let app = start_store(store, |t| t).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    b.accept = "application/json";
    assert_eq!(b.get(&app.url("/profile")).await.status, 200);
    redis.pause();
    let r = b.get(&app.url("/profile")).await;
    assert_eq!(r.status, 503, "{r:?}");
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"], "session_store_unavailable");
    assert!(
        b.cookies.contains_key("__session"),
        "the cookie is kept: the user is not logged out"
    );
    assert_eq!(
        b.get(&app.url("/")).await.status,
        200,
        "pages that need no session still work"
    );
    // A step-up route cannot tell whether the session shows MFA: 503, not a step-up login (a
    // page) or a 401 (an API) that would look like a logout.
    let api = b.get(&app.url("/api/billing")).await;
    assert_eq!(api.status, 503, "{api:?}");
    let page = b
        .get_with(&app.url("/billing"), &[("accept", "text/html")])
        .await;
    assert_eq!(
        page.status, 503,
        "no redirect to the step-up login: {page:?}"
    );
    let token = b.get(&app.url("/auth/access-token")).await;
    assert_eq!(token.status, 503, "{token:?}");
    let body: serde_json::Value = serde_json::from_str(&token.body).unwrap();
    assert_eq!(body["error"]["code"], "session_store_unavailable", "{body}");
    redis.resume();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = b.get(&app.url("/profile")).await;
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not recover: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

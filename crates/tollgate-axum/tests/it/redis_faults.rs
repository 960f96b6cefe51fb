//! Redis stops in the middle of a request: an `/auth/access-token` refresh has redeemed the
//! refresh token at the provider and is about to save the rotated tokens when Redis freezes
//! (SIGSTOP). The answer is a typed 503 within a bounded time, the session in Redis is intact once
//! Redis is back (SIGCONT), and the next requests succeed without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{ALICE, CLIENT_ID, CLIENT_SECRET, HttpBrowser, SECRET, TestApp};
use tollgate::store::{RedisStore, SessionStore};
use tollgate::{CookieJar, Hooks, Tollgate};
use tollgate_axum::SessionLayer;
use tollgate_tenant::{ClientConfig, Tenant, TenantConfig, UserConfig};
use tollgate_testkit::RedisServer;
use tollgate_testkit::now;
use url::Url;

/// The app with Redis sessions and a hook that, once armed, freezes Redis right after the
/// provider answered a refresh and before the session is saved.
async fn app(redis: Arc<RedisServer>, armed: Arc<AtomicBool>) -> TestApp {
    let store: Arc<dyn SessionStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let tenant = Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new(CLIENT_ID, CLIENT_SECRET)
                    .with_callback(base.join("/auth/callback").unwrap().as_str())
                    .with_logout_url(base.as_str()),
            )
            .with_user(UserConfig::new(ALICE.0, ALICE.1).with_name("Alice Example")),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let config = tollgate_testkit::local_config(
        tenant.issuer(),
        (CLIENT_ID, CLIENT_SECRET),
        SECRET,
        base.as_str(),
    )
    .build()
    .unwrap();
    let hooks = Hooks::new().before_session_saved(move |session, _claims| {
        let freeze = armed.swap(false, Ordering::SeqCst);
        let redis = redis.clone();
        async move {
            if freeze {
                redis.pause();
            }
            session
        }
    });
    let auth = Tollgate::builder(config.clone())
        .store(store.clone())
        .hooks(hooks)
        .build();
    let router = tollgate_axum::routes(auth.clone()).layer(SessionLayer::new(auth.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    TestApp {
        tenant,
        auth,
        base,
        config,
        store: Some(store),
    }
}

async fn store_id(app: &TestApp, b: &HttpBrowser) -> String {
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let loaded = app.auth.load_session(&jar).await.unwrap().unwrap();
    loaded.store_id().unwrap().to_owned()
}

#[tokio::test]
async fn redis_stopped_mid_refresh_is_a_typed_503_and_the_session_survives() {
    let redis = Arc::new(RedisServer::start());
    let armed = Arc::new(AtomicBool::new(false));
    let app = app(redis.clone(), armed.clone()).await;
    let store = app.store.clone().unwrap();
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    b.accept = "application/json";
    let id = store_id(&app, &b).await;
    let before = store.get(&id, now()).await.unwrap().unwrap();

    armed.store(true, Ordering::SeqCst);
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        b.get(&app.url("/auth/access-token?refresh=true")),
    )
    .await
    .expect("the request returned within the bound");
    assert!(!armed.load(Ordering::SeqCst), "Redis froze mid-refresh");
    assert_eq!(r.status, 503, "{r:?}");
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["code"], "session_store_unavailable", "{body}");
    assert!(
        b.cookies.contains_key("__session"),
        "the cookie is kept: the user is not logged out"
    );

    redis.resume();
    let after = store
        .get(&id, now())
        .await
        .unwrap()
        .expect("still in Redis");
    assert_eq!(after.session, before.session, "intact");
    assert_eq!(after.version, before.version);

    // The next requests succeed, a refresh included (the provider's rotated answer is reused
    // within the single-flight grace window, so the spent refresh token is not presented again).
    assert_eq!(b.get(&app.url("/auth/access-token")).await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let saved = store.get(&id, now()).await.unwrap().unwrap();
    assert_ne!(
        saved.session.token_set.refresh_token, before.session.token_set.refresh_token,
        "the rotated refresh token is saved"
    );
}

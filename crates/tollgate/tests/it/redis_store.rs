//! The Redis store passes the shared conformance suite against a real redis-server, survives Redis
//! being unreachable (clear error, bounded time, nothing lost, recovery without restart), and its
//! cross-process lock is exclusive.

use std::time::{Duration, Instant};

use tollgate::store::conformance::{session, unique};
use tollgate::store::{LockAttempt, RedisStore, SessionStore, StoreError};
use tollgate_testkit::RedisServer;
use tollgate_testkit::now;

/// A store with its own redis-server, which stops when the test ends.
struct Fixture {
    store: RedisStore,
    _server: RedisServer,
}

impl std::ops::Deref for Fixture {
    type Target = RedisStore;
    fn deref(&self) -> &RedisStore {
        &self.store
    }
}

async fn make() -> Fixture {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    Fixture {
        store,
        _server: server,
    }
}

tollgate::store_conformance!(make());

#[tokio::test]
async fn the_lock_is_exclusive_and_released_by_its_owner_only() {
    let store = make().await;
    let name = unique("lock");
    let LockAttempt::Acquired(token) = store.try_lock(&name, Duration::from_secs(5)).await.unwrap()
    else {
        panic!("first taker gets the lock");
    };
    assert_eq!(
        store.try_lock(&name, Duration::from_secs(5)).await.unwrap(),
        LockAttempt::Busy
    );
    store.unlock(&name, "not-the-token").await.unwrap();
    assert_eq!(
        store.try_lock(&name, Duration::from_secs(5)).await.unwrap(),
        LockAttempt::Busy
    );
    store.unlock(&name, &token).await.unwrap();
    assert!(matches!(
        store.try_lock(&name, Duration::from_secs(5)).await.unwrap(),
        LockAttempt::Acquired(_)
    ));
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error_and_service_resumes() {
    // Its own server: pausing the shared one would stall the other tests.
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    let id = unique("outage");
    let s = session("sid", "auth0|u", "kept");
    store.set(&id, &s, now() + 3600).await.unwrap();

    redis.pause();
    let started = Instant::now();
    let err = store.get(&id, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "fails within a bounded time: {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("unavailable"));
    assert!(store.set(&unique("during"), &s, now() + 60).await.is_err());

    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        match store.get(&id, now()).await {
            Ok(v) => break v,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("did not recover: {e}"),
        }
    };
    assert_eq!(got.expect("nothing stored was lost").session, s);
}

/// Stateless sessions with the Redis revocation list: a cookie logged out on instance A is
/// refused by instance B, and by an instance started after A "restarts"; with the in-process
/// default a fresh instance would still accept it (SECURITY.md, "Stateless logout").
#[tokio::test]
async fn a_stateless_logout_on_one_instance_holds_on_every_instance_and_after_restart() {
    use std::sync::Arc;
    use tollgate::{AuthRequest, CookieJar, Tollgate};

    let redis = RedisServer::start();
    let tenant = crate::common::tenant().await;
    let config = || {
        tollgate_testkit::local_config(
            tenant.issuer(),
            (crate::common::CLIENT_ID, crate::common::CLIENT_SECRET),
            crate::common::SECRET,
            crate::common::APP,
        )
        .build()
        .unwrap()
    };
    let instance = |list: RedisStore| {
        let config = config();
        async move {
            Tollgate::builder(config)
                .revocations(Arc::new(list))
                .build()
        }
    };
    let a = instance(RedisStore::connect(&redis.url()).await.unwrap()).await;
    let b = instance(RedisStore::connect(&redis.url()).await.unwrap()).await;

    let session = tollgate::testing::session(serde_json::json!({"sub": "auth0|stateless"}));
    let cookie = tollgate::testing::cookie_header(&a, &session)
        .await
        .unwrap();
    let jar = CookieJar::parse(&cookie);
    assert!(
        b.session(&jar).await.unwrap().is_some(),
        "B reads A's cookie"
    );
    let other = tollgate::testing::cookie_header(
        &a,
        &tollgate::testing::session(serde_json::json!({"sub": "auth0|bystander"})),
    )
    .await
    .unwrap();

    let resp = a
        .handle_logout(&AuthRequest::new().with_cookies(jar.clone()))
        .await;
    assert_eq!(resp.status(), 302, "{}", resp.body());
    assert!(a.session(&jar).await.unwrap().is_none(), "A refuses it");
    assert!(b.session(&jar).await.unwrap().is_none(), "B refuses it");
    drop((a, b));

    let restarted = instance(RedisStore::connect(&redis.url()).await.unwrap()).await;
    assert!(
        restarted.session(&jar).await.unwrap().is_none(),
        "an instance started later refuses it"
    );
    assert!(
        restarted
            .session(&CookieJar::parse(&other))
            .await
            .unwrap()
            .is_some(),
        "other sessions are untouched"
    );
    // The contrast the warning is about: an in-process list knows nothing of that logout.
    let alone = Tollgate::new(config());
    assert!(alone.session(&jar).await.unwrap().is_some());
}

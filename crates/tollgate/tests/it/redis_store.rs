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

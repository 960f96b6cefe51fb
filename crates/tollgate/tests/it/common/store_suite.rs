//! One conformance suite for every session store (the tower-sessions pattern): the same behaviours,
//! instantiated per store with `store_suite!(make_store)`.

use tollgate::store::{LogoutTarget, SessionStore, UpdateOutcome};
use tollgate::{SessionData, User};

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) fn session(sid: &str, sub: &str, marker: &str) -> SessionData {
    let mut s = SessionData::default();
    s.internal.sid = sid.into();
    s.internal.created_at = now();
    s.user = User(serde_json::from_value(serde_json::json!({"sub": sub, "name": marker})).unwrap());
    s.token_set.access_token = format!("at-{marker}");
    s
}

pub(crate) fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), now_nanos())
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Stores `s` under a new key, as the SDK does at login.
pub(crate) async fn put(store: &dyn SessionStore, s: &SessionData, exp: u64) -> String {
    let key = store.new_key(s, exp);
    store.set(&key, s, exp).await.unwrap();
    key
}

pub(crate) async fn set_get_roundtrip(store: &dyn SessionStore) {
    let s = session("sid-a", "auth0|a", "one");
    let id = put(store, &s, now() + 3600).await;
    let got = store.get(&id, now()).await.unwrap().expect("stored");
    assert_eq!(got.session, s);
    assert_eq!(got.version, 1);
    assert_eq!(got.expires_at, now() + 3600);
    assert!(store.get(&unique("absent"), now()).await.unwrap().is_none());
}

pub(crate) async fn expired_sessions_are_gone(store: &dyn SessionStore) {
    let id = put(store, &session("s", "u", "x"), now() + 100).await;
    assert!(
        store.get(&id, now() + 200).await.unwrap().is_none(),
        "read after its expiry"
    );
}

pub(crate) async fn versioned_update_never_overwrites_a_newer_write(store: &dyn SessionStore) {
    let id = put(store, &session("s", "u", "v1"), now() + 3600).await;
    let updated = store
        .update(&id, 1, &session("s", "u", "v2"), now() + 3600)
        .await
        .unwrap();
    assert_eq!(updated, UpdateOutcome::Updated(2));
    if !store.supports_compare_and_set() {
        // A cookie cannot know of a newer cookie: the store says so, and it is the only one.
        assert!(
            store.key_is_cookie(),
            "only the stateless cookie store may lack compare-and-set"
        );
        return;
    }
    // A writer that read version 1 lost the race: nothing is written.
    assert_eq!(
        store
            .update(&id, 1, &session("s", "u", "stale"), now() + 3600)
            .await
            .unwrap(),
        UpdateOutcome::Conflict
    );
    let got = store.get(&id, now()).await.unwrap().unwrap();
    assert_eq!(got.session.user.name(), Some("v2"));
    assert_eq!(got.version, 2);
}

pub(crate) async fn update_never_resurrects_a_deleted_session(store: &dyn SessionStore) {
    let id = put(store, &session(&unique("sid"), "u", "live"), now() + 3600).await;
    store.delete(&id).await.unwrap();
    assert_eq!(
        store
            .update(&id, 1, &session("s", "u", "rolled"), now() + 3600)
            .await
            .unwrap(),
        UpdateOutcome::Missing
    );
    assert!(store.get(&id, now()).await.unwrap().is_none());
    store.delete(&id).await.unwrap();
}

pub(crate) async fn logout_by_sid_or_sub(store: &dyn SessionStore) {
    let (sid1, sid2, sub) = (unique("sid1"), unique("sid2"), unique("auth0|user"));
    let other_sub = unique("auth0|other");
    let a = put(store, &session(&sid1, &sub, "a"), now() + 3600).await;
    let b = put(store, &session(&sid2, &sub, "b"), now() + 3600).await;
    let c = put(
        store,
        &session(&unique("sid3"), &other_sub, "c"),
        now() + 3600,
    )
    .await;
    // Server-side stores count what they deleted; a cookie store cannot (it answers 0).
    let counts = store.supports_compare_and_set();
    let by_sid = LogoutTarget::new(Some(sid1.clone()), None);
    let n = store.delete_by_logout(&by_sid).await.unwrap();
    assert_eq!(n, if counts { 1 } else { 0 });
    assert!(store.get(&a, now()).await.unwrap().is_none());
    assert!(store.get(&b, now()).await.unwrap().is_some());
    let by_sub = LogoutTarget::new(None, Some(sub.clone()));
    let n = store.delete_by_logout(&by_sub).await.unwrap();
    assert_eq!(n, if counts { 1 } else { 0 });
    assert!(store.get(&b, now()).await.unwrap().is_none());
    assert!(
        store.get(&c, now()).await.unwrap().is_some(),
        "other users are untouched"
    );
    if counts {
        let mismatched = LogoutTarget::new(Some(sid2), Some(other_sub));
        assert_eq!(
            store.delete_by_logout(&mismatched).await.unwrap(),
            0,
            "sid and sub must both match"
        );
    }
}

/// Instantiates every conformance test for the store that `$make` (a future) builds.
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        #[tokio::test]
        async fn set_get_roundtrip() {
            let s = $make.await;
            $crate::common::store_suite::set_get_roundtrip(&*s).await;
        }
        #[tokio::test]
        async fn expired_sessions_are_gone() {
            let s = $make.await;
            $crate::common::store_suite::expired_sessions_are_gone(&*s).await;
        }
        #[tokio::test]
        async fn versioned_update_never_overwrites_a_newer_write() {
            let s = $make.await;
            $crate::common::store_suite::versioned_update_never_overwrites_a_newer_write(&*s).await;
        }
        #[tokio::test]
        async fn update_never_resurrects_a_deleted_session() {
            let s = $make.await;
            $crate::common::store_suite::update_never_resurrects_a_deleted_session(&*s).await;
        }
        #[tokio::test]
        async fn logout_by_sid_or_sub() {
            let s = $make.await;
            $crate::common::store_suite::logout_by_sid_or_sub(&*s).await;
        }
    };
}

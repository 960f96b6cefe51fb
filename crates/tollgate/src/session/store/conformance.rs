//! The conformance suite for [`SessionStore`] implementations (the `testing` feature): the
//! behaviours every store must have, which the in-tree stores pass and a third-party store can
//! check itself against with [`store_conformance!`](crate::store_conformance!).
//!
//! In the store's own crate, with `tollgate = { version = "…", features = ["testing"] }` and
//! `tokio` (with `macros` and `rt`) among its dev-dependencies:
//!
//! ```
//! // tests/conformance.rs of the store's crate; here with the in-memory store.
//! mod conformance {
//!     tollgate::store_conformance!(async {
//!         std::sync::Arc::new(tollgate::store::MemoryStore::new())
//!     });
//! }
//! ```
//!
//! Each test is an `async fn` here too, to call from a test harness of another shape. They panic
//! on the first behaviour that differs, with a message that names it.

use crate::session::store::{LogoutTarget, SessionStore, UpdateOutcome};
use crate::session::{SessionData, User};

fn now() -> u64 {
    crate::time::system_now()
}

/// A session with id `sid` for user `sub`, whose name and access token carry `marker` (so a test
/// can tell which write it reads back).
pub fn session(sid: &str, sub: &str, marker: &str) -> SessionData {
    let mut s = SessionData::default();
    s.internal.sid = sid.into();
    s.internal.created_at = now();
    s.user = User(serde_json::from_value(serde_json::json!({"sub": sub, "name": marker})).unwrap());
    s.token_set.access_token = format!("at-{marker}");
    s
}

/// `tag` made unique to this process and moment: keys that tests sharing one store cannot clash on.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), now_nanos())
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Stores `s` under a new key, as the SDK does at login.
pub async fn put(store: &dyn SessionStore, s: &SessionData, exp: u64) -> String {
    let key = store.new_key(s, exp);
    store.set(&key, s, exp).await.unwrap();
    key
}

/// A stored session reads back whole, at version 1, with its expiry; an unknown key reads as none.
pub async fn set_get_roundtrip(store: &dyn SessionStore) {
    let s = session("sid-a", "auth0|a", "one");
    let id = put(store, &s, now() + 3600).await;
    let got = store.get(&id, now()).await.unwrap().expect("stored");
    assert_eq!(got.session, s);
    assert_eq!(got.version, 1);
    assert_eq!(got.expires_at, now() + 3600);
    assert!(store.get(&unique("absent"), now()).await.unwrap().is_none());
}

/// A session is not read after its expiry.
pub async fn expired_sessions_are_gone(store: &dyn SessionStore) {
    let id = put(store, &session("s", "u", "x"), now() + 100).await;
    assert!(
        store.get(&id, now() + 200).await.unwrap().is_none(),
        "read after its expiry"
    );
}

/// An update with a stale version writes nothing (compare-and-set); only the stateless cookie
/// store may lack it.
pub async fn versioned_update_never_overwrites_a_newer_write(store: &dyn SessionStore) {
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

/// An update of a deleted session is `Missing` and writes nothing.
pub async fn update_never_resurrects_a_deleted_session(store: &dyn SessionStore) {
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

/// The SDK's write-back, [`SessionStore::update_verified`] with the proof its `get` attached, is
/// versioned as [`update`](SessionStore::update) is, and never brings back a deleted session.
pub async fn verified_write_back_keeps_update_semantics(store: &dyn SessionStore) {
    let id = put(store, &session(&unique("sid"), "u", "v1"), now() + 3600).await;
    let read = store.get(&id, now()).await.unwrap().expect("stored");
    // The written session keeps the identity (sid, creation time) of the one read.
    let with_name = |name: &str| {
        let mut s = read.session.clone();
        s.user.0.insert("name".into(), name.into());
        s
    };
    let v2 = with_name("v2");
    assert_eq!(
        store
            .update_verified(&id, read.version, read.proof(), &v2, now() + 3600)
            .await
            .unwrap(),
        UpdateOutcome::Updated(read.version + 1)
    );
    if store.supports_compare_and_set() {
        // A second writer that read the same version lost the race, proof or not.
        assert_eq!(
            store
                .update_verified(
                    &id,
                    read.version,
                    read.proof(),
                    &with_name("stale"),
                    now() + 3600
                )
                .await
                .unwrap(),
            UpdateOutcome::Conflict
        );
        let got = store.get(&id, now()).await.unwrap().unwrap();
        assert_eq!(got.session.user.name(), Some("v2"));
    }
    store.delete(&id).await.unwrap();
    let outcome = store
        .update_verified(
            &id,
            read.version + 1,
            read.proof(),
            &with_name("rolled"),
            now() + 3600,
        )
        .await
        .unwrap();
    if store.supports_compare_and_set() {
        assert_eq!(
            outcome,
            UpdateOutcome::Missing,
            "a deleted session was written"
        );
    }
    assert!(
        store.get(&id, now()).await.unwrap().is_none(),
        "a write-back brought a deleted session back"
    );
    if store.key_is_cookie() {
        // The value a cookie store's write-back would seal is ended too.
        let resealed = store.new_key(&with_name("rolled"), now() + 3600);
        assert!(
            store.get(&resealed, now()).await.unwrap().is_none(),
            "a re-sealed cookie of a deleted session reads as live"
        );
    }
}

/// Back-channel logout deletes by `sid` or by `sub`, and by both only when both match; other
/// users are untouched.
pub async fn logout_by_sid_or_sub(store: &dyn SessionStore) {
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

/// Instantiates every [conformance test](crate::store::conformance) for the store that `$make`
/// (a future giving an `Arc` of the store) builds, as `#[tokio::test]`s in the calling module
/// (which needs `tokio` with its `macros` feature). Needs the `testing` feature.
///
/// ```
/// mod memory_store {
///     tollgate::store_conformance!(async {
///         std::sync::Arc::new(tollgate::store::MemoryStore::new())
///     });
/// }
/// ```
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        #[tokio::test]
        async fn set_get_roundtrip() {
            let s = $make.await;
            $crate::store::conformance::set_get_roundtrip(&*s).await;
        }
        #[tokio::test]
        async fn expired_sessions_are_gone() {
            let s = $make.await;
            $crate::store::conformance::expired_sessions_are_gone(&*s).await;
        }
        #[tokio::test]
        async fn versioned_update_never_overwrites_a_newer_write() {
            let s = $make.await;
            $crate::store::conformance::versioned_update_never_overwrites_a_newer_write(&*s).await;
        }
        #[tokio::test]
        async fn update_never_resurrects_a_deleted_session() {
            let s = $make.await;
            $crate::store::conformance::update_never_resurrects_a_deleted_session(&*s).await;
        }
        #[tokio::test]
        async fn verified_write_back_keeps_update_semantics() {
            let s = $make.await;
            $crate::store::conformance::verified_write_back_keeps_update_semantics(&*s).await;
        }
        #[tokio::test]
        async fn logout_by_sid_or_sub() {
            let s = $make.await;
            $crate::store::conformance::logout_by_sid_or_sub(&*s).await;
        }
    };
}

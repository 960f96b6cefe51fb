//! The Redis store on a real Redis Cluster (three masters, three replicas, on loopback): the shared
//! conformance suite passes, a session's keys share one hash slot, the logout indexes and
//! revocation markers (in slots of their own) work, a session survives a failover of the master
//! holding it and is refreshed once under the lock afterwards, and `TOLLGATE_SESSION_STORE`
//! builds a cluster store.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tollgate::CookieJar;
use tollgate::RevocationList;
use tollgate::store::conformance::{put, session, unique};
use tollgate::store::{LockAttempt, LogoutTarget, RedisStore, SessionStore, StoreChoice};
use tollgate_testkit::{HttpBrowser, RedisCluster, now};

/// A cluster store; the cluster is shared by the tests that run at the same time and stopped
/// when the last of them ends.
struct Fixture {
    store: RedisStore,
    cluster: Arc<RedisCluster>,
}

impl std::ops::Deref for Fixture {
    type Target = RedisStore;
    fn deref(&self) -> &RedisStore {
        &self.store
    }
}

fn shared_cluster() -> Arc<RedisCluster> {
    static SHARED: Mutex<Weak<RedisCluster>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = slot.upgrade() {
        return c;
    }
    let c = Arc::new(RedisCluster::start());
    *slot = Arc::downgrade(&c);
    c
}

async fn connect(cluster: &RedisCluster) -> RedisStore {
    let seeds = cluster.seeds();
    RedisStore::connect_cluster(seeds.iter().map(String::as_str))
        .await
        .unwrap()
}

async fn make() -> Fixture {
    let cluster = shared_cluster();
    let store = connect(&cluster).await;
    assert!(store.is_cluster());
    Fixture { store, cluster }
}

mod conformance {
    tollgate::store_conformance!(super::make());
}

#[tokio::test]
async fn a_sessions_hash_and_its_refresh_lock_share_one_slot() {
    let store = make().await;
    let s = session("sid-slot", "auth0|slot", "slot");
    let id = put(&*store, &s, now() + 3600).await;
    let [hash, lock] = store.session_keys(&id);
    assert_ne!(hash, lock);
    assert_eq!(
        store.cluster.keyslot(&hash),
        store.cluster.keyslot(&lock),
        "{hash} and {lock}"
    );
    assert!(store.cluster.exists(&hash), "the session is under {hash}");
    // The refresh lock is taken under that key, on the session's master.
    let lock_name = lock
        .strip_prefix("tollgate:{")
        .and_then(|l| l.strip_suffix("}:lock"))
        .expect("a tagged lock key");
    let LockAttempt::Acquired(token) = store
        .try_lock(lock_name, Duration::from_secs(5))
        .await
        .unwrap()
    else {
        panic!("the lock is free");
    };
    assert!(store.cluster.exists(&lock));
    assert_eq!(
        store.cluster.master_of(&lock),
        store.cluster.master_of(&hash)
    );
    store.unlock(lock_name, &token).await.unwrap();
    assert!(!store.cluster.exists(&lock));
    // Sessions spread: many ids do not all land in one slot.
    let slots: std::collections::BTreeSet<u16> = (0..8)
        .map(|i| {
            store
                .cluster
                .keyslot(&store.session_keys(&format!("{id}-{i}"))[0])
        })
        .collect();
    assert!(slots.len() > 1, "{slots:?}");
}

#[tokio::test]
async fn logout_by_sid_and_sub_and_revocations_work_across_slots() {
    let store = make().await;
    let (sid, sub) = (unique("sid"), unique("auth0|user"));
    let mine = put(&*store, &session(&sid, &sub, "mine"), now() + 3600).await;
    let same_user = put(&*store, &session("other-sid", &sub, "same"), now() + 3600).await;
    // The index sets and the session hash are in different slots here.
    let [hash, _] = store.session_keys(&mine);
    assert_ne!(
        store.cluster.keyslot(&format!("tollgate:sid:{sid}")),
        store.cluster.keyslot(&format!("tollgate:sub:{sub}")),
    );
    assert_ne!(
        store.cluster.keyslot(&hash),
        store.cluster.keyslot(&format!("tollgate:sub:{sub}"))
    );
    let target = LogoutTarget::new(Some(sid.clone()), Some(sub.clone()));
    assert_eq!(store.delete_by_logout(&target).await.unwrap(), 1);
    assert!(store.get(&mine, now()).await.unwrap().is_none());
    assert!(store.get(&same_user, now()).await.unwrap().is_some());
    let by_sub = LogoutTarget::new(None, Some(sub.clone()));
    assert_eq!(store.delete_by_logout(&by_sub).await.unwrap(), 1);
    assert!(store.get(&same_user, now()).await.unwrap().is_none());

    let created = now();
    assert!(!store.is_revoked(&sid, &sub, created).await.unwrap());
    store.revoke(&by_sub, created + 5, 60).await.unwrap();
    assert!(store.is_revoked("any-sid", &sub, created).await.unwrap());
    assert!(
        !store
            .is_revoked(&sid, "someone-else", created)
            .await
            .unwrap()
    );
    let by_sid = LogoutTarget::new(Some(sid.clone()), None);
    store.revoke(&by_sid, created + 5, 60).await.unwrap();
    assert!(
        store
            .is_revoked(&sid, "someone-else", created)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&sid, "someone-else", created + 10)
            .await
            .unwrap(),
        "a session created after the logout stands"
    );
}

/// Its own cluster (a failover changes it): the master holding a signed-in session is killed,
/// the replica takes over, the session is still read, and two concurrent callers on two app
/// instances get one refresh under the Redis lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_a_failover_of_its_master_and_is_refreshed_once() {
    let mut cluster = RedisCluster::start();
    let store = Arc::new(connect(&cluster).await);
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
    let cookie = format!("__session={}", b.cookies["__session"]);
    let id = app
        .auth
        .load_session(&CookieJar::parse(&cookie))
        .await
        .unwrap()
        .unwrap()
        .store_id()
        .unwrap()
        .to_owned();
    let before = store.get(&id, now()).await.unwrap().unwrap();
    let [hash, lock] = store.session_keys(&id);
    let old_master = cluster.master_of(&hash);

    let new_master = tokio::task::block_in_place(|| cluster.fail_over_master_of(&hash));
    assert_ne!(new_master, old_master);
    assert_eq!(
        cluster.master_of(&lock),
        new_master,
        "the lock's slot moved too"
    );

    let after = store
        .get(&id, now())
        .await
        .unwrap()
        .expect("the session survived the failover");
    assert_eq!(after.session, before.session);
    assert_eq!(after.version, before.version);

    // The access token expires (on the SDK's clock); two callers at once, one per instance.
    clock.advance(Duration::from_secs(7));
    let grants = || app.tenant.events_of_type("sertft").len();
    let grants_before = grants();
    let client = reqwest::Client::new();
    let call = |url: String| {
        let (client, cookie) = (client.clone(), cookie.clone());
        async move {
            let r = client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }
    };
    let (a, b) = tokio::join!(
        call(app.url("/auth/access-token")),
        call(other.join("/auth/access-token").unwrap().to_string())
    );
    assert_eq!(a.0, 200, "{}", a.1);
    assert_eq!(b.0, 200, "{}", b.1);
    assert_eq!(a.1["token"], b.1["token"], "both got the one new token");
    assert_eq!(grants() - grants_before, 1, "one refresh grant");
    let refreshed = store.get(&id, now()).await.unwrap().unwrap();
    assert_ne!(
        refreshed.session.token_set.refresh_token, before.session.token_set.refresh_token,
        "the rotated refresh token was saved on the new master"
    );
    assert_eq!(
        a.1["token"].as_str(),
        Some(refreshed.session.token_set.access_token.as_str())
    );
    assert!(!cluster.exists(&lock), "the lock was released");
}

#[tokio::test]
async fn the_environment_variable_builds_a_cluster_store() {
    let cluster = shared_cluster();
    let seeds: Vec<String> = cluster
        .seeds()
        .iter()
        .take(2)
        .map(|s| {
            s.trim_start_matches("redis://")
                .trim_end_matches('/')
                .to_owned()
        })
        .collect();
    let value = format!("redis+cluster://{}/", seeds.join(","));
    let prefix = format!("{}:", unique("env"));
    let choice = StoreChoice::from_vars(|n| match n {
        "TOLLGATE_SESSION_STORE" => Some(value.clone()),
        "TOLLGATE_SESSION_STORE_PREFIX" => Some(prefix.clone()),
        _ => None,
    })
    .unwrap();
    assert!(
        matches!(&choice, StoreChoice::RedisCluster { nodes, .. } if nodes.len() == 2),
        "{choice:?}"
    );
    let store = choice.open().await.unwrap().expect("a server-side store");
    let s = session("sid-env", "auth0|env", "env");
    let id = put(&*store, &s, now() + 3600).await;
    assert_eq!(store.get(&id, now()).await.unwrap().unwrap().session, s);
    // Written in the cluster layout, under the prefix.
    let probe = connect(&cluster).await.with_prefix(prefix.clone());
    let [hash, _] = probe.session_keys(&id);
    assert!(hash.starts_with(&format!("{prefix}{{")), "{hash}");
    assert!(cluster.exists(&hash), "{hash}");

    // A cluster nobody answers at: a clear error naming the variable.
    let dead = StoreChoice::from_vars(|n| {
        (n == "TOLLGATE_SESSION_STORE").then(|| "redis+cluster://:secret-pw@127.0.0.1:1/".into())
    })
    .unwrap();
    let Err(err) = dead.open().await else {
        panic!("nothing listens on port 1");
    };
    let text = err.to_string();
    assert!(text.contains("TOLLGATE_SESSION_STORE"), "{text}");
    assert!(!text.contains("secret-pw"), "{text}");
}

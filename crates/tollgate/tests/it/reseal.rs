//! The rolling re-seal of a stateless session (issue 16): the read of the request is trusted by
//! its write-back, so the cookie is opened and the revocation list consulted once per request,
//! and a logout still ends the session, whenever it lands.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tollgate::store::{BoxFuture, LogoutTarget, StoreError};
use tollgate::{
    Clock, Config, CookieJar, ManualClock, MemoryRevocations, RevocationList, SessionData,
    Tollgate, User,
};

/// The in-process list, counting how often it is consulted.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryRevocations,
    checks: AtomicUsize,
}

impl RevocationList for Counting {
    fn revoke<'a>(
        &'a self,
        target: &'a LogoutTarget,
        at: u64,
        ttl: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.revoke(target, at, ttl)
    }

    fn is_revoked<'a>(
        &'a self,
        sid: &'a str,
        sub: &'a str,
        created_at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.inner.is_revoked(sid, sub, created_at)
    }
}

struct App {
    auth: Tollgate,
    clock: ManualClock,
    list: Arc<Counting>,
}

fn app() -> App {
    let clock = ManualClock::at(1_900_000_000);
    let config = Config::builder()
        .domain("example.auth0.com")
        .client_id("c")
        .client_secret("s")
        .secret("reseal-integration-secret-0123456789")
        .app_base_url("https://app.example.com")
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let list = Arc::new(Counting::default());
    let auth = Tollgate::builder(config).revocations(list.clone()).build();
    App { auth, clock, list }
}

fn session(created_at: u64) -> SessionData {
    let mut s = SessionData::default();
    s.internal.sid = "sid-rolling".into();
    s.internal.created_at = created_at;
    s.user = User(serde_json::from_value(serde_json::json!({"sub": "auth0|roll"})).unwrap());
    s.token_set.access_token = "at".into();
    s
}

fn jar_of<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> CookieJar {
    let pairs: Vec<String> = lines
        .into_iter()
        .map(|l| l.as_ref().split(';').next().unwrap().to_owned())
        .collect();
    CookieJar::parse(&pairs.join("; "))
}

impl App {
    /// A session cookie written now, with the clock then moved two minutes on: a touch is due.
    fn due_cookie(&self) -> CookieJar {
        let now = self.clock.now();
        let lines = self
            .auth
            .session_codec()
            .write(&CookieJar::default(), &session(now), now);
        self.clock.advance(Duration::from_secs(120));
        jar_of(lines)
    }

    fn checks(&self) -> usize {
        self.list.checks.load(Ordering::SeqCst)
    }

    async fn logout(&self) {
        let target = LogoutTarget::new(Some("sid-rolling".into()), None);
        self.list
            .revoke(&target, self.clock.now(), 86_400)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_rolling_reseal_consults_the_revocation_list_once() {
    let app = app();
    let jar = app.due_cookie();
    let saved = app.auth.session_with_touch(&jar).await.unwrap().unwrap();
    assert!(!saved.cookies.is_empty(), "the touch re-sealed the cookie");
    assert_eq!(
        app.checks(),
        1,
        "the re-seal trusted the read of the same request"
    );
    // The rolled cookie is a live session, checked again by the next request.
    let next = jar_of(saved.cookies.lines());
    assert_eq!(
        app.auth.session(&next).await.unwrap(),
        Some(saved.session.data)
    );
    assert_eq!(app.checks(), 2);
}

#[tokio::test]
async fn a_revoked_session_is_not_rolled() {
    let app = app();
    let jar = app.due_cookie();
    app.logout().await;
    assert!(app.auth.session_with_touch(&jar).await.unwrap().is_none());
    assert_eq!(app.checks(), 1);
}

#[tokio::test]
async fn a_logout_after_the_read_still_ends_the_resealed_session() {
    let app = app();
    let jar = app.due_cookie();
    let loaded = app.auth.load_session(&jar).await.unwrap().unwrap();
    // A back-channel logout lands between this request's read and its write-back.
    app.logout().await;
    let saved = app
        .auth
        .save_session(&jar, &loaded, &loaded.data)
        .await
        .expect("the write-back trusts the read made an instant ago");
    // Nothing is resurrected: the re-sealed cookie keeps the sid and creation time the logout
    // names, so the next request has no session.
    let next = jar_of(saved.cookies.lines());
    assert!(app.auth.session(&next).await.unwrap().is_none());
    assert!(app.auth.session(&jar).await.unwrap().is_none());
}

#[tokio::test]
async fn a_late_write_back_checks_the_revocation_list_again() {
    let app = app();
    let jar = app.due_cookie();
    let loaded = app.auth.load_session(&jar).await.unwrap().unwrap();
    app.logout().await;
    // Seconds after the read (a slow refresh in between): the proof has lapsed, the store opens
    // the cookie and consults the list again, and refuses to write an ended session.
    app.clock.advance(Duration::from_secs(5));
    let err = app
        .auth
        .save_session(&jar, &loaded, &loaded.data)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no longer exists"), "{err}");
    assert_eq!(app.checks(), 2);
}

//! The re-seal path opens the stateless cookie once: counted with the JWE layer's per-thread
//! open counter (each test runs on its own thread, on a current-thread runtime).

use std::sync::Arc;
use std::time::Duration;

use crate::session::jwe::OPENS;
use crate::{Config, CookieJar, ManualClock, MemoryRevocations, SessionData, Tollgate};

const SECRET: &str = "reseal-tests-secret-0123456789abcdef";

fn auth(clock: &ManualClock) -> Tollgate {
    let config = Config::builder()
        .domain("example.auth0.com")
        .client_id("c")
        .client_secret("s")
        .secret(SECRET)
        .app_base_url("https://app.example.com")
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    Tollgate::builder(config)
        .revocations(Arc::new(MemoryRevocations::new()))
        .build()
}

fn session(created_at: u64) -> SessionData {
    let mut s = SessionData::default();
    s.internal.sid = "sid-reseal".into();
    s.internal.created_at = created_at;
    s.user = crate::User(
        serde_json::from_value(serde_json::json!({"sub": "auth0|reseal", "name": "Ada"})).unwrap(),
    );
    s.token_set.access_token = "at".into();
    s
}

/// The `Cookie` header a browser sends back for `lines`.
fn jar_of<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> CookieJar {
    let pairs: Vec<String> = lines
        .into_iter()
        .map(|l| l.as_ref().split(';').next().unwrap().to_owned())
        .collect();
    CookieJar::parse(&pairs.join("; "))
}

fn opens() -> usize {
    OPENS.with(|n| n.get())
}

fn reset_opens() {
    OPENS.with(|n| n.set(0));
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A cookie written now, read two minutes later: a rolling re-seal is due.
fn due_cookie(clock: &ManualClock, auth: &Tollgate) -> CookieJar {
    let now = clock.now();
    let jar = jar_of(
        auth.session_codec()
            .write(&CookieJar::default(), &session(now), now),
    );
    clock.advance(Duration::from_secs(120));
    jar
}

use crate::Clock as _;

#[test]
fn a_rolling_reseal_opens_the_cookie_once() {
    let clock = ManualClock::at(1_900_000_000);
    let auth = auth(&clock);
    let jar = due_cookie(&clock, &auth);
    reset_opens();
    let saved = run(auth.session_with_touch(&jar)).unwrap().expect("valid");
    assert!(!saved.cookies.is_empty(), "the touch was due and re-sealed");
    assert_eq!(
        opens(),
        1,
        "the read opened the cookie and the write-back trusted it"
    );
    // The re-sealed cookie is a valid session whose expiry moved.
    let rolled = jar_of(saved.cookies.lines());
    let (again, exp) = auth.session_codec().read(&rolled, clock.now()).unwrap();
    assert_eq!(again, saved.session.data);
    assert_eq!(exp, clock.now() + 86_400);
}

#[test]
fn a_save_in_the_request_that_loaded_opens_the_cookie_once() {
    let clock = ManualClock::at(1_900_000_000);
    let auth = auth(&clock);
    let jar = due_cookie(&clock, &auth);
    reset_opens();
    let mut loaded = run(auth.load_session(&jar)).unwrap().expect("valid");
    loaded.data.user.0.insert("name".into(), "Grace".into());
    let saved = run(auth.save_loaded(&jar, loaded)).unwrap();
    assert_eq!(opens(), 1, "save_loaded did not open the cookie again");
    assert_eq!(saved.session.data.user.name(), Some("Grace"));
    // A save after the touch of the same request (the axum layer's order) trusts the rolled
    // cookie the SDK sealed itself.
    reset_opens();
    let touched = run(auth.session_with_touch(&jar)).unwrap().unwrap();
    let mut data = touched.session.data.clone();
    data.extra.insert("theme".into(), "dark".into());
    let rolled_jar = jar_of(touched.cookies.lines());
    let saved = run(auth.save_session(&rolled_jar, &touched.session, &data)).unwrap();
    assert_eq!(
        opens(),
        1,
        "neither the touch nor the save after it opened the cookie again"
    );
    let (read, _) = auth
        .session_codec()
        .read(&jar_of(saved.cookies.lines()), clock.now())
        .unwrap();
    assert_eq!(read.extra.get("theme"), Some(&"dark".into()));
}

#[test]
fn a_stale_or_foreign_proof_is_checked_in_full() {
    let clock = ManualClock::at(1_900_000_000);
    let auth = auth(&clock);
    let jar = due_cookie(&clock, &auth);
    let loaded = run(auth.load_session(&jar)).unwrap().unwrap();
    // Seconds later (a save after a slow refresh): the cookie is opened and checked again.
    clock.advance(Duration::from_secs(5));
    reset_opens();
    run(auth.save_session(&jar, &loaded, &loaded.data)).unwrap();
    assert_eq!(
        opens(),
        1,
        "a stale proof does not stand in for opening the cookie"
    );
    // Another SDK instance (same secret, another revocation list) does not trust this one's read.
    let other = self::auth(&clock);
    let loaded = run(auth.load_session(&jar)).unwrap().unwrap();
    reset_opens();
    run(other.save_session(&jar, &loaded, &loaded.data)).unwrap();
    assert_eq!(opens(), 1, "a proof of another store is not accepted");
}

//! Session cookies in an app: tampered, expired and foreign cookies are no session; sessions roll
//! within the absolute lifetime; secrets rotate without logging anyone out.

use crate::common;

use crate::common::{HttpBrowser, start, start_with};
use tollgate::{Config, CookieJar, CookieSessionCodec, SessionData};
use tollgate_testkit::now;

async fn logged_in(app: &common::TestApp) -> HttpBrowser {
    let mut b = HttpBrowser::default();
    assert!(b.login(app, "").await.sets("__session"));
    b
}

#[tokio::test]
async fn a_tampered_cookie_is_no_session_and_nothing_breaks() {
    let app = start().await;
    let mut b = logged_in(&app).await;
    let good = b.cookies["__session"].clone();
    for bad in [
        {
            // Change one character in the middle of the ciphertext (always a different one).
            let mut b = good.clone().into_bytes();
            let i = b.len() / 2;
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(b).unwrap()
        },
        good.replacen('.', "", 1),
        "not-a-jwe".to_owned(),
        String::new(),
        "eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0..AAAA.AAAA.AAAA".to_owned(),
    ] {
        b.cookies.insert("__session".into(), bad.clone());
        let page = b.get(&app.url("/profile")).await;
        assert_eq!(page.status, 302, "{bad:?} must not be a session");
        assert_eq!(page.location().path(), "/auth/login");
        assert_eq!(b.get(&app.url("/auth/profile")).await.status, 401);
    }
    b.cookies.insert("__session".into(), good);
    assert_eq!(
        b.get(&app.url("/auth/profile")).await.status,
        200,
        "the genuine cookie still works"
    );
}

#[tokio::test]
async fn a_cookie_from_another_secret_or_expired_is_no_session() {
    let app = start().await;
    let b = logged_in(&app).await;
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let session = app.auth.session(&jar).await.unwrap().unwrap();

    let other = Config::builder()
        .domain("example.auth0.com")
        .client_id("x")
        .client_secret("y")
        .secret("another-secret-another-secret-another")
        .app_base_url(app.base.as_str())
        .build()
        .unwrap();
    let foreign = CookieSessionCodec::new(&other).write(&CookieJar::default(), &session, now());
    let mut b2 = HttpBrowser::default();
    b2.cookies.insert(
        "__session".into(),
        foreign[0].split(';').next().unwrap()[10..].to_owned(),
    );
    assert_eq!(b2.get(&app.url("/auth/profile")).await.status, 401);

    // A session created four days ago has passed its absolute lifetime (three days).
    let mut old: SessionData = session.clone();
    old.internal.created_at = now() - 4 * 86_400;
    let codec = app.auth.session_codec();
    let ended = codec.write(&CookieJar::parse("__session=x"), &old, now());
    assert_eq!(ended.len(), 1);
    assert!(
        ended[0].starts_with("__session=;") && ended[0].contains("Max-Age=0"),
        "an ended session is deleted, not written"
    );
    let stale = codec.write(&CookieJar::default(), &old, now() - 2 * 86_400);
    b2.cookies.insert(
        "__session".into(),
        stale[0].split(';').next().unwrap()[10..].to_owned(),
    );
    assert_eq!(
        b2.get(&app.url("/auth/profile")).await.status,
        401,
        "an expired cookie is no session"
    );
}

#[tokio::test]
async fn sessions_roll_up_to_the_absolute_lifetime() {
    let app = start().await;
    let b = logged_in(&app).await;
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let session = app.auth.session(&jar).await.unwrap().unwrap();
    let codec = app.auth.session_codec();

    // A fresh cookie is not rewritten on every request.
    let mut fresh = HttpBrowser::default();
    fresh
        .cookies
        .insert("__session".into(), b.cookies["__session"].clone());
    let r = fresh.get(&app.url("/")).await;
    assert!(r.body.starts_with("home: signed in"));
    assert!(
        r.set_cookies.is_empty(),
        "no re-seal within the rolling granularity: {:?}",
        r.set_cookies
    );

    // A cookie written an hour ago is extended to a full inactivity window.
    let mut older = session.clone();
    older.internal.created_at = now() - 3600;
    let line = &codec.write(&CookieJar::default(), &older, now() - 3600)[0];
    let mut b2 = HttpBrowser::default();
    b2.cookies.insert(
        "__session".into(),
        line.split(';').next().unwrap()[10..].to_owned(),
    );
    let r = b2.get(&app.url("/")).await;
    let rolled = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__session="))
        .unwrap_or_else(|| panic!("rolled: {r:?}"));
    assert!(rolled.contains("Max-Age=86400"), "{rolled}");

    // Near the absolute end, a cookie lives only until that end, and rolling cannot extend it.
    let mut ending = session.clone();
    ending.internal.created_at = now() - 3 * 86_400 + 600;
    let line = &codec.write(&CookieJar::default(), &ending, now() - 3600)[0];
    let age: u64 = line
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (4195..=4200).contains(&age),
        "capped by the absolute lifetime: {line}"
    );
    let mut b3 = HttpBrowser::default();
    b3.cookies.insert(
        "__session".into(),
        line.split(';').next().unwrap()[10..].to_owned(),
    );
    let r = b3.get(&app.url("/")).await;
    assert!(r.body.starts_with("home: signed in"));
    assert!(
        r.set_cookies.is_empty(),
        "nothing to extend past the absolute end: {:?}",
        r.set_cookies
    );
}

#[tokio::test]
async fn non_rolling_and_transient_sessions() {
    let app = start_with(|c| c.rolling_sessions(false).transient_cookie(true)).await;
    let b = logged_in(&app).await;
    let mut older = app
        .auth
        .session(&CookieJar::parse(&format!(
            "__session={}",
            b.cookies["__session"]
        )))
        .await
        .unwrap()
        .unwrap();
    older.internal.created_at = now() - 3600;
    let line = &app
        .auth
        .session_codec()
        .write(&CookieJar::default(), &older, now() - 3600)[0];
    assert!(
        !line.contains("Max-Age"),
        "transient: a browser-session cookie: {line}"
    );
    let mut b2 = HttpBrowser::default();
    b2.cookies.insert(
        "__session".into(),
        line.split(';').next().unwrap()[10..].to_owned(),
    );
    let r = b2.get(&app.url("/")).await;
    assert!(r.body.starts_with("home: signed in"));
    assert!(
        r.set_cookies.is_empty(),
        "non-rolling sessions are not rewritten"
    );
}

#[tokio::test]
async fn a_new_secret_first_keeps_everyone_signed_in() {
    let app = start().await;
    let b = logged_in(&app).await;
    let new_first = format!("{},{}", "z".repeat(40), common::SECRET);
    let rotated = common::start_full(&new_first, |c| c).await;
    // The same cookie, presented to an app whose first secret is new: still a session…
    let mut b2 = HttpBrowser::default();
    b2.cookies
        .insert("__session".into(), b.cookies["__session"].clone());
    assert_eq!(b2.get(&rotated.url("/auth/profile")).await.status, 200);
    // …and cookies it writes are sealed with the new secret (the old app cannot read them).
    let done = {
        let mut b3 = HttpBrowser::default();
        b3.login(&rotated, "").await;
        b3
    };
    let mut b4 = HttpBrowser::default();
    b4.cookies
        .insert("__session".into(), done.cookies["__session"].clone());
    assert_eq!(b4.get(&app.url("/auth/profile")).await.status, 401);
}

#[tokio::test]
async fn large_sessions_are_chunked_and_read_back() {
    let app = start().await;
    let b = logged_in(&app).await;
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let mut big = app.auth.session(&jar).await.unwrap().unwrap();
    big.extra
        .insert("notes".into(), serde_json::json!("x".repeat(6000)));
    let loaded = app.auth.load_session(&jar).await.unwrap().unwrap();
    let saved = app.auth.save_session(&jar, &loaded, &big).await.unwrap();
    let names: Vec<&str> = saved.cookies.names().collect();
    assert_eq!(
        names,
        ["__session__0", "__session__1", "__session__2", "__session"],
        "chunks, then the old single cookie deleted"
    );
    let mut b2 = HttpBrowser::default();
    for l in saved.cookies.lines().take(3) {
        let (n, v) = l.split(';').next().unwrap().split_once('=').unwrap();
        b2.cookies.insert(n.into(), v.into());
    }
    assert_eq!(b2.get(&app.url("/auth/profile")).await.status, 200);
    // Losing a middle chunk loses the session, never half of it.
    b2.cookies.remove("__session__1");
    assert_eq!(b2.get(&app.url("/auth/profile")).await.status, 401);
}

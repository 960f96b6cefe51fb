//! Silent authentication (`prompt=none`): a user with a session at the provider is signed in
//! without a prompt; a user without one comes back to `returnTo` signed out, with no error page.

use crate::common;

use crate::common::HttpBrowser;

/// Follows redirects from `url` through the app and the tenant; returns every answer.
async fn follow(b: &mut HttpBrowser, url: &str) -> Vec<common::Resp> {
    let mut url = url.to_owned();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let r = b.get(&url).await;
        let next = r
            .location
            .clone()
            .filter(|_| (300..400).contains(&r.status));
        seen.push(r);
        match next {
            Some(n) => url = n.to_string(),
            None => return seen,
        }
    }
    panic!("more than 10 redirects");
}

#[tokio::test]
async fn without_a_provider_session_the_user_returns_signed_out() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    let hops = follow(&mut b, &app.url("/auth/login?prompt=none&returnTo=%2F")).await;

    // The tenant answered login_required at once: no login page was shown.
    assert!(hops.iter().all(|r| r.url.path() != "/u/login"), "{hops:?}");
    let callback = hops
        .iter()
        .find(|r| r.url.path() == "/auth/callback")
        .unwrap();
    assert_eq!(
        callback
            .url
            .query_pairs()
            .find(|(k, _)| k == "error")
            .unwrap()
            .1,
        "login_required"
    );
    assert_eq!(callback.status, 302, "no error page: {}", callback.body);
    assert_eq!(callback.location().path(), "/");
    assert!(b.txn_cookies().is_empty(), "the transaction is spent");
    assert!(!b.has_session());
    assert_eq!(hops.last().unwrap().body, "home: anonymous");

    // Without prompt=none the same provider error is still an error page.
    let mut b = HttpBrowser::default();
    let login = b.get(&app.url("/auth/login?returnTo=%2F")).await;
    let authorize = login.location().clone();
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let r = b
        .get(&app.url(&format!(
            "/auth/callback?error=login_required&state={state}"
        )))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Sign-in failed"), "{}", r.body);
}

#[tokio::test]
async fn with_a_provider_session_the_user_is_signed_in_without_a_prompt() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    assert!(b.has_session());
    // The app forgets the session (a new visit); the tenant's session remains.
    b.cookies.retain(|k, _| !k.starts_with("__session"));
    assert!(!b.has_session());

    let hops = follow(&mut b, &app.url("/auth/login?prompt=none&returnTo=%2F")).await;
    assert!(
        hops.iter().all(|r| r.url.path() != "/u/login"),
        "no prompt: {hops:?}"
    );
    assert!(b.has_session());
    assert!(
        hops.last().unwrap().body.starts_with("home: signed in as "),
        "{hops:?}"
    );
}

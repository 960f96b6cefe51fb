//! `/auth/logout` over HTTP: a `POST` from the application's own page signs out, a cross-site one
//! (its `Origin`, or `Sec-Fetch-Site: cross-site`) is 403 with nothing signed out, `GET` still
//! signs out by default, and `logout_via_get(false)` turns `GET` into 405 with `Allow: POST`.

use crate::common::{self, HttpBrowser, TestApp};

fn origin(app: &TestApp) -> String {
    app.base.origin().ascii_serialization()
}

fn signs_out(r: &common::Resp) -> bool {
    r.set_cookies
        .iter()
        .any(|c| c.starts_with("__session=;") && c.contains("Max-Age=0"))
}

/// Whether `/auth/profile` still answers for the browser's session cookie.
async fn still_signed_in(b: &mut HttpBrowser, app: &TestApp) -> bool {
    b.get(&app.url("/auth/profile")).await.status == 200
}

#[tokio::test]
async fn a_same_origin_post_signs_out() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let own = origin(&app);
    let r = b
        .request(
            "POST",
            &app.url("/auth/logout"),
            &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
            None,
        )
        .await;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(signs_out(&r), "{:?}", r.set_cookies);
}

/// A page served with `Referrer-Policy: no-referrer` (the demo's, the SDK's own) makes Chromium
/// send `Origin: null` on its form posts, with `Sec-Fetch-Site: same-origin`: that is the
/// application's own button and signs out (found with the demo's logout button in Chromium).
#[tokio::test]
async fn a_post_from_a_no_referrer_page_of_the_app_signs_out() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = b
        .request(
            "POST",
            &app.url("/auth/logout"),
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
            None,
        )
        .await;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(signs_out(&r), "{:?}", r.set_cookies);
}

#[tokio::test]
async fn a_cross_site_post_is_403_and_signs_nothing_out() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")][..],
        &[("origin", "null"), ("sec-fetch-site", "same-site")][..],
        &[("sec-fetch-site", "cross-site")][..],
        &[
            ("origin", "http://127.0.0.1"),
            ("sec-fetch-site", "same-site"),
        ][..],
    ] {
        let r = b
            .request("POST", &app.url("/auth/logout"), headers, None)
            .await;
        assert_eq!(r.status, 403, "{headers:?}: {r:?}");
        assert!(r.set_cookies.is_empty(), "{headers:?}: {:?}", r.set_cookies);
        assert!(r.location.is_none());
    }
    assert!(
        still_signed_in(&mut b, &app).await,
        "the session was not revoked"
    );
}

#[tokio::test]
async fn get_still_signs_out_by_default() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = b.get(&app.url("/auth/logout")).await;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(signs_out(&r));
}

#[tokio::test]
async fn with_logout_via_get_off_get_is_405_allow_post_and_post_still_works() {
    let app = common::start_with(|b| b.logout_via_get(false)).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/auth/logout"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    assert!(resp.headers().get("set-cookie").is_none());
    assert!(still_signed_in(&mut b, &app).await);

    let own = origin(&app);
    let r = b
        .request(
            "POST",
            &app.url("/auth/logout"),
            &[("origin", own.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(signs_out(&r));
}

#[test]
fn the_environment_variable_turns_get_off() {
    let get = |v: &'static str| move |n: &str| (n == "AUTH0_LOGOUT_VIA_GET").then(|| v.to_owned());
    assert!(tollgate::ConfigBuilder::from_vars(get("false")).is_ok());
    let err = tollgate::ConfigBuilder::from_vars(get("sometimes")).unwrap_err();
    assert!(err.to_string().contains("AUTH0_LOGOUT_VIA_GET"), "{err}");
}

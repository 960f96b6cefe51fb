//! `returnTo` can never send a user off the application's origin, at login or at logout.

use crate::common;

use crate::common::{HttpBrowser, start};

const HOSTILE: &[&str] = &[
    "//evil.com",
    "/\\evil.com",
    "https://evil.com/",
    "/%09/evil.com",
    "/%2F%2Fevil.com",
    "%2F%2Fevil.com",
    "/\t/evil.com",
    "javascript:alert(1)",
    "http://127.0.0.1.evil.com/",
    "/%5Cevil.com",
];

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn hostile_return_to_at_login_lands_on_the_home_page() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    for bad in HOSTILE {
        let done = b.login(&app, &format!("returnTo={}", enc(bad))).await;
        assert_eq!(done.status, 302);
        assert_eq!(
            done.location().as_str(),
            app.url("/"),
            "returnTo {bad:?} must be reset"
        );
    }
    // A same-origin path, absolute or relative, survives with its query.
    let done = b
        .login(
            &app,
            &format!("returnTo={}", enc("/profile?tab=billing&x=%2F")),
        )
        .await;
    assert_eq!(
        done.location().as_str(),
        app.url("/profile?tab=billing&x=%2F")
    );
    let done = b
        .login(&app, &format!("returnTo={}", enc(&app.url("/profile"))))
        .await;
    assert_eq!(done.location().as_str(), app.url("/profile"));
}

#[tokio::test]
async fn hostile_return_to_at_logout_goes_back_to_the_app() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    for bad in HOSTILE {
        b.login(&app, "").await;
        let out = b
            .get(&app.url(&format!("/auth/logout?returnTo={}", enc(bad))))
            .await;
        let target = out
            .location()
            .query_pairs()
            .find(|(k, _)| k == "post_logout_redirect_uri")
            .map(|(_, v)| v.into_owned());
        assert_eq!(
            target.as_deref(),
            Some(app.url("/").as_str()),
            "returnTo {bad:?} must be reset"
        );
    }
}

#[tokio::test]
async fn the_login_route_refuses_protected_parameters_with_a_400_and_no_redirect() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    for attack in [
        "redirect_uri=https%3A%2F%2Fevil.com",
        "client_id=evil",
        "state=fixed",
        "nonce=fixed",
        "response_mode=form_post",
        "request_uri=urn%3Aevil",
    ] {
        let r = b
            .get(&app.url(&format!("/auth/login?screen_hint=signup&{attack}")))
            .await;
        assert_eq!(r.status, 400, "{attack}");
        assert!(r.location.is_none(), "{attack}: no redirect");
        assert!(r.set_cookies.is_empty(), "{attack}: no transaction");
        let name = attack.split('=').next().unwrap();
        assert!(
            r.body.contains(&format!("`{name}`")),
            "{attack}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn allowed_login_parameters_pass_through_and_the_sdk_keeps_its_own() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    let r = b
        .get(&app.url("/auth/login?screen_hint=signup&login_hint=a%40example.com&prompt=login"))
        .await;
    assert_eq!(r.status, 302);
    let pairs: Vec<(String, String)> = r
        .location()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("redirect_uri"), [app.url("/auth/callback").as_str()]);
    assert_eq!(get("client_id"), [common::CLIENT_ID]);
    assert_eq!(get("screen_hint"), ["signup"]);
    assert_eq!(get("login_hint"), ["a@example.com"]);
    assert_eq!(get("prompt"), ["login"]);
    assert!(get("audience").is_empty());
}

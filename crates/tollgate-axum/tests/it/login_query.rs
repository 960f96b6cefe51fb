//! The login route takes from its URL only the parameters the app allows: a user who adds
//! `audience=<an API that needs MFA>` to `/auth/login` must not get that API's token with a
//! password (issue 12, High).

use crate::common::{HttpBrowser, PAYMENTS, start};

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn an_audience_or_scope_in_the_login_url_is_refused_by_default() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    for query in [
        format!(
            "audience={}&scope={}",
            enc(PAYMENTS),
            enc("openid profile email offline_access read:payments")
        ),
        format!("returnTo=%2F&audience={}", enc(PAYMENTS)),
        format!("scope={}", enc("openid read:payments")),
    ] {
        let r = b.get(&app.url(&format!("/auth/login?{query}"))).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert!(r.location.is_none(), "{query}: no redirect to the provider");
        assert!(r.set_cookies.is_empty(), "{query}: no login transaction");
        assert!(
            r.body.contains("login_query_params"),
            "the page says how to allow it: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn an_app_can_allow_audience_and_the_parameter_reaches_the_provider() {
    let app = crate::common::start_with(|c| c.login_query_params(["audience", "prompt"])).await;
    let mut b = HttpBrowser::default();
    let r = b
        .get(&app.url(&format!("/auth/login?audience={}", enc(PAYMENTS))))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.query("audience").as_deref(), Some(PAYMENTS));
    // What is not listed stays refused, even a parameter of the default list.
    let r = b.get(&app.url("/auth/login?screen_hint=signup")).await;
    assert_eq!(r.status, 400);
}

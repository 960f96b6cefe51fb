//! Pushed Authorization Requests (RFC 9126): with the option on, the browser carries only
//! `client_id` and a one-time `request_uri` to the provider, and the login completes as usual.

use crate::common;

use crate::common::HttpBrowser;

#[tokio::test]
async fn a_pushed_login_completes_and_its_request_uri_is_single_use() {
    let app = common::start_with(|b| b.pushed_authorization_requests(true)).await;
    let mut b = HttpBrowser::default();
    let login = b
        .get(&app.url("/auth/login?returnTo=%2Fprofile&acr_values=x"))
        .await;
    let authorize = login.location().clone();
    assert_eq!(authorize.path(), "/authorize");
    let names: Vec<String> = authorize
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "{authorize}");
    let request_uri = authorize
        .query_pairs()
        .find(|(k, _)| k == "request_uri")
        .unwrap()
        .1
        .into_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    // The whole login through the pushed request.
    let mut b = HttpBrowser::default();
    let done = b.login(&app, "returnTo=%2Fprofile").await;
    assert_eq!(done.status, 302, "{done:?}");
    assert_eq!(done.location().path(), "/profile");
    assert!(b.has_session());
    let profile = b.get(&app.url("/profile")).await;
    assert_eq!(profile.body, "profile of Alice Example");

    // The first browser never followed its redirect, so that request_uri works once; a second
    // use is refused.
    let mut c = HttpBrowser::default();
    let first = c.get(authorize.as_str()).await;
    assert_eq!(first.status, 302, "{first:?}");
    let again = c.get(authorize.as_str()).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("already used"), "{}", again.body);
    // A request_uri presented with another client_id is refused.
    let forged = authorize.as_str().replace("client_id=", "client_id=other-");
    assert_eq!(c.get(&forged).await.status, 400);
}

//! Step-up for pages and APIs: who gets through `RequireMfa`, who is sent to step up, and how.

use crate::common;

use crate::common::{HttpBrowser, start};
use tollgate::{Authentication, CookieJar, SessionData};
use tollgate_testkit::now;

const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// Re-seals the browser's session with other authentication claims (as a step-up login would).
async fn with_authentication(
    app: &common::TestApp,
    b: &mut HttpBrowser,
    amr: &[&str],
    acr: Option<&str>,
) {
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let mut s: SessionData = app.auth.session(&jar).await.unwrap().unwrap();
    s.authentication = Some(Authentication {
        amr: amr.iter().map(|a| (*a).to_owned()).collect(),
        acr: acr.map(str::to_owned),
        auth_time: Some(now()),
    });
    let loaded = app.auth.load_session(&jar).await.unwrap().unwrap();
    let saved = app.auth.save_session(&jar, &loaded, &s).await.unwrap();
    let line = saved.cookies.lines().next().unwrap();
    let (_, v) = line.split(';').next().unwrap().split_once('=').unwrap();
    b.cookies.insert("__session".into(), v.to_owned());
}

#[tokio::test]
async fn a_password_session_is_sent_to_step_up_and_an_api_gets_403() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    assert!(
        b.get(&app.url("/"))
            .await
            .body
            .starts_with("home: signed in"),
        "browsing freely"
    );

    let page = b.get(&app.url("/billing?tab=invoices")).await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location().path(), "/auth/login");
    assert_eq!(
        page.query("returnTo").as_deref(),
        Some("/billing?tab=invoices")
    );
    assert_eq!(page.query("acr_values").as_deref(), Some(MFA));

    b.accept = "application/json";
    let api = b.get(&app.url("/api/billing")).await;
    assert_eq!(api.status, 403);
    let body: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(body["error"], "mfa_required");
    assert!(
        body["step_up_url"]
            .as_str()
            .unwrap()
            .starts_with("/auth/login?returnTo=%2Fapi%2Fbilling&acr_values=")
    );

    // Without any session, an API gets 401 and a page one trip to login + step-up.
    let mut anon = HttpBrowser::default();
    anon.accept = "application/json";
    assert_eq!(anon.get(&app.url("/api/billing")).await.status, 401);
    anon.accept = "text/html";
    let p = anon.get(&app.url("/billing")).await;
    assert_eq!(p.query("acr_values").as_deref(), Some(MFA));
}

#[tokio::test]
async fn mfa_in_the_session_passes_for_the_rest_of_the_session() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    with_authentication(&app, &mut b, &["pwd", "mfa"], None).await;
    for _ in 0..3 {
        let r = b.get(&app.url("/billing")).await;
        assert_eq!(r.status, 200, "no prompt again: {r:?}");
        assert_eq!(r.body, "billing for Alice Example");
    }
    with_authentication(&app, &mut b, &[], Some(MFA)).await;
    assert_eq!(
        b.get(&app.url("/billing")).await.status,
        200,
        "acr alone is enough"
    );
    with_authentication(&app, &mut b, &["pwd"], Some("urn:something-else")).await;
    assert_eq!(b.get(&app.url("/billing")).await.status, 302);
    // Logout ends it.
    with_authentication(&app, &mut b, &["pwd", "mfa"], None).await;
    b.get(&app.url("/auth/logout")).await;
    let r = b.get(&app.url("/billing")).await;
    assert_eq!(r.status, 302);
}

//! Hooks: `before_session_saved` filters and enriches (the SDK's own members are protected),
//! `on_callback` answers the callback, `before_session_rolled` decides per request.

use crate::common::{HttpBrowser, start_hooks};
use tollgate::{CookieJar, Hooks, http};

#[tokio::test]
async fn before_session_saved_filters_and_enriches_but_cannot_forge_sdk_members() {
    let hooks = Hooks::new().before_session_saved(|mut s, claims| async move {
        let claims = claims.expect("login passes the ID token claims");
        s.user.0.remove("picture");
        s.user.0.insert("sid_seen".into(), claims["sid"].clone());
        s.extra.insert("plan".into(), serde_json::json!("gold"));
        // Attempts to change what the SDK owns are undone.
        s.internal.sid = "forged".into();
        s.authentication = Some(tollgate::Authentication {
            amr: vec!["mfa".into()],
            acr: None,
            auth_time: Some(1),
        });
        s
    });
    let app = start_hooks(hooks).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let s = app
        .auth
        .session(&CookieJar::parse(&format!(
            "__session={}",
            b.cookies["__session"]
        )))
        .await
        .unwrap()
        .unwrap();
    assert!(s.user.0.get("picture").is_none());
    assert_eq!(s.extra["plan"], "gold");
    assert_ne!(s.internal.sid, "forged");
    assert_eq!(s.user.0["sid_seen"], s.internal.sid.as_str());
    assert!(!s.has_mfa(), "a hook cannot grant MFA");
}

#[tokio::test]
async fn on_callback_answers_with_its_own_page_and_the_cookies_are_kept() {
    let hooks = Hooks::new().on_callback(|result| {
        let body = match result {
            Ok(ok) => format!("welcome {}", ok.session.user.sub()),
            Err(e) => format!("custom error: {}", e.code()),
        };
        let mut resp = http::Response::new(body);
        *resp.status_mut() = http::StatusCode::OK;
        Some(resp)
    });
    let app = start_hooks(hooks).await;
    let mut b = HttpBrowser::default();
    let done = b.login(&app, "").await;
    assert_eq!(done.status, 200);
    assert!(done.body.starts_with("welcome auth0|"));
    assert!(done.sets("__session"), "the session cookie is still set");
    let err = b.get(&app.url("/auth/callback?code=x")).await;
    assert_eq!(err.body, "custom error: missing_state");
}

#[tokio::test]
async fn before_session_rolled_can_skip_a_roll() {
    let app = start_hooks(Hooks::new().before_session_rolled(|_| false)).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let mut s = app.auth.session(&jar).await.unwrap().unwrap();
    s.internal.created_at -= 3600;
    let line = app
        .auth
        .session_codec()
        .write(&CookieJar::default(), &s, s.internal.created_at)[0]
        .clone();
    b.cookies.insert(
        "__session".into(),
        line.split(';').next().unwrap()[10..].to_owned(),
    );
    let r = b.get(&app.url("/")).await;
    assert!(r.body.starts_with("home: signed in"));
    assert!(
        r.set_cookies.is_empty(),
        "the hook said no: {:?}",
        r.set_cookies
    );
}

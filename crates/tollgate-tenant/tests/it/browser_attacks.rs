//! Attacks from another origin in real headless Chromium: an attacker's page on another
//! 127.0.0.1 port auto-submits the tenant's login form with the attacker's credentials and
//! transaction (login CSRF), and frames the tenant's login page (clickjacking).

use axum::Router;
use axum::extract::RawQuery;
use axum::response::Html;
use axum::routing::get;
use tollgate_tenant::{ClientConfig, RunningTenant, TenantConfig, UserConfig};

use crate::common::chromium::Chromium;
use crate::common::{
    authorize, authorize_params, browser, escape_attr, location, query, start_with,
};

const ATTACKER: &str = "mallory@example.com";
const ATTACKER_PASSWORD: &str = "mallory-password-1";

/// The attacker's site: `/csrf` (an auto-submitting login form), `/frame` (the login page in
/// an iframe) and `/cb` (the client's callback, which shows its query). Returns its origin.
async fn attacker_site(listener: tokio::net::TcpListener, csrf: String, frame: String) {
    let app = Router::new()
        .route("/csrf", get(move || async move { Html(csrf) }))
        .route("/frame", get(move || async move { Html(frame) }))
        .route(
            "/cb",
            get(|RawQuery(q): RawQuery| async move {
                Html(format!(
                    "<p id=\"query\">{}</p>",
                    escape_attr(&q.unwrap_or_default())
                ))
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// A tenant whose client calls back to the attacker's site (so the test can see where a login
/// ends), with the victim alice and the attacker mallory.
async fn tenant_for(attacker: &str) -> RunningTenant {
    start_with(
        TenantConfig::new()
            .with_client(
                ClientConfig::new(crate::common::CLIENT_ID, crate::common::CLIENT_SECRET)
                    .with_callback(format!("{attacker}/cb")),
            )
            .with_user(UserConfig::new(
                crate::common::EMAIL,
                crate::common::PASSWORD,
            ))
            .with_user(UserConfig::new(ATTACKER, ATTACKER_PASSWORD)),
    )
    .await
}

/// The attacker's own login transaction (started in the attacker's browser).
async fn attackers_state(tenant: &RunningTenant, callback: &str) -> String {
    let params = authorize_params(&[("redirect_uri", callback)]);
    let response = authorize(&browser(), tenant, &params).await;
    query(&location(&response))["state"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_auto_submitted_login_does_not_sign_the_victim_in() {
    let Some(chromium) = Chromium::launch("login_csrf").await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attacker = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{attacker}/cb");
    let tenant = tenant_for(&attacker).await;
    let state = attackers_state(&tenant, &callback).await;
    let action = format!("{}u/login?state={state}", tenant.issuer());
    let csrf = format!(
        "<!DOCTYPE html><form method=\"post\" action=\"{}\">\
         <input name=\"state\" value=\"{}\"><input name=\"username\" value=\"{ATTACKER}\">\
         <input name=\"password\" value=\"{ATTACKER_PASSWORD}\"></form>\
         <script>document.forms[0].submit()</script>",
        escape_attr(&action),
        escape_attr(&state)
    );
    attacker_site(listener, csrf, String::new()).await;

    chromium.goto(&format!("{attacker}/csrf")).await;
    chromium
        .wait_for(
            "the end of the auto-submitted post",
            "return !location.href.startsWith(window.origin + '/csrf') && document.readyState === 'complete'",
        )
        .await;
    let landed = chromium
        .eval("return location.href + '\\n' + document.body.innerText")
        .await;
    let landed = landed.as_str().unwrap_or_default().to_owned();
    assert_eq!(
        tenant.count_events(|e| e.is("s")),
        0,
        "the cross-site post logged someone in; the browser landed on {landed}"
    );
    assert!(landed.contains("Request refused"), "{landed}");

    // The victim's browser has no session at the tenant: silent authentication fails.
    let params: Vec<String> = authorize_params(&[("redirect_uri", &callback), ("prompt", "none")])
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    chromium
        .goto(&format!(
            "{}authorize?{}",
            tenant.issuer(),
            params.join("&")
        ))
        .await;
    chromium
        .wait_for(
            "the callback after prompt=none",
            "return location.pathname === '/cb' && document.readyState === 'complete'",
        )
        .await;
    let back = chromium.eval("return location.search").await;
    let back = back.as_str().unwrap_or_default();
    assert!(
        back.contains("error=login_required") && !back.contains("code="),
        "{back}"
    );

    // The victim's own login in the same browser works: the binding cookie, the same-origin
    // post and the page's form-action (which must allow the redirect to the callback).
    let params: Vec<String> = authorize_params(&[("redirect_uri", &callback)])
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    chromium
        .goto(&format!(
            "{}authorize?{}",
            tenant.issuer(),
            params.join("&")
        ))
        .await;
    chromium
        .wait_for(
            "the login page",
            "return document.querySelector('#password') !== null",
        )
        .await;
    chromium
        .eval(&format!(
            "document.querySelector('#username').value = '{}'; \
             document.querySelector('#password').value = '{}'; \
             document.forms[0].requestSubmit(); return true",
            crate::common::EMAIL,
            crate::common::PASSWORD
        ))
        .await;
    chromium
        .wait_for(
            "the callback after the victim's own login",
            "return location.pathname === '/cb' && document.readyState === 'complete'",
        )
        .await;
    let back = chromium.eval("return location.search").await;
    assert!(
        back.as_str().unwrap_or_default().contains("code="),
        "{back}"
    );
    assert_eq!(
        tenant.count_events(|e| e.is("s") && e.user_name.as_deref() == Some(crate::common::EMAIL)),
        1
    );
    drop(chromium);
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_does_not_render_in_another_origins_frame() {
    let Some(chromium) = Chromium::launch("login_frame").await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attacker = format!("http://{}", listener.local_addr().unwrap());
    let tenant = tenant_for(&attacker).await;
    let state = attackers_state(&tenant, &format!("{attacker}/cb")).await;
    let login = format!("{}u/login?state={state}", tenant.issuer());
    let frame = format!(
        "<!DOCTYPE html><title>framing</title>\
         <iframe id=\"f\" src=\"{}\" onload=\"document.title='loaded'\"></iframe>",
        escape_attr(&login)
    );
    attacker_site(listener, String::new(), frame).await;

    chromium.goto(&format!("{attacker}/frame")).await;
    chromium
        .wait_for(
            "the frame's load event",
            "return document.title === 'loaded'",
        )
        .await;
    chromium.enter_frame("#f").await;
    let inside = chromium
        .eval(
            "return [location.href, String(document.querySelector('input[name=password]') !== null), \
             document.body ? document.body.innerText : ''].join('\\n')",
        )
        .await;
    let inside = inside.as_str().unwrap_or_default().to_owned();
    assert!(
        !inside.contains("Log in to continue") && !inside.contains("\ntrue\n"),
        "the tenant's login page rendered inside another origin's frame:\n{inside}"
    );
    drop(chromium);
    tenant.shutdown().await;
}

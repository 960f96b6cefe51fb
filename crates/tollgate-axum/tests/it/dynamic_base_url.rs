//! Dynamic application base URLs: one app on one loopback port, reached under several host names
//! (the browser resolves them all to 127.0.0.1), with an allow-list of base URLs. Each allowed
//! host logs in, returns and logs out on its own origin; any other host gets 400 and no redirect.

use crate::common;

use std::net::SocketAddr;

use crate::common::{ALICE, CLIENT_ID, CLIENT_SECRET, HttpBrowser, Resp, SECRET};
use tollgate::{ConfigBuilder, Tollgate};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};
use url::Url;

/// The allowed hosts: two exact ones, and one preview host under a wildcard entry.
const HOST_A: &str = "app-a.localhost";
const HOST_B: &str = "app-b.localhost";
const PREVIEW: &str = "pr-7.preview.localhost";
/// Hosts that reach the same app but are not allowed.
const EVIL: &str = "evil.localhost";
const DEEP_PREVIEW: &str = "x.pr-7.preview.localhost";
const BARE_PREVIEW: &str = "preview.localhost";

struct DynApp {
    tenant: RunningTenant,
    addr: SocketAddr,
}

impl DynApp {
    /// `http://{host}:{port}{path}`.
    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    fn browser(&self) -> HttpBrowser {
        HttpBrowser::resolving(
            &[HOST_A, HOST_B, PREVIEW, EVIL, DEEP_PREVIEW, BARE_PREVIEW],
            self.addr,
        )
    }
}

/// The tenant (with a callback and logout URL per allowed host) and the app, configured with the
/// allow-list `http://app-a.localhost:P, http://app-b.localhost:P, http://*.preview.localhost:P`.
async fn start(tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> DynApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let mut client = ClientConfig::new(CLIENT_ID, CLIENT_SECRET);
    for host in [HOST_A, HOST_B, PREVIEW, EVIL] {
        // The provider's list even names the evil host: the SDK's allow-list alone must stop it.
        client = client
            .with_callback(format!("http://{host}:{port}/auth/callback"))
            .with_logout_url(format!("http://{host}:{port}/"))
            .with_logout_url(format!("http://{host}:{port}/goodbye"));
    }
    let tenant = Tenant::start(
        TenantConfig::new()
            .with_client(client)
            .with_user(UserConfig::new(ALICE.0, ALICE.1).with_name("Alice Example")),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let config = tweak(
        tollgate_testkit::loopback_issuer(tenant.issuer())
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .secret(SECRET)
            .app_base_urls([
                format!("http://{HOST_A}:{port}"),
                format!("http://{HOST_B}:{port}"),
                format!("http://*.preview.localhost:{port}"),
            ]),
    )
    .build()
    .unwrap();
    assert!(config.has_dynamic_base_url());
    common::serve(listener, Tollgate::new(config));
    DynApp { tenant, addr }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// From the app's login URL through the tenant's login page, up to the redirect back (not
/// followed).
async fn until_callback(b: &mut HttpBrowser, login_url: &str) -> Resp {
    let start = b.get(login_url).await;
    assert_eq!(start.status, 302, "{start:?}");
    let mut hop = b.get(start.location().as_str()).await;
    if hop
        .location
        .as_ref()
        .is_some_and(|l| l.path() == "/u/login")
    {
        let page_url = hop.location().to_string();
        let state = query(hop.location(), "state").unwrap();
        assert_eq!(b.get(&page_url).await.status, 200);
        hop = b
            .post_form(
                &page_url,
                &[
                    ("state", &state),
                    ("username", ALICE.0),
                    ("password", ALICE.1),
                ],
            )
            .await;
    }
    assert_eq!(hop.status, 302, "{hop:?}");
    hop
}

/// A 400 refusal that redirects nowhere and sets nothing.
fn assert_refused(r: &Resp) {
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.location.is_none(), "no redirect: {r:?}");
    assert!(r.set_cookies.is_empty(), "no cookie: {r:?}");
    assert!(
        r.body.contains("not an allowed application base URL"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn each_allowed_host_logs_in_and_returns_on_its_own_origin() {
    let app = start(|b| b).await;
    for host in [HOST_A, HOST_B, PREVIEW] {
        let mut b = app.browser();
        // A page without a session goes to the login route on the same host.
        let guarded = b.get(&app.url(host, "/profile?tab=1")).await;
        assert_eq!(guarded.status, 302, "{guarded:?}");
        assert_eq!(guarded.location().host_str(), Some(host));
        assert_eq!(guarded.location().path(), "/auth/login");
        assert_eq!(
            query(guarded.location(), "returnTo").as_deref(),
            Some("/profile?tab=1")
        );

        let login = b.get(guarded.location().as_str()).await;
        assert_eq!(login.status, 302, "{login:?}");
        let authorize = login.location().clone();
        assert!(
            authorize
                .as_str()
                .starts_with(&format!("{}authorize", app.tenant.issuer()))
        );
        assert_eq!(
            query(&authorize, "redirect_uri").unwrap(),
            app.url(host, "/auth/callback"),
            "the redirect URI is on the request's host"
        );

        let back = until_callback(&mut b, guarded.location().as_str()).await;
        assert_eq!(
            back.location().as_str().split('?').next().unwrap(),
            app.url(host, "/auth/callback")
        );
        let done = b.get(back.location().as_str()).await;
        assert_eq!(done.status, 302, "{done:?}");
        assert_eq!(done.location().as_str(), app.url(host, "/profile?tab=1"));
        assert!(done.sets("__session"));
        let page = b.get(done.location().as_str()).await;
        assert_eq!(page.body, "profile of Alice Example", "{host}");
    }
}

#[tokio::test]
async fn silent_login_and_step_up_use_the_requests_host() {
    let app = start(|b| b).await;
    let mut b = app.browser();
    let silent = b.get(&app.url(HOST_B, "/auth/login?prompt=none")).await;
    assert_eq!(silent.status, 302);
    assert_eq!(query(silent.location(), "prompt").as_deref(), Some("none"));
    assert_eq!(
        query(silent.location(), "redirect_uri").unwrap(),
        app.url(HOST_B, "/auth/callback")
    );
    // A step-up required by RequireMfa sends the page to the login route of its own host…
    let back = until_callback(&mut b, &app.url(PREVIEW, "/auth/login")).await;
    assert_eq!(b.get(back.location().as_str()).await.status, 302);
    let step_up = b.get(&app.url(PREVIEW, "/billing")).await;
    assert_eq!(step_up.status, 302, "{step_up:?}");
    assert_eq!(step_up.location().host_str(), Some(PREVIEW));
    assert_eq!(step_up.location().path(), "/auth/login");
    assert!(query(step_up.location(), "acr_values").is_some());
    // …whose authorize request comes back there.
    let login = b.get(step_up.location().as_str()).await;
    assert_eq!(
        query(login.location(), "redirect_uri").unwrap(),
        app.url(PREVIEW, "/auth/callback")
    );
}

#[tokio::test]
async fn a_popup_login_posts_only_to_its_own_origin() {
    let app = start(|b| b).await;
    let mut b = app.browser();
    let back = until_callback(&mut b, &app.url(HOST_B, "/auth/login?challengeMode=popup")).await;
    let page = b.get(back.location().as_str()).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body
            .contains(&format!("postMessage(m,\"{}\")", app.url(HOST_B, ""))),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_host_not_on_the_list_gets_400_and_no_redirect() {
    let app = start(|b| b).await;
    let mut b = app.browser();
    for url in [
        app.url(EVIL, "/auth/login?returnTo=%2F"),
        app.url(DEEP_PREVIEW, "/auth/login"),
        app.url(BARE_PREVIEW, "/auth/login"),
        format!("http://127.0.0.1:{}/auth/login", app.addr.port()),
        app.url(EVIL, "/auth/callback?code=abc&state=xyz"),
        app.url(EVIL, "/auth/logout"),
    ] {
        assert_refused(&b.get(&url).await);
    }
    // X-Forwarded-Host is checked like Host (first value), and so is X-Forwarded-Proto.
    let forwarded = b
        .get_with(
            &app.url(HOST_A, "/auth/login"),
            &[(
                "x-forwarded-host",
                &format!("{EVIL}:{}, {HOST_A}", app.addr.port()),
            )],
        )
        .await;
    assert_refused(&forwarded);
    let https = b
        .get_with(
            &app.url(HOST_A, "/auth/login"),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert_refused(&https);
    let userinfo = b
        .get_with(
            &app.url(HOST_A, "/auth/login"),
            &[(
                "x-forwarded-host",
                &format!("{HOST_A}:{}@{EVIL}", app.addr.port()),
            )],
        )
        .await;
    assert_eq!(userinfo.status, 400);
    assert!(userinfo.location.is_none());
    assert!(
        userinfo.body.contains("not a valid host name"),
        "{}",
        userinfo.body
    );

    // Pages that need a session answer 400 too, instead of sending the browser to that host's
    // login route; an API call still gets its 401.
    for path in ["/profile", "/billing"] {
        let r = b.get(&app.url(EVIL, path)).await;
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(r.location.is_none());
        assert!(r.body.contains("invalid_host"), "{}", r.body);
    }
    b.accept = "application/json";
    assert_eq!(b.get(&app.url(EVIL, "/profile")).await.status, 401);
    assert!(!b.has_session() && b.txn_cookies().is_empty());
}

#[tokio::test]
async fn a_callback_on_another_allowed_host_is_refused() {
    let app = start(|b| b).await;
    let mut b = app.browser();
    let back = until_callback(&mut b, &app.url(HOST_A, "/auth/login")).await;
    let state = query(back.location(), "state").unwrap();
    // The same callback, on host B, with host A's transaction cookie (as with a cookie shared
    // across subdomains): the code was issued for host A's redirect URI.
    let mut elsewhere = back.location().clone();
    elsewhere.set_host(Some(HOST_B)).unwrap();
    let r = b.get(elsewhere.as_str()).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.location.is_none());
    assert!(!r.sets("__session") && !b.has_session());
    assert!(r.body.contains("started at"), "{}", r.body);
    assert!(r.body.contains(&app.url(HOST_A, "")), "{}", r.body);
    assert!(
        r.deletes(&format!("__txn_{state}")),
        "the transaction is used up either way"
    );
    // On its own host, without the transaction, it cannot be finished either.
    let again = b.get(back.location().as_str()).await;
    assert_eq!(again.status, 400);
    assert!(!b.has_session());
}

#[tokio::test]
async fn logout_returns_to_the_hosts_own_origin() {
    let app = start(|b| b.logout_strategy(tollgate::LogoutStrategy::V2)).await;
    let mut b = app.browser();
    let back = until_callback(&mut b, &app.url(HOST_B, "/auth/login")).await;
    assert!(b.get(back.location().as_str()).await.sets("__session"));

    let out = b.get(&app.url(HOST_B, "/auth/logout")).await;
    assert_eq!(out.status, 302, "{out:?}");
    assert!(out.deletes("__session"));
    assert_eq!(out.location().path(), "/v2/logout");
    assert_eq!(
        query(out.location(), "returnTo").unwrap(),
        app.url(HOST_B, "/")
    );
    let end = b.get(out.location().as_str()).await;
    assert_eq!(end.location().as_str(), app.url(HOST_B, "/"));

    // returnTo must be on the request's own origin, even when another allowed host is named.
    let out = b
        .get(&app.url(
            HOST_B,
            &format!(
                "/auth/logout?returnTo={}",
                url::form_urlencoded::byte_serialize(app.url(HOST_A, "/goodbye").as_bytes())
                    .collect::<String>()
            ),
        ))
        .await;
    assert_eq!(
        query(out.location(), "returnTo").unwrap(),
        app.url(HOST_B, "/")
    );
    let out = b
        .get(&app.url(PREVIEW, "/auth/logout?returnTo=/goodbye"))
        .await;
    assert_eq!(
        query(out.location(), "returnTo").unwrap(),
        app.url(PREVIEW, "/goodbye")
    );
}

#[tokio::test]
async fn pushed_authorization_requests_carry_the_hosts_redirect_uri() {
    let app = start(|b| b.pushed_authorization_requests(true)).await;
    let mut b = app.browser();
    let login = b.get(&app.url(PREVIEW, "/auth/login")).await;
    assert!(
        query(login.location(), "request_uri").is_some(),
        "{login:?}"
    );
    assert!(query(login.location(), "redirect_uri").is_none());
    let back = until_callback(&mut b, &app.url(PREVIEW, "/auth/login")).await;
    assert_eq!(
        back.location().as_str().split('?').next().unwrap(),
        app.url(PREVIEW, "/auth/callback")
    );
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.location().as_str(), app.url(PREVIEW, "/"));
    assert!(done.sets("__session"));
}

#[tokio::test]
async fn a_static_base_url_ignores_the_host() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    let login = b
        .get_with(
            &app.url("/auth/login"),
            &[
                ("x-forwarded-host", "evil.example"),
                ("host", "evil.example"),
            ],
        )
        .await;
    assert_eq!(login.status, 302, "{login:?}");
    assert_eq!(
        query(login.location(), "redirect_uri").unwrap(),
        app.url("/auth/callback"),
        "the static base URL wins, whatever the request says"
    );
}

#[tokio::test]
async fn connecting_an_account_comes_back_to_the_hosts_own_callback() {
    let app = start(|c| c.enable_connect_account_endpoint(true)).await;
    let mut b = app.browser();
    let back = until_callback(&mut b, &app.url(HOST_B, "/auth/login?returnTo=%2F")).await;
    assert_eq!(b.get(back.location().as_str()).await.status, 302);

    let connect = b
        .get(&app.url(
            HOST_B,
            "/auth/connect?connection=github&returnTo=%2Fprofile",
        ))
        .await;
    assert_eq!(connect.status, 302, "{connect:?}");
    let ticket = query(connect.location(), "ticket").unwrap();
    let consent = app
        .tenant
        .base_url()
        .join("/connected-accounts/connect")
        .unwrap();
    // A browser sees the consent page before it answers it (the tenant binds the ticket to it).
    let shown = b
        .get(&format!("{}?ticket={ticket}", consent.as_str()))
        .await;
    assert_eq!(shown.status, 200, "{shown:?}");
    let allowed = b
        .post_form(
            consent.as_str(),
            &[("ticket", &ticket), ("decision", "allow")],
        )
        .await;
    assert_eq!(
        allowed.location().as_str().split('?').next().unwrap(),
        app.url(HOST_B, "/auth/callback"),
        "the provider sends the user back to the host the flow started on"
    );
    let done = b.get(allowed.location().as_str()).await;
    assert_eq!(done.status, 302, "{done:?}");
    assert_eq!(done.location().as_str(), app.url(HOST_B, "/profile"));

    // From a host not on the list, no flow starts.
    let evil = b
        .get(&app.url(EVIL, "/auth/connect?connection=github"))
        .await;
    assert_eq!(evil.status, 400, "{evil:?}");
    assert!(evil.location.is_none());
}

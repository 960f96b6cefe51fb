//! Shared by the core's integration tests: a local tenant, a Tollgate client for it, and a login
//! driven over HTTP up to the callback, so each test can inspect the typed outcome.

pub(crate) mod fake_op;
pub(crate) mod hostile_op;

use tollgate::{ConfigBuilder, CookieJar, LoginOptions, Tollgate};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};
use url::Url;

pub(crate) const APP: &str = "http://127.0.0.1:3999";
pub(crate) const CLIENT_ID: &str = "core-client";
pub(crate) const CLIENT_SECRET: &str = "core-client-secret";
pub(crate) const SECRET: &str = "core-test-secret-core-test-secret-0123456";
pub(crate) const ALICE: (&str, &str) = ("alice@example.com", "alice-password-1");

pub(crate) async fn tenant() -> RunningTenant {
    Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new(CLIENT_ID, CLIENT_SECRET)
                    .with_callback(format!("{APP}/auth/callback"))
                    .with_logout_url(format!("{APP}/")),
            )
            .with_user(
                UserConfig::new(ALICE.0, ALICE.1)
                    .with_name("Alice Example")
                    .with_totp_secret("JBSWY3DPEHPK3PXP"),
            ),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

pub(crate) fn client(
    tenant: &RunningTenant,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Tollgate {
    let b =
        tollgate_testkit::local_config(tenant.issuer(), (CLIENT_ID, CLIENT_SECRET), SECRET, APP);
    Tollgate::new(tweak(b).build().unwrap())
}

/// The tenant's browser side: its own cookie store (the SSO cookie), redirects off.
pub(crate) fn tenant_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Starts a login with `opts` and walks the tenant's pages; returns the callback query string and
/// the cookie jar the browser would send to the callback (the transaction cookie).
pub(crate) async fn login_to_callback(
    auth: &Tollgate,
    browser: &reqwest::Client,
    opts: LoginOptions,
) -> (String, CookieJar) {
    login_to_callback_as(auth, browser, opts, ALICE).await
}

/// [`login_to_callback`] as `user` (email, password).
pub(crate) async fn login_to_callback_as(
    auth: &Tollgate,
    browser: &reqwest::Client,
    opts: LoginOptions,
    user: (&str, &str),
) -> (String, CookieJar) {
    let login = auth
        .start_login(&tollgate::RequestOrigin::default(), opts)
        .await
        .unwrap();
    let jar = hostile_op::jar_after(&login.cookies);
    let mut resp = browser.get(login.url.as_str()).send().await.unwrap();
    let mut location = Url::parse(login.url.as_str())
        .unwrap()
        .join(resp.headers()["location"].to_str().unwrap())
        .unwrap();
    if location.path() == "/u/login" {
        let state = location
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        resp = browser
            .post(location.as_str())
            .form(&[
                ("state", state.as_str()),
                ("username", user.0),
                ("password", user.1),
            ])
            .send()
            .await
            .unwrap();
        location = location
            .join(resp.headers()["location"].to_str().unwrap())
            .unwrap();
    }
    assert_eq!(location.path(), "/auth/callback", "{location}");
    (location.query().unwrap_or("").to_owned(), jar)
}

/// A whole login as alice (password only), finished by `auth`'s callback: the new session.
pub(crate) async fn signed_in(auth: &Tollgate) -> tollgate::SessionData {
    let browser = tenant_browser();
    let (query, jar) = login_to_callback(auth, &browser, LoginOptions::new()).await;
    auth.handle_callback(&callback_request(&query, jar.clone()))
        .await
        .result
        .expect("the login succeeds")
        .session
}

/// Like [`login_to_callback`], answering the tenant's password and MFA pages (alice's TOTP code).
pub(crate) async fn login_to_callback_mfa(
    auth: &Tollgate,
    tenant: &RunningTenant,
    browser: &reqwest::Client,
    opts: LoginOptions,
) -> (String, CookieJar) {
    let login = auth
        .start_login(&tollgate::RequestOrigin::default(), opts)
        .await
        .unwrap();
    let jar = hostile_op::jar_after(&login.cookies);
    let mut location = login.url.clone();
    for _ in 0..10 {
        let state = location
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let resp = match location.path() {
            "/auth/callback" => return (location.query().unwrap_or("").to_owned(), jar),
            "/u/login" => browser
                .post(location.as_str())
                .form(&[
                    ("state", state.as_str()),
                    ("username", ALICE.0),
                    ("password", ALICE.1),
                ])
                .send()
                .await
                .unwrap(),
            "/u/mfa" => {
                // A TOTP code is usable once: when this step's code was spent, use the next step's
                // (the tenant accepts one step of drift).
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let mut answer = None;
                for at in [now, now + 30] {
                    let code = tenant.totp_code_at(ALICE.0, at).unwrap();
                    let r = browser
                        .post(location.as_str())
                        .form(&[
                            ("state", state.as_str()),
                            ("method", "otp"),
                            ("code", code.as_str()),
                        ])
                        .send()
                        .await
                        .unwrap();
                    if r.status().is_redirection() {
                        answer = Some(r);
                        break;
                    }
                }
                answer.expect("the tenant accepted a TOTP code")
            }
            _ => browser.get(location.as_str()).send().await.unwrap(),
        };
        let next = resp
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect from {location}"));
        location = location.join(next.to_str().unwrap()).unwrap();
    }
    panic!("the login did not reach the callback");
}

/// The callback request a browser makes: the redirect's query and the cookies it holds.
pub(crate) fn callback_request(query: impl Into<String>, jar: CookieJar) -> tollgate::AuthRequest {
    tollgate::AuthRequest::new()
        .with_query(query)
        .with_cookies(jar)
}

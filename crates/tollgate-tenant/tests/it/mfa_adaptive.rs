//! Login MFA policies beyond "always": a browser remembered for N days after MFA, and an adaptive
//! rule that asks only new devices or addresses. Driven over HTTP like a browser.

use crate::common;
use crate::common::{
    EMAIL, PASSWORD, authorize, authorize_params, location, query, submit_login, url,
};
use reqwest::Client;
use reqwest::header::{HeaderMap, HeaderValue};
use tollgate_tenant::{GrantKind, MfaPolicy, RunningTenant};

/// A browser with its own cookie jar, coming from `ip`.
fn browser_from(ip: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Where a password login (always asked: `prompt=login`) leads: `"callback"` or `"mfa"`.
async fn password_login(http: &Client, tenant: &RunningTenant) -> (&'static str, reqwest::Url) {
    let response = authorize(http, tenant, &authorize_params(&[("prompt", "login")])).await;
    let login = location(&response);
    assert_eq!(login.path(), "/u/login");
    let state = query(&login)["state"].clone();
    let after = location(&submit_login(http, tenant, &state, EMAIL, PASSWORD).await);
    match after.path() {
        "/u/mfa" => ("mfa", after),
        _ if after.as_str().starts_with(common::CALLBACK) => ("callback", after),
        other => panic!("unexpected step {other}"),
    }
}

/// Answers the MFA page with alice's current TOTP code; asserts the login completes.
async fn pass_mfa(http: &Client, tenant: &RunningTenant, mfa: &reqwest::Url, at: u64) {
    let state = query(mfa)["state"].clone();
    let code = tenant.totp_code_at(EMAIL, at).unwrap();
    let response = http
        .post(url(tenant, "u/mfa"))
        .form(&[
            ("state", state.as_str()),
            ("method", "otp"),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let next = location(&response);
    assert!(next.as_str().starts_with(common::CALLBACK), "{next}");
}

fn login_policy() -> MfaPolicy {
    MfaPolicy::new().on_grants([GrantKind::Login])
}

#[tokio::test]
async fn a_remembered_browser_skips_login_mfa_for_the_policys_days() {
    let tenant = common::start_with(
        common::config().with_mfa_policy(login_policy().remember_browser_days(30)),
    )
    .await;
    let now = common::now();
    let browser = browser_from("203.0.113.7");
    let (step, mfa) = password_login(&browser, &tenant).await;
    assert_eq!(step, "mfa", "the first login asks");
    pass_mfa(&browser, &tenant, &mfa, now).await;

    // A new password login in this browser: remembered, no MFA.
    assert_eq!(password_login(&browser, &tenant).await.0, "callback");
    // Another browser is not remembered.
    let other = browser_from("203.0.113.7");
    assert_eq!(password_login(&other, &tenant).await.0, "mfa");

    // The policy's days are the cookie's lifetime.
    let response = authorize(&other, &tenant, &authorize_params(&[("prompt", "login")])).await;
    let state = query(&location(&response))["state"].clone();
    let mfa = location(&submit_login(&other, &tenant, &state, EMAIL, PASSWORD).await);
    let state = query(&mfa)["state"].clone();
    let code = tenant.totp_code_at(EMAIL, now + 30).unwrap();
    let done = other
        .post(url(&tenant, "u/mfa"))
        .form(&[
            ("state", state.as_str()),
            ("method", "otp"),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let remember = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tollgate_mfa_remember="))
        .expect("the browser is remembered after MFA");
    assert!(
        remember.contains(&format!("Max-Age={}", 30 * 86_400)),
        "{remember}"
    );
    assert!(remember.contains("HttpOnly"));
}

#[tokio::test]
async fn the_adaptive_rule_asks_new_devices_and_new_addresses_only() {
    let tenant =
        common::start_with(common::config().with_mfa_policy(login_policy().new_devices_only(true)))
            .await;
    let now = common::now();
    let home = browser_from("198.51.100.1");
    let (step, mfa) = password_login(&home, &tenant).await;
    assert_eq!(step, "mfa", "a first device is new");
    pass_mfa(&home, &tenant, &mfa, now).await;
    assert_eq!(
        password_login(&home, &tenant).await.0,
        "callback",
        "known device and address"
    );

    // The same user on a new device asks again.
    let laptop = browser_from("198.51.100.1");
    let (step, mfa) = password_login(&laptop, &tenant).await;
    assert_eq!(step, "mfa");
    pass_mfa(&laptop, &tenant, &mfa, now + 30).await;
    assert_eq!(password_login(&laptop, &tenant).await.0, "callback");

    // A known device from a new address asks too. The device cookie goes into a new jar by
    // hand (a default Cookie header would hide the jar's login-transaction cookie).
    let device = tenant_device_cookie(&home, &tenant).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&device, &tenant.base_url());
    let travelling = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar)
        .default_headers({
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_static("192.0.2.99"));
            h
        })
        .build()
        .unwrap();
    assert_eq!(password_login(&travelling, &tenant).await.0, "mfa");
}

/// `tollgate_did=<id>` as the tenant set it in `http`'s jar.
async fn tenant_device_cookie(http: &Client, tenant: &RunningTenant) -> String {
    // reqwest's jar cannot be read: log in once more and take the device cookie the tenant
    // sets again on completion.
    let response = authorize(http, tenant, &authorize_params(&[("prompt", "login")])).await;
    let state = query(&location(&response))["state"].clone();
    let done = submit_login(http, tenant, &state, EMAIL, PASSWORD).await;
    done.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("tollgate_did="))
        .expect("the login sets the device cookie")
}

//! A restart of the demo on the same state directory and ports: a session from before still
//! shows the profile, refreshes for the payments API, steps up and logs out cleanly.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::{Client, log_in, param};
use crate::support::totp::FreshCodes;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;
use tollgate_demo::{ALICE, DemoError, DemoOptions, RunningDemo};
use url::Url;

/// A directory of its own for one test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self(std::env::temp_dir().join(format!(
            "tollgate-demo-state-{name}-{}-{nanos}",
            std::process::id()
        )))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(options: DemoOptions) -> RunningDemo {
    tollgate_demo::start(options)
        .await
        .expect("the demo starts")
}

/// A client with the same cookies and no pooled connection to the stopped servers.
fn same_browser(client: &Client) -> Client {
    let mut fresh = Client::new();
    fresh.cookies.clone_from(&client.cookies);
    fresh
}

/// Passes the tenant's MFA page of a login that `path` started (the SSO session skips the
/// password) with a fresh TOTP code; returns where the redirects end.
async fn pass_mfa_page(
    client: &mut Client,
    demo: &RunningDemo,
    codes: &mut FreshCodes,
    path: &str,
) -> (String, crate::http::Answer) {
    let (mfa_url, page) = client.follow(&demo.url(path)).await;
    assert!(
        mfa_url.starts_with(&format!("{}u/mfa?", demo.issuer())),
        "the MFA page, no password page: {mfa_url} {}",
        page.body
    );
    let state = param(&Url::parse(&mfa_url).unwrap(), "state").unwrap();
    let tenant = demo.tenant().unwrap();
    let code = codes.next(|t| tenant.totp_code_at(ALICE.email, t).unwrap());
    let accepted = client
        .post(
            &mfa_url,
            &[("state", &state), ("method", "otp"), ("code", &code)],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::FOUND, "{}", accepted.body);
    client.follow(accepted.location().as_str()).await
}

#[tokio::test]
async fn sessions_survive_a_restart_refresh_step_up_and_log_out() {
    let dir = TempDir::new("restart");
    let demo = start(DemoOptions::ephemeral().with_state_dir(Some(dir.path()))).await;
    assert_eq!(demo.state_dir(), Some(dir.path()));
    assert!(
        demo.banner().contains(&format!(
            "State: the local tenant keeps its keys, SSO sessions and refresh tokens in {}",
            dir.path().display()
        )),
        "{}",
        demo.banner()
    );
    let app_addr = demo.local_addr().to_string();
    let tenant_addr = demo.tenant().unwrap().local_addr().to_string();
    let mut codes = FreshCodes::default();

    // Two browsers of Alice: one stepped up for Billing on the tenant's MFA page, one signed in
    // with the password only.
    let mut stepped = Client::new();
    log_in(&mut stepped, &demo, ALICE, "/auth/login").await;
    let (url, billing) = pass_mfa_page(&mut stepped, &demo, &mut codes, "/billing").await;
    assert_eq!(url, demo.url("/billing"));
    assert_eq!(billing.status, StatusCode::OK);
    let mut plain = Client::new();
    let (url, _) = log_in(&mut plain, &demo, ALICE, "/profile").await;
    assert_eq!(url, demo.url("/profile"));
    demo.shutdown().await;

    let demo = start(
        DemoOptions::ephemeral()
            .with_app_addr(&app_addr)
            .with_tenant_addr(&tenant_addr)
            .with_state_dir(Some(dir.path())),
    )
    .await;
    let tenant = demo.tenant().unwrap();
    let (mut stepped, mut plain) = (same_browser(&stepped), same_browser(&plain));

    // The stepped-up session: profile and billing at once, and the payments API through a
    // refresh of the token issued before the restart.
    let profile = stepped.get(&demo.url("/profile")).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert!(profile.body.contains(ALICE.email), "{}", profile.body);
    assert_eq!(
        stepped.get(&demo.url("/billing")).await.status,
        StatusCode::OK,
        "the step-up of the session is kept"
    );
    let paid = stepped.get_json(&demo.url("/api/payments")).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    assert_eq!(
        tenant.events_of_type("sertft").len(),
        1,
        "one refresh, with the token from before the restart"
    );

    // The password-only session: the refresh for the payments API is answered by the tenant's
    // MFA policy (not 401 failed_to_refresh_token), and a code steps it up.
    assert_eq!(
        plain.get(&demo.url("/profile")).await.status,
        StatusCode::OK
    );
    let required = plain.get_json(&demo.url("/api/payments")).await;
    assert_eq!(required.status, StatusCode::FORBIDDEN, "{}", required.body);
    assert_eq!(
        required.json()["error"],
        "mfa_required",
        "{}",
        required.body
    );
    let mfa_token = required.json()["mfa_token"].as_str().unwrap().to_owned();
    let code = codes.next(|t| tenant.totp_code_at(ALICE.email, t).unwrap());
    let verify_url = demo.url("/auth/mfa/verify");
    let request = plain
        .http
        .post(&verify_url)
        .header(CONTENT_TYPE, "application/json")
        .bearer_auth(&mfa_token)
        .body(json!({ "otp": code }).to_string());
    // The new token goes into the session cookie this answer sets.
    let verified = plain
        .send_accepting(request, &verify_url, "application/json")
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let paid = plain.get_json(&demo.url("/api/payments")).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);

    // Logout goes through the tenant and ends on the app's home page, not a 400.
    let origin = demo.url("");
    let request = stepped
        .http
        .post(demo.url("/auth/logout"))
        .header("origin", origin.trim_end_matches('/'));
    let posted = stepped.send(request, &demo.url("/auth/logout")).await;
    assert_eq!(posted.status, StatusCode::FOUND, "{}", posted.body);
    let (url, home) = stepped.follow(posted.location().as_str()).await;
    assert_eq!(url, demo.url("/"), "{}", home.body);
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Log in"));
    let (page_url, _) = stepped.follow(&demo.url("/profile")).await;
    assert!(
        page_url.starts_with(&format!("{}u/login", demo.issuer())),
        "both sessions ended: {page_url}"
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn without_a_state_directory_the_banner_says_state_is_in_memory() {
    let demo = start(DemoOptions::ephemeral()).await;
    assert_eq!(demo.state_dir(), None);
    assert!(
        demo.banner().contains(
            "State: the local tenant's keys, SSO sessions and refresh tokens are in memory only"
        ),
        "{}",
        demo.banner()
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn an_unusable_state_directory_stops_the_demo_with_the_variable_named() {
    let dir = TempDir::new("unusable");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let error = tollgate_demo::start(
        DemoOptions::from_vars([("TOLLGATE_DEMO_STATE_DIR", file.display().to_string())])
            .with_app_addr("127.0.0.1:0")
            .with_tenant_addr("127.0.0.1:0"),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, DemoError::TenantState(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("TOLLGATE_DEMO_STATE_DIR"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
}

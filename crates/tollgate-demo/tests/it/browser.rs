//! The demo in real headless Chromium: log in on the tenant's page, see the profile, log out,
//! and be asked for the password again.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh` installs them); fails
//! without them unless `TOLLGATE_SKIP_BROWSER=1`. On failure a screenshot and the page source
//! are saved in `target/browser-artifacts/`.

use crate::support::{Browser, Step, artifacts_dir};
use tollgate_demo::{ALICE, DemoOptions, RunningDemo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_see_the_profile_and_log_out() {
    const TEST: &str = "log_in_see_the_profile_and_log_out";
    let Some(browser) = Browser::launch(TEST).await else {
        return;
    };
    let demo = tollgate_demo::start(DemoOptions::ephemeral())
        .await
        .expect("the demo starts on free ports");

    if let Err(failure) = login_and_logout(&browser, &demo).await {
        let saved = browser.save_artifacts(&artifacts_dir(), TEST).await;
        panic!("{failure}\nSaved for inspection: {saved}");
    }
    browser.close().await;
    demo.shutdown().await;
}

async fn login_and_logout(browser: &Browser, demo: &RunningDemo) -> Step {
    let home = demo.url("/");
    let profile = demo.url("/profile");
    let tenant = demo.issuer().as_str();
    let login_page = format!("{tenant}u/login");

    // Signed out, the home page offers the login.
    browser.goto(&home).await?;
    let text = browser.body_text().await?;
    ensure!(
        text.contains("Log in"),
        "home page without a session shows no \"Log in\":\n{text}"
    );
    browser.find("a[href=\"/auth/login\"]").await?;

    // The profile needs a login: the browser lands on the tenant's login page.
    browser.goto(&profile).await?;
    browser
        .wait_until("the tenant's login page", |url, _| {
            url.starts_with(&login_page)
        })
        .await?;
    let username = browser.find("input[autocomplete=\"username\"]").await?;
    browser.send_keys(&username, ALICE.email).await?;
    let password = browser
        .find("input[autocomplete=\"current-password\"]")
        .await?;
    browser.send_keys(&password, ALICE.password).await?;
    browser
        .click(&browser.find("button[type=\"submit\"]").await?)
        .await?;

    // Back on the profile, which shows who logged in.
    browser
        .wait_until("the profile page after login", |url, text| {
            url == profile && text.contains("Your profile")
        })
        .await?;
    let text = browser.body_text().await?;
    ensure!(
        text.contains("Alice"),
        "the profile does not show Alice's name:\n{text}"
    );
    ensure!(
        text.contains(ALICE.email),
        "the profile does not show Alice's email:\n{text}"
    );

    // The home page greets her and offers the logout.
    browser.goto(&home).await?;
    let text = browser.body_text().await?;
    ensure!(
        text.contains(ALICE.name),
        "home page does not show {:?}:\n{text}",
        ALICE.name
    );
    ensure!(
        !text.contains("Log in"),
        "home page still offers \"Log in\":\n{text}"
    );

    // Logging out ends the app's session and the tenant's, then returns home.
    browser
        .click(&browser.find("form[action=\"/auth/logout\"] button").await?)
        .await?;
    browser
        .wait_until("the home page after logout", |url, text| {
            url == home && text.contains("Log in")
        })
        .await?;

    // The tenant no longer remembers her: the profile asks for the password again.
    browser.goto(&profile).await?;
    browser
        .wait_until("the tenant's login page after logout", |url, _| {
            url.starts_with(&login_page)
        })
        .await?;
    browser
        .find("input[autocomplete=\"current-password\"]")
        .await?;
    Ok(())
}

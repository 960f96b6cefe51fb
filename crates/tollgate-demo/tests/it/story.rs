//! Seed 001 in real headless Chromium: MFA only where it is needed, once per session.
//!
//! - Alice signs in with her password, browses freely, is asked for a one-time code when she
//!   opens Billing (a cancelled try offers "Try again", a wrong code is refused), gets in with
//!   the right code, is not asked again in that session, and is asked again after logging out
//!   and in.
//! - Bob, who has no second factor, is told by Payments to set one up, does so on the tenant's
//!   enrollment page on the way to Billing (the test computes the code from the secret the page
//!   shows), lands on Billing, and then sees the payments without another code.
//! - On Connections, Alice links her Google account through the provider's consent page and
//!   unlinks it again; the page reads everything through the `/me` proxy.
//! - On Payments, the API answers `mfa_required`; the page asks for the code itself, shows a
//!   wrong code's error and renders the payments once the right code is accepted.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh` installs them); fails
//! without them unless `TOLLGATE_SKIP_BROWSER=1`. On failure a screenshot and the page source
//! are saved in `target/browser-artifacts/`.

use crate::support::totp::{self, FreshCodes};
use crate::support::{Browser, Step, artifacts_dir};
use tollgate_demo::{ALICE, BOB, DemoLogin, DemoOptions, RunningDemo};

/// Starts a browser and the demo, runs `scenario`, and on failure saves a screenshot and the
/// page source before panicking.
async fn run(test: &str, scenario: impl AsyncFnOnce(&Browser, &RunningDemo) -> Step) {
    let Some(browser) = Browser::launch(test).await else {
        return;
    };
    let demo = tollgate_demo::start(DemoOptions::ephemeral())
        .await
        .expect("the demo starts on free ports");
    if let Err(failure) = scenario(&browser, &demo).await {
        let saved = browser.save_artifacts(&artifacts_dir(), test).await;
        panic!("{failure}\nSaved for inspection: {saved}");
    }
    browser.close().await;
    demo.shutdown().await;
}

/// What the tenant's challenge page says.
const VERIFY: &str = "Verify your identity";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_is_asked_for_a_code_at_billing_once_per_session() {
    run(
        "alice_is_asked_for_a_code_at_billing_once_per_session",
        alice_story,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_sets_up_an_authenticator_app_on_the_way_to_billing() {
    run(
        "bob_sets_up_an_authenticator_app_on_the_way_to_billing",
        bob_enrolls,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_ask_for_a_code_on_the_page_and_then_show_the_table() {
    run(
        "payments_ask_for_a_code_on_the_page_and_then_show_the_table",
        payments_flow,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_links_her_google_account_and_unlinks_it() {
    run(
        "alice_links_her_google_account_and_unlinks_it",
        connections_flow,
    )
    .await;
}

/// The tests' own TOTP generator agrees with RFC 6238 and with the tenant.
#[tokio::test]
async fn the_tests_totp_codes_match_rfc_6238_and_the_tenant() {
    // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last six digits.
    let rfc = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(totp::code_at(rfc, 59), "287082");
    assert_eq!(totp::code_at(rfc, 1_111_111_109), "081804");
    assert_eq!(totp::code_at(rfc, 1_234_567_890), "005924");
    assert_eq!(totp::code_at(rfc, 2_000_000_000), "279037");
    assert_eq!(
        totp::base32_decode("jbsw y3dp"),
        totp::base32_decode("JBSWY3DP")
    );
    assert_eq!(totp::base32_decode("JBSWY3D!"), None);

    let demo = tollgate_demo::start(DemoOptions::ephemeral())
        .await
        .unwrap();
    let tenant = demo.tenant().unwrap();
    for t in [59, 1_700_000_000, totp::now()] {
        assert_eq!(
            tenant.totp_code_at(ALICE.email, t).as_deref(),
            Some(totp::code_at("JBSWY3DPEHPK3PXP", t).as_str())
        );
    }
    demo.shutdown().await;
}

/// Signs in as `who` from the home page's "Log in" link; ends back on the home page.
async fn log_in_from_home(browser: &Browser, demo: &RunningDemo, who: DemoLogin) -> Step {
    let home = demo.url("/");
    let login_page = format!("{}u/login", demo.issuer());
    browser.goto(&home).await?;
    browser
        .click(&browser.find("main a[href=\"/auth/login\"]").await?)
        .await?;
    browser
        .wait_until("the tenant's login page", |url, _| {
            url.starts_with(&login_page)
        })
        .await?;
    let username = browser.find("input[autocomplete=\"username\"]").await?;
    browser.send_keys(&username, who.email).await?;
    let password = browser
        .find("input[autocomplete=\"current-password\"]")
        .await?;
    browser.send_keys(&password, who.password).await?;
    browser
        .click(&browser.find("button[type=\"submit\"]").await?)
        .await?;
    // The password alone signs in: no code is asked at login.
    browser
        .wait_until("the home page after the password", |url, text| {
            url == home && text.contains(who.name)
        })
        .await?;
    Ok(())
}

/// Waits for the tenant's challenge page and checks that it asks for a code, not a password.
async fn wait_for_challenge(browser: &Browser, demo: &RunningDemo, what: &str) -> Step {
    let mfa_page = format!("{}u/mfa?", demo.issuer());
    browser
        .wait_until(what, |url, text| {
            url.starts_with(&mfa_page) && text.contains(VERIFY)
        })
        .await?;
    let code = browser.find("input#code").await?;
    ensure!(
        browser.attribute(&code, "autocomplete").await?.as_deref() == Some("one-time-code"),
        "the code input is not marked autocomplete=one-time-code"
    );
    let text = browser.body_text().await?;
    ensure!(
        !text.contains("Password"),
        "the step-up asked for the password again:\n{text}"
    );
    Ok(())
}

/// Types `code` into the tenant's code input and selects Continue.
async fn enter_code(browser: &Browser, code: &str) -> Step {
    let input = browser.find("input#code").await?;
    browser.send_keys(&input, code).await?;
    browser
        .click(&browser.find("button[type=\"submit\"]").await?)
        .await?;
    Ok(())
}

/// Waits for the billing page of `who`.
async fn wait_for_billing(browser: &Browser, demo: &RunningDemo, who: DemoLogin) -> Step {
    let billing = demo.url("/billing");
    browser
        .wait_until("the billing page", |url, text| {
            url == billing && text.contains("Billing") && text.contains("INV-2024-0041")
        })
        .await?;
    let text = browser.body_text().await?;
    ensure!(
        text.contains(&format!("Invoices of {}", who.name)),
        "billing does not name {}:\n{text}",
        who.name
    );
    Ok(())
}

async fn alice_story(browser: &Browser, demo: &RunningDemo) -> Step {
    let tenant = demo.tenant().ok_or("the demo runs its tenant")?;
    let alice_code = |t: u64| tenant.totp_code_at(ALICE.email, t).unwrap_or_default();
    let mut codes = FreshCodes::default();
    let home = demo.url("/");
    let profile = demo.url("/profile");
    let billing = demo.url("/billing");

    // 1. Alice logs in with her password only.
    log_in_from_home(browser, demo, ALICE).await?;

    // 2. She browses freely: no code asked.
    browser.goto(&profile).await?;
    browser
        .wait_until("the profile without a code", |url, text| {
            url == profile && text.contains("Your profile")
        })
        .await?;
    browser.goto(&home).await?;
    ensure!(
        browser.current_url().await? == home,
        "the home page redirected"
    );

    // 3. Billing sends her to the tenant's challenge, without the password.
    browser
        .click(&browser.find("main a[href=\"/billing\"]").await?)
        .await?;
    wait_for_challenge(browser, demo, "the challenge when opening Billing").await?;

    // She cancels: Tollgate says nothing was unlocked and offers to try again, which repeats
    // the step-up (still no password).
    browser
        .click(&browser.find("a[href^=\"/u/mfa/cancel\"]").await?)
        .await?;
    browser
        .wait_until("Tollgate's page after a cancelled step-up", |url, text| {
            url.starts_with(&demo.url("/auth/callback"))
                && text.contains("Verification needed")
                && text.contains("Nothing was unlocked")
                && text.contains("Try again")
        })
        .await?;
    browser
        .click(&browser.find("main a[href*=\"acr_values=\"]").await?)
        .await?;
    wait_for_challenge(browser, demo, "the challenge after \"Try again\"").await?;

    // 3.2 A wrong code is refused with an alert, and she may try again on the same page.
    enter_code(browser, &totp::wrong_code(alice_code)).await?;
    browser
        .wait_until("the wrong-code alert", |_, text| {
            text.contains("The code is not valid. Try again.")
        })
        .await?;
    let alert = browser.find("#code-error").await?;
    ensure!(
        browser.attribute(&alert, "role").await?.as_deref() == Some("alert"),
        "the error is not announced as an alert"
    );

    // 3.1 The right code: she lands on Billing.
    enter_code(browser, &codes.next(alice_code)).await?;
    wait_for_billing(browser, demo, ALICE).await?;

    // 4-5. She browses on and comes back: Billing opens without a prompt.
    browser.goto(&profile).await?;
    browser.goto(&home).await?;
    browser.goto(&billing).await?;
    ensure!(
        browser.current_url().await? == billing,
        "the second visit to Billing left the page: {}",
        browser.current_url().await?
    );
    wait_for_billing(browser, demo, ALICE).await?;

    // 6. She logs out; Billing is closed to her.
    browser
        .click(
            &browser
                .find("main form[action=\"/auth/logout\"] button")
                .await?,
        )
        .await?;
    browser
        .wait_until("the home page after logout", |url, text| {
            url == home && text.contains("Log in")
        })
        .await?;
    browser.goto(&billing).await?;
    browser
        .wait_until("the password page: Billing needs a login", |url, _| {
            url.starts_with(&format!("{}u/login", demo.issuer()))
        })
        .await?;

    // A new session: password, then Billing asks for a code again.
    log_in_from_home(browser, demo, ALICE).await?;
    browser.goto(&billing).await?;
    wait_for_challenge(browser, demo, "the challenge in the new session").await?;
    enter_code(browser, &codes.next(alice_code)).await?;
    wait_for_billing(browser, demo, ALICE).await?;
    Ok(())
}

async fn bob_enrolls(browser: &Browser, demo: &RunningDemo) -> Step {
    let enroll_page = format!("{}u/mfa-enroll", demo.issuer());
    log_in_from_home(browser, demo, BOB).await?;

    // Without a factor, Payments cannot ask for a code: it says where to set one up.
    browser.goto(&demo.url("/payments")).await?;
    browser
        .wait_until(
            "the payments page's advice to set up a factor",
            |_, text| text.contains("you have not set one up yet"),
        )
        .await?;
    browser
        .click(&browser.find("#payments-error a[href=\"/billing\"]").await?)
        .await?;
    browser
        .wait_until("the tenant's enrollment page", |url, text| {
            url.starts_with(&enroll_page) && text.contains("Secure your account")
        })
        .await?;
    browser
        .find("svg[role=\"img\"][aria-label=\"QR code for setting up your authenticator app\"]")
        .await?;
    let secret = browser.text(&browser.find("#totp-secret").await?).await?;
    let secret = secret.trim();
    ensure!(
        totp::base32_decode(secret).is_some_and(|key| key.len() >= 10),
        "the page's secret {secret:?} is not a Base32 key"
    );

    // The code from an authenticator app that was given the secret shown as text.
    enter_code(browser, &totp::code_at(secret, totp::now())).await?;
    browser
        .wait_until("the recovery code page", |_, text| {
            text.contains("Save your recovery code")
        })
        .await?;
    let recovery = browser.text(&browser.find("#recovery-code").await?).await?;
    ensure!(
        recovery.trim().len() >= 16,
        "no recovery code shown: {recovery:?}"
    );
    browser
        .click(&browser.find("button[type=\"submit\"]").await?)
        .await?;
    wait_for_billing(browser, demo, BOB).await?;

    // Enrolled and verified: Billing stays open in this session.
    browser.goto(&demo.url("/profile")).await?;
    browser.goto(&demo.url("/billing")).await?;
    wait_for_billing(browser, demo, BOB).await?;

    // The session's login included the second factor, so the payments API asks nothing.
    browser.goto(&demo.url("/payments")).await?;
    browser
        .wait_until("the payments table without a code", |_, text| {
            text.contains("Recent payments") && text.contains("Northwind Hosting")
        })
        .await?;
    Ok(())
}

async fn payments_flow(browser: &Browser, demo: &RunningDemo) -> Step {
    let tenant = demo.tenant().ok_or("the demo runs its tenant")?;
    let alice_code = |t: u64| tenant.totp_code_at(ALICE.email, t).unwrap_or_default();
    let mut codes = FreshCodes::default();
    let payments = demo.url("/payments");
    const ASKED: &str = "Enter the 6-digit code from your authenticator app.";

    log_in_from_home(browser, demo, ALICE).await?;
    browser
        .click(&browser.find("main a[href=\"/payments\"]").await?)
        .await?;

    // The API answered 403 mfa_required: the page shows its code form.
    browser
        .wait_until("the payments page's code form", |url, text| {
            url == payments && text.contains(ASKED)
        })
        .await?;
    let input = browser.find("#payments-code").await?;
    ensure!(
        browser.attribute(&input, "autocomplete").await?.as_deref() == Some("one-time-code"),
        "the code input is not marked autocomplete=one-time-code"
    );
    let label = browser
        .text(&browser.find("label[for=\"payments-code\"]").await?)
        .await?;
    ensure!(
        label == "One-time code",
        "the input's label reads {label:?}"
    );
    let verify = browser.find("#payments-verify").await?;

    // A wrong code: the alert says so, and the form stays for another try.
    browser
        .send_keys(&input, &totp::wrong_code(alice_code))
        .await?;
    browser.click(&verify).await?;
    browser
        .wait_until("the wrong-code alert", |_, text| {
            text.contains("The code is not valid. Try again.")
        })
        .await?;
    let alert = browser.find("#payments-error").await?;
    ensure!(
        browser.attribute(&alert, "role").await?.as_deref() == Some("alert"),
        "the error is not in a role=alert element"
    );
    ensure!(
        browser.attribute(&input, "aria-invalid").await?.as_deref() == Some("true"),
        "the input is not marked invalid"
    );
    ensure!(
        browser.find("#payments-table").await.is_err(),
        "payments shown after a wrong code"
    );

    // The right code: the page calls the API again and shows the payments.
    browser.send_keys(&input, &codes.next(alice_code)).await?;
    browser.click(&verify).await?;
    browser
        .wait_until("the payments table", |_, text| {
            text.contains("Recent payments") && text.contains("Northwind Hosting")
        })
        .await?;
    let table = browser
        .text(&browser.find("#payments-table").await?)
        .await?;
    for expected in [
        "pay_1001",
        "pay_1003",
        "Smith & Sons <Couriers>",
        "18.50 EUR",
    ] {
        ensure!(
            table.contains(expected),
            "the table lacks {expected:?}:\n{table}"
        );
    }
    let text = browser.body_text().await?;
    ensure!(
        text.contains("read with an access token for https://payments.example.com"),
        "the page does not name the token's audience:\n{text}"
    );
    ensure!(
        !text.contains(ASKED) && !text.contains("not valid"),
        "the form or the alert is still shown:\n{text}"
    );
    let source = browser.source().await?;
    ensure!(
        !source.contains("<couriers>"),
        "a payee's text became markup"
    );

    // The token is in the session now: a reload shows the payments without a code.
    browser.goto(&payments).await?;
    browser
        .wait_until("the payments table after a reload", |_, text| {
            text.contains("Recent payments") && text.contains("Northwind Hosting")
        })
        .await?;
    let text = browser.body_text().await?;
    ensure!(!text.contains(ASKED), "asked for a code again:\n{text}");
    Ok(())
}

async fn connections_flow(browser: &Browser, demo: &RunningDemo) -> Step {
    let connections = demo.url("/connections");
    let consent = format!("{}connected-accounts/connect", demo.issuer());
    log_in_from_home(browser, demo, ALICE).await?;
    browser
        .click(&browser.find("header a[href=\"/connections\"]").await?)
        .await?;
    // The page read the My Account API through the proxy: no links yet, Alice's TOTP app.
    browser
        .wait_until("the connections page, filled in", |url, text| {
            url == connections && text.contains("No linked accounts yet.") && text.contains("totp")
        })
        .await?;
    browser
        .click(
            &browser
                .find("a[href^=\"/auth/connect?connection=google-oauth2\"]")
                .await?,
        )
        .await?;
    browser
        .wait_until("the provider's consent page", |url, text| {
            url.starts_with(&consent) && text.contains("Connect google-oauth2")
        })
        .await?;
    browser
        .click(&browser.find("button[value=\"allow\"]").await?)
        .await?;
    browser
        .wait_until("the connections page with the new link", |url, text| {
            url == connections && text.contains("1 linked account.")
        })
        .await?;
    let linked = browser.text(&browser.find("#linked").await?).await?;
    ensure!(
        linked.contains("google-oauth2 (linked"),
        "the list does not show the Google link:\n{linked}"
    );
    browser
        .click(&browser.find("#linked button").await?)
        .await?;
    browser
        .wait_until("the list after unlinking", |_, text| {
            text.contains("No linked accounts yet.")
        })
        .await?;
    let alert = browser
        .text(&browser.find("#connections-error").await?)
        .await?;
    ensure!(alert.is_empty(), "the page shows an error: {alert}");
    Ok(())
}

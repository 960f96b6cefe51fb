//! The interactive MFA step at `/u/mfa` and `/u/mfa-enroll`: `acr_values` step-up after the
//! password and for an SSO session, wrong codes, SMS/email/push/recovery-code methods,
//! enrollment with a QR code, cancel, `prompt=none`, and the claims of the resulting ID token.

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{Client, Response, StatusCode, header};
use serde_json::{Map, Value, json};
use tollgate_tenant::{MfaPolicy, RunningTenant, UserConfig};
use url::Url;

const NUMERIC_INPUT: &str = "<input id=\"code\" name=\"code\" type=\"text\" autocomplete=\"one-time-code\" inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"6\" required";

/// `/authorize` with the multi-factor `acr_values` (plus `extra`).
fn step_up_params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![("acr_values", MFA_ACR)];
    all.extend_from_slice(extra);
    authorize_params(&all)
}

/// Password login with `acr_values`: returns the `/u/mfa` URL it redirects to.
async fn password_then_mfa(
    http: &Client,
    tenant: &RunningTenant,
    email: &str,
    password: &str,
) -> Url {
    let response = login_as(http, tenant, email, password, &[("acr_values", MFA_ACR)]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "no SSO session before the second factor"
    );
    let mfa_url = location(&response);
    assert_eq!(mfa_url.path(), "/u/mfa", "{mfa_url}");
    mfa_url
}

fn state_of(url: &Url) -> String {
    query(url)["state"].clone()
}

async fn page(http: &Client, url: Url) -> (StatusCode, String) {
    let response = http.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn submit_code(
    http: &Client,
    tenant: &RunningTenant,
    state_id: &str,
    method: &str,
    code: &str,
) -> Response {
    http.post(url(tenant, "u/mfa"))
        .query(&[("state", state_id)])
        .form(&[("state", state_id), ("method", method), ("code", code)])
        .send()
        .await
        .unwrap()
}

/// The callback's code, exchanged; returns the verified ID token claims.
async fn id_claims_after(
    http: &Client,
    tenant: &RunningTenant,
    response: &Response,
) -> Map<String, Value> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(response);
    assert!(callback.as_str().starts_with(CALLBACK), "{callback}");
    let params = query(&callback);
    assert_eq!(params["state"], "xyz-state");
    let tokens = exchange(http, tenant, &params["code"]).await;
    verify(
        http,
        tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await
}

fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!("\">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&amp;", "&"))
}

#[tokio::test]
async fn acr_values_add_a_totp_step_after_the_password() {
    let tenant = start_mfa().await;
    let http = browser();
    let before = now();
    let mfa_url = password_then_mfa(&http, &tenant, EMAIL, PASSWORD).await;
    let state_id = state_of(&mfa_url);
    let (status, html) = page(&http, mfa_url).await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "<html lang=\"en\">",
        "<title>Verify your identity</title>",
        "<main>",
        "<h1>Verify your identity</h1>",
        "<label for=\"code\">",
        NUMERIC_INPUT,
        &format!("<form method=\"post\" action=\"/u/mfa?state={state_id}\">"),
        &format!("<input type=\"hidden\" name=\"state\" value=\"{state_id}\">"),
        "<input type=\"hidden\" name=\"method\" value=\"otp\">",
        "<button type=\"submit\">Continue</button>",
        "Use a recovery code</a>",
        "Cancel</a>",
    ] {
        assert!(html.contains(needle), "MFA page lacks {needle}: {html}");
    }
    assert!(!html.contains("role=\"alert\""));
    assert!(!html.contains("Send a code by SMS"), "alice has no phone");

    // A wrong code: the page again, with an alert tied to the input.
    let good = tenant.totp_code(EMAIL).unwrap();
    let bad = if good == "000000" { "111111" } else { "000000" };
    let response = submit_code(&http, &tenant, &state_id, "otp", bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<p role=\"alert\" id=\"code-error\">The code is not valid. Try again.</p>")
    );
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"code-error\""));

    // The right code: the SSO cookie and the callback.
    let response = submit_code(&http, &tenant, &state_id, "otp", &good).await;
    assert!(
        response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("auth0=")
    );
    let claims = id_claims_after(&http, &tenant, &response).await;
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    assert_eq!(claims["acr"], MFA_ACR);
    let auth_time = claims["auth_time"].as_u64().unwrap();
    assert!(
        auth_time >= before && auth_time <= now(),
        "auth_time is the time of the MFA"
    );
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");

    // The transaction is finished.
    let (status, _) = page(&http, url(&tenant, &format!("u/mfa?state={state_id}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_sso_session_is_stepped_up_without_the_password_every_time() {
    // The tenant's clock stands still, so the codes of this step and the next stay usable.
    let (tenant, _clock) = start_on_manual_clock(mfa_config()).await;
    let http = browser();
    let first = query(&login_with(&http, &tenant, &[]).await)["code"].clone();
    let first = exchange(&http, &tenant, &first).await;
    let first = verify(
        &http,
        &tenant,
        first["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(first["amr"], json!(["pwd"]));
    assert!(!first.contains_key("acr"));

    for offset in [0, 1] {
        // acr_values: straight to /u/mfa, no password.
        let response = authorize(&http, &tenant, &step_up_params(&[])).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let mfa_url = location(&response);
        assert_eq!(mfa_url.path(), "/u/mfa");
        let code = alice_code(&tenant, offset);
        let response = submit_code(&http, &tenant, &state_of(&mfa_url), "otp", &code).await;
        let claims = id_claims_after(&http, &tenant, &response).await;
        assert_eq!(
            claims["amr"],
            json!(["mfa"]),
            "no password in this transaction"
        );
        assert_eq!(claims["acr"], MFA_ACR);
        assert_eq!(claims["sid"], first["sid"], "the same SSO session");
        assert!(claims["auth_time"].as_u64().unwrap() >= first["auth_time"].as_u64().unwrap());
    }

    // Without acr_values the session is reused silently: no amr, no acr.
    let response = authorize(&http, &tenant, &authorize_params(&[])).await;
    let claims = id_claims_after(&http, &tenant, &response).await;
    assert!(!claims.contains_key("amr"));
    assert!(!claims.contains_key("acr"));
}

#[tokio::test]
async fn prompt_none_needs_mfa_in_the_session() {
    let tenant = start_mfa().await;
    let http = browser();
    let silent = |http: &Client| {
        let http = http.clone();
        let tenant = &tenant;
        async move { authorize(&http, tenant, &step_up_params(&[("prompt", "none")])).await }
    };
    let error_of = |response: &Response| {
        assert_eq!(response.status(), StatusCode::FOUND);
        let params = query(&location(response));
        (params["error"].clone(), params["error_description"].clone())
    };
    // No session at all.
    assert_eq!(
        error_of(&silent(&http).await),
        ("login_required".to_owned(), "Login required".to_owned())
    );
    // A session without MFA.
    login_with(&http, &tenant, &[]).await;
    assert_eq!(
        error_of(&silent(&http).await),
        (
            "login_required".to_owned(),
            "Multifactor authentication required".to_owned()
        )
    );
    // After MFA, silent authentication with acr_values works and carries acr (no amr).
    let response = authorize(&http, &tenant, &step_up_params(&[])).await;
    let code = tenant.totp_code(EMAIL).unwrap();
    let response2 = submit_code(
        &http,
        &tenant,
        &state_of(&location(&response)),
        "otp",
        &code,
    )
    .await;
    id_claims_after(&http, &tenant, &response2).await;
    let response = silent(&http).await;
    let claims = id_claims_after(&http, &tenant, &response).await;
    assert_eq!(claims["acr"], MFA_ACR);
    assert!(!claims.contains_key("amr"));

    // Logout forgets the MFA along with the session.
    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    login_with(&http, &tenant, &[]).await;
    assert_eq!(
        error_of(&silent(&http).await),
        (
            "login_required".to_owned(),
            "Multifactor authentication required".to_owned()
        )
    );
}

#[tokio::test]
async fn cancel_returns_access_denied_to_the_application() {
    let tenant = start_mfa().await;
    let http = browser();
    let mfa_url = password_then_mfa(&http, &tenant, EMAIL, PASSWORD).await;
    let (_, html) = page(&http, mfa_url.clone()).await;
    let cancel = link(&html, "Cancel").expect("a Cancel link");
    let response = http.get(url(&tenant, &cancel)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(callback.as_str().starts_with(CALLBACK));
    let params = query(&callback);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(
        params["error_description"],
        "The user cancelled the multifactor challenge."
    );
    assert_eq!(params["state"], "xyz-state");
    assert!(!params.contains_key("code"));
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    // The transaction is gone.
    let (status, _) = page(&http, mfa_url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_user_without_factors_enrolls_totp_and_gets_a_recovery_code() {
    let tenant = start_mfa().await;
    let http = browser();
    let mfa_url = password_then_mfa(&http, &tenant, BOB, BOB_PASSWORD).await;
    let state_id = state_of(&mfa_url);
    let response = http.get(mfa_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let enroll_url = location(&response);
    assert_eq!(enroll_url.path(), "/u/mfa-enroll");
    let (status, html) = page(&http, enroll_url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "<title>Secure your account</title>",
        "<svg role=\"img\" aria-label=\"QR code for setting up your authenticator app\"",
        "</svg>",
        "<code id=\"totp-secret\">",
        NUMERIC_INPUT,
        &format!("<form method=\"post\" action=\"/u/mfa-enroll?state={state_id}\">"),
        "Cancel</a>",
    ] {
        assert!(
            html.contains(needle),
            "enrollment page lacks {needle}: {html}"
        );
    }
    let secret_at =
        html.find("<code id=\"totp-secret\">").unwrap() + "<code id=\"totp-secret\">".len();
    let secret = &html[secret_at..secret_at + html[secret_at..].find('<').unwrap()];
    assert_eq!(secret.len(), 32);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    // Reloading keeps the same secret.
    let (_, again) = page(&http, enroll_url).await;
    assert!(again.contains(&format!("<code id=\"totp-secret\">{secret}</code>")));

    let enroll = |code: String| {
        let http = http.clone();
        let tenant = &tenant;
        let state_id = state_id.clone();
        async move {
            http.post(url(tenant, "u/mfa-enroll"))
                .form(&[("state", state_id.as_str()), ("code", code.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let response = enroll("12345x".to_owned()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<p role=\"alert\" id=\"code-error\">The code is not valid. Try again.</p>")
    );
    assert!(html.contains(secret));

    let response = enroll(tenant.totp_code(BOB).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Save your recovery code</h1>"), "{html}");
    let code_at =
        html.find("<code id=\"recovery-code\">").unwrap() + "<code id=\"recovery-code\">".len();
    let recovery = html[code_at..code_at + 24].to_owned();
    assert!(
        recovery
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert!(html.contains(&format!(
        "<form method=\"post\" action=\"/u/mfa/complete?state={state_id}\">"
    )));
    let response = http
        .post(url(&tenant, "u/mfa/complete"))
        .form(&[("state", state_id.as_str())])
        .send()
        .await
        .unwrap();
    let claims = id_claims_after(&http, &tenant, &response).await;
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));

    // Bob is enrolled now: the refresh policy challenges him, and the recovery code works.
    let (mfa_token, _, required) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    assert_eq!(
        required["mfa_requirements"],
        json!({"challenge": [{"type": "otp"}, {"type": "recovery-code"}]})
    );
    let response = mfa_grant(
        &tenant,
        GRANT_RECOVERY,
        &[("mfa_token", &mfa_token), ("recovery_code", &recovery)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn sms_email_and_voice_codes_from_the_page() {
    let tenant = start_mfa().await;
    let http = browser();
    let mfa_url = password_then_mfa(&http, &tenant, CAROL, CAROL_PASSWORD).await;
    let state_id = state_of(&mfa_url);
    let (_, html) = page(&http, mfa_url).await;
    for text in [
        "Send a push notification",
        "Send a code by SMS",
        "Call me with a code",
        "Send a code by email",
    ] {
        assert!(link(&html, text).is_some(), "no {text} link: {html}");
    }
    assert!(
        link(&html, "Use a recovery code").is_none(),
        "carol has no recovery code"
    );

    for (text, method, to) in [
        ("Send a code by SMS", "sms", "XXXXXXXX0100"),
        ("Call me with a code", "voice", "XXXXXXXX0100"),
        ("Send a code by email", "email", CAROL),
    ] {
        let href = link(&html, text).unwrap();
        let (status, code_page) = page(&http, url(&tenant, &href)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(code_page.contains(to), "{code_page}");
        assert!(code_page.contains(NUMERIC_INPUT));
        assert!(code_page.contains(&format!(
            "<input type=\"hidden\" name=\"method\" value=\"{method}\">"
        )));
        let message = last_message(&tenant, CAROL);
        assert_eq!(message.channel, method);
        let code = message.code.unwrap();
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let response = submit_code(&http, &tenant, &state_id, method, wrong).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("The code is not valid. Try again.")
        );
        if method != "email" {
            continue;
        }
        let response = submit_code(&http, &tenant, &state_id, method, &code).await;
        let claims = id_claims_after(&http, &tenant, &response).await;
        assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    }
}

#[tokio::test]
async fn push_from_the_page_waits_for_approval() {
    let tenant = start_mfa().await;
    let http = browser();
    let mfa_url = password_then_mfa(&http, &tenant, CAROL, CAROL_PASSWORD).await;
    let state_id = state_of(&mfa_url);
    let (_, html) = page(&http, mfa_url).await;
    let push = link(&html, "Send a push notification").unwrap();

    // Denied first.
    let (status, waiting) = page(&http, url(&tenant, &push)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        waiting.contains("Approve the request on your device"),
        "{waiting}"
    );
    assert!(waiting.contains("Carol&#39;s phone"));
    assert!(waiting.contains("<input type=\"hidden\" name=\"method\" value=\"push\">"));
    assert!(waiting.contains("<button type=\"submit\">Continue</button>"));
    let message = last_message(&tenant, CAROL);
    let response = submit_code(&http, &tenant, &state_id, "push", "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("has not been approved yet")
    );
    let response = http
        .post(url(
            &tenant,
            &format!("dev/outbox/push/{}/deny", message.id),
        ))
        .header("origin", crate::common::origin(&tenant))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = submit_code(&http, &tenant, &state_id, "push", "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The request was denied.")
    );

    // Then approved.
    page(&http, url(&tenant, &push)).await;
    let message = last_message(&tenant, CAROL);
    assert!(tenant.approve_push(&message.id));
    let response = submit_code(&http, &tenant, &state_id, "push", "").await;
    let claims = id_claims_after(&http, &tenant, &response).await;
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
}

#[tokio::test]
async fn recovery_code_on_the_page_shows_the_next_one() {
    let tenant = start_mfa().await;
    let http = browser();
    let mfa_url = password_then_mfa(&http, &tenant, EMAIL, PASSWORD).await;
    let state_id = state_of(&mfa_url);
    let (_, html) = page(&http, mfa_url).await;
    let (status, form) = page(
        &http,
        url(&tenant, &link(&html, "Use a recovery code").unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("<label for=\"code\">Recovery code</label>"));
    assert!(form.contains("name=\"code\" type=\"text\" autocomplete=\"off\""));
    assert!(link(&form, "Use your authenticator app").is_some());
    let response = submit_code(
        &http,
        &tenant,
        &state_id,
        "recovery-code",
        "WRONGWRONGWRONGWRONGWRON",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = submit_code(&http, &tenant, &state_id, "recovery-code", ALICE_RECOVERY).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let at =
        html.find("<code id=\"recovery-code\">").unwrap() + "<code id=\"recovery-code\">".len();
    assert_ne!(&html[at..at + 24], ALICE_RECOVERY);
    let response = http
        .post(url(&tenant, "u/mfa/complete"))
        .form(&[("state", state_id.as_str())])
        .send()
        .await
        .unwrap();
    id_claims_after(&http, &tenant, &response).await;
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_page() {
    let tenant = start_mfa().await;
    let http = browser();
    let state_id = state_of(&password_then_mfa(&http, &tenant, EMAIL, PASSWORD).await);
    let good = tenant.totp_code(EMAIL).unwrap();
    let bad = if good == "000000" { "111111" } else { "000000" };
    for _ in 0..10 {
        let response = submit_code(&http, &tenant, &state_id, "otp", bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let response = submit_code(&http, &tenant, &state_id, "otp", &good).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = response.text().await.unwrap();
    assert!(html.contains("<p role=\"alert\" id=\"code-error\">Too many failed codes. Wait for some minutes before retrying.</p>"));
}

#[tokio::test]
async fn the_mfa_api_audience_forces_the_step_and_gets_its_scopes() {
    let tenant = start_mfa().await;
    let http = browser();
    let mfa_audience = format!("{}mfa/", tenant.issuer());
    let response = login_as(
        &http,
        &tenant,
        EMAIL,
        PASSWORD,
        &[
            ("audience", &mfa_audience),
            ("scope", "openid enroll read:authenticators"),
        ],
    )
    .await;
    let mfa_url = location(&response);
    assert_eq!(mfa_url.path(), "/u/mfa");
    let code = tenant.totp_code(EMAIL).unwrap();
    let response = submit_code(&http, &tenant, &state_of(&mfa_url), "otp", &code).await;
    let callback = query(&location(&response));
    let tokens = exchange(&http, &tenant, &callback["code"]).await;
    assert_eq!(tokens["scope"], "openid enroll read:authenticators");
    assert_eq!(tokens["expires_in"], 600);
    let id = verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(id["amr"], json!(["pwd", "mfa"]));
    assert!(!id.contains_key("acr"), "no acr_values were sent");
    // That access token reads the authenticators.
    let response = list_authenticators(&tenant, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_policies_ask_once_per_session_or_every_time() {
    // The tenant's clock stands still, so the codes of this step and its neighbours stay usable.
    let (tenant, _clock) = start_on_manual_clock(
        mfa_config()
            // mfa_config's policy for API covers the login; OTHER_API's asks every time.
            .with_mfa_policy(MfaPolicy::new().for_audience(OTHER_API).every_time(true)),
    )
    .await;
    let http = browser();
    // No audience: no MFA.
    login_with(&http, &tenant, &[]).await;
    // API: asked once.
    let response = authorize(&http, &tenant, &authorize_params(&[("audience", API)])).await;
    let mfa_url = location(&response);
    assert_eq!(mfa_url.path(), "/u/mfa");
    let response = submit_code(
        &http,
        &tenant,
        &state_of(&mfa_url),
        "otp",
        &alice_code(&tenant, -1),
    )
    .await;
    let claims = id_claims_after(&http, &tenant, &response).await;
    assert_eq!(claims["amr"], json!(["mfa"]));
    assert!(!claims.contains_key("acr"));
    let response = authorize(&http, &tenant, &authorize_params(&[("audience", API)])).await;
    assert!(
        location(&response).as_str().starts_with(CALLBACK),
        "satisfied for this session"
    );
    // OTHER_API: every time.
    for offset in [0, 1] {
        let response = authorize(
            &http,
            &tenant,
            &authorize_params(&[("audience", OTHER_API)]),
        )
        .await;
        let mfa_url = location(&response);
        assert_eq!(mfa_url.path(), "/u/mfa");
        let response = submit_code(
            &http,
            &tenant,
            &state_of(&mfa_url),
            "otp",
            &alice_code(&tenant, offset),
        )
        .await;
        id_claims_after(&http, &tenant, &response).await;
    }
}

#[tokio::test]
async fn bad_requests_to_the_pages() {
    let tenant = start_mfa().await;
    let http = browser();
    for path in [
        "u/mfa",
        "u/mfa?state=nope",
        "u/mfa-enroll?state=nope",
        "u/mfa/cancel?state=nope",
    ] {
        let (status, html) = page(&http, url(&tenant, path)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(html.contains("Login transaction expired"));
    }
    let response = http
        .post(url(&tenant, "u/mfa"))
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Before the password, /u/mfa sends the browser to the login page.
    let response = authorize(&http, &tenant, &step_up_params(&[])).await;
    let login_url = location(&response);
    let state_id = state_of(&login_url);
    let response = http
        .get(url(&tenant, &format!("u/mfa?state={state_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).path(), "/u/login");
    // An unknown method goes back to the default page; escaping of the method value.
    let response = submit_login(&http, &tenant, &state_id, EMAIL, PASSWORD).await;
    assert_eq!(location(&response).path(), "/u/mfa");
    let response = submit_code(&http, &tenant, &state_id, "<script>", "1").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let (status, html) = page(
        &http,
        url(
            &tenant,
            &format!("u/mfa?state={state_id}&method=%3Cscript%3E"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>"));
    // Completing without a verified factor goes back to the challenge.
    let response = http
        .post(url(&tenant, "u/mfa/complete"))
        .form(&[("state", state_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response).path(), "/u/mfa");
}

#[tokio::test]
async fn without_totp_the_page_offers_the_other_methods() {
    let tenant = start_with(mfa_config().with_user(
        UserConfig::new("frank@example.com", "frank-password-1").with_phone("+15555550177"),
    ))
    .await;
    let http = browser();
    let mfa_url = password_then_mfa(&http, &tenant, "frank@example.com", "frank-password-1").await;
    let (status, html) = page(&http, mfa_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Choose how to verify your identity."),
        "{html}"
    );
    assert!(
        !html.contains("name=\"code\""),
        "no code form before a code is sent"
    );
    assert!(link(&html, "Send a code by SMS").is_some());
    assert!(link(&html, "Use your authenticator app").is_none());
    assert!(tenant.outbox().is_empty(), "nothing is sent until asked");
}

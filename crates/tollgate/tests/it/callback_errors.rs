//! Callback failures: each has its typed error, a message that explains it, and leaves no session.

use crate::common;

use tollgate::{CallbackError, CookieJar, Error, LoginOptions, ProviderError};

fn no_session(outcome: &tollgate::CallbackOutcome) {
    assert!(
        !outcome.cookies.lines().any(|c| c.starts_with("__session")),
        "{:?}",
        outcome.cookies
    );
}

#[tokio::test]
async fn a_callback_without_state_explains_where_logins_start() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let outcome = auth
        .handle_callback(&common::callback_request("code=abc", CookieJar::default()))
        .await;
    let err = outcome.result.as_ref().unwrap_err();
    assert_eq!(err, &Error::Callback(CallbackError::MissingState));
    assert_eq!(err.status(), 400);
    assert!(
        err.to_string().contains("must start at the login route"),
        "{err}"
    );
    no_session(&outcome);
    let resp = outcome.into_response("/auth/login");
    assert_eq!(resp.status(), 400);
    assert!(resp.body().contains("must start at the login route"));
    assert!(
        resp.body().contains("href=\"/auth/login\""),
        "offers to sign in again"
    );
}

#[tokio::test]
async fn a_state_without_its_transaction_cookie_is_refused() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (query, _jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let outcome = auth
        .handle_callback(&common::callback_request(&query, CookieJar::default()))
        .await;
    let err = outcome.result.as_ref().unwrap_err();
    assert_eq!(err, &Error::Callback(CallbackError::MissingTransaction));
    assert!(
        err.to_string()
            .contains("cookie is missing, expired or was already used"),
        "{err}"
    );
    no_session(&outcome);
}

#[tokio::test]
async fn a_transaction_cookie_of_another_state_or_tampered_does_not_match() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (q1, jar1) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let (q2, _) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    // The cookie of login 1 renamed to login 2's state.
    let state2 = url::form_urlencoded::parse(q2.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let (_, value1) = jar1.iter().next().unwrap();
    let swapped = CookieJar::parse(&format!("__txn_{state2}={value1}"));
    assert_eq!(
        auth.handle_callback(&common::callback_request(&q2, swapped.clone()))
            .await
            .result
            .unwrap_err(),
        Error::Callback(CallbackError::MissingTransaction)
    );
    // A tampered cookie.
    let (name, value) = jar1.iter().next().unwrap();
    let mut bytes = value.as_bytes().to_vec();
    let i = bytes.len() - 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = CookieJar::parse(&format!("{name}={}", String::from_utf8(bytes).unwrap()));
    assert_eq!(
        auth.handle_callback(&common::callback_request(&q1, tampered.clone()))
            .await
            .result
            .unwrap_err(),
        Error::Callback(CallbackError::MissingTransaction)
    );
    // A session cookie offered as a transaction (another purpose key) is refused too.
    let (_, v) = jar1.iter().next().unwrap();
    assert!(
        auth.session(&CookieJar::parse(&format!("__session={v}")))
            .await
            .unwrap()
            .is_none()
    );
    // The genuine one still works.
    assert!(
        auth.handle_callback(&common::callback_request(&q1, jar1.clone()))
            .await
            .result
            .is_ok()
    );
}

#[tokio::test]
async fn a_replayed_callback_gets_no_second_session() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (query, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let first = auth
        .handle_callback(&common::callback_request(&query, jar.clone()))
        .await;
    assert!(first.result.is_ok());
    assert!(
        first
            .cookies
            .lines()
            .any(|c| c.starts_with("__txn_") && c.contains("Max-Age=0"))
    );
    // An attacker who kept the transaction cookie replays the whole callback: the code is spent.
    let replay = auth
        .handle_callback(&common::callback_request(&query, jar.clone()))
        .await;
    match &replay.result {
        Err(Error::Callback(CallbackError::TokenExchange(ProviderError::OAuth {
            status,
            error,
            ..
        }))) => {
            assert_eq!(*status, 403);
            assert_eq!(error, "invalid_grant");
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
    no_session(&replay);
}

#[tokio::test]
async fn provider_errors_reach_the_app_typed() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    // prompt=none without a tenant session: the tenant answers login_required.
    let login = auth
        .start_login(
            &tollgate::RequestOrigin::default(),
            LoginOptions::new().param("prompt", "none"),
        )
        .await
        .unwrap();
    let jar = crate::common::hostile_op::jar_after(&login.cookies);
    let resp = common::tenant_browser()
        .get(login.url.as_str())
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let outcome = auth
        .handle_callback(&common::callback_request(
            location.query().unwrap(),
            jar.clone(),
        ))
        .await;
    match outcome.result.as_ref().unwrap_err() {
        Error::Callback(CallbackError::Authorization { error, .. }) => {
            assert_eq!(error, "login_required")
        }
        other => panic!("{other:?}"),
    }
    no_session(&outcome);
    // access_denied with a description, as an Action would send it.
    let login = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    let state = login
        .url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let jar = crate::common::hostile_op::jar_after(&login.cookies);
    let q = format!("error=access_denied&error_description=Not%20today&state={state}");
    let outcome = auth
        .handle_callback(&common::callback_request(&q, jar.clone()))
        .await;
    assert_eq!(
        outcome.result.as_ref().unwrap_err(),
        &Error::Callback(CallbackError::Authorization {
            error: "access_denied".into(),
            description: Some("Not today".into())
        })
    );
    assert!(
        outcome
            .into_response("/auth/login")
            .body()
            .contains("Not today")
    );
}

#[tokio::test]
async fn an_iss_parameter_naming_another_issuer_is_refused() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (query, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let q = format!("{query}&iss=https%3A%2F%2Fevil.example%2F");
    assert_eq!(
        auth.handle_callback(&common::callback_request(&q, jar.clone()))
            .await
            .result
            .unwrap_err(),
        Error::Callback(CallbackError::IssuerMismatch)
    );
}

#[tokio::test]
async fn a_missing_code_and_a_bad_max_age_are_clear_errors() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let login = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    let state = login
        .url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let jar = crate::common::hostile_op::jar_after(&login.cookies);
    assert_eq!(
        auth.handle_callback(&common::callback_request(
            format!("state={state}"),
            jar.clone()
        ))
        .await
        .result
        .unwrap_err(),
        Error::Callback(CallbackError::MissingCode)
    );
    let resp = auth
        .handle_login(&tollgate::AuthRequest::new().with_query("max_age=soon"))
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.body().contains("max_age"));
}

#[tokio::test]
async fn an_unreachable_provider_is_a_typed_error() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| {
        b.http_timeout(std::time::Duration::from_secs(1))
    });
    tenant.shutdown().await;
    let err = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Provider(ProviderError::Unreachable { .. })),
        "{err:?}"
    );
    assert_eq!(
        auth.handle_login(&tollgate::AuthRequest::new().with_query(""))
            .await
            .status(),
        502
    );
}

#[tokio::test]
async fn a_step_up_the_signed_id_token_does_not_show_upgrades_nothing() {
    const STRONG: &str = "urn:example:acr:strong";
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    // The provider ignores an acr it does not know: its signed ID token shows neither that acr nor MFA.
    let opts = LoginOptions::new()
        .return_to("/billing")
        .param("acr_values", STRONG);
    let (q, jar) = common::login_to_callback(&auth, &browser, opts).await;
    let outcome = auth
        .handle_callback(&common::callback_request(&q, jar.clone()))
        .await;
    match &outcome.result {
        Err(Error::Callback(CallbackError::StepUpNotSatisfied { requested, acr, .. })) => {
            assert_eq!(requested, STRONG);
            assert_eq!(acr, &None);
        }
        other => panic!("{other:?}"),
    }
    no_session(&outcome);
    let tollgate::CallbackMode::StepUp { retry_url: retry } = outcome.mode.clone() else {
        panic!("a step-up callback: {:?}", outcome.mode)
    };
    assert!(
        retry.starts_with("/auth/login?returnTo=%2Fbilling&acr_values=urn"),
        "{retry}"
    );
    let page = outcome.into_response("/auth/login");
    assert_eq!(page.status(), 403);
    assert!(page.body().contains("Verification needed"));
    assert!(page.body().contains("Try again"));

    // The multi-factor policy, done at the tenant's MFA page, upgrades the session…
    const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
    let opts = LoginOptions::new()
        .return_to("/billing")
        .param("acr_values", MFA);
    let (q, jar) = common::login_to_callback_mfa(&auth, &tenant, &browser, opts.clone()).await;
    let ok = auth
        .handle_callback(&common::callback_request(&q, jar.clone()))
        .await
        .result
        .unwrap();
    assert!(ok.session.has_mfa());
    assert_eq!(ok.return_to, "/billing");
    // …and the acr the app asked for is enough even when amr says otherwise.
    tenant.set_id_token_fault(Some(tollgate_tenant::IdTokenFault::SetClaim(
        "amr".into(),
        serde_json::json!(["pwd"]),
    )));
    let (q, jar) = common::login_to_callback_mfa(&auth, &tenant, &browser, opts).await;
    assert!(
        auth.handle_callback(&common::callback_request(&q, jar.clone()))
            .await
            .result
            .is_ok()
    );
}

#[tokio::test]
async fn a_cancelled_step_up_offers_to_try_again() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let login = auth
        .start_login(
            &tollgate::RequestOrigin::default(),
            LoginOptions::new().return_to("/billing").param(
                "acr_values",
                "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
            ),
        )
        .await
        .unwrap();
    let state = login
        .url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let jar = crate::common::hostile_op::jar_after(&login.cookies);
    let q = format!("error=access_denied&error_description=The%20user%20cancelled&state={state}");
    let outcome = auth
        .handle_callback(&common::callback_request(&q, jar.clone()))
        .await;
    assert!(
        matches!(&outcome.result, Err(Error::Callback(CallbackError::Authorization { error, .. })) if error == "access_denied")
    );
    assert!(matches!(
        outcome.mode,
        tollgate::CallbackMode::StepUp { .. }
    ));
    let page = outcome.into_response("/auth/login");
    assert!(
        page.body().contains("Verification needed") && page.body().contains("returnTo=%2Fbilling")
    );
}

#[tokio::test]
async fn a_wrong_client_secret_names_the_settings_and_offers_no_sign_in_loop() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b.client_secret("not-the-client-secret"));
    let browser = common::tenant_browser();
    let (query, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let outcome = auth
        .handle_callback(&common::callback_request(&query, jar))
        .await;
    let err = outcome.result.as_ref().unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::ClientRejected { error }) if error == "invalid_client"),
        "{err:?}"
    );
    assert_eq!(
        err.status(),
        500,
        "the application is misconfigured, not the user"
    );
    assert_eq!(err.code(), "client_rejected");
    let text = err.to_string();
    assert!(
        text.contains("AUTH0_CLIENT_ID") && text.contains("AUTH0_CLIENT_SECRET"),
        "{text}"
    );
    no_session(&outcome);
    let resp = outcome.into_response("/auth/login");
    assert_eq!(resp.status(), 500);
    assert!(resp.body().contains("AUTH0_CLIENT_SECRET"));
    assert!(
        !resp.body().contains("Sign in again"),
        "signing in again cannot help: {}",
        resp.body()
    );
}

/// The headers every HTML page of the SDK sends.
fn assert_page_headers(resp: &tollgate::AuthResponse) -> String {
    let h = resp.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    csp
}

#[tokio::test]
async fn the_error_page_cannot_be_framed_or_run_scripts() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let outcome = auth
        .handle_callback(&common::callback_request("code=abc", CookieJar::default()))
        .await;
    let resp = outcome.into_response("/auth/login");
    assert_eq!(resp.status(), 400);
    let csp = assert_page_headers(&resp);
    assert!(!csp.contains("script-src"), "no script may run: {csp}");
}

#[tokio::test]
async fn the_popup_page_runs_only_its_own_script() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (query, jar) =
        common::login_to_callback(&auth, &browser, LoginOptions::new().popup()).await;
    let outcome = auth
        .handle_callback(&common::callback_request(query, jar))
        .await;
    assert!(matches!(outcome.mode, tollgate::CallbackMode::Popup { .. }));
    let resp = auth.callback_response(outcome);
    assert_eq!(resp.status(), 200);
    let csp = assert_page_headers(&resp);
    // The policy names exactly the page's inline script by its hash.
    let body = resp.body();
    let script = body
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the page has its script");
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}'")),
        "{csp} for {script}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

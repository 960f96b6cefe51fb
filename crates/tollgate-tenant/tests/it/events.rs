//! The tenant's event log: one entry per login, token request, MFA step and logout, readable
//! through `RunningTenant::events*` and `GET /dev/logs(.json)`.

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tollgate_tenant::{RunningTenant, TenantEvent};

/// The only event of `kind`, asserting there is exactly one.
fn only(tenant: &RunningTenant, kind: &str) -> TenantEvent {
    let events = tenant.events_of_type(kind);
    assert_eq!(events.len(), 1, "one {kind} event: {events:#?}");
    events.into_iter().next().unwrap()
}

fn alice_sub() -> String {
    tollgate_tenant::UserConfig::new(EMAIL, PASSWORD).sub()
}

#[tokio::test]
async fn logins_and_failed_logins() {
    let tenant = start().await;
    let http = browser();

    // Wrong password for a known user, then an unknown user.
    for (username, reason) in [
        (EMAIL, "wrong_password"),
        ("nobody@example.com", "unknown_user"),
    ] {
        let response = authorize(&http, &tenant, &authorize_params(&[])).await;
        let state_id = query(&location(&response))["state"].clone();
        let page = submit_login(&http, &tenant, &state_id, username, "not-the-password").await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        let failure = tenant.events().pop().unwrap();
        assert_eq!(failure.kind, "f");
        assert_eq!(failure.description, "Wrong email or password.");
        assert_eq!(failure.client_id.as_deref(), Some(CLIENT_ID));
        assert_eq!(failure.user_name.as_deref(), Some(username));
        assert_eq!(failure.details["reason"], reason);
        if reason == "unknown_user" {
            assert_eq!(failure.user_id, None);
        } else {
            assert_eq!(failure.user_id, Some(alice_sub()));
        }
    }
    assert_eq!(tenant.events_of_type("f").len(), 2);
    assert!(tenant.events_of_type("s").is_empty());

    login_with(&http, &tenant, &[]).await;
    let login = only(&tenant, "s");
    assert_eq!(login.user_id, Some(alice_sub()));
    assert_eq!(login.user_name.as_deref(), Some(EMAIL));
    assert_eq!(login.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(login.details["amr"], json!(["pwd"]));
    assert_eq!(login.details["mfa"], false);
    assert_eq!(
        login.details["scope"],
        "openid profile email offline_access"
    );
    assert!(login.details["sid"].is_string());
    // RFC 3339, UTC, milliseconds.
    assert_eq!(login.date.len(), "2024-05-01T12:34:56.789Z".len());
    assert!(login.date.ends_with('Z') && login.date.as_bytes()[10] == b'T');

    // SSO: prompt=none succeeds (ssa); another browser without a session fails (fsa).
    let response = authorize(&http, &tenant, &authorize_params(&[("prompt", "none")])).await;
    assert!(query(&location(&response)).contains_key("code"));
    let silent = only(&tenant, "ssa");
    assert_eq!(silent.details["sid"], login.details["sid"]);
    assert_eq!(silent.user_name.as_deref(), Some(EMAIL));
    let response = authorize(
        &browser(),
        &tenant,
        &authorize_params(&[("prompt", "none")]),
    )
    .await;
    assert_eq!(query(&location(&response))["error"], "login_required");
    let failed = only(&tenant, "fsa");
    assert_eq!(failed.details["error"], "login_required");
    assert_eq!(failed.description, "Login required");

    // Ids sort in recording order.
    let ids: Vec<String> = tenant.events().into_iter().map(|e| e.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 5);
}

#[tokio::test]
async fn code_exchange_refresh_reuse_and_client_credentials() {
    let tenant = start().await;
    let http = browser();
    let code = login_code(&http, &tenant).await;
    let tokens = exchange(&http, &tenant, &code).await;
    let exchanged = only(&tenant, "seacft");
    assert_eq!(exchanged.description, "Authorization Code for Access Token");
    assert_eq!(exchanged.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(exchanged.user_id, Some(alice_sub()));
    assert_eq!(exchanged.details["grant_type"], "authorization_code");
    assert_eq!(
        exchanged.details["scope"],
        "openid profile email offline_access"
    );
    assert!(exchanged.details.get("audience").is_none());

    // Wrong client secret (Basic): the claimed client is named.
    let response = token_as(
        &http,
        &tenant,
        CLIENT_ID,
        "wrong-secret",
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let failed = only(&tenant, "fertft");
    assert_eq!(failed.details["error"], "invalid_client");
    assert_eq!(failed.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(failed.user_id, None);

    // A refresh for an API: one sertft with the audience and the granted scope.
    let rt0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let response = refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &rt0,
        &[("audience", API), ("scope", "openid read:payments")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed = only(&tenant, "sertft");
    assert_eq!(refreshed.details["grant_type"], "refresh_token");
    assert_eq!(refreshed.details["audience"], API);
    assert_eq!(refreshed.details["scope"], "openid read:payments");
    assert_eq!(refreshed.user_name.as_deref(), Some(EMAIL));

    // Reusing the rotated-away token: ferrt (not fertft), and the family is gone.
    let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let reuse = only(&tenant, "ferrt");
    assert_eq!(
        reuse.description,
        "Unsuccessful Refresh Token exchange, reused refresh token detected"
    );
    assert_eq!(reuse.details["error"], "invalid_grant");
    assert_eq!(reuse.user_id, Some(alice_sub()));
    assert_eq!(tenant.events_of_type("fertft").len(), 1);
    let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(tenant.events_of_type("fertft").len(), 2);
    assert_eq!(tenant.events_of_type("ferrt").len(), 1);

    // A replayed code: feacft with the error.
    let replay = token(
        &http,
        &tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(replay.status(), StatusCode::FORBIDDEN);
    let failed = only(&tenant, "feacft");
    assert_eq!(failed.description, "Invalid authorization code");
    assert_eq!(failed.details["error"], "invalid_grant");
    assert_eq!(failed.details["status"], 403);
    assert_eq!(failed.client_id.as_deref(), Some(CLIENT_ID));

    // Client credentials: success and a refused request.
    let ok = token(
        &http,
        &tenant,
        &[("grant_type", "client_credentials"), ("audience", API)],
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let m2m = only(&tenant, "seccft");
    assert_eq!(m2m.details["audience"], API);
    assert_eq!(m2m.user_id, None);
    let refused = token(&http, &tenant, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(only(&tenant, "feccft").details["error"], "access_denied");

    // Revocation, and an unsupported grant type (not recorded).
    let response = http
        .post(url(&tenant, "oauth/revoke"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", "unknown"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(only(&tenant, "srrt").client_id.as_deref(), Some(CLIENT_ID));
    let before = tenant.events().len();
    token(&http, &tenant, &[("grant_type", "password")]).await;
    assert_eq!(tenant.events().len(), before);

    tenant.clear_events();
    assert!(tenant.events().is_empty());
}

#[tokio::test]
async fn concurrent_refreshes_record_exactly_one_success() {
    let tenant = start().await;
    let http = browser();
    let code = login_code(&http, &tenant).await;
    let rt = exchange(&http, &tenant, &code).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token_url = url(&tenant, "oauth/token");
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (token_url, rt) = (token_url.clone(), rt.clone());
        requests.spawn(async move {
            browser()
                .post(token_url)
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let statuses = requests.join_all().await;
    let successes = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(successes, 1);
    assert_eq!(tenant.events_of_type("sertft").len(), 1);
    // The first late request detects the reuse; the family is gone for the others.
    assert_eq!(tenant.events_of_type("ferrt").len(), 1);
    assert_eq!(tenant.events_of_type("fertft").len(), 18);
    assert_eq!(
        tenant.count_events(|e| e.detail("grant_type") == Some(&json!("refresh_token"))),
        20
    );
}

#[tokio::test]
async fn mfa_events_on_the_api_and_the_grants() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let required = only(&tenant, "mfar");
    assert_eq!(required.description, "Multifactor authentication required");
    assert_eq!(required.details["grant_type"], "refresh_token");
    assert_eq!(required.details["audience"], API);
    assert_eq!(required.details["error"], "mfa_required");
    assert_eq!(required.details["status"], 403);
    assert!(tenant.events_of_type("sertft").is_empty());
    assert!(tenant.events_of_type("fertft").is_empty());

    // A wrong OTP: gd_auth_failed and feotpft.
    let wrong = if alice_code(&tenant, 0) == "000000" {
        "000001"
    } else {
        "000000"
    };
    let response = mfa_grant(
        &tenant,
        GRANT_OTP,
        &[("mfa_token", &mfa_token), ("otp", wrong)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let failed = only(&tenant, "gd_auth_failed");
    assert_eq!(failed.details["factor"], "otp");
    assert_eq!(failed.details["via"], "mfa-api");
    assert_eq!(failed.user_name.as_deref(), Some(EMAIL));
    let grant_failed = only(&tenant, "feotpft");
    assert_eq!(grant_failed.description, "Invalid otp_code.");
    assert_eq!(
        grant_failed.details["grant_type"],
        "http://auth0.com/oauth/grant-type/mfa-otp"
    );

    pass_with_otp(&tenant, &mfa_token, &[]).await;
    let verified = only(&tenant, "gd_auth_succeed");
    assert_eq!(verified.details["factor"], "otp");
    assert_eq!(verified.client_id.as_deref(), Some(CLIENT_ID));
    let granted = only(&tenant, "seotpft");
    assert_eq!(granted.details["audience"], API);
    assert_eq!(granted.user_id, Some(alice_sub()));

    // Recovery code: gd_recovery_succeed and sercft.
    let (mfa_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let response = mfa_grant(
        &tenant,
        GRANT_RECOVERY,
        &[("mfa_token", &mfa_token), ("recovery_code", ALICE_RECOVERY)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        only(&tenant, "gd_recovery_succeed").details["factor"],
        "recovery-code"
    );
    only(&tenant, "sercft");

    // An SMS challenge for carol: gd_send_sms, then the oob grant.
    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let challenge: Value = mfa_challenge(
        &tenant,
        json!({"mfa_token": mfa_token, "challenge_type": "oob"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let sent = only(&tenant, "gd_send_sms");
    assert_eq!(sent.user_name.as_deref(), Some(CAROL));
    assert_eq!(sent.details["factor"], "phone");
    let code = last_message(&tenant, CAROL).code.unwrap();
    let response = mfa_grant(
        &tenant,
        GRANT_OOB,
        &[
            ("mfa_token", &mfa_token),
            ("oob_code", challenge["oob_code"].as_str().unwrap()),
            ("binding_code", &code),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    only(&tenant, "seoobft");
    let verified = tenant.events_of_type("gd_auth_succeed");
    assert_eq!(verified.len(), 2);
    assert_eq!(verified[1].details["factor"], "phone");
}

#[tokio::test]
async fn enrollment_events() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    let response = associate(&tenant, &mfa_token, json!({"authenticator_types": ["otp"]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let started = only(&tenant, "gd_start_enroll");
    assert_eq!(started.details["factor"], "otp");
    assert!(
        started.details["authenticator_id"]
            .as_str()
            .unwrap()
            .starts_with("totp|dev_")
    );
    let code = tenant.totp_code(BOB).unwrap();
    let response = mfa_grant(
        &tenant,
        GRANT_OTP,
        &[("mfa_token", &mfa_token), ("otp", &code)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let complete = only(&tenant, "gd_enrollment_complete");
    assert_eq!(complete.user_name.as_deref(), Some(BOB));
    assert_eq!(complete.details["factor"], "otp");
    only(&tenant, "gd_auth_succeed");
}

#[tokio::test]
async fn login_page_mfa_events() {
    let tenant = start_mfa().await;
    let http = browser();
    let response = login_as(
        &http,
        &tenant,
        CAROL,
        CAROL_PASSWORD,
        &[("acr_values", MFA_ACR)],
    )
    .await;
    let mfa_url = location(&response);
    assert_eq!(mfa_url.path(), "/u/mfa");
    let state_id = query(&mfa_url)["state"].clone();
    let page = http
        .get(url(&tenant, "u/mfa"))
        .query(&[("state", state_id.as_str()), ("method", "email")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let sent = only(&tenant, "gd_send_email");
    assert_eq!(sent.details["via"], "login-page");
    assert_eq!(sent.client_id.as_deref(), Some(CLIENT_ID));
    let code = last_message(&tenant, CAROL).code.unwrap();
    let response = http
        .post(url(&tenant, "u/mfa"))
        .form(&[
            ("state", state_id.as_str()),
            ("method", "email"),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let verified = only(&tenant, "gd_auth_succeed");
    assert_eq!(verified.details["factor"], "email");
    assert_eq!(verified.details["via"], "login-page");
    let login = only(&tenant, "s");
    assert_eq!(login.details["amr"], json!(["pwd", "mfa"]));
    assert_eq!(login.details["mfa"], true);
}

#[tokio::test]
async fn logouts() {
    let tenant = start().await;
    let http = browser();
    login_with(&http, &tenant, &[]).await;
    let sid = only(&tenant, "s").details["sid"].clone();

    let refused = http
        .get(url(&tenant, "v2/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("returnTo", "https://evil.example.com/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let failed = only(&tenant, "flo");
    assert!(failed.description.contains("https://evil.example.com/"));
    assert_eq!(failed.client_id.as_deref(), Some(CLIENT_ID));

    let response = http
        .get(url(&tenant, "v2/logout"))
        .query(&[("client_id", CLIENT_ID), ("returnTo", LOGOUT_URL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let logout = only(&tenant, "slo");
    assert_eq!(logout.user_name.as_deref(), Some(EMAIL));
    assert_eq!(logout.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(logout.details["endpoint"], "/v2/logout");
    assert_eq!(logout.details["return_to"], LOGOUT_URL);
    assert_eq!(logout.details["sids"], json!([sid]));
}

#[tokio::test]
async fn logs_over_http_newest_first_with_filters() {
    let tenant = start_with(config().with_client(
        tollgate_tenant::ClientConfig::new("other-client", "other-secret").with_callback(CALLBACK),
    ))
    .await;
    let http = browser();
    for client in [CLIENT_ID, "other-client"] {
        let response = authorize(&http, &tenant, &authorize_params(&[("client_id", client)])).await;
        let state_id = query(&location(&response))["state"].clone();
        // A username with markup, for the escaping check below.
        submit_login(&http, &tenant, &state_id, "<b>x</b>@example.com", "nope").await;
    }
    login_with(&http, &tenant, &[]).await;

    let all: Vec<Value> = http
        .get(url(&tenant, "dev/logs.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let types: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["s", "f", "f"], "newest first");
    assert_eq!(all[2]["client_id"], CLIENT_ID);
    assert_eq!(all[1]["client_id"], "other-client");
    let first = all[2].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "client_id",
            "date",
            "description",
            "details",
            "id",
            "type",
            "user_id",
            "user_name"
        ]
    );
    assert_eq!(first["user_id"], Value::Null);
    // The JSON round-trips into the public type.
    let parsed: Vec<TenantEvent> = serde_json::from_value(Value::Array(all.clone())).unwrap();
    let mut in_order = tenant.events();
    in_order.reverse();
    assert_eq!(parsed, in_order);

    let filtered = |q: &'static [(&'static str, &'static str)]| {
        let http = http.clone();
        let url = url(&tenant, "dev/logs.json");
        async move {
            let list: Vec<Value> = http
                .get(url)
                .query(q)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            list
        }
    };
    assert_eq!(filtered(&[("type", "f")]).await.len(), 2);
    assert_eq!(filtered(&[("client_id", "other-client")]).await.len(), 1);
    let both = filtered(&[("type", "f"), ("client_id", CLIENT_ID)]).await;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["id"], all[2]["id"]);
    assert!(filtered(&[("type", "sslo")]).await.is_empty());

    let page = http.get(url(&tenant, "dev/logs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Tenant logs</h1>"));
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;@example.com"));
    assert!(!html.contains("<b>x</b>"));
    let rows: Vec<usize> = all
        .iter()
        .map(|e| {
            html.find(&format!("id=\"event-{}\"", e["id"].as_str().unwrap()))
                .expect("a row per event")
        })
        .collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "newest first");
    let only_s = http
        .get(url(&tenant, "dev/logs"))
        .query(&[("type", "s")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(only_s.matches("<tr id=\"event-").count(), 1);
}

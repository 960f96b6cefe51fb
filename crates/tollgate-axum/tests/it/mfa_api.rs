//! MFA for APIs: `MfaRequiredError` with a sealed, session-bound `mfa_token`, the MFA routes, and
//! tokens stored after verification so the next request finds them without another refresh.

use crate::common;

use std::sync::Arc;

use crate::common::{HttpBrowser, PAYMENTS, Resp, TestApp, start_store};
use serde_json::{Value, json};
use tollgate::CookieJar;
use tollgate::store::MemoryStore;
use tollgate_tenant::{GrantKind, MfaPolicy};

async fn app() -> TestApp {
    start_store(Arc::new(MemoryStore::new()), |t| {
        t.with_mfa_policy(MfaPolicy::new().for_audience(PAYMENTS))
            .with_push_poll_interval(std::time::Duration::ZERO)
    })
    .await
}

fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

async fn post_json(b: &mut HttpBrowser, url: &str, bearer: Option<&str>, body: Value) -> Resp {
    // The test browser only posts forms; build a JSON request with its cookies by hand.
    let client = reqwest::Client::new();
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header(
            "cookie",
            b.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .body(body.to_string());
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let set_cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    for c in &set_cookies {
        let (n, v) = c.split(';').next().unwrap().split_once('=').unwrap();
        b.cookies.insert(n.to_owned(), v.to_owned());
    }
    let body = resp.text().await.unwrap();
    Resp {
        status,
        url: url::Url::parse(url).unwrap(),
        location: None,
        set_cookies,
        body,
    }
}

async fn get_bearer(b: &HttpBrowser, url: &str, bearer: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .header(
            "cookie",
            b.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// `POST /auth/mfa/verify` with the sealed `token`.
async fn verify(b: &mut HttpBrowser, app: &TestApp, token: &str, body: Value) -> Resp {
    post_json(b, &app.url("/auth/mfa/verify"), Some(token), body).await
}

/// Logs in and asks for the payments token: returns the browser and the `mfa_required` body.
async fn mfa_required(app: &TestApp) -> (HttpBrowser, Value) {
    let mut b = HttpBrowser::default();
    b.login(app, "").await;
    b.accept = "application/json";
    let r = b.get(&app.url("/api/payments")).await;
    assert_eq!(r.status, 403, "{r:?}");
    let body = json_of(&r);
    (b, body)
}

#[tokio::test]
async fn mfa_required_body_is_exactly_the_reference_shape() {
    let app = app().await;
    let (_, body) = mfa_required(&app).await;
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "error",
            "error_description",
            "mfa_requirements",
            "mfa_token"
        ]
    );
    assert_eq!(body["error"], "mfa_required");
    assert_eq!(
        body["error_description"],
        "Multifactor authentication required"
    );
    assert_eq!(
        body["mfa_requirements"],
        json!({"challenge": [{"type": "otp"}, {"type": "phone"}, {"type": "email"}, {"type": "recovery-code"}]})
    );
    let token = body["mfa_token"].as_str().unwrap();
    assert!(
        token.starts_with("eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0.."),
        "sealed as a JWE"
    );
    assert!(
        !token.contains("Fe26"),
        "the provider's raw token never reaches the browser"
    );
    // The access-token route answers the same way.
    let mut b2 = HttpBrowser::default();
    b2.login(&app, "").await;
    b2.accept = "application/json";
    let r = b2
        .get(&app.url(&format!("/auth/access-token?audience={PAYMENTS}")))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(json_of(&r)["error"], "mfa_required");
}

#[tokio::test]
async fn otp_verification_stores_the_token_for_the_audience() {
    let app = app().await;
    let (mut b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();

    let (status, list) = get_bearer(&b, &app.url("/auth/mfa/authenticators"), &token).await;
    assert_eq!(status, 200, "{list}");
    let types: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"otp") && types.contains(&"phone"),
        "{types:?}"
    );
    assert!(list.as_array().unwrap().iter().all(|a| a["active"] == true));

    let ch = post_json(
        &mut b,
        &app.url("/auth/mfa/challenge"),
        None,
        json!({"mfa_token": token, "challenge_type": "otp"}),
    )
    .await;
    assert_eq!(ch.status, 200, "{ch:?}");
    assert_eq!(json_of(&ch)["challenge_type"], "otp");

    let wrong = verify(&mut b, &app, &token, json!({"otp": "000000"})).await;
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert_eq!(json_of(&wrong)["error"], "invalid_grant");
    assert!(wrong.set_cookies.is_empty(), "nothing stored on failure");

    let code = app.tenant.totp_code(common::ALICE.0).unwrap();
    let ok = verify(&mut b, &app, &token, json!({"otp": code})).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(json_of(&ok), json!({"success": true}));

    // The next request for the payments API finds the token: no refresh, no MFA.
    let again = b.get(&app.url("/api/payments")).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(json_of(&again)["paid_with"], PAYMENTS);
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let s = app.auth.session(&jar).await.unwrap().unwrap();
    let entry = s
        .access_tokens
        .iter()
        .find(|e| e.audience == PAYMENTS)
        .expect("stored under the audience");
    assert!(entry.requested_scope.as_deref().unwrap().contains("openid"));
    assert!(
        !s.has_mfa(),
        "API MFA does not upgrade the page session (MFA API tokens carry no amr)"
    );
}

#[tokio::test]
async fn the_mfa_token_is_bound_to_its_session_and_sealed() {
    let app = app().await;
    let (b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    // Another session presenting it.
    let (other, _) = mfa_required(&app).await;
    let (status, err) = get_bearer(&other, &app.url("/auth/mfa/authenticators"), &token).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "mfa_token_invalid");
    // Tampered.
    let mut t = token.clone().into_bytes();
    let i = t.len() / 2;
    t[i] = if t[i] == b'A' { b'B' } else { b'A' };
    let (status, err) = get_bearer(
        &b,
        &app.url("/auth/mfa/authenticators"),
        &String::from_utf8(t).unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("mfa_token_invalid"))
    );
    // A session cookie is not an MFA token.
    let (status, err) = get_bearer(
        &b,
        &app.url("/auth/mfa/authenticators"),
        &b.cookies["__session"],
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("mfa_token_invalid"))
    );
    // No session at all.
    let (status, err) = get_bearer(
        &HttpBrowser::default(),
        &app.url("/auth/mfa/authenticators"),
        &token,
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("missing_session"))
    );
    // The genuine one works.
    let (status, _) = get_bearer(&b, &app.url("/auth/mfa/authenticators"), &token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_expired_mfa_token_is_401_mfa_token_expired() {
    let app = start_store(Arc::new(MemoryStore::new()), |t| {
        t.with_mfa_policy(MfaPolicy::new().for_audience(PAYMENTS))
    })
    .await;
    let clock = tollgate::ManualClock::starting_now();
    let short = tollgate::Tollgate::builder(
        tollgate::ConfigBuilder::from_vars(|_| None)
            .unwrap()
            .domain(app.tenant.issuer())
            .insecure_allow_http_loopback_issuer()
            .client_id(common::CLIENT_ID)
            .client_secret(common::CLIENT_SECRET)
            .secret(common::SECRET)
            .app_base_url(app.base.as_str())
            .mfa_token_ttl(std::time::Duration::from_secs(1))
            .clock(std::sync::Arc::new(clock.clone()))
            .build()
            .unwrap(),
    )
    .store(app.store.clone().unwrap())
    .build();
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let session = short.session(&jar).await.unwrap().unwrap();
    let err = short
        .access_token(
            &session,
            &tollgate::AccessTokenOptions::new().audience(PAYMENTS),
        )
        .await
        .unwrap_err();
    let tollgate::AccessTokenError::MfaRequired(m) = err else {
        panic!("{err:?}")
    };
    clock.advance(std::time::Duration::from_secs(2));
    let e = short
        .mfa(&session)
        .authenticators(&m.mfa_token)
        .await
        .unwrap_err();
    assert_eq!(e, tollgate::MfaError::TokenExpired);
    assert_eq!(e.status(), 401);
    assert_eq!(e.to_json()["error"], "mfa_token_expired");
}

#[tokio::test]
async fn sms_codes_arrive_in_the_outbox_and_verify() {
    let app = app().await;
    let (mut b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let (_, list) = get_bearer(&b, &app.url("/auth/mfa/authenticators"), &token).await;
    let sms = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["oob_channel"] == "sms")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ch = post_json(
        &mut b,
        &app.url("/auth/mfa/challenge"),
        None,
        json!({"mfa_token": token, "challenge_type": "oob", "authenticator_id": sms}),
    )
    .await;
    assert_eq!(ch.status, 200, "{ch:?}");
    let ch = json_of(&ch);
    assert_eq!(ch["binding_method"], "prompt");
    let code = app
        .tenant
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.code.is_some())
        .unwrap()
        .code
        .unwrap();
    let ok = verify(
        &mut b,
        &app,
        &token,
        json!({"oob_code": ch["oob_code"], "binding_code": code}),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(b.get(&app.url("/api/payments")).await.status, 200);
}

#[tokio::test]
async fn a_recovery_code_is_used_once_and_a_new_one_is_returned() {
    let app = app().await;
    let (mut b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let ok = verify(
        &mut b,
        &app,
        &token,
        json!({"recovery_code": "ABCDEFGHJKLMNPQRSTUVWXYZ"}),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let body = json_of(&ok);
    assert_eq!(body["success"], true);
    let new_code = body["recovery_code"].as_str().unwrap();
    assert_eq!(new_code.len(), 24);
    assert_ne!(new_code, "ABCDEFGHJKLMNPQRSTUVWXYZ");
}

#[tokio::test]
async fn bad_requests_are_clear_4xx_errors() {
    let app = app().await;
    let (mut b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let r = post_json(
        &mut b,
        &app.url("/auth/mfa/verify"),
        None,
        json!({"otp": "123456"}),
    )
    .await;
    assert_eq!(
        (r.status, json_of(&r)["error"].clone()),
        (400, json!("invalid_request"))
    );
    let r = verify(&mut b, &app, &token, json!({"nothing": 1})).await;
    assert_eq!(r.status, 400);
    let r = post_json(
        &mut b,
        &app.url("/auth/mfa/associate"),
        Some(&token),
        json!({"authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "555"}),
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        json_of(&r)["error_description"]
            .as_str()
            .unwrap()
            .contains("E.164")
    );
    let r = post_json(
        &mut b,
        &app.url("/auth/mfa/associate"),
        Some(&token),
        json!({"authenticator_types": ["otp"]}),
    )
    .await;
    assert!(
        (400..500).contains(&r.status),
        "an enrollment refused by the provider is a 4xx: {r:?}"
    );
    let r = post_json(
        &mut b,
        &app.url("/auth/mfa/challenge"),
        None,
        json!({"mfa_token": token, "challenge_type": "carrier-pigeon"}),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn the_default_audience_can_require_mfa_too() {
    let app = start_store(Arc::new(MemoryStore::new()), |t| {
        t.with_mfa_policy(MfaPolicy::new().on_grants([GrantKind::RefreshToken]))
    })
    .await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    b.accept = "application/json";
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let before = app.auth.session(&jar).await.unwrap().unwrap();
    let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(r.status, 403, "{r:?}");
    let token = json_of(&r)["mfa_token"].as_str().unwrap().to_owned();
    let code = app.tenant.totp_code(common::ALICE.0).unwrap();
    let ok = verify(&mut b, &app, &token, json!({"otp": code})).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let after = app.auth.session(&jar).await.unwrap().unwrap();
    assert_ne!(
        after.token_set.access_token, before.token_set.access_token,
        "stored in the default token set"
    );
    assert!(
        after.access_tokens.is_empty(),
        "not as a per-audience entry"
    );
    assert_eq!(
        after.token_set.refresh_token, before.token_set.refresh_token,
        "the MFA grant returns no refresh token (the family keeps its own): the session keeps it"
    );
    let r = b.get(&app.url("/auth/access-token")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        json_of(&r)["token"],
        after.token_set.access_token.as_str(),
        "found without another refresh"
    );
    assert!(r.set_cookies.is_empty());
}

#[tokio::test]
async fn too_many_wrong_codes_are_rate_limited() {
    let app = app().await;
    let (mut b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let mut last = 0;
    for _ in 0..11 {
        let r = verify(&mut b, &app, &token, json!({"otp": "000000"})).await;
        last = r.status;
        if r.status == 429 {
            assert_eq!(json_of(&r)["error"], "too_many_attempts");
            break;
        }
        assert_eq!(r.status, 400);
    }
    assert_eq!(
        last, 429,
        "the provider's rate limit reaches the app as 429"
    );
}

#[tokio::test]
async fn a_user_without_factors_enrolls_then_verifies() {
    let app = app().await;
    let mut b = HttpBrowser::default();
    let back = b.login_until_callback(&app, "", common::BOB).await;
    b.get(back.location().as_str()).await;
    b.accept = "application/json";
    let r = b.get(&app.url("/api/payments")).await;
    assert_eq!(r.status, 403, "{r:?}");
    let body = json_of(&r);
    assert!(body["mfa_requirements"]["enroll"].is_array(), "{body}");
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let enrolled = post_json(
        &mut b,
        &app.url("/auth/mfa/associate"),
        Some(&token),
        json!({"authenticator_types": ["otp"]}),
    )
    .await;
    assert_eq!(enrolled.status, 200, "{enrolled:?}");
    let e = json_of(&enrolled);
    assert!(
        e["barcode_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(e["secret"].as_str().unwrap().len() >= 16);
    let code = app
        .tenant
        .totp_code(common::BOB.0)
        .expect("the tenant knows the enrolled secret");
    let ok = verify(&mut b, &app, &token, json!({"otp": code})).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(b.get(&app.url("/api/payments")).await.status, 200);
}

#[tokio::test]
async fn push_is_pending_until_approved_and_a_denial_is_final() {
    let app = app().await;
    for approve in [true, false] {
        let mut b = HttpBrowser::default();
        let back = b.login_until_callback(&app, "", common::CAROL).await;
        b.get(back.location().as_str()).await;
        b.accept = "application/json";
        let body = json_of(&b.get(&app.url("/api/payments")).await);
        let token = body["mfa_token"].as_str().unwrap().to_owned();
        let ch = post_json(
            &mut b,
            &app.url("/auth/mfa/challenge"),
            None,
            json!({"mfa_token": token, "challenge_type": "oob"}),
        )
        .await;
        assert_eq!(ch.status, 200, "{ch:?}");
        let oob = json_of(&ch)["oob_code"].as_str().unwrap().to_owned();
        let pending = verify(&mut b, &app, &token, json!({"oob_code": oob})).await;
        assert_eq!(
            (pending.status, json_of(&pending)["error"].clone()),
            (400, json!("authorization_pending"))
        );
        let push = app
            .tenant
            .outbox()
            .into_iter()
            .rev()
            .find(|m| m.user_email == common::CAROL.0)
            .unwrap();
        if approve {
            assert!(app.tenant.approve_push(&push.id));
            let ok = verify(&mut b, &app, &token, json!({"oob_code": oob})).await;
            assert_eq!(ok.status, 200, "{ok:?}");
            assert_eq!(b.get(&app.url("/api/payments")).await.status, 200);
        } else {
            assert!(app.tenant.deny_push(&push.id));
            let no = verify(&mut b, &app, &token, json!({"oob_code": oob})).await;
            assert_eq!(no.status, 400);
            let e = json_of(&no);
            assert_eq!(e["error"], "invalid_grant");
            assert_eq!(e["error_description"], "MFA Authorization rejected.");
            assert_eq!(
                b.get(&app.url("/api/payments")).await.status,
                403,
                "nothing granted"
            );
        }
    }
}

#[tokio::test]
async fn chained_mfa_returns_a_new_sealed_token_for_the_next_factor() {
    let app = start_store(Arc::new(MemoryStore::new()), |t| {
        t.with_mfa_policy(
            MfaPolicy::new()
                .for_audience(PAYMENTS)
                .with_required_factor_count(2),
        )
    })
    .await;
    let (mut b, body) = mfa_required(&app).await;
    let first = body["mfa_token"].as_str().unwrap().to_owned();
    let code = app.tenant.totp_code(common::ALICE.0).unwrap();
    let r = verify(&mut b, &app, &first, json!({"otp": code})).await;
    assert_eq!(r.status, 403, "another factor is required: {r:?}");
    let chained = json_of(&r);
    assert_eq!(chained["error"], "mfa_required");
    let second = chained["mfa_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(
        second.starts_with("eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0.."),
        "sealed like the first"
    );
    let types: Vec<&str> = chained["mfa_requirements"]["challenge"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"otp"),
        "the factor just used is not offered again: {types:?}"
    );
    assert!(r.set_cookies.is_empty(), "nothing stored yet");
    assert_eq!(b.get(&app.url("/api/payments")).await.status, 403);
    let ok = verify(
        &mut b,
        &app,
        &second,
        json!({"recovery_code": "ABCDEFGHJKLMNPQRSTUVWXYZ"}),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(b.get(&app.url("/api/payments")).await.status, 200);
}

/// Every MFA route refuses a request from another site's page (a leaked `mfa_token` is no use
/// there): 403 `cross_origin_request`, nothing stored; the same requests from the app's own
/// origin go through, so the token was not spent.
#[tokio::test]
async fn the_mfa_routes_refuse_cross_site_requests() {
    let app = app().await;
    let (mut b, body) = mfa_required(&app).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let own = app.base.origin().ascii_serialization();
    let send = |method: reqwest::Method, path: &str, site: &[(&str, &str)], json: Option<Value>| {
        let mut req = reqwest::Client::new()
            .request(method, app.url(path))
            .bearer_auth(&token)
            .header("cookie", &cookie)
            .header("content-type", "application/json");
        for (k, v) in site {
            req = req.header(*k, *v);
        }
        if let Some(j) = json {
            req = req.body(j.to_string());
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let stored = r.headers().contains_key("set-cookie");
            (status, stored, r.json::<Value>().await.unwrap())
        }
    };
    let code = app.tenant.totp_code(common::ALICE.0).unwrap();
    let routes = [
        (reqwest::Method::GET, "/auth/mfa/authenticators", None),
        (
            reqwest::Method::POST,
            "/auth/mfa/challenge",
            Some(json!({"mfa_token": token, "challenge_type": "otp"})),
        ),
        (
            reqwest::Method::POST,
            "/auth/mfa/associate",
            Some(json!({"authenticator_types": ["otp"]})),
        ),
        (
            reqwest::Method::POST,
            "/auth/mfa/verify",
            Some(json!({"otp": code})),
        ),
    ];
    for cross in [
        &[("origin", "https://evil.example")][..],
        &[("sec-fetch-site", "cross-site")][..],
    ] {
        for (method, path, json) in &routes {
            let (status, stored, body) = send(method.clone(), path, cross, json.clone()).await;
            assert_eq!(status, 403, "{path} {cross:?}: {body}");
            assert_eq!(body["error"], "cross_origin_request", "{path}");
            assert!(!stored, "{path}: nothing stored");
        }
    }
    // From the app's own page the token still works: the refused requests did not use it up.
    let same = [("origin", own.as_str()), ("sec-fetch-site", "same-origin")];
    let (status, _, list) = send(
        reqwest::Method::GET,
        "/auth/mfa/authenticators",
        &same,
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let (status, stored, ok) = send(
        reqwest::Method::POST,
        "/auth/mfa/verify",
        &same,
        Some(json!({"otp": code})),
    )
    .await;
    assert_eq!((status, &ok), (200, &json!({"success": true})), "{ok}");
    assert!(stored, "the verified token is saved with the session");
    let again = b.get(&app.url("/api/payments")).await;
    assert_eq!(again.status, 200, "{again:?}");
}

//! An MFA policy for an API covers every grant that issues tokens for it: the password login
//! with `audience` (also through PAR) passes the MFA page before the code, the refresh grant and
//! Custom Token Exchange answer `mfa_required`, CIBA is refused, and an MFA grant cannot move a
//! lenient `mfa_token` to a stricter API. Access tokens say how the user authenticated in
//! [`AMR_CLAIM`].

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Map, Value, json};
use tollgate_tenant::{AMR_CLAIM, MfaPolicy, RunningTenant, TenantConfig, TokenExchangeProfile};
use url::Url;

const DEMO_CLIENT: &str = "demo-client";
const DEMO_SECRET: &str = "demo-secret";
/// The scope of the demo's payments login.
const PAYMENTS_SCOPE: &str = "openid profile email offline_access read:payments";
const LEGACY_TYPE: &str = "urn:acme:legacy-token";
const LEGACY_ALICE: &str = "legacy-token-of-alice";

/// `/authorize` parameters of the demo client for the payments API.
fn payments_login(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![
        ("client_id", DEMO_CLIENT),
        ("audience", API),
        ("scope", PAYMENTS_SCOPE),
    ];
    all.extend_from_slice(extra);
    authorize_params(&all)
}

/// Posts alice's password on the login page that `response` redirects to; returns the answer.
async fn password(http: &Client, tenant: &RunningTenant, response: &Response) -> Response {
    assert_eq!(response.status(), StatusCode::FOUND);
    let login_url = location(response);
    assert_eq!(login_url.path(), "/u/login", "{login_url}");
    let state_id = query(&login_url)["state"].clone();
    submit_login(http, tenant, &state_id, EMAIL, PASSWORD).await
}

/// The TOTP answer on the MFA page at `mfa_url`.
async fn otp_on_the_page(http: &Client, tenant: &RunningTenant, mfa_url: &Url) -> Response {
    let state_id = query(mfa_url)["state"].clone();
    let code = tenant.totp_code(EMAIL).unwrap();
    http.post(url(tenant, "u/mfa"))
        .query(&[("state", state_id.as_str())])
        .form(&[
            ("state", state_id.as_str()),
            ("method", "otp"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

/// Exchanges the code of a callback redirect for the demo client.
async fn demo_exchange(http: &Client, tenant: &RunningTenant, response: &Response) -> Value {
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(response);
    assert!(callback.as_str().starts_with(CALLBACK), "{callback}");
    let code = query(&callback)["code"].clone();
    let response = token_as(
        http,
        tenant,
        DEMO_CLIENT,
        DEMO_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The verified claims of the payments access token in `tokens`.
async fn payments_claims(tenant: &RunningTenant, tokens: &Value) -> Map<String, Value> {
    let token = tokens["access_token"].as_str().expect("an access token");
    verify(&browser(), tenant, token, API).await
}

/// The reproduction of the report, against the demo's tenant (`TenantConfig::example()`): a
/// login with `audience=payments` and the password alone used to yield a code whose exchange
/// gave a payments token with `amr` `["pwd"]`. Now the MFA page comes between the password and
/// the code, and the tokens say `mfa`.
#[tokio::test]
async fn a_password_login_for_the_policy_audience_gets_the_mfa_page_before_the_code() {
    let (tenant, _clock) = start_on_manual_clock(TenantConfig::example()).await;
    let http = browser();
    let response = authorize(&http, &tenant, &payments_login(&[])).await;
    let after_password = password(&http, &tenant, &response).await;
    assert_eq!(after_password.status(), StatusCode::FOUND);
    let mfa_url = location(&after_password);
    assert_eq!(mfa_url.path(), "/u/mfa", "no code before MFA: {mfa_url}");
    assert!(!query(&mfa_url).contains_key("code"));

    let tokens = demo_exchange(
        &http,
        &tenant,
        &otp_on_the_page(&http, &tenant, &mfa_url).await,
    )
    .await;
    let id = verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        DEMO_CLIENT,
    )
    .await;
    assert_eq!(id["amr"], json!(["pwd", "mfa"]));
    let access = payments_claims(&tenant, &tokens).await;
    assert_eq!(access[AMR_CLAIM], json!(["pwd", "mfa"]));
    assert!(access["scope"].as_str().unwrap().contains("read:payments"));

    // The family started by that login passed MFA: its refresh for payments is served, and
    // its access token still says so.
    let response = refresh_as(
        &tenant,
        DEMO_CLIENT,
        DEMO_SECRET,
        &refresh_token(&tokens),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    assert_eq!(
        payments_claims(&tenant, &refreshed).await[AMR_CLAIM],
        json!(["pwd", "mfa"])
    );
}

/// The same login pushed with PAR: the pushed `audience` counts as much as a query parameter.
#[tokio::test]
async fn a_pushed_login_for_the_policy_audience_gets_the_mfa_page_too() {
    let (tenant, _clock) = start_on_manual_clock(TenantConfig::example()).await;
    let http = browser();
    let mut form = payments_login(&[]);
    form.push(("client_secret".to_owned(), DEMO_SECRET.to_owned()));
    let pushed = http
        .post(url(&tenant, "oauth/par"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let pushed: Value = pushed.json().await.unwrap();
    let response = authorize(
        &http,
        &tenant,
        &[
            ("client_id".to_owned(), DEMO_CLIENT.to_owned()),
            (
                "request_uri".to_owned(),
                pushed["request_uri"].as_str().unwrap().to_owned(),
            ),
        ],
    )
    .await;
    let after_password = password(&http, &tenant, &response).await;
    let mfa_url = location(&after_password);
    assert_eq!(mfa_url.path(), "/u/mfa", "{mfa_url}");
    let tokens = demo_exchange(
        &http,
        &tenant,
        &otp_on_the_page(&http, &tenant, &mfa_url).await,
    )
    .await;
    assert_eq!(
        payments_claims(&tenant, &tokens).await[AMR_CLAIM],
        json!(["pwd", "mfa"])
    );
}

/// The demo's story still works: a login without an audience needs no MFA (its token says
/// `pwd`), and the refresh for payments answers `mfa_required`; after the MFA grant the payments
/// token says `mfa`.
#[tokio::test]
async fn the_refresh_for_the_policy_audience_is_refused_until_mfa() {
    let tenant = start_mfa().await;
    let http = browser();
    let callback = login_with(&http, &tenant, &[("scope", "openid offline_access")]).await;
    let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
    let id = verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(id["amr"], json!(["pwd"]));

    let rt = refresh_token(&tokens);
    let body = expect_mfa_required(&tenant, &rt, API).await;
    assert!(body.get("access_token").is_none());
    let tokens = pass_with_otp(&tenant, body["mfa_token"].as_str().unwrap(), &[]).await;
    assert_eq!(
        payments_claims(&tenant, &tokens).await[AMR_CLAIM],
        json!(["pwd", "mfa"])
    );

    // An access token for an API without a policy, from a password login, says only `pwd`.
    let plain = start().await;
    let tokens = tokens_for(&plain, CLIENT_ID, CLIENT_SECRET, &[("audience", API)]).await;
    assert_eq!(
        payments_claims(&plain, &tokens).await[AMR_CLAIM],
        json!(["pwd"])
    );
}

/// Custom Token Exchange for the policy audience answers `mfa_required` (the subject token
/// proves no second factor); the MFA grant then issues the payments token. For an API without a
/// policy the exchange is served, with no methods claim (the tenant does not know them).
#[tokio::test]
async fn token_exchange_for_the_policy_audience_answers_mfa_required() {
    let tenant = start_with(mfa_config().with_token_exchange_profile(
        TokenExchangeProfile::new(LEGACY_TYPE).with_subject(LEGACY_ALICE, EMAIL),
    ))
    .await;
    let http = browser();
    let exchange_for = |audience: &'static str| {
        let http = http.clone();
        let tenant = &tenant;
        async move {
            token(
                &http,
                tenant,
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", LEGACY_ALICE),
                    ("subject_token_type", LEGACY_TYPE),
                    ("audience", audience),
                    ("scope", "openid read:payments read:orders"),
                ],
            )
            .await
        }
    };
    let refused = exchange_for(API).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required", "{body}");
    assert!(body.get("access_token").is_none());
    assert_eq!(
        body["mfa_requirements"]["challenge"][0]["type"], "otp",
        "{body}"
    );
    let mfar = tenant.events_of_type("mfar");
    assert_eq!(mfar.len(), 1, "the refusal is logged as mfa_required");

    let tokens = pass_with_otp(&tenant, body["mfa_token"].as_str().unwrap(), &[]).await;
    let access = payments_claims(&tenant, &tokens).await;
    assert_eq!(access[AMR_CLAIM], json!(["mfa"]));
    assert_eq!(access["scope"], "openid read:payments");

    let served = exchange_for(OTHER_API).await;
    assert_eq!(served.status(), StatusCode::OK);
    let served: Value = served.json().await.unwrap();
    let access = verify(
        &http,
        &tenant,
        served["access_token"].as_str().unwrap(),
        OTHER_API,
    )
    .await;
    assert!(!access.contains_key(AMR_CLAIM), "{access:?}");
}

/// CIBA for the policy audience is refused at `/bc-authorize` (the approval of a backchannel
/// request cannot ask for a second factor), before anything is sent to the user.
#[tokio::test]
async fn ciba_for_the_policy_audience_is_refused() {
    let tenant = start_mfa().await;
    let hint = json!({
        "format": "iss_sub",
        "iss": tenant.issuer(),
        "sub": tenant.config().users()[0].sub(),
    })
    .to_string();
    let start_ciba = |audience: &'static str| {
        let hint = hint.clone();
        let tenant = &tenant;
        async move {
            browser()
                .post(url(tenant, "bc-authorize"))
                .form(&[
                    ("client_id", CLIENT_ID),
                    ("client_secret", CLIENT_SECRET),
                    ("login_hint", hint.as_str()),
                    ("scope", "openid"),
                    ("binding_message", "Pay 10 EUR"),
                    ("audience", audience),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let before = tenant.outbox().len();
    let refused = start_ciba(API).await;
    expect_error(refused, StatusCode::FORBIDDEN, "access_denied", None).await;
    assert_eq!(tenant.outbox().len(), before, "no push was sent");
    // Another API has no policy: the request starts.
    assert_eq!(start_ciba(OTHER_API).await.status(), StatusCode::OK);
}

/// An `mfa_token` earned under a lenient policy cannot be redeemed for an API whose policy asks
/// for more (two factors here) by naming it in the MFA grant's `audience`.
#[tokio::test]
async fn an_mfa_grant_cannot_move_a_lenient_mfa_token_to_a_stricter_api() {
    let tenant = start_with(
        mfa_config()
            .with_mfa_policy(MfaPolicy::new().for_audience(OTHER_API))
            .with_mfa_policy(
                MfaPolicy::new()
                    .for_audience(API)
                    .with_factors(["otp", "recovery-code"])
                    .with_required_factor_count(2),
            ),
    )
    .await;
    let rt = refresh_token(&tokens_as(&tenant, EMAIL, PASSWORD).await);
    let body = expect_mfa_required(&tenant, &rt, OTHER_API).await;
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let code = tenant.totp_code(EMAIL).unwrap();
    let moved = mfa_grant(
        &tenant,
        GRANT_OTP,
        &[("mfa_token", mfa_token), ("otp", &code), ("audience", API)],
    )
    .await;
    let body = expect_error(moved, StatusCode::FORBIDDEN, "access_denied", None).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("another audience"),
        "{body}"
    );
    // For its own audience the same mfa_token works.
    let tokens = pass_with_otp(&tenant, mfa_token, &[("audience", OTHER_API)]).await;
    assert!(tokens["access_token"].is_string());
}

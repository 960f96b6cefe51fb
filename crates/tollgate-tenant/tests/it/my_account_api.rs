//! The local tenant's My Account and My Organization APIs over HTTP, as an app's own tests would
//! call them: token checks, the Connected Accounts contract of the wire contract §10 with each of
//! its refusals, pagination, and the problem documents.

use crate::common;
use crate::common::{CALLBACK, CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD, VERIFIER};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tollgate_tenant::{RunningTenant, UserConfig};

const CREATE: &str = "create:me:connected_accounts";
const READ: &str = "read:me:connected_accounts";
const DELETE: &str = "delete:me:connected_accounts";

async fn tenant() -> RunningTenant {
    common::start_with(common::config().with_user(
        UserConfig::new("carol@example.com", "carol-password-1").with_organization("org_acme"),
    ))
    .await
}

/// A refresh token of `email` (a login with `offline_access`).
async fn refresh_token_of(tenant: &RunningTenant, email: &str, password: &str) -> String {
    let http = common::browser();
    let response = common::authorize(&http, tenant, &common::authorize_params(&[])).await;
    let login = common::location(&response);
    let state = common::query(&login)["state"].clone();
    let back = common::submit_login(&http, tenant, &state, email, password).await;
    let code = common::query(&common::location(&back))["code"].clone();
    common::exchange(&http, tenant, &code).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An access token for `audience` with `scope`, from `refresh_token`, which the tenant rotates:
/// the successor is written back.
async fn token_for(
    tenant: &RunningTenant,
    refresh_token: &mut String,
    audience: &str,
    scope: &str,
) -> String {
    let response = common::refresh_as(
        tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        refresh_token,
        &[("audience", audience), ("scope", scope)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    if let Some(next) = body["refresh_token"].as_str() {
        *refresh_token = next.to_owned();
    }
    body["access_token"].as_str().unwrap().to_owned()
}

/// Alice's My Account token with every Connected Accounts scope.
async fn alice(tenant: &RunningTenant) -> String {
    let mut rt = refresh_token_of(tenant, EMAIL, PASSWORD).await;
    token_for(
        tenant,
        &mut rt,
        &me(tenant),
        &format!("{CREATE} {READ} {DELETE}"),
    )
    .await
}

fn me(tenant: &RunningTenant) -> String {
    format!("{}me/", tenant.issuer())
}

async fn call(
    tenant: &RunningTenant,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut req = Client::new().request(method, common::url(tenant, path.trim_start_matches('/')));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Asserts an RFC 7807 answer with `status`; returns its body.
async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// A change to a request body.
type Change = fn(&mut Value);

fn connect_body() -> Value {
    json!({
        "connection": "google-oauth2",
        "redirect_uri": CALLBACK,
        "state": "st-1",
        "code_challenge": common::challenge(VERIFIER),
        "code_challenge_method": "S256",
        "scopes": ["openid", "calendar"],
    })
}

/// connect → Allow on the consent page; returns `(auth_session, connect_code)`.
async fn connect_and_allow(tenant: &RunningTenant, token: &str) -> (String, String) {
    let r = call(
        tenant,
        reqwest::Method::POST,
        "me/v1/connected-accounts/connect",
        Some(token),
        Some(connect_body()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ticket: Value = r.json().await.unwrap();
    assert_eq!(ticket["expires_in"], 300);
    assert_eq!(
        ticket["connect_uri"],
        format!("{}connected-accounts/connect", tenant.issuer())
    );
    let allow =
        allow_in_browser(tenant, ticket["connect_params"]["ticket"].as_str().unwrap()).await;
    assert!(allow.status().is_redirection(), "{}", allow.status());
    let back = common::location(&allow);
    assert!(back.as_str().starts_with(CALLBACK));
    let q = common::query(&back);
    assert_eq!(q["state"], "st-1");
    (
        ticket["auth_session"].as_str().unwrap().to_owned(),
        q["connect_code"].clone(),
    )
}

/// Opens the consent page of `ticket` in a fresh browser and selects Allow there.
async fn allow_in_browser(tenant: &RunningTenant, ticket: &str) -> Response {
    let http = common::browser();
    let shown = http
        .get(common::url(tenant, "connected-accounts/connect"))
        .query(&[("ticket", ticket)])
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    http.post(common::url(tenant, "connected-accounts/connect"))
        .form(&[("ticket", ticket), ("decision", "allow")])
        .send()
        .await
        .unwrap()
}

/// `DELETE {path}` succeeds once, then answers 404.
async fn delete_once(tenant: &RunningTenant, path: &str, token: &str) {
    let first = call(tenant, reqwest::Method::DELETE, path, Some(token), None).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let second = call(tenant, reqwest::Method::DELETE, path, Some(token), None).await;
    problem(second, 404).await;
}

fn complete_body(auth_session: &str, code: &str) -> Value {
    json!({"auth_session": auth_session, "connect_code": code, "redirect_uri": CALLBACK, "code_verifier": VERIFIER})
}

async fn complete(tenant: &RunningTenant, token: &str, body: Value) -> Response {
    call(
        tenant,
        reqwest::Method::POST,
        "me/v1/connected-accounts/complete",
        Some(token),
        Some(body),
    )
    .await
}

async fn accounts(tenant: &RunningTenant, token: &str, next: Option<&str>) -> Value {
    let path = match next {
        Some(n) => format!("me/v1/connected-accounts/accounts?next={n}"),
        None => "me/v1/connected-accounts/accounts".to_owned(),
    };
    let r = call(tenant, reqwest::Method::GET, &path, Some(token), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn tokens_are_checked_before_anything_else() {
    let tenant = tenant().await;
    let path = "me/v1/connected-accounts/accounts";
    let none = call(&tenant, reqwest::Method::GET, path, None, None).await;
    assert_eq!(none.headers()["www-authenticate"], "Bearer realm=\"api\"");
    problem(none, 401).await;

    let mut rt = refresh_token_of(&tenant, EMAIL, PASSWORD).await;
    // A token for another API, and a My Account token without the scope.
    let payments = token_for(&tenant, &mut rt, common::API, "read:payments").await;
    let r = call(&tenant, reqwest::Method::GET, path, Some(&payments), None).await;
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    problem(r, 401).await;
    let narrow = token_for(&tenant, &mut rt, &me(&tenant), CREATE).await;
    let r = call(&tenant, reqwest::Method::GET, path, Some(&narrow), None).await;
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let body = problem(r, 403).await;
    assert!(body["detail"].as_str().unwrap().contains(READ));
    let forged = format!("{narrow}x");
    problem(
        call(&tenant, reqwest::Method::GET, path, Some(&forged), None).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn connect_bodies_are_validated_field_by_field() {
    let tenant = tenant().await;
    let token = alice(&tenant).await;
    let cases: Vec<(&str, Change)> = vec![
        ("extra", (|b: &mut Value| b["extra"] = json!(1))),
        (
            "connection",
            (|b: &mut Value| b["connection"] = json!("myspace")),
        ),
        ("connection", (|b: &mut Value| b["connection"] = json!(""))),
        (
            "redirect_uri",
            (|b: &mut Value| b["redirect_uri"] = json!("https://evil.example.com/cb")),
        ),
        (
            "code_challenge",
            (|b: &mut Value| b["code_challenge"] = json!("short")),
        ),
        (
            "code_challenge_method",
            (|b: &mut Value| b["code_challenge_method"] = json!("plain")),
        ),
        ("scopes", (|b: &mut Value| b["scopes"] = json!(["a", "a"]))),
        ("scopes", (|b: &mut Value| b["scopes"] = json!([]))),
        (
            "authorization_params/prompt",
            (|b: &mut Value| b["authorization_params"] = json!({"prompt": "always"})),
        ),
        (
            "authorization_params/nonce",
            (|b: &mut Value| b["authorization_params"] = json!({"nonce": "n"})),
        ),
    ];
    for (field, change) in cases {
        let mut body = connect_body();
        change(&mut body);
        let r = call(
            &tenant,
            reqwest::Method::POST,
            "me/v1/connected-accounts/connect",
            Some(&token),
            Some(body),
        )
        .await;
        let p = problem(r, 400).await;
        assert_eq!(p["validation_errors"][0]["field"], field, "{p}");
    }
    // A valid body with every optional field passes.
    let mut full = connect_body();
    full["authorization_params"] =
        json!({"prompt": "consent", "max_age": 0, "login_hint": "alice"});
    let r = call(
        &tenant,
        reqwest::Method::POST,
        "me/v1/connected-accounts/connect",
        Some(&token),
        Some(full),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn complete_refuses_every_mismatch_and_links_nothing() {
    let tenant = tenant().await;
    let token = alice(&tenant).await;
    let mut bob_rt = refresh_token_of(&tenant, "bob@example.com", "bob-password-1").await;
    let bob = token_for(&tenant, &mut bob_rt, &me(&tenant), CREATE).await;
    let refusals: [(u16, &str, Change); 3] = [
        (409, "", |b| b["auth_session"] = json!("another-session")),
        (400, "redirect_uri", |b| {
            b["redirect_uri"] = json!("http://127.0.0.1:3000/other")
        }),
        (400, "code_verifier", |b| {
            b["code_verifier"] = json!("x".repeat(43))
        }),
    ];
    for (status, field, change) in refusals {
        let (session, code) = connect_and_allow(&tenant, &token).await;
        let mut body = complete_body(&session, &code);
        change(&mut body);
        let p = problem(complete(&tenant, &token, body).await, status).await;
        if !field.is_empty() {
            assert_eq!(p["validation_errors"][0]["field"], field, "{p}");
        }
        // The code was spent by the refused attempt.
        let again = complete(&tenant, &token, complete_body(&session, &code)).await;
        problem(again, 400).await;
    }
    // Another user cannot complete Alice's flow.
    let (session, code) = connect_and_allow(&tenant, &token).await;
    problem(
        complete(&tenant, &bob, complete_body(&session, &code)).await,
        403,
    )
    .await;
    // Extra fields are refused.
    let (session, code) = connect_and_allow(&tenant, &token).await;
    let mut body = complete_body(&session, &code);
    body["connection"] = json!("github");
    problem(complete(&tenant, &token, body).await, 400).await;

    assert_eq!(accounts(&tenant, &token, None).await["accounts"], json!([]));
}

#[tokio::test]
async fn a_completed_link_is_listed_feeds_token_vault_and_can_be_deleted() {
    let tenant = tenant().await;
    let mut rt = refresh_token_of(&tenant, EMAIL, PASSWORD).await;
    let token = token_for(
        &tenant,
        &mut rt,
        &me(&tenant),
        &format!("{CREATE} {READ} {DELETE}"),
    )
    .await;
    let vault = |rt: String| {
        let tenant = &tenant;
        async move {
            common::token(
                &common::browser(),
                tenant,
                &[
                    (
                        "grant_type",
                        "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token",
                    ),
                    ("subject_token", &rt),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:refresh_token",
                    ),
                    (
                        "requested_token_type",
                        "http://auth0.com/oauth/token-type/federated-connection-access-token",
                    ),
                    ("connection", "google-oauth2"),
                ],
            )
            .await
            .status()
        }
    };
    assert_eq!(
        vault(rt.clone()).await,
        StatusCode::UNAUTHORIZED,
        "nothing linked yet"
    );

    let (session, code) = connect_and_allow(&tenant, &token).await;
    let done = complete(&tenant, &token, complete_body(&session, &code)).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let account: Value = done.json().await.unwrap();
    assert!(account["id"].as_str().unwrap().starts_with("cac_"));
    assert_eq!(account["access_type"], "offline");
    assert_eq!(account["scopes"], json!(["openid", "calendar"]));
    assert!(account["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        vault(rt).await,
        StatusCode::OK,
        "Token Vault now has the link"
    );

    let listed = accounts(&tenant, &token, None).await;
    assert_eq!(listed["accounts"][0]["id"], account["id"]);
    let id = account["id"].as_str().unwrap();
    let path = format!("me/v1/connected-accounts/accounts/{id}");
    delete_once(&tenant, &path, &token).await;
    assert_eq!(accounts(&tenant, &token, None).await["accounts"], json!([]));
}

#[tokio::test]
async fn accounts_come_twenty_to_a_page_and_only_the_callers() {
    // Each link to the same connection replaces the last: use distinct connections.
    let connections: Vec<String> = (0..21).map(|i| format!("conn-{i}")).collect();
    let tenant = common::start_with(
        common::config().with_connected_account_connections(connections.clone()),
    )
    .await;
    let token = alice(&tenant).await;
    for c in &connections {
        let mut body = connect_body();
        body["connection"] = json!(c);
        let r = call(
            &tenant,
            reqwest::Method::POST,
            "me/v1/connected-accounts/connect",
            Some(&token),
            Some(body),
        )
        .await;
        let ticket: Value = r.json().await.unwrap();
        let allow = allow_in_browser(
            &tenant,
            ticket["connect_params"]["ticket"].as_str().unwrap(),
        )
        .await;
        let code = common::query(&common::location(&allow))["connect_code"].clone();
        let done = complete(
            &tenant,
            &token,
            complete_body(ticket["auth_session"].as_str().unwrap(), &code),
        )
        .await;
        assert_eq!(done.status(), StatusCode::CREATED);
    }
    let first = accounts(&tenant, &token, None).await;
    assert_eq!(first["accounts"].as_array().unwrap().len(), 20);
    let next = first["next"].as_str().expect("a second page");
    let second = accounts(&tenant, &token, Some(next)).await;
    assert_eq!(second["accounts"].as_array().unwrap().len(), 1);
    assert!(second.get("next").is_none());
    let bad = call(
        &tenant,
        reqwest::Method::GET,
        "me/v1/connected-accounts/accounts?next=zzz",
        Some(&token),
        None,
    )
    .await;
    problem(bad, 400).await;

    // Bob sees none of them, and cannot delete one.
    let mut bob_rt = refresh_token_of(&tenant, "bob@example.com", "bob-password-1").await;
    let bob = token_for(
        &tenant,
        &mut bob_rt,
        &me(&tenant),
        &format!("{READ} {DELETE}"),
    )
    .await;
    assert_eq!(accounts(&tenant, &bob, None).await["accounts"], json!([]));
    let id = first["accounts"][0]["id"].as_str().unwrap();
    let r = call(
        &tenant,
        reqwest::Method::DELETE,
        &format!("me/v1/connected-accounts/accounts/{id}"),
        Some(&bob),
        None,
    )
    .await;
    problem(r, 404).await;
}

#[tokio::test]
async fn the_consent_page_refuses_unknown_and_spent_tickets_without_redirecting() {
    let tenant = tenant().await;
    let http = common::browser();
    let page = http
        .get(common::url(&tenant, "connected-accounts/connect"))
        .query(&[("ticket", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());

    let token = alice(&tenant).await;
    let r = call(
        &tenant,
        reqwest::Method::POST,
        "me/v1/connected-accounts/connect",
        Some(&token),
        Some(connect_body()),
    )
    .await;
    let ticket: Value = r.json().await.unwrap();
    let ticket = ticket["connect_params"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = http
        .get(common::url(&tenant, "connected-accounts/connect"))
        .query(&[("ticket", &ticket)])
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.unwrap();
    assert!(
        html.contains("Connect google-oauth2") && html.contains(EMAIL) && html.contains("calendar")
    );
    let deny = http
        .post(common::url(&tenant, "connected-accounts/connect"))
        .form(&[("ticket", ticket.as_str()), ("decision", "deny")])
        .send()
        .await
        .unwrap();
    let back = common::query(&common::location(&deny));
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "st-1");
    assert!(!back.contains_key("connect_code"));
    let again = http
        .post(common::url(&tenant, "connected-accounts/connect"))
        .form(&[("ticket", ticket.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.headers().get("location").is_none());
}

#[tokio::test]
async fn authentication_methods_and_organization_details() {
    let tenant = tenant().await;
    let mut rt = refresh_token_of(&tenant, EMAIL, PASSWORD).await;
    let token = token_for(
        &tenant,
        &mut rt,
        &me(&tenant),
        "read:me:authentication_methods delete:me:authentication_methods",
    )
    .await;
    let r = call(
        &tenant,
        reqwest::Method::GET,
        "me/v1/authentication-methods",
        Some(&token),
        None,
    )
    .await;
    let methods: Value = r.json().await.unwrap();
    let totp = &methods["authentication_methods"][0];
    assert_eq!(totp["type"], "totp");
    let path = format!(
        "me/v1/authentication-methods/{}",
        totp["id"].as_str().unwrap()
    );
    delete_once(&tenant, &path, &token).await;

    // Carol's organization; Alice has none.
    let mut carol_rt = refresh_token_of(&tenant, "carol@example.com", "carol-password-1").await;
    let org_api = format!("{}my-org/", tenant.issuer());
    let carol = token_for(
        &tenant,
        &mut carol_rt,
        &org_api,
        "read:my_org:details update:my_org:details",
    )
    .await;
    let patch = Client::new()
        .patch(common::url(&tenant, "my-org/details"))
        .bearer_auth(&carol)
        .json(&json!({"display_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    let details: Value = call(
        &tenant,
        reqwest::Method::GET,
        "my-org/details",
        Some(&carol),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        details,
        json!({"id": "org_acme", "name": "org_acme", "display_name": "Acme"})
    );
    let alice_org = token_for(&tenant, &mut rt, &org_api, "read:my_org:details").await;
    problem(
        call(
            &tenant,
            reqwest::Method::GET,
            "my-org/details",
            Some(&alice_org),
            None,
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn the_consent_post_needs_the_browser_that_was_shown_the_page() {
    let tenant = tenant().await;
    let token = alice(&tenant).await;
    let r = call(
        &tenant,
        reqwest::Method::POST,
        "me/v1/connected-accounts/connect",
        Some(&token),
        Some(connect_body()),
    )
    .await;
    let ticket: Value = r.json().await.unwrap();
    let ticket = ticket["connect_params"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = [("ticket", ticket.as_str()), ("decision", "allow")];
    // Posted by a browser that never saw the page (an attacker's auto-submitting form).
    let refused = common::browser()
        .post(common::url(&tenant, "connected-accounts/connect"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get("location").is_none());
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("was not started in this browser")
    );
    // The ticket is not spent; a cross-site post from the right browser is refused too.
    let http = common::browser();
    let shown = http
        .get(common::url(&tenant, "connected-accounts/connect"))
        .query(&[("ticket", &ticket)])
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(shown.headers()["x-frame-options"], "DENY");
    let csp = shown.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let cross = http
        .post(common::url(&tenant, "connected-accounts/connect"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let allow = http
        .post(common::url(&tenant, "connected-accounts/connect"))
        .header("origin", common::origin(&tenant))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(allow.status().is_redirection(), "{}", allow.status());
    assert!(common::query(&common::location(&allow)).contains_key("connect_code"));
}

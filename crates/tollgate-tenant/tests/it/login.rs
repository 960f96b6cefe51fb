//! `/authorize` and `/u/login`: the full login, SSO, `prompt`, `max_age` and request errors.

use crate::common::*;
use reqwest::{StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn full_login_with_pkce_issues_verified_tokens() {
    let tenant = start().await;
    let http = browser();

    // /authorize → /u/login?state=…
    let response = authorize(&http, &tenant, &authorize_params(&[])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let login_url = location(&response);
    assert_eq!(login_url.path(), "/u/login");
    assert_eq!(login_url.origin(), tenant.base_url().origin());
    let state_id = query(&login_url)["state"].clone();
    assert!(state_id.len() >= 32);

    // The login page.
    let page = http.get(login_url.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for needle in [
        "<html lang=\"en\">",
        "<title>Log in</title>",
        "<main>",
        "<h1>",
        "<label for=\"username\">",
        "<label for=\"password\">",
        "name=\"username\" type=\"email\" autocomplete=\"username\"",
        "name=\"password\" type=\"password\" autocomplete=\"current-password\"",
        &format!("<input type=\"hidden\" name=\"state\" value=\"{state_id}\">"),
        "<button type=\"submit\">Continue</button>",
        &format!("<form method=\"post\" action=\"/u/login?state={state_id}\">"),
    ] {
        assert!(html.contains(needle), "login page lacks {needle}: {html}");
    }
    assert!(!html.contains("role=\"alert\""));

    // Wrong password: the page again, 400, alert, typed email kept.
    let response = submit_login(&http, &tenant, &state_id, EMAIL, "not-the-password").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("<p role=\"alert\">Wrong email or password.</p>"));
    assert!(html.contains(&format!("value=\"{EMAIL}\"")));
    // Unknown user: same answer.
    let response = submit_login(&http, &tenant, &state_id, "mallory@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
    );

    // Right password: SSO cookie and a redirect to the callback with code and state.
    let response = submit_login(&http, &tenant, &state_id, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("auth0="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let callback = location(&response);
    assert_eq!(
        format!(
            "{}{}",
            callback.origin().ascii_serialization(),
            callback.path()
        ),
        CALLBACK
    );
    let params = query(&callback);
    assert_eq!(params["state"], "xyz-state");
    let code = params["code"].clone();

    // The transaction is finished: its page is gone.
    let again = http.get(login_url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // Token exchange with PKCE.
    let tokens = exchange(&http, &tenant, &code).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 86_400);
    assert_eq!(tokens["scope"], "openid profile email offline_access");
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens["access_token"].is_string());

    let id_token = tokens["id_token"].as_str().unwrap();
    let header = header_json(id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    let claims = verify(&http, &tenant, id_token, CLIENT_ID).await;
    let now = now();
    assert_eq!(claims["iss"], tenant.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert!(claims["sub"].as_str().unwrap().starts_with("auth0|"));
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["nickname"], "alice");
    assert_eq!(claims["email"], EMAIL);
    assert_eq!(claims["email_verified"], true);
    assert!(claims["picture"].is_string());
    let updated_at = claims["updated_at"].as_str().unwrap();
    assert!(
        updated_at.ends_with(".000Z") && updated_at.len() == 24,
        "{updated_at}"
    );
    assert!(claims["sid"].as_str().unwrap().len() >= 32);
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(now) <= 5);
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 36_000);
    assert!(claims["auth_time"].as_u64().unwrap().abs_diff(now) <= 5);
}

#[tokio::test]
async fn scopes_select_the_profile_claims() {
    let tenant = start().await;
    let http = browser();
    let callback = login_with(&http, &tenant, &[("scope", "openid")]).await;
    let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
    assert_eq!(tokens["scope"], "openid");
    assert!(tokens.get("refresh_token").is_none());
    let claims = verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    for absent in [
        "name",
        "nickname",
        "picture",
        "updated_at",
        "email",
        "email_verified",
    ] {
        assert!(!claims.contains_key(absent), "{absent} without its scope");
    }
}

#[tokio::test]
async fn sso_session_skips_the_password() {
    let tenant = start().await;
    let http = browser();
    let first = login_with(&http, &tenant, &[]).await;
    let first_tokens = exchange(&http, &tenant, &query(&first)["code"]).await;
    let first_claims = claims(first_tokens["id_token"].as_str().unwrap());

    let response = authorize(&http, &tenant, &authorize_params(&[("state", "second")])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(
        callback.as_str().starts_with(CALLBACK),
        "straight to the callback: {callback}"
    );
    assert_eq!(query(&callback)["state"], "second");
    let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
    let second_claims = verify(
        &http,
        &tenant,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(second_claims["sid"], first_claims["sid"]);
    assert_eq!(second_claims["auth_time"], first_claims["auth_time"]);
    assert_eq!(second_claims["sub"], first_claims["sub"]);
    // Silent logins carry no amr, as at Auth0.
    assert!(!second_claims.contains_key("amr"));
}

#[tokio::test]
async fn prompt_none_with_and_without_a_session() {
    let tenant = start().await;
    let http = browser();
    let params = authorize_params(&[("prompt", "none"), ("state", "silent")]);

    let response = authorize(&http, &tenant, &params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(callback.as_str().starts_with(CALLBACK));
    let q = query(&callback);
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["error_description"], "Login required");
    assert_eq!(q["state"], "silent");
    assert!(!q.contains_key("code"));

    login_with(&http, &tenant, &[]).await;
    let response = authorize(&http, &tenant, &params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let q = query(&location(&response));
    assert!(q.contains_key("code"), "{q:?}");
    assert_eq!(q["state"], "silent");
}

#[tokio::test]
async fn prompt_login_and_max_age_force_the_login_page() {
    let (tenant, clock) = start_on_manual_clock(config()).await;
    let http = browser();
    login_with(&http, &tenant, &[]).await;

    let response = authorize(&http, &tenant, &authorize_params(&[("prompt", "login")])).await;
    assert_eq!(location(&response).path(), "/u/login");

    // max_age=0: always too old. A generous max_age: the session is fresh enough.
    let response = authorize(&http, &tenant, &authorize_params(&[("max_age", "0")])).await;
    assert_eq!(location(&response).path(), "/u/login");
    let response = authorize(&http, &tenant, &authorize_params(&[("max_age", "3600")])).await;
    assert!(location(&response).as_str().starts_with(CALLBACK));

    // prompt=none with a too-old session: login_required.
    let response = authorize(
        &http,
        &tenant,
        &authorize_params(&[("max_age", "0"), ("prompt", "none")]),
    )
    .await;
    assert_eq!(query(&location(&response))["error"], "login_required");

    // Logging in again through the page updates auth_time but keeps the session (sid).
    let before = {
        let callback = location(&authorize(&http, &tenant, &authorize_params(&[])).await);
        let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
        claims(tokens["id_token"].as_str().unwrap())
    };
    clock.advance(1);
    let callback = login_with(&http, &tenant, &[("max_age", "0")]).await;
    let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
    let after = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(after["sid"], before["sid"]);
    assert!(after["auth_time"].as_u64() > before["auth_time"].as_u64());
}

#[tokio::test]
async fn bad_client_or_redirect_uri_gets_a_page_not_a_redirect() {
    let tenant = start().await;
    let http = browser();
    for (extra, text) in [
        (vec![("client_id", "nobody")], "Unknown client: nobody"),
        (
            vec![("client_id", "")],
            "Missing required parameter: client_id",
        ),
        (
            vec![("redirect_uri", "https://evil.example.com/cb")],
            "Callback URL mismatch",
        ),
        (
            vec![("redirect_uri", "http://127.0.0.1:3000/auth/callback/")],
            "Callback URL mismatch",
        ),
    ] {
        let response = authorize(&http, &tenant, &authorize_params(&extra)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{extra:?}");
        assert!(response.headers().get(header::LOCATION).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains(text), "{extra:?}: {html}");
        assert!(html.contains("<html lang=\"en\">"));
    }
}

#[tokio::test]
async fn protocol_errors_are_redirected_with_state() {
    let tenant = start().await;
    let http = browser();
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, Option<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            Some("Unsupported response type: token"),
        ),
        (
            vec![("response_type", "")],
            "invalid_request",
            Some("Missing required parameter: response_type"),
        ),
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            None,
        ),
        (vec![("code_challenge_method", "")], "invalid_request", None),
        (vec![("code_challenge", "")], "invalid_request", None),
        (vec![("code_challenge", "short")], "invalid_request", None),
        (vec![("max_age", "soon")], "invalid_request", None),
        (vec![("prompt", "none login")], "invalid_request", None),
        (vec![("response_mode", "fragment")], "invalid_request", None),
        (
            vec![("audience", "https://unknown.example.com")],
            "access_denied",
            Some("Service not found: https://unknown.example.com"),
        ),
    ];
    for (extra, error, description) in cases {
        let response = authorize(&http, &tenant, &authorize_params(&extra)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{extra:?}");
        let callback = location(&response);
        assert!(callback.as_str().starts_with(CALLBACK), "{extra:?}");
        let q = query(&callback);
        assert_eq!(q["error"], error, "{extra:?}");
        assert_eq!(q["state"], "xyz-state");
        if let Some(description) = description {
            assert_eq!(q["error_description"], description);
        } else {
            assert!(!q["error_description"].is_empty());
        }
    }
}

#[tokio::test]
async fn unknown_login_transaction_gets_the_expired_page() {
    let tenant = start().await;
    let http = browser();
    let page = http
        .get(url(&tenant, "u/login?state=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Login transaction expired")
    );
    let response = submit_login(&http, &tenant, "nope", EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::SET_COOKIE).is_none());

    let short =
        start_with(config().with_login_transaction_lifetime(std::time::Duration::ZERO)).await;
    let response = authorize(&http, &short, &authorize_params(&[])).await;
    let page = http.get(location(&response)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn request_data_is_escaped_on_the_page() {
    let tenant = start().await;
    let http = browser();
    let response = authorize(
        &http,
        &tenant,
        &authorize_params(&[("login_hint", "\"><script>alert(1)</script>")]),
    )
    .await;
    let state_id = query(&location(&response))["state"].clone();
    let html = http
        .get(location(&response))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));

    let response = submit_login(&http, &tenant, &state_id, "<b>x</b>@example.com", "x").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<b>x</b>") && html.contains("&lt;b&gt;x&lt;/b&gt;"));

    let page = http
        .get(url(&tenant, "authorize"))
        .query(&[("client_id", "<img src=x>")])
        .send()
        .await
        .unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Unknown client: &lt;img src=x&gt;")
    );
}

#[tokio::test]
async fn missing_redirect_uri_uses_the_first_callback() {
    let tenant = start().await;
    let http = browser();
    let callback = login_with(&http, &tenant, &[("redirect_uri", "")]).await;
    let code = query(&callback)["code"].clone();
    // Not sent to /authorize, so not required at the token endpoint.
    let response = token(
        &http,
        &tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

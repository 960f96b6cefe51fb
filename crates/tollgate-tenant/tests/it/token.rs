//! `/oauth/token` (authorization_code and client_credentials), client authentication,
//! access tokens and `/userinfo`.

use crate::common::*;
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use tollgate_tenant::{ClientConfig, RunningTenant, TenantConfig};

async fn code_exchange_with(
    http: &reqwest::Client,
    tenant: &tollgate_tenant::RunningTenant,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    token(
        http,
        tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn client_authentication_basic_and_post() {
    let tenant = start().await;
    let http = browser();
    let endpoint = url(&tenant, "oauth/token");
    let cc = [("grant_type", "client_credentials"), ("audience", API)];

    // client_secret_basic
    let ok = http
        .post(endpoint.clone())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let bad = http
        .post(endpoint.clone())
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_error(
        bad,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some("Client authentication failed"),
    )
    .await;
    // Basic naming one client while the body names another.
    let mixed = http
        .post(endpoint.clone())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", API),
            ("client_id", "leeway-client"),
        ])
        .send()
        .await
        .unwrap();
    assert_error(mixed, StatusCode::UNAUTHORIZED, "invalid_client", None).await;

    // client_secret_post
    let bad = http
        .post(endpoint.clone())
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", API),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_error(
        bad,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some("Client authentication failed"),
    )
    .await;
    let unknown = http
        .post(endpoint.clone())
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", API),
            ("client_id", "nobody"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_error(
        unknown,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some("Client authentication failed"),
    )
    .await;
    let none = http.post(endpoint.clone()).form(&cc).send().await.unwrap();
    assert_error(none, StatusCode::UNAUTHORIZED, "invalid_client", None).await;
    let garbage = http
        .post(endpoint.clone())
        .header(header::AUTHORIZATION, "Basic !!!not-base64")
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_error(garbage, StatusCode::UNAUTHORIZED, "invalid_client", None).await;

    // JSON bodies are accepted too.
    let json_body = http
        .post(endpoint)
        .json(&json!({
            "grant_type": "client_credentials", "audience": API,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::OK);
}

#[tokio::test]
async fn grant_type_missing_or_unsupported() {
    let tenant = start().await;
    let http = browser();
    assert_error(
        token(&http, &tenant, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Missing required parameter: grant_type"),
    )
    .await;
    assert_error(
        token(&http, &tenant, &[("grant_type", "password")]).await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        None,
    )
    .await;
    let malformed = http
        .post(url(&tenant, "oauth/token"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::BAD_REQUEST, "invalid_request", None).await;
    assert_error(
        token(&http, &tenant, &[("grant_type", "authorization_code")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Missing required parameter: code"),
    )
    .await;
}

#[tokio::test]
async fn wrong_code_verifier_is_refused() {
    let tenant = start().await;
    let http = browser();
    let code = login_code(&browser(), &tenant).await;
    let other_verifier = "x".repeat(43);
    assert_error(
        code_exchange_with(&http, &tenant, &code, &other_verifier).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Failed to verify code verifier"),
    )
    .await;

    let code = login_code(&browser(), &tenant).await;
    let missing = token(
        &http,
        &tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_error(
        missing,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Failed to verify code verifier"),
    )
    .await;
}

#[tokio::test]
async fn reused_code_is_refused_and_revokes_its_refresh_tokens() {
    let tenant = start().await;
    let http = browser();
    let code = login_code(&browser(), &tenant).await;
    let tokens = exchange(&http, &tenant, &code).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    assert_error(
        code_exchange_with(&http, &tenant, &code, VERIFIER).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    )
    .await;
    let refresh = token(
        &http,
        &tenant,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_error(
        refresh,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Unknown or invalid refresh token."),
    )
    .await;

    assert_error(
        code_exchange_with(&http, &tenant, "made-up-code", VERIFIER).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    )
    .await;
}

#[tokio::test]
async fn expired_code_is_refused() {
    let tenant = start_with(config().with_code_lifetime(std::time::Duration::ZERO)).await;
    let http = browser();
    let code = login_code(&browser(), &tenant).await;
    assert_error(
        code_exchange_with(&http, &tenant, &code, VERIFIER).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    )
    .await;
}

#[tokio::test]
async fn code_is_bound_to_its_client_and_redirect_uri() {
    let tenant = start().await;
    let http = browser();

    let code = login_code(&browser(), &tenant).await;
    let other_client = http
        .post(url(&tenant, "oauth/token"))
        .basic_auth("leeway-client", Some("leeway-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_error(
        other_client,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    )
    .await;
    // The attempt by another client did not spend the code.
    assert_eq!(
        code_exchange_with(&http, &tenant, &code, VERIFIER)
            .await
            .status(),
        StatusCode::OK
    );

    let code = login_code(&browser(), &tenant).await;
    let other_redirect = token(
        &http,
        &tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:3000/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_error(other_redirect, StatusCode::FORBIDDEN, "invalid_grant", None).await;

    let code = login_code(&browser(), &tenant).await;
    let no_redirect = token(
        &http,
        &tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_error(no_redirect, StatusCode::FORBIDDEN, "invalid_grant", None).await;
}

#[tokio::test]
async fn audience_gives_a_jwt_access_token() {
    let tenant = start().await;
    let http = browser();
    let callback = login_with(
        &browser(),
        &tenant,
        &[
            ("audience", API),
            ("scope", "openid profile read:payments unknown:scope"),
        ],
    )
    .await;
    let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
    assert_eq!(tokens["scope"], "openid profile read:payments");
    let access_token = tokens["access_token"].as_str().unwrap();
    let userinfo_aud = format!("{}userinfo", tenant.issuer());
    let claims = verify(&http, &tenant, access_token, API).await;
    assert_eq!(claims["aud"], json!([API, userinfo_aud]));
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["scope"], "openid profile read:payments");
    assert!(claims["sub"].as_str().unwrap().starts_with("auth0|"));
    assert!(!claims.contains_key("gty"));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        86_400
    );

    // The JWT is also good at /userinfo.
    let info = http
        .get(url(&tenant, "userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["name"], "Alice Example");
    assert!(info.get("email").is_none());

    // Without openid, the audience is a plain string.
    let callback = login_with(
        &browser(),
        &tenant,
        &[("audience", API), ("scope", "read:payments")],
    )
    .await;
    let tokens = exchange(&http, &tenant, &query(&callback)["code"]).await;
    assert!(tokens.get("id_token").is_none());
    let claims = verify(
        &http,
        &tenant,
        tokens["access_token"].as_str().unwrap(),
        API,
    )
    .await;
    assert_eq!(claims["aud"], API);
}

#[tokio::test]
async fn userinfo_with_opaque_token() {
    let tenant = start().await;
    let http = browser();
    let tokens = exchange(&http, &tenant, &login_code(&browser(), &tenant).await).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access_token.split('.').count(),
        1,
        "opaque without an audience"
    );

    let response = http
        .get(url(&tenant, "userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info: Value = response.json().await.unwrap();
    let id_claims = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(info["sub"], id_claims["sub"]);
    assert_eq!(info["email"], EMAIL);
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["nickname"], "alice");
    assert_eq!(info["updated_at"], id_claims["updated_at"]);

    for auth in [None, Some("Bearer nope"), Some("Basic abc"), Some("Bearer")] {
        let mut request = http.get(url(&tenant, "userinfo"));
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}

#[tokio::test]
async fn client_credentials_grant() {
    let tenant = start().await;
    let http = browser();
    let response = token(
        &http,
        &tenant,
        &[("grant_type", "client_credentials"), ("audience", API)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let claims = verify(&http, &tenant, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["sub"], format!("{CLIENT_ID}@clients"));
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], "read:payments write:payments");

    let narrowed = token(
        &http,
        &tenant,
        &[
            ("grant_type", "client_credentials"),
            ("audience", API),
            ("scope", "read:payments"),
        ],
    )
    .await;
    let narrowed: Value = narrowed.json().await.unwrap();
    assert_eq!(narrowed["scope"], "read:payments");
    // A scope outside the client grant (here one the API does not even define) is refused,
    // as Auth0 does, instead of being dropped.
    assert_error(
        token(
            &http,
            &tenant,
            &[
                ("grant_type", "client_credentials"),
                ("audience", API),
                ("scope", "read:payments other"),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Client has not been granted scopes: other"),
    )
    .await;

    // Machine tokens are not good at /userinfo.
    let info = http
        .get(url(&tenant, "userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);

    assert_error(
        token(&http, &tenant, &[("grant_type", "client_credentials")]).await,
        StatusCode::FORBIDDEN,
        "access_denied",
        None,
    )
    .await;
    assert_error(
        token(
            &http,
            &tenant,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "https://nope"),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Service not found: https://nope"),
    )
    .await;
}

const WORKER: &str = "worker";
const WORKER_SECRET: &str = "worker-secret";

/// Posts a `client_credentials` request as `client_id` (`client_secret_basic`).
async fn m2m(
    tenant: &RunningTenant,
    client_id: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    token_as(&browser(), tenant, client_id, secret, &form).await
}

/// Auth0's client grants: without one for the API, `client_credentials` is refused with Auth0's
/// body (and logged `feccft`); with one, only the grant's scopes are issued.
#[tokio::test]
async fn client_credentials_needs_a_client_grant_and_stays_within_its_scopes() {
    let tenant = start_with(
        config()
            .with_client(ClientConfig::new("no-grant", "no-grant-secret"))
            .with_client(
                ClientConfig::new(WORKER, WORKER_SECRET).with_client_grant(API, ["read:payments"]),
            ),
    )
    .await;
    let refused = m2m(&tenant, "no-grant", "no-grant-secret", &[("audience", API)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    let expected = format!(
        "Client is not authorized to access \"{API}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
    );
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": expected})
    );
    let [event] = tenant.events_of_type("feccft").try_into().unwrap();
    assert_eq!(event.description, expected);
    assert_eq!(event.client_id.as_deref(), Some("no-grant"));
    assert_eq!(event.details["audience"], API);
    assert_eq!(event.details["status"], 403);
    // A grant for one API is no grant for another.
    let other = m2m(&tenant, WORKER, WORKER_SECRET, &[("audience", OTHER_API)]).await;
    assert_error(other, StatusCode::FORBIDDEN, "access_denied", None).await;

    // With the grant: its scopes, not all the API defines.
    let ok = m2m(&tenant, WORKER, WORKER_SECRET, &[("audience", API)]).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["scope"], "read:payments");
    let claims = verify(
        &browser(),
        &tenant,
        body["access_token"].as_str().unwrap(),
        API,
    )
    .await;
    assert_eq!(claims["scope"], "read:payments");
    assert_eq!(claims["sub"], format!("{WORKER}@clients"));
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(claims["azp"], WORKER);
    assert!(!claims.contains_key(tollgate_tenant::AMR_CLAIM));
    // Asking for more than the grant is refused, naming what is missing.
    let more = m2m(
        &tenant,
        WORKER,
        WORKER_SECRET,
        &[("audience", API), ("scope", "read:payments write:payments")],
    )
    .await;
    assert_error(
        more,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Client has not been granted scopes: write:payments"),
    )
    .await;
    assert_eq!(tenant.events_of_type("seccft").len(), 1);
}

/// Client grants in TOML, and the grants a tenant refuses to start with.
#[test]
fn client_grants_parse_and_are_checked() {
    let base = format!(
        "[[apis]]\nidentifier = \"{API}\"\nscopes = [\"read:payments\"]\n[[clients]]\nclient_id = \"w\"\nclient_secret = \"s\"\n"
    );
    let config = TenantConfig::from_toml_str(&format!(
        "{base}client_grants = [{{ audience = \"{API}\", scopes = [\"read:payments\"] }}]"
    ))
    .unwrap();
    assert_eq!(
        config.clients()[0].client_grant(API),
        Some(&["read:payments".to_owned()][..])
    );
    for (grants, reason) in [
        (
            "[{ audience = \"https://nope\" }]".to_owned(),
            "no API has this identifier",
        ),
        (
            format!("[{{ audience = \"{API}\", scopes = [\"write:payments\"] }}]"),
            "does not define the scope",
        ),
        (
            format!("[{{ audience = \"{API}\" }}, {{ audience = \"{API}\" }}]"),
            "two grants",
        ),
    ] {
        let toml = format!("{base}client_grants = {grants}");
        let error = TenantConfig::from_toml_str(&toml).unwrap_err();
        assert!(
            matches!(
                error,
                tollgate_tenant::ConfigError::InvalidClientGrant { .. }
            ),
            "{toml}: {error:?}"
        );
        assert!(error.to_string().contains(reason), "{error}");
    }
}

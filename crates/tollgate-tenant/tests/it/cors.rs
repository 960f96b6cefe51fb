//! CORS on the endpoints a browser application calls: preflights answered for the origins the
//! clients list (Allowed Origins, Allowed Web Origins, callback origins), the headers on every
//! answer (errors included), and nothing for other origins or other paths.

use crate::common::*;
use crate::public_clients::{SPA, SPA_ORIGIN, assert_cors, spa_config};
use reqwest::{Method, Response, StatusCode, header};
use tollgate_tenant::{ClientConfig, RunningTenant};

const CORS_ONLY: &str = "http://127.0.0.1:8080";
const ATTACKER: &str = "http://attacker.example";

async fn start_cors() -> RunningTenant {
    start_with(
        spa_config().with_client(ClientConfig::public("cors-only").with_allowed_origin(CORS_ONLY)),
    )
    .await
}

async fn preflight(tenant: &RunningTenant, path: &str, origin: &str, method: &str) -> Response {
    browser()
        .request(Method::OPTIONS, url(tenant, path))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "auth0-client,authorization,content-type,dpop",
        )
        .send()
        .await
        .expect("the tenant answers")
}

fn header_text(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn no_cors_headers(response: &Response) -> bool {
    response
        .headers()
        .keys()
        .all(|name| !name.as_str().starts_with("access-control-"))
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_on_every_api_path() {
    let tenant = start_cors().await;
    let paths = [
        ("oauth/token", "POST"),
        ("oauth/revoke", "POST"),
        ("userinfo", "GET"),
        ("mfa/authenticators", "GET"),
        ("mfa/authenticators/totp%7Cdev_1", "DELETE"),
        ("mfa/associate", "POST"),
        ("mfa/challenge", "POST"),
        (".well-known/openid-configuration", "GET"),
        (".well-known/jwks.json", "GET"),
    ];
    // A web origin, an Allowed Origin (CORS) and a callback's origin.
    for origin in [SPA_ORIGIN, CORS_ONLY, "http://127.0.0.1:3000"] {
        for (path, method) in paths {
            let response = preflight(&tenant, path, origin, method).await;
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path} {origin}");
            assert_eq!(
                header_text(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
                origin
            );
            assert!(
                header_text(&response, header::VARY).eq_ignore_ascii_case("origin"),
                "{path}"
            );
            let methods = header_text(&response, header::ACCESS_CONTROL_ALLOW_METHODS);
            assert!(
                methods.split(", ").any(|m| m == method),
                "{path}: {methods}"
            );
            let allowed =
                header_text(&response, header::ACCESS_CONTROL_ALLOW_HEADERS).to_ascii_lowercase();
            for wanted in ["auth0-client", "authorization", "content-type", "dpop"] {
                assert!(
                    allowed.split(", ").any(|h| h == wanted),
                    "{wanted}: {allowed}"
                );
            }
            assert_eq!(
                header_text(&response, header::ACCESS_CONTROL_EXPOSE_HEADERS),
                "DPoP-Nonce"
            );
            assert_eq!(
                header_text(&response, header::ACCESS_CONTROL_MAX_AGE),
                "86400"
            );
            assert!(
                response
                    .headers()
                    .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
                    .is_none()
            );
        }
    }
}

#[tokio::test]
async fn origins_no_client_lists_get_no_cors_headers() {
    let tenant = start_cors().await;
    // Lookalikes of allowed origins are other origins.
    for origin in [
        ATTACKER,
        "null",
        "http://127.0.0.1:5174",
        "https://127.0.0.1:5173",
        "http://localhost:5173",
    ] {
        let response = preflight(&tenant, "oauth/token", origin, "POST").await;
        assert!(
            no_cors_headers(&response),
            "{origin}: {:?}",
            response.headers()
        );
        assert_error(
            response,
            StatusCode::FORBIDDEN,
            "access_denied",
            Some(&format!("Origin {origin} is not allowed")),
        )
        .await;
    }
    // A real request from such an origin gets its answer, without CORS headers.
    let response = browser()
        .get(url(&tenant, ".well-known/openid-configuration"))
        .header(header::ORIGIN, ATTACKER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(no_cors_headers(&response), "{:?}", response.headers());
    assert_eq!(header_text(&response, header::VARY), "Origin");
}

#[tokio::test]
async fn pages_and_other_paths_get_no_cors() {
    let tenant = start_cors().await;
    for path in [
        "u/login",
        "authorize",
        "v2/logout",
        "oauth/par",
        "dev/outbox.json",
    ] {
        let response = preflight(&tenant, path, SPA_ORIGIN, "POST").await;
        assert!(
            no_cors_headers(&response),
            "{path}: {:?}",
            response.headers()
        );
        assert_ne!(response.status(), StatusCode::NO_CONTENT, "{path}");
    }
    let response = browser()
        .get(url(&tenant, "authorize"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert!(no_cors_headers(&response), "{:?}", response.headers());
}

#[tokio::test]
async fn every_answer_to_an_allowed_origin_carries_the_headers_errors_included() {
    let tenant = start_cors().await;
    let http = browser();
    // Discovery and keys.
    for path in [".well-known/openid-configuration", ".well-known/jwks.json"] {
        let response = http
            .get(url(&tenant, path))
            .header(header::ORIGIN, SPA_ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_cors(&response, SPA_ORIGIN);
    }
    // 401 at /userinfo without a token.
    let response = http
        .get(url(&tenant, "userinfo"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_cors(&response, SPA_ORIGIN);
    // 401 invalid_client at the token endpoint (a public client sending a secret).
    let response = http
        .post(url(&tenant, "oauth/token"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .form(&[
            ("client_id", SPA),
            ("client_secret", "x"),
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_cors(&response, SPA_ORIGIN);
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some("Client authentication failed"),
    )
    .await;
    // 400 at the token endpoint (no grant_type).
    let response = http
        .post(url(&tenant, "oauth/token"))
        .header(header::ORIGIN, SPA_ORIGIN)
        .form(&[("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_cors(&response, SPA_ORIGIN);
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Missing required parameter: grant_type"),
    )
    .await;
    // 401 at the MFA API with a bad token.
    let response = http
        .get(url(&tenant, "mfa/authenticators"))
        .header(header::ORIGIN, CORS_ONLY)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_cors(&response, CORS_ONLY);
}

#[tokio::test]
async fn a_429_and_a_403_mfa_required_carry_the_headers_too() {
    use crate::common::mfa::{GRANT_OTP, mfa_config};
    use crate::public_clients::{spa_client, spa_post};

    let tenant = start_with(mfa_config().with_client(spa_client())).await;
    let http = browser();
    let code = crate::public_clients::spa_code(&http, &tenant).await;
    let tokens: serde_json::Value = spa_post(
        &tenant,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::public_clients::SPA_CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let response = spa_post(
        &tenant,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("audience", API),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_cors(&response, SPA_ORIGIN);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required", "{body}");
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();

    // Wrong codes until the lockout answers 429 (Auth0 allows 10 failures).
    let right = tenant.totp_code(EMAIL).unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = spa_post(
            &tenant,
            "oauth/token",
            &[
                ("grant_type", GRANT_OTP),
                ("mfa_token", &mfa_token),
                ("otp", wrong),
            ],
        )
        .await;
        assert_cors(&response, SPA_ORIGIN);
        statuses.push(response.status());
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

//! The refresh_token grant (rotation, reuse detection, leeway, down-scoping, multi-resource)
//! and `/oauth/revoke`.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

const INVALID_RT: &str = "Unknown or invalid refresh token.";

fn rt(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

async fn ok(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn rotation_issues_a_new_token_and_fresh_id_token() {
    let tenant = start().await;
    let http = browser();
    let first = tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await;
    let first_claims = claims(first["id_token"].as_str().unwrap());
    let rt0 = rt(&first);

    let second = ok(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await).await;
    let rt1 = rt(&second);
    assert_ne!(rt1, rt0);
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], "openid profile email offline_access");
    let id_claims = verify(
        &http,
        &tenant,
        second["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(id_claims["sid"], first_claims["sid"]);
    assert_eq!(id_claims["sub"], first_claims["sub"]);
    assert_eq!(id_claims["auth_time"], first_claims["auth_time"]);
    assert!(!id_claims.contains_key("nonce"), "no nonce on refresh");
    assert!(
        !id_claims.contains_key("amr"),
        "no amr on refresh, as at Auth0"
    );

    // The new token works; the old one is now a reuse.
    let third = ok(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt1, &[]).await).await;
    assert!(third["refresh_token"].is_string());
}

#[tokio::test]
async fn reuse_of_a_rotated_token_revokes_the_family() {
    let tenant = start().await;
    let rt0 = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    let rt1 = rt(&ok(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await).await);

    assert_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
    // The legitimate holder of the newest token is locked out too.
    assert_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt1, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
    assert_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, "never-issued", &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
}

#[tokio::test]
async fn leeway_accepts_the_previous_token_only() {
    let tenant = start().await;
    let (id, secret) = ("leeway-client", "leeway-secret");
    let rt0 = rt(&tokens_for(&tenant, id, secret, &[]).await);
    let rt1 = rt(&ok(refresh_as(&tenant, id, secret, &rt0, &[]).await).await);
    // Within the 60 s overlap, the previous token still works (e.g. a concurrent request).
    let rt2 = rt(&ok(refresh_as(&tenant, id, secret, &rt0, &[]).await).await);
    let rt3 = rt(&ok(refresh_as(&tenant, id, secret, &rt2, &[]).await).await);
    // rt1 is now two generations old: reuse detection fires and the family dies.
    assert_error(
        refresh_as(&tenant, id, secret, &rt1, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
    assert_error(
        refresh_as(&tenant, id, secret, &rt3, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
}

#[tokio::test]
async fn without_rotation_the_same_token_keeps_working() {
    let tenant = start().await;
    let (id, secret) = ("static-client", "static-secret");
    let rt0 = rt(&tokens_for(&tenant, id, secret, &[]).await);
    for _ in 0..3 {
        let body = ok(refresh_as(&tenant, id, secret, &rt0, &[]).await).await;
        assert!(
            body.get("refresh_token").is_none(),
            "no new refresh token without rotation"
        );
        assert!(body["id_token"].is_string());
    }
}

#[tokio::test]
async fn refresh_token_is_bound_to_its_client() {
    let tenant = start().await;
    let rt0 = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    assert_error(
        refresh_as(&tenant, "leeway-client", "leeway-secret", &rt0, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
    // The refusal did not consume the token.
    ok(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await).await;
}

#[tokio::test]
async fn down_scoping_and_scope_escalation() {
    let tenant = start().await;
    let http = browser();
    let rt0 = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);

    assert_error(
        refresh_as(
            &tenant,
            CLIENT_ID,
            CLIENT_SECRET,
            &rt0,
            &[("scope", "openid read:payments")],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        None,
    )
    .await;
    // The refused request did not rotate the token away.
    let narrowed = ok(refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &rt0,
        &[("scope", "openid email")],
    )
    .await)
    .await;
    assert_eq!(narrowed["scope"], "openid email");
    let id_claims = verify(
        &http,
        &tenant,
        narrowed["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert!(id_claims.contains_key("email") && !id_claims.contains_key("name"));

    // Without openid there is no ID token.
    let rt1 = rt(&narrowed);
    let no_openid = ok(refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &rt1,
        &[("scope", "offline_access")],
    )
    .await)
    .await;
    assert!(no_openid.get("id_token").is_none());
}

#[tokio::test]
async fn multi_resource_refresh_with_audience() {
    let tenant = start().await;
    let http = browser();
    let first = tokens_for(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &[
            ("audience", API),
            ("scope", "openid offline_access read:payments"),
        ],
    )
    .await;
    let rt0 = rt(&first);

    // Same audience by default.
    let same = ok(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await).await;
    let at = verify(&http, &tenant, same["access_token"].as_str().unwrap(), API).await;
    assert_eq!(at["scope"], "openid offline_access read:payments");

    // Another configured API, with its own scope.
    let rt1 = rt(&same);
    let other = ok(refresh_as(
        &tenant,
        CLIENT_ID,
        CLIENT_SECRET,
        &rt1,
        &[("audience", OTHER_API), ("scope", "openid read:orders")],
    )
    .await)
    .await;
    assert_eq!(other["scope"], "openid read:orders");
    let at = verify(
        &http,
        &tenant,
        other["access_token"].as_str().unwrap(),
        OTHER_API,
    )
    .await;
    assert_eq!(at["scope"], "openid read:orders");
    assert_eq!(at["aud"][0], OTHER_API);

    let rt2 = rt(&other);
    assert_error(
        refresh_as(
            &tenant,
            CLIENT_ID,
            CLIENT_SECRET,
            &rt2,
            &[("audience", "https://unknown.example.com")],
        )
        .await,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Service not found: https://unknown.example.com"),
    )
    .await;
}

#[tokio::test]
async fn revoke_kills_the_family() {
    let tenant = start().await;
    let http = browser();
    let rt0 = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    let rt1 = rt(&ok(refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await).await);
    let revoke_url = url(&tenant, "oauth/revoke");

    let bad = http
        .post(revoke_url.clone())
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
            ("token", rt1.as_str()),
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
    // Another client cannot revoke it.
    let foreign = http
        .post(revoke_url.clone())
        .basic_auth("leeway-client", Some("leeway-secret"))
        .form(&[("token", rt1.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::OK);
    let missing = http
        .post(revoke_url.clone())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", "")])
        .send()
        .await
        .unwrap();
    assert_error(missing, StatusCode::BAD_REQUEST, "invalid_request", None).await;

    let revoked = http
        .post(revoke_url)
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", rt1.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(revoked.text().await.unwrap().is_empty());
    assert_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt1, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
}

#[tokio::test]
async fn refresh_tokens_expire_absolutely() {
    let tenant = start_with(config().with_refresh_token_lifetime(std::time::Duration::ZERO)).await;
    let rt0 = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    assert_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some(INVALID_RT),
    )
    .await;
}

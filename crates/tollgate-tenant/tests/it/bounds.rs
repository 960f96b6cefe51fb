//! What a user can make the tenant hold is bounded (issue 16): Auth0's limit of 200 live
//! refresh tokens per user and application, the oldest revoked when a new one is issued.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn rt(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

#[tokio::test]
async fn the_201st_login_revokes_the_oldest_refresh_token_of_that_user_and_app() {
    let tenant = start().await;
    let first = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    let second = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    for _ in 2..200 {
        tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await;
    }
    // 200 held: the first still works (without rotation it stays the same token).
    let still = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &first, &[]).await;
    assert_eq!(still.status(), StatusCode::OK);
    let first = rt(&still.json().await.expect("JSON tokens"));

    let newest = rt(&tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await);
    assert_error(
        refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &first, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Unknown or invalid refresh token."),
    )
    .await;
    for live in [second, newest] {
        let response = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &live, &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "a later family is untouched"
        );
    }
}

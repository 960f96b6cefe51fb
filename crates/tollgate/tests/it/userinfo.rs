//! `Tollgate::userinfo` against the local tenant: the claims for the session's access token, and a
//! typed error for a refused token.

use crate::common;

use tollgate::{Error, ProviderError};

#[tokio::test]
async fn userinfo_returns_the_sessions_claims_and_refuses_a_bad_token() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let session = common::signed_in(&auth).await;

    let claims = auth.userinfo(&session).await.unwrap();
    assert_eq!(claims["sub"], session.user.sub());
    assert_eq!(claims["email"], common::ALICE.0);
    assert_eq!(claims["name"], "Alice Example");

    let mut forged = session.clone();
    forged.token_set.access_token = "not-a-token".into();
    let err = auth.userinfo(&forged).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Provider(ProviderError::OAuth { endpoint: "userinfo", status: 401, error, .. })
                if error == "invalid_token"
        ),
        "{err:?}"
    );

    forged.token_set.access_token.clear();
    assert!(matches!(
        auth.userinfo(&forged).await.unwrap_err(),
        Error::InvalidParameter {
            name: "access_token",
            ..
        }
    ));
}

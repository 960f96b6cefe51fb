//! Every way an ID token can be wrong ends in its own typed error, and no session.

use crate::common;

use tollgate::{CallbackError, Error, IdTokenError, LoginOptions};
use tollgate_tenant::IdTokenFault;

async fn outcome_with(fault: Option<IdTokenFault>) -> tollgate::CallbackOutcome {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    tenant.set_id_token_fault(fault);
    let (query, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    auth.handle_callback(&common::callback_request(&query, jar.clone()))
        .await
}

fn assert_refused(outcome: &tollgate::CallbackOutcome, want: &IdTokenError) {
    match &outcome.result {
        Err(Error::Callback(CallbackError::IdToken(got))) => assert_eq!(got, want),
        other => panic!("expected {want:?}, got {other:?}"),
    }
    assert!(
        !outcome.cookies.lines().any(|c| c.starts_with("__session")),
        "no session cookie after a refused login: {:?}",
        outcome.cookies
    );
    assert!(
        outcome
            .cookies
            .lines()
            .any(|c| c.starts_with("__txn_") && c.contains("Max-Age=0")),
        "the transaction is spent even on failure"
    );
}

#[tokio::test]
async fn a_good_token_makes_a_session() {
    let outcome = outcome_with(None).await;
    let ok = outcome.result.as_ref().expect("login succeeds");
    assert_eq!(ok.session.user.email(), Some("alice@example.com"));
    assert!(outcome.cookies.lines().any(|c| c.starts_with("__session=")));
}

#[tokio::test]
async fn alg_none_is_refused() {
    assert_refused(
        &outcome_with(Some(IdTokenFault::AlgNone)).await,
        &IdTokenError::DisallowedAlgorithm("none".into()),
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    assert_refused(
        &outcome_with(Some(IdTokenFault::BadSignature)).await,
        &IdTokenError::InvalidSignature,
    );
}

#[tokio::test]
async fn hs256_signed_with_the_client_secret_is_refused_by_default() {
    assert_refused(
        &outcome_with(Some(IdTokenFault::Hs256WithClientSecret)).await,
        &IdTokenError::DisallowedAlgorithm("HS256".into()),
    );
}

#[tokio::test]
async fn hs256_with_the_public_key_as_secret_is_refused() {
    assert_refused(
        &outcome_with(Some(IdTokenFault::Hs256WithPublicKey)).await,
        &IdTokenError::DisallowedAlgorithm("HS256".into()),
    );
}

#[tokio::test]
async fn hs256_with_the_public_key_fails_even_when_hs256_is_allowed() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| {
        b.id_token_algorithms([
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::HS256,
        ])
    });
    tenant.set_id_token_fault(Some(IdTokenFault::Hs256WithPublicKey));
    let (q, jar) =
        common::login_to_callback(&auth, &common::tenant_browser(), LoginOptions::new()).await;
    assert_refused(
        &auth
            .handle_callback(&common::callback_request(&q, jar.clone()))
            .await,
        &IdTokenError::InvalidSignature,
    );
    // …while a token really signed with the client secret passes when HS256 is configured.
    tenant.set_id_token_fault(Some(IdTokenFault::Hs256WithClientSecret));
    let (q, jar) =
        common::login_to_callback(&auth, &common::tenant_browser(), LoginOptions::new()).await;
    assert!(
        auth.handle_callback(&common::callback_request(&q, jar.clone()))
            .await
            .result
            .is_ok()
    );
}

#[tokio::test]
async fn an_unknown_key_is_refused_after_looking_again() {
    let outcome = outcome_with(Some(IdTokenFault::UnknownKid)).await;
    let kid = match &outcome.result {
        Err(Error::Callback(CallbackError::IdToken(IdTokenError::NoMatchingKey { kid }))) => {
            kid.clone()
        }
        other => panic!("expected NoMatchingKey, got {other:?}"),
    };
    assert!(kid.is_some());
    assert_refused(&outcome, &IdTokenError::NoMatchingKey { kid });
}

#[tokio::test]
async fn wrong_issuer_audience_azp_nonce_and_times_are_refused() {
    let cases = [
        (
            IdTokenFault::WrongIssuer,
            IdTokenError::IssuerMismatch {
                expected: String::new(),
                found: "https://wrong-issuer.example.com/".into(),
            },
        ),
        (IdTokenFault::WrongAudience, IdTokenError::AudienceMismatch),
        (
            IdTokenFault::MultipleAudiencesWithoutAzp,
            IdTokenError::AuthorizedPartyMismatch,
        ),
        (
            IdTokenFault::SetClaim("azp".into(), serde_json::json!("someone-else")),
            IdTokenError::AuthorizedPartyMismatch,
        ),
        (IdTokenFault::WrongNonce, IdTokenError::NonceMismatch),
        (
            IdTokenFault::RemoveClaim("nonce".into()),
            IdTokenError::NonceMismatch,
        ),
        (IdTokenFault::Expired, IdTokenError::Expired),
        (IdTokenFault::IssuedInFuture, IdTokenError::IssuedInFuture),
        (
            IdTokenFault::RemoveClaim("sub".into()),
            IdTokenError::InvalidClaim("sub"),
        ),
        (
            IdTokenFault::RemoveClaim("iat".into()),
            IdTokenError::InvalidClaim("iat"),
        ),
        (
            IdTokenFault::SetClaim("exp".into(), serde_json::json!("4102444800")),
            IdTokenError::InvalidClaim("exp"),
        ),
    ];
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    for (fault, want) in cases {
        tenant.set_id_token_fault(Some(fault));
        let (q, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
        let outcome = auth
            .handle_callback(&common::callback_request(&q, jar.clone()))
            .await;
        let want = match want {
            IdTokenError::IssuerMismatch { found, .. } => IdTokenError::IssuerMismatch {
                expected: tenant.issuer().to_owned(),
                found,
            },
            w => w,
        };
        assert_refused(&outcome, &want);
    }
}

#[tokio::test]
async fn max_age_requires_a_fresh_auth_time() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    // The tenant says the user authenticated long ago although max_age=60 was asked.
    tenant.set_id_token_fault(Some(IdTokenFault::SetClaim(
        "auth_time".into(),
        serde_json::json!(1_000_000_000),
    )));
    let (q, jar) =
        common::login_to_callback(&auth, &browser, LoginOptions::new().param("max_age", "60"))
            .await;
    assert_refused(
        &auth
            .handle_callback(&common::callback_request(&q, jar.clone()))
            .await,
        &IdTokenError::AuthTimeTooOld,
    );
    tenant.set_id_token_fault(Some(IdTokenFault::RemoveClaim("auth_time".into())));
    let (q, jar) =
        common::login_to_callback(&auth, &browser, LoginOptions::new().param("max_age", "60"))
            .await;
    assert_refused(
        &auth
            .handle_callback(&common::callback_request(&q, jar.clone()))
            .await,
        &IdTokenError::InvalidClaim("auth_time"),
    );
    tenant.set_id_token_fault(None);
    let (q, jar) =
        common::login_to_callback(&auth, &browser, LoginOptions::new().param("max_age", "60"))
            .await;
    assert!(
        auth.handle_callback(&common::callback_request(&q, jar.clone()))
            .await
            .result
            .is_ok()
    );
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_on_an_unknown_kid() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (q, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    assert!(
        auth.handle_callback(&common::callback_request(&q, jar.clone()))
            .await
            .result
            .is_ok(),
        "keys cached"
    );
    tenant.rotate_signing_key();
    tenant.drop_previous_keys();
    let (q, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    let outcome = auth
        .handle_callback(&common::callback_request(&q, jar.clone()))
        .await;
    assert!(
        outcome.result.is_ok(),
        "the new kid is found by fetching the keys again: {:?}",
        outcome.result
    );
    assert_eq!(auth.jwks_fetch_count(), 2);

    // Forged kids right after: refused, and the cooldown keeps the provider from being hammered.
    tenant.set_id_token_fault(Some(IdTokenFault::UnknownKid));
    for _ in 0..3 {
        let (q, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
        let outcome = auth
            .handle_callback(&common::callback_request(&q, jar.clone()))
            .await;
        assert!(matches!(
            outcome.result,
            Err(Error::Callback(CallbackError::IdToken(
                IdTokenError::NoMatchingKey { .. }
            )))
        ));
    }
    assert_eq!(auth.jwks_fetch_count(), 2, "no fetch within the cooldown");
}

#[tokio::test]
async fn concurrent_logins_after_a_rotation_share_one_key_fetch() {
    let tenant = common::tenant().await;
    let auth = common::client(&tenant, |b| b);
    let browser = common::tenant_browser();
    let (q, jar) = common::login_to_callback(&auth, &browser, LoginOptions::new()).await;
    assert!(
        auth.handle_callback(&common::callback_request(&q, jar.clone()))
            .await
            .result
            .is_ok()
    );
    assert_eq!(auth.jwks_fetch_count(), 1);
    // Codes are issued now; the tenant signs the ID tokens at the exchange, after the rotation.
    let mut pending = Vec::new();
    for _ in 0..8 {
        pending.push(common::login_to_callback(&auth, &browser, LoginOptions::new()).await);
    }
    tenant.rotate_signing_key();
    let requests: Vec<tollgate::AuthRequest> = pending
        .iter()
        .map(|(q, jar)| {
            tollgate::AuthRequest::new()
                .with_query(q)
                .with_cookies(jar.clone())
        })
        .collect();
    let results = futures_join_all(requests.iter().map(|r| auth.handle_callback(r))).await;
    assert!(results.iter().all(|o| o.result.is_ok()));
    assert_eq!(
        auth.jwks_fetch_count(),
        2,
        "eight unknown-kid tokens, one fetch"
    );
}

/// Runs the futures concurrently on this task (no extra dependency needed).
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.collect();
    let mut set = Vec::with_capacity(handles.len());
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if set.len() <= i {
                set.push(None);
            }
            if set[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => set[i] = Some(v),
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    set.into_iter()
        .map(|v| v.expect("every future completed"))
        .collect()
}

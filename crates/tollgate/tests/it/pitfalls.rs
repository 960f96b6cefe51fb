//! One test per historical OIDC client pitfall (`reference/rust-ecosystem.md` §5), each proving
//! Tollgate's design rule for it holds, through the hostile OP where a provider is involved.

use std::sync::Arc;

use crate::common::hostile_op::{
    self, APP, Endpoint, Fault, HostileOp, Mutation, SUB, Signer, edit, jar_after, set,
    sets_session, sign_jws,
};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tollgate::store::{MemoryStore, SessionStore};
use tollgate::{
    ACR_MULTI_FACTOR, AccessTokenOptions, CallbackError, CallbackOutcome, CookieJar, Error,
    IdTokenError, LoginOptions, LogoutTokenError, ProviderError, SessionData, Tollgate, User,
};
use tollgate_testkit::now;

async fn login_with(op: &HostileOp, auth: &Tollgate, opts: LoginOptions) -> CallbackOutcome {
    let (query, jar) = op.authorize(auth, opts).await;
    auth.handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await
}

/// A login by a browser that already holds `session` (its cookies go to the callback too).
async fn login_again(op: &HostileOp, auth: &Tollgate, session: &CookieJar) -> CallbackOutcome {
    let (query, txn) = op.authorize(auth, LoginOptions::new()).await;
    let both: Vec<String> = txn
        .iter()
        .chain(session.iter())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    auth.handle_callback(&crate::common::callback_request(
        &query,
        CookieJar::parse(&both.join("; ")),
    ))
    .await
}

fn id_token_error(outcome: &CallbackOutcome) -> IdTokenError {
    assert!(!sets_session(&outcome.cookies));
    match &outcome.result {
        Err(Error::Callback(CallbackError::IdToken(e))) => e.clone(),
        other => panic!("expected an ID token error, got {other:?}"),
    }
}

async fn claims_refused(claims: Option<hostile_op::Edit>) -> IdTokenError {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        id_token_claims: claims,
        ..Mutation::default()
    });
    id_token_error(&op.login(&op.client()).await)
}

async fn signed_in(
    auth_for: impl FnOnce(&HostileOp) -> Tollgate,
) -> (HostileOp, Tollgate, SessionData, CookieJar) {
    let op = HostileOp::start().await;
    let auth = auth_for(&op);
    let outcome = op.login(&auth).await;
    let session = outcome.result.unwrap().session;
    (op, auth, session, jar_after(&outcome.cookies))
}

fn logout_claims(op: &HostileOp) -> Value {
    json!({
        "iss": op.issuer, "sub": SUB, "aud": hostile_op::CLIENT_ID,
        "jti": format!("jti-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()),
        "iat": now(), "exp": now() + 120,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    })
}

/// HS256 signed with the provider's RSA public key (the JWK's `n`) as the HMAC secret: refused by
/// the algorithm allow-list; and even with HS256 allowed, only the client secret is an HMAC key.
#[tokio::test]
async fn p01_algorithm_confusion_hs256_with_the_rsa_public_key_is_refused() {
    let public = hostile_op::rsa_jwk(0, Some("rsa-0"))["n"]
        .as_str()
        .unwrap()
        .to_owned();
    let confused = Signer::Hs256(public);
    let confused_header = edit(|h| h["kid"] = json!("rsa-0"));
    for algs in [
        vec![Algorithm::RS256],
        vec![Algorithm::RS256, Algorithm::HS256],
    ] {
        let op = HostileOp::start().await;
        op.set_signer(confused.clone());
        op.mutate(Mutation {
            id_token_header: confused_header.clone(),
            ..Mutation::default()
        });
        let auth = Tollgate::new(
            op.config()
                .id_token_algorithms(algs.clone())
                .build()
                .unwrap(),
        );
        let err = id_token_error(&op.login(&auth).await);
        let expected = if algs.len() == 1 {
            IdTokenError::DisallowedAlgorithm("HS256".into())
        } else {
            IdTokenError::InvalidSignature
        };
        assert_eq!(err, expected);
    }
}

#[tokio::test]
async fn p02_claim_type_confusion_string_exp_and_iat_are_refused_not_ignored() {
    let far = (now() + 3600).to_string();
    assert_eq!(
        claims_refused(set("exp", json!(far))).await,
        IdTokenError::InvalidClaim("exp")
    );
    assert_eq!(
        claims_refused(set("iat", json!(now().to_string()))).await,
        IdTokenError::InvalidClaim("iat")
    );
    // A string exp in a logout token too.
    let op = HostileOp::start().await;
    let auth = op.client();
    let mut c = logout_claims(&op);
    c["exp"] = json!(far);
    let err = auth
        .backchannel_logout()
        .verify(&sign_jws(&Signer::default(), None, &c))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LogoutTokenError::Token(IdTokenError::InvalidClaim("exp"))
    );
}

/// The jsonwebtoken backend is selected explicitly (`rust_crypto` in the workspace, installed by
/// `Tollgate::new`): RS256, ES256 and HS256 verifications run without the backend panic.
#[tokio::test]
async fn p03_crypto_backend_is_selected_and_verifies() {
    let workspace = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"));
    let jwt = workspace
        .lines()
        .find(|l| l.starts_with("jsonwebtoken ="))
        .unwrap();
    assert!(
        jwt.contains("rust_crypto") && jwt.contains("default-features = false"),
        "{jwt}"
    );
    for (signer, alg) in [
        (Signer::default(), Algorithm::RS256),
        (
            Signer::Ec {
                kid: Some("ec-0".into()),
            },
            Algorithm::ES256,
        ),
        (
            Signer::Hs256(hostile_op::CLIENT_SECRET.into()),
            Algorithm::HS256,
        ),
    ] {
        let op = HostileOp::start().await;
        op.set_signer(signer);
        let auth = Tollgate::new(op.config().id_token_algorithms([alg]).build().unwrap());
        assert!(op.login(&auth).await.result.is_ok(), "{alg:?}");
    }
}

#[tokio::test]
async fn p04_nonce_always_sent_and_required() {
    let op = HostileOp::start().await;
    let login = op
        .client()
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    assert!(
        login
            .url
            .query_pairs()
            .any(|(k, v)| k == "nonce" && v.len() >= 32)
    );
    assert_eq!(
        claims_refused(set("nonce", Value::Null)).await,
        IdTokenError::NonceMismatch,
        "no fail-open when the ID token has no nonce"
    );
    assert_eq!(
        claims_refused(set("nonce", json!("attacker-chosen"))).await,
        IdTokenError::NonceMismatch
    );
}

#[tokio::test]
async fn p05_state_is_single_use_and_bound_to_the_transaction_cookie() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let (query, jar) = op.authorize(&auth, LoginOptions::new()).await;
    // Another state with this cookie: no transaction.
    let forged = query.replace("state=", "state=x");
    let out = auth
        .handle_callback(&crate::common::callback_request(&forged, jar.clone()))
        .await;
    assert_eq!(
        out.result.unwrap_err(),
        Error::Callback(CallbackError::MissingTransaction)
    );
    let out = auth
        .handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await;
    assert!(out.result.is_ok());
    let txn_name = jar.iter().next().unwrap().0.to_owned();
    assert!(
        out.cookies
            .lines()
            .any(|c| c.starts_with(&format!("{txn_name}=;"))),
        "the transaction cookie is deleted"
    );
    // The browser's jar after the callback: the same callback again has no transaction.
    let after = jar_after(&out.cookies);
    let again = auth
        .handle_callback(&crate::common::callback_request(&query, after.clone()))
        .await;
    assert_eq!(
        again.result.unwrap_err(),
        Error::Callback(CallbackError::MissingTransaction)
    );
    // A replay that kept the old cookie gets no session either (the code is spent).
    let replay = auth
        .handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await;
    assert!(replay.result.is_err() && !sets_session(&replay.cookies));
}

#[tokio::test]
async fn p06_step_up_is_checked_from_the_signed_id_token() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let mfa = || LoginOptions::new().param("acr_values", ACR_MULTI_FACTOR);
    // acr_values asked, the ID token shows no MFA: refused.
    let out = login_with(&op, &auth, mfa()).await;
    assert!(matches!(
        out.result,
        Err(Error::Callback(CallbackError::StepUpNotSatisfied { .. }))
    ));
    assert!(!sets_session(&out.cookies));
    op.mutate(Mutation {
        id_token_claims: set("amr", json!(["pwd", "mfa"])),
        ..Mutation::default()
    });
    let ok = login_with(&op, &auth, mfa()).await.result.unwrap();
    assert!(
        ok.session
            .authentication
            .unwrap()
            .amr
            .contains(&"mfa".to_owned())
    );
    // max_age: an old auth_time is refused, a missing one fails closed.
    let max_age = || LoginOptions::new().param("max_age", "60");
    op.mutate(Mutation {
        id_token_claims: set("auth_time", json!(now() - 3600)),
        ..Mutation::default()
    });
    assert_eq!(
        id_token_error(&login_with(&op, &auth, max_age()).await),
        IdTokenError::AuthTimeTooOld
    );
    op.mutate(Mutation {
        id_token_claims: set("auth_time", Value::Null),
        ..Mutation::default()
    });
    assert_eq!(
        id_token_error(&login_with(&op, &auth, max_age()).await),
        IdTokenError::InvalidClaim("auth_time")
    );
}

#[test]
fn p07_return_to_accepts_only_same_origin_paths() {
    let base = url::Url::parse(&format!("{APP}/")).unwrap();
    for evil in [
        "/%09/evil.com",
        "/\t/evil.com",
        "/\\evil.com",
        "/%5Cevil.com",
        "//evil.com",
        "///evil.com",
        "https://evil.com/",
        "http:evil.com",
        "javascript:alert(1)",
        "/\r\n/evil.com",
        "http://127.0.0.1:3998.evil.com/",
    ] {
        let got = tollgate::sanitize_return_to(evil, &base);
        assert!(
            got.as_deref().is_none_or(
                |p| base.join(p).unwrap().origin() == base.origin() && !p.starts_with("//")
            ),
            "{evil:?} gave {got:?}"
        );
    }
    assert_eq!(
        tollgate::sanitize_return_to("/billing?tab=1", &base).as_deref(),
        Some("/billing?tab=1")
    );
}

#[tokio::test]
async fn p08_session_fixation_new_session_id_on_every_login() {
    let store = Arc::new(MemoryStore::new());
    let (op, auth, _, jar) = signed_in(|op| {
        Tollgate::builder(op.config().build().unwrap())
            .store(store.clone())
            .build()
    })
    .await;
    let first = auth.load_session(&jar).await.unwrap().unwrap();
    let first_id = first.store_id().unwrap().to_owned();
    let again = login_again(&op, &auth, &jar).await;
    let jar2 = jar_after(&again.cookies);
    let second = auth.load_session(&jar2).await.unwrap().unwrap();
    assert_ne!(second.store_id().unwrap(), first_id);
    assert!(
        store.get(&first_id, now()).await.unwrap().is_none(),
        "the old record is destroyed"
    );
    assert!(
        auth.session(&jar).await.unwrap().is_none(),
        "the old cookie opens nothing"
    );
}

/// Two requests loaded the same session version; the second save is a conflict, not a silent
/// overwrite of the first one's tokens.
#[tokio::test]
async fn p09_lost_updates_are_refused_by_versioned_saves() {
    let store = Arc::new(MemoryStore::new());
    let (_, auth, _, jar) = signed_in(|op| {
        Tollgate::builder(op.config().build().unwrap())
            .store(store.clone())
            .build()
    })
    .await;
    let a = auth.load_session(&jar).await.unwrap().unwrap();
    let b = auth.load_session(&jar).await.unwrap().unwrap();
    let mut first = a.data.clone();
    first.token_set.access_token = "from-request-a".into();
    auth.save_session(&jar, &a, &first).await.unwrap();
    let mut second = b.data.clone();
    second.token_set.access_token = "from-request-b".into();
    assert_eq!(
        auth.save_session(&jar, &b, &second).await.unwrap_err(),
        Error::Store(tollgate::store::StoreError::Conflict)
    );
    let now_stored = auth.session(&jar).await.unwrap().unwrap();
    assert_eq!(now_stored.token_set.access_token, "from-request-a");
}

/// Concurrent requests carrying one session refresh once (single flight); with a rotating
/// refresh token, no request presents the spent one. (The storm across processes is in
/// tollgate-axum's tests.)
#[tokio::test]
async fn p10_concurrent_refreshes_share_one_grant() {
    let (op, auth, session, _) = signed_in(|op| op.client()).await;
    let before = op.count("POST /oauth/token");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (auth, session) = (auth.clone(), session.clone());
        tasks.push(tokio::spawn(async move {
            auth.access_token(&session, &AccessTokenOptions::new().force_refresh())
                .await
                .map(|o| o.token.token)
        }));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().expect("no request was refused"));
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(op.count("POST /oauth/token") - before, 1, "one grant");
}

#[tokio::test]
async fn p11_refresh_and_id_token_are_kept_when_the_refresh_response_omits_them() {
    let (op, auth, session, _) = signed_in(|op| op.client()).await;
    op.mutate(Mutation {
        token_response: edit(|r| {
            let r = r.as_object_mut().unwrap();
            r.remove("refresh_token");
            r.remove("id_token");
        }),
        ..Mutation::default()
    });
    let out = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap();
    let updated = out.session.unwrap();
    assert_ne!(
        updated.token_set.access_token,
        session.token_set.access_token
    );
    assert_eq!(
        updated.token_set.refresh_token,
        session.token_set.refresh_token
    );
    assert_eq!(updated.token_set.id_token, session.token_set.id_token);
    assert_eq!(updated.user.sub(), SUB);
}

#[tokio::test]
async fn p12_keys_are_fetched_again_on_an_unknown_kid() {
    let (op, auth, _, _) = signed_in(|op| op.client()).await;
    assert_eq!(auth.jwks_fetch_count(), 1);
    op.rotate();
    assert!(op.login(&auth).await.result.is_ok());
    assert_eq!(auth.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn p13_random_kids_cause_at_most_one_forced_fetch_per_cooldown() {
    let (op, auth, _, _) = signed_in(|op| op.client()).await;
    let before = auth.jwks_fetch_count();
    for i in 0..20 {
        let signer = Signer::Rsa {
            key: 0,
            kid: Some(format!("random-{i}")),
        };
        let err = auth
            .backchannel_logout()
            .verify(&sign_jws(&signer, None, &logout_claims(&op)))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            LogoutTokenError::Token(IdTokenError::NoMatchingKey { .. })
        ));
    }
    assert!(
        auth.jwks_fetch_count() - before <= 1,
        "{}",
        auth.jwks_fetch_count()
    );
    assert_eq!(op.count(&op.jwks_call()) as u64, auth.jwks_fetch_count());
}

#[tokio::test]
async fn p14_large_sessions_are_chunked_within_browser_limits() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let mut s = SessionData {
        user: User(
            serde_json::from_value(json!({"sub": SUB, "name": "x".repeat(12_000)})).unwrap(),
        ),
        ..SessionData::default()
    };
    s.internal.created_at = now();
    let lines = auth.session_codec().write(&CookieJar::default(), &s, now());
    assert!(lines.len() >= 3, "{} cookies", lines.len());
    for (i, l) in lines.iter().enumerate() {
        assert!(l.starts_with(&format!("__session__{i}=")));
        assert!(l.len() <= 4096, "a browser keeps it: {} bytes", l.len());
    }
    let jar = jar_after(&lines.clone().into());
    assert_eq!(auth.session(&jar).await.unwrap().unwrap().user, s.user);
    // Half a session is no session.
    let missing: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with("__session__1="))
        .cloned()
        .collect();
    assert!(
        auth.session(&jar_after(&missing.into()))
            .await
            .unwrap()
            .is_none()
    );
    // A smaller session deletes the chunks left over.
    s.user = User(serde_json::from_value(json!({"sub": SUB})).unwrap());
    let smaller = auth.session_codec().write(&jar, &s, now());
    assert!(
        smaller.iter().any(|l| l.starts_with("__session__2=;")),
        "{smaller:?}"
    );
}

#[tokio::test]
async fn p15_logout_ends_the_local_session_and_goes_to_end_session() {
    let store = Arc::new(MemoryStore::new());
    let (op, auth, _, jar) = signed_in(|op| {
        Tollgate::builder(op.config().build().unwrap())
            .store(store.clone())
            .build()
    })
    .await;
    let id = auth
        .load_session(&jar)
        .await
        .unwrap()
        .unwrap()
        .store_id()
        .unwrap()
        .to_owned();
    let resp = auth
        .handle_logout(&crate::common::callback_request("", jar.clone()))
        .await;
    assert_eq!(resp.status(), 302);
    let to = resp.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with(&format!("{}end_session?", op.issuer)),
        "{to}"
    );
    assert!(to.contains("id_token_hint="));
    assert!(
        store.get(&id, now()).await.unwrap().is_none(),
        "the record is gone"
    );
    assert!(
        auth.session(&jar).await.unwrap().is_none(),
        "the old cookie opens nothing"
    );
}

/// The full matrix is in tests/backchannel.rs and rp_conformance.rs; here the rules that make a
/// logout token different from an ID token.
#[tokio::test]
async fn p16_logout_tokens_are_fully_verified() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let sign = |c: &Value| sign_jws(&Signer::default(), None, c);
    let good = logout_claims(&op);
    let mut nonce = good.clone();
    nonce["nonce"] = json!("n");
    let mut no_event = good.clone();
    no_event.as_object_mut().unwrap().remove("events");
    let mut no_jti = good.clone();
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(
        auth.backchannel_logout()
            .verify(&sign(&nonce))
            .await
            .unwrap_err(),
        LogoutTokenError::Nonce
    );
    assert_eq!(
        auth.backchannel_logout()
            .verify(&sign(&no_event))
            .await
            .unwrap_err(),
        LogoutTokenError::Events
    );
    assert_eq!(
        auth.backchannel_logout()
            .verify(&sign(&no_jti))
            .await
            .unwrap_err(),
        LogoutTokenError::NoJti
    );
    let token = sign(&good);
    assert!(auth.backchannel_logout().verify(&token).await.is_ok());
    assert_eq!(
        auth.backchannel_logout().verify(&token).await.unwrap_err(),
        LogoutTokenError::Replayed
    );
    let resp = auth
        .backchannel_logout()
        .handle(format!("logout_token={}", sign(&nonce)).as_bytes())
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

/// A provider answering 302 to another server is an error, and the other server gets no call.
#[tokio::test]
async fn p17_no_redirect_is_followed() {
    let elsewhere = HostileOp::start().await;
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        fault: Some((
            Endpoint::Discovery,
            Fault::Redirect(format!(
                "{}.well-known/openid-configuration",
                elsewhere.issuer
            )),
        )),
        ..Mutation::default()
    });
    let err = op
        .client()
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Provider(ProviderError::InvalidResponse { reason, .. }) if reason.contains("302")),
        "{err:?}"
    );
    // At the token endpoint too.
    op.honest();
    let auth = op.client();
    let (query, jar) = op.authorize(&auth, LoginOptions::new()).await;
    op.mutate(Mutation {
        fault: Some((
            Endpoint::Token,
            Fault::Redirect(format!("{}oauth/token", elsewhere.issuer)),
        )),
        ..Mutation::default()
    });
    let out = auth
        .handle_callback(&crate::common::callback_request(&query, jar.clone()))
        .await;
    assert!(matches!(
        out.result,
        Err(Error::Callback(CallbackError::TokenExchange(_)))
    ));
    assert!(elsewhere.calls().is_empty(), "{:?}", elsewhere.calls());
}

#[tokio::test]
async fn p18_audience_is_a_first_class_parameter_that_keys_the_token_cache() {
    let op = HostileOp::start().await;
    let auth = Tollgate::new(
        op.config()
            .audience("https://api.a.example")
            .build()
            .unwrap(),
    );
    let login = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    assert!(
        login
            .url
            .query_pairs()
            .any(|(k, v)| k == "audience" && v == "https://api.a.example")
    );
    let session = op.login(&auth).await.result.unwrap().session;
    assert_eq!(
        session.token_set.audience.as_deref(),
        Some("https://api.a.example")
    );
    let grants = || op.count("POST /oauth/token");
    let start = grants();
    let b = AccessTokenOptions::new().audience("https://api.b.example");
    let out = auth.access_token(&session, &b).await.unwrap();
    assert_eq!(out.token.audience.as_deref(), Some("https://api.b.example"));
    let session = out.session.unwrap();
    assert_eq!(grants(), start + 1);
    // Cached per audience: B again and the default audience need no grant.
    let again = auth.access_token(&session, &b).await.unwrap();
    assert_eq!(again.token.token, out.token.token);
    let a = auth
        .access_token(&session, &AccessTokenOptions::new())
        .await
        .unwrap();
    assert_eq!(a.token.token, session.token_set.access_token);
    assert_ne!(a.token.token, out.token.token);
    assert_eq!(grants(), start + 1);
}

/// RSA private keys only in tests and the local tenant (RUSTSEC-2023-0071 is a timing attack on
/// RSA decryption and signing): `rsa` is a dev-dependency of `tollgate`, the dependency tree of the
/// core and the adapter reaches it only through jsonwebtoken's verifier, and the core's two
/// private-key inputs (client assertion and DPoP keys) refuse an RSA key. Checked on the manifests,
/// `Cargo.lock` and the public API, not on source text, so moving or documenting code cannot break
/// it.
#[test]
fn p19_no_rsa_private_key_operation_in_production_code() {
    let manifest = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    let axum = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tollgate-axum/Cargo.toml"
    ));
    assert!(
        !normal_dependencies(manifest).contains(&"rsa"),
        "rsa is not a normal dependency"
    );
    assert!(
        !normal_dependencies(axum).contains(&"rsa"),
        "rsa is not a normal dependency of the adapter"
    );
    let (_, dev) = manifest.split_once("[dev-dependencies]").unwrap();
    assert!(dev.lines().any(|l| l.starts_with("rsa")));

    // Cargo.lock: every package and the packages it depends on (all versions of a name merged).
    let lock = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"));
    let mut graph: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for p in lock.split("[[package]]").skip(1) {
        let name = p
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .unwrap()
            .trim_matches('"');
        let deps = p.split_once("dependencies = [").map_or("", |(_, d)| d);
        let deps = deps.split_once(']').map_or("", |(d, _)| d);
        graph.entry(name).or_default().extend(
            deps.lines()
                .filter_map(|l| l.trim().trim_end_matches(',').strip_prefix('"'))
                .map(|d| d.trim_end_matches('"').split(' ').next().unwrap()),
        );
    }
    let users_of_rsa: Vec<&str> = graph
        .iter()
        .filter(|(_, deps)| deps.contains(&"rsa"))
        .map(|(name, _)| *name)
        .collect();
    assert!(users_of_rsa.contains(&"jsonwebtoken"), "{users_of_rsa:?}");
    for u in &users_of_rsa {
        assert!(
            ["jsonwebtoken", "tollgate", "tollgate-tenant"].contains(u),
            "unexpected user of rsa: {u}"
        );
    }
    // What the core and the adapter ship with: their normal dependencies and everything those
    // pull in. The only one of them that uses rsa is jsonwebtoken. (The lock lists an in-tree
    // crate's dev-dependencies with its normal ones, so the walk takes the core's from its
    // manifest and does not step into in-tree crates; the lock lists a registry crate's
    // dependencies only.)
    let mut seen = std::collections::BTreeSet::new();
    let mut stack: Vec<&str> = normal_dependencies(manifest);
    stack.extend(normal_dependencies(axum));
    while let Some(name) = stack.pop() {
        if !name.starts_with("tollgate") && seen.insert(name) {
            stack.extend(graph.get(name).into_iter().flatten());
        }
    }
    assert!(seen.contains("jsonwebtoken") && seen.contains("rsa"));
    let shipped_users: Vec<&str> = users_of_rsa
        .iter()
        .copied()
        .filter(|u| seen.contains(u))
        .collect();
    assert_eq!(shipped_users, ["jsonwebtoken"]);

    // The core takes private keys in two places, both P-256 only: an RSA key is refused.
    use rsa::pkcs8::EncodePrivateKey as _;
    let rsa_pem = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024)
        .unwrap()
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    assert_eq!(
        tollgate::ClientAssertionKey::from_pem(&rsa_pem).err(),
        Some(tollgate::DpopKeyError::InvalidPrivateKey)
    );
    assert_eq!(
        tollgate::DpopKey::from_private_pem(&rsa_pem).err(),
        Some(tollgate::DpopKeyError::InvalidPrivateKey)
    );
}

/// The names in a manifest's `[dependencies]` table (`name = …` or `name.workspace = true`).
fn normal_dependencies(manifest: &str) -> Vec<&str> {
    let (_, rest) = manifest.split_once("\n[dependencies]\n").unwrap();
    rest.lines()
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['=', '.']).next().unwrap().trim())
        .collect()
}

/// Stores live in-tree and cannot skew against the core: the memory and Redis stores are types of
/// `tollgate::store` (the Redis one behind the core's own `redis` feature, not another crate), and
/// in-tree crates pin each other with exact versions. Checked on the API and the manifests, not on
/// file paths, so the core's modules can move.
#[test]
fn p20_in_tree_crates_and_stores_use_exact_versions() {
    let workspace = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"));
    let pinned: Vec<&str> = workspace
        .lines()
        .filter(|l| l.starts_with("tollgate"))
        .collect();
    assert!(pinned.len() >= 3, "{pinned:?}");
    for l in pinned {
        assert!(
            l.contains("path = \"crates/") && l.contains("version = \"="),
            "{l}"
        );
    }
    // Defined in the core crate itself (a re-export from another crate would name that crate).
    let stores = [
        std::any::type_name::<MemoryStore>(),
        #[cfg(feature = "redis")]
        std::any::type_name::<tollgate::store::RedisStore>(),
    ];
    for store in stores {
        assert!(store.starts_with("tollgate::"), "{store}");
    }
    let manifest = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    assert!(
        manifest.lines().any(|l| l == "redis = [\"dep:redis\"]"),
        "the Redis store is a feature of the core"
    );
    let axum = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tollgate-axum/Cargo.toml"
    ));
    assert!(axum.lines().any(|l| l == "tollgate.workspace = true"));
}

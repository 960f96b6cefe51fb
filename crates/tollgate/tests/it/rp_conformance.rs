//! The OpenID Foundation's RP certification plans (Basic, Config, refresh token, Back-Channel and
//! RP-Initiated logout), replayed against the hostile OP with the suite's own mutations and pass
//! rule: after a bad answer Tollgate makes no further call (no token, no UserInfo request) and the
//! user has no session; after a good one the flow completes and UserInfo is called.
//!
//! Cases `tests/backchannel.rs` already covers are not repeated; SECURITY.md maps each module to
//! its test.

use std::sync::Arc;

use crate::common::hostile_op::{
    self, CLIENT_ID, HostileOp, Mutation, POST_LOGOUT, RpRun, SID, SUB, Signer, browser, edit,
    jar_after, set, sets_session, sign_jws,
};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tollgate::store::MemoryStore;
use tollgate::{
    AccessTokenError, AccessTokenOptions, CallbackError, ConfigBuilder, Error, IdTokenError,
    LoginOptions, ProviderError, SessionData, Tollgate,
};
use tollgate_testkit::now;

/// A good run: the session is set and opens, and UserInfo answered for the user.
async fn assert_completes(op: &HostileOp, auth: &Tollgate, run: RpRun) -> SessionData {
    let ok = run.outcome.result.expect("the login completes");
    assert!(sets_session(&run.outcome.cookies));
    let jar = jar_after(&run.outcome.cookies);
    assert_eq!(auth.session(&jar).await.unwrap().unwrap().user.sub(), SUB);
    let claims = run.userinfo.expect("UserInfo was called").unwrap();
    assert_eq!(claims["sub"], SUB);
    assert_eq!(op.calls().last().unwrap(), "GET /userinfo");
    ok.session
}

/// The suite's pass rule for a negative module: a typed error, no session, and silence.
async fn assert_refused(op: &HostileOp, auth: &Tollgate, run: RpRun) -> Error {
    let err = run.outcome.result.expect_err("the login must be refused");
    assert!(!sets_session(&run.outcome.cookies), "{err}");
    assert!(
        auth.session(&jar_after(&run.outcome.cookies))
            .await
            .unwrap()
            .is_none(),
        "no session"
    );
    assert!(run.userinfo.is_none());
    op.assert_silent_after_token();
    err
}

fn id_token_error(e: Error) -> IdTokenError {
    match e {
        Error::Callback(CallbackError::IdToken(t)) => t,
        other => panic!("expected an ID token error, got {other:?}"),
    }
}

/// Starts an OP with `m`, runs a login with Tollgate configured by `tweak`, and checks refusal.
async fn refused_with(
    m: Mutation,
    signer: Option<Signer>,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> IdTokenError {
    let op = HostileOp::start().await;
    op.mutate(m);
    if let Some(s) = signer {
        op.set_signer(s);
    }
    let auth = Tollgate::new(tweak(op.config()).build().unwrap());
    let run = op.rp_run(&auth).await;
    id_token_error(assert_refused(&op, &auth, run).await)
}

async fn claims_refused(claims: Option<hostile_op::Edit>) -> IdTokenError {
    refused_with(
        Mutation {
            id_token_claims: claims,
            ..Mutation::default()
        },
        None,
        |b| b,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Basic RP plan

#[tokio::test]
async fn basic_oidcc_client_test_completes_and_calls_userinfo() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    let session = assert_completes(&op, &auth, run).await;
    assert_eq!(session.internal.sid, SID);
    assert_eq!(
        op.calls()[..2],
        [
            "GET /.well-known/openid-configuration".to_owned(),
            "GET /authorize".to_owned()
        ]
    );
}

#[tokio::test]
async fn basic_invalid_iss_is_refused() {
    let err = claims_refused(edit(|c| {
        c["iss"] = json!(format!("{}1", c["iss"].as_str().unwrap()))
    }))
    .await;
    assert!(
        matches!(err, IdTokenError::IssuerMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn basic_missing_sub_is_refused() {
    assert_eq!(
        claims_refused(set("sub", Value::Null)).await,
        IdTokenError::InvalidClaim("sub")
    );
}

#[tokio::test]
async fn basic_invalid_aud_is_refused() {
    assert_eq!(
        claims_refused(set("aud", json!(format!("{CLIENT_ID}1")))).await,
        IdTokenError::AudienceMismatch
    );
}

#[tokio::test]
async fn basic_missing_aud_is_refused() {
    assert_eq!(
        claims_refused(set("aud", Value::Null)).await,
        IdTokenError::InvalidClaim("aud")
    );
}

#[tokio::test]
async fn basic_missing_iat_is_refused() {
    assert_eq!(
        claims_refused(set("iat", Value::Null)).await,
        IdTokenError::InvalidClaim("iat")
    );
}

#[tokio::test]
async fn basic_nonce_invalid_is_refused() {
    let err = claims_refused(edit(|c| {
        c["nonce"] = json!(format!("{}1", c["nonce"].as_str().unwrap()))
    }))
    .await;
    assert_eq!(err, IdTokenError::NonceMismatch);
}

#[tokio::test]
async fn basic_kid_absent_single_jwks_is_accepted() {
    let op = HostileOp::start().await;
    op.set_jwks(hostile_op::kid_absent_single_jwks());
    op.set_signer(Signer::Rsa { key: 0, kid: None });
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
}

/// Either answer passes the suite; Tollgate tries every RSA key that fits RS256 and accepts the
/// one that verifies (it never guesses: a signature either verifies with a published key or not).
#[tokio::test]
async fn basic_kid_absent_multiple_jwks_is_accepted_by_trying_each_rsa_key() {
    let op = HostileOp::start().await;
    op.set_jwks(hostile_op::kid_absent_multiple_jwks());
    op.set_signer(Signer::Rsa { key: 2, kid: None });
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
    assert_eq!(op.count(&op.jwks_call()), 1);
}

#[tokio::test]
async fn basic_idtoken_sig_rs256_is_accepted() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    let header = run
        .outcome
        .result
        .as_ref()
        .unwrap()
        .session
        .token_set
        .id_token
        .clone();
    let header = header.unwrap();
    let header = tollgate_header(&header);
    assert_eq!(header["alg"], "RS256");
    assert_completes(&op, &auth, run).await;
}

fn tollgate_header(token: &str) -> Value {
    use base64::Engine;
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .unwrap(),
    )
    .unwrap()
}

/// The suite allows accepting or refusing an unsigned ID token; Tollgate refuses it always.
#[tokio::test]
async fn basic_idtoken_sig_none_is_refused() {
    let err = refused_with(Mutation::default(), Some(Signer::None), |b| b).await;
    assert_eq!(err, IdTokenError::DisallowedAlgorithm("none".into()));
}

fn xor() -> Mutation {
    Mutation {
        xor_signature: true,
        ..Mutation::default()
    }
}

#[tokio::test]
async fn basic_invalid_sig_rs256_is_refused() {
    let err = refused_with(xor(), None, |b| b).await;
    assert_eq!(err, IdTokenError::InvalidSignature);
}

#[tokio::test]
async fn basic_invalid_sig_es256_is_refused() {
    let es256 = |b: ConfigBuilder| b.id_token_algorithms([Algorithm::RS256, Algorithm::ES256]);
    let signer = Signer::Ec {
        kid: Some("ec-0".into()),
    };
    // The same signer, unmutated, is accepted: the refusal is the signature's.
    let op = HostileOp::start().await;
    op.set_signer(signer.clone());
    let auth = Tollgate::new(es256(op.config()).build().unwrap());
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;

    let err = refused_with(xor(), Some(signer.clone()), es256).await;
    assert_eq!(err, IdTokenError::InvalidSignature);
    // Refused when pinned away (the OP's discovery lists ES256, which alone would allow it).
    let err = refused_with(Mutation::default(), Some(signer), |b| {
        b.id_token_algorithms([Algorithm::RS256])
    })
    .await;
    assert_eq!(err, IdTokenError::DisallowedAlgorithm("ES256".into()));
}

#[tokio::test]
async fn basic_invalid_sig_hs256_is_refused() {
    let hs256 = |b: ConfigBuilder| b.id_token_algorithms([Algorithm::RS256, Algorithm::HS256]);
    let signer = Signer::Hs256(hostile_op::CLIENT_SECRET.into());
    let op = HostileOp::start().await;
    op.set_signer(signer.clone());
    let auth = Tollgate::new(hs256(op.config()).build().unwrap());
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;

    let err = refused_with(xor(), Some(signer.clone()), hs256).await;
    assert_eq!(err, IdTokenError::InvalidSignature);
    // Not allowed unless configured.
    let err = refused_with(Mutation::default(), Some(signer), |b| b).await;
    assert_eq!(err, IdTokenError::DisallowedAlgorithm("HS256".into()));
}

/// The suite cannot see this one (its test ends at the UserInfo call); Tollgate refuses the answer.
#[tokio::test]
async fn basic_userinfo_invalid_sub_is_refused_by_userinfo() {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        userinfo: edit(|u| u["sub"] = json!(format!("{SUB}invalid"))),
        ..Mutation::default()
    });
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    assert!(run.outcome.result.is_ok());
    let err = run.userinfo.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider(ProviderError::InvalidResponse {
                endpoint: "userinfo",
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn basic_client_secret_basic_sends_form_encoded_credentials() {
    let op = HostileOp::start().await;
    op.expect_basic(true);
    let auth = Tollgate::new(op.config().use_client_secret_basic().build().unwrap());
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
    // The OP refuses client_secret_post now: a typed error, and nothing after it.
    let post = op.client();
    let run = op.rp_run(&post).await;
    let err = assert_refused(&op, &post, run).await;
    assert!(
        matches!(
            &err,
            Error::Callback(CallbackError::ClientRejected { error }) if error == "invalid_client"
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn basic_scope_userinfo_claims_are_requested() {
    let op = HostileOp::start().await;
    let login = op
        .client()
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    let scope = login
        .url
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .unwrap()
        .1
        .into_owned();
    let scope: Vec<&str> = scope.split(' ').collect();
    assert!(scope.contains(&"openid") && scope.contains(&"profile") && scope.contains(&"email"));
}

// Beyond the suite: an expired ID token, and one signed with a key the OP does not publish.

#[tokio::test]
async fn extra_expired_id_token_is_refused() {
    let err = claims_refused(edit(|c| {
        c["exp"] = json!(now() - 3600);
        c["iat"] = json!(now() - 3900);
    }))
    .await;
    assert_eq!(err, IdTokenError::Expired);
}

#[tokio::test]
async fn extra_id_token_signed_with_an_unpublished_key_is_refused() {
    let err = refused_with(
        Mutation::default(),
        Some(Signer::Rsa {
            key: 2,
            kid: Some("unpublished".into()),
        }),
        |b| b,
    )
    .await;
    assert_eq!(
        err,
        IdTokenError::NoMatchingKey {
            kid: Some("unpublished".into())
        }
    );
    // A published kid on another key's signature: the signature is what counts.
    let err = refused_with(
        Mutation::default(),
        Some(Signer::Rsa {
            key: 2,
            kid: Some("rsa-0".into()),
        }),
        |b| b,
    )
    .await;
    assert_eq!(err, IdTokenError::InvalidSignature);
}

// ---------------------------------------------------------------------------------------------
// Config RP plan

#[tokio::test]
async fn config_discovery_openid_configuration_is_fetched_first() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
    assert_eq!(op.calls()[0], "GET /.well-known/openid-configuration");
}

#[tokio::test]
async fn config_discovery_jwks_uri_keys_come_from_discovery() {
    let op = HostileOp::start().await;
    assert!(op.jwks_path().starts_with("/keys/") && op.jwks_path().len() > 10);
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
    let calls = op.calls();
    let at = |c: &str| calls.iter().position(|x| x == c).unwrap();
    assert_eq!(at("GET /.well-known/openid-configuration"), 0);
    assert!(at(&op.jwks_call()) < at("GET /userinfo"), "{calls:?}");
}

#[tokio::test]
async fn config_discovery_issuer_mismatch_stops_before_any_authorization_request() {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        discovery: edit(|d| {
            d["issuer"] = json!(format!("{}INVALID", d["issuer"].as_str().unwrap()))
        }),
        ..Mutation::default()
    });
    let auth = op.client();
    let err = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Provider(ProviderError::IssuerMismatch { .. })),
        "{err:?}"
    );
    assert_eq!(
        auth.handle_login(&tollgate::AuthRequest::new().with_query(""))
            .await
            .status(),
        502
    );
    assert!(
        op.calls()
            .iter()
            .all(|c| c == "GET /.well-known/openid-configuration")
    );
}

#[tokio::test]
async fn config_signing_key_rotation_refetches_on_the_unknown_kid() {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        rotate_on_authorize: Some(2),
        ..Mutation::default()
    });
    let auth = op.client();
    for _ in 0..2 {
        let run = op.rp_run(&auth).await;
        assert_completes(&op, &auth, run).await;
    }
    assert_eq!(op.count(&op.jwks_call()), 2, "a second JWKS request");
    assert_eq!(op.count("GET /userinfo"), 2, "and a second UserInfo");
    assert_eq!(auth.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn config_signing_key_rotation_just_before_signing_is_accepted() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
    op.mutate(Mutation {
        rotate_before_signing: true,
        ..Mutation::default()
    });
    let run = op.rp_run(&auth).await;
    assert_completes(&op, &auth, run).await;
    assert_eq!(op.count(&op.jwks_call()), 2);
}

// ---------------------------------------------------------------------------------------------
// Refresh-token plan

async fn logged_in() -> (HostileOp, Tollgate, SessionData) {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    let session = assert_completes(&op, &auth, run).await;
    (op, auth, session)
}

#[tokio::test]
async fn refresh_token_then_userinfo_with_the_new_access_token() {
    let (op, auth, session) = logged_in().await;
    let out = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap();
    let updated = out.session.expect("the refreshed session");
    assert_ne!(out.token.token, session.token_set.access_token);
    assert_ne!(
        updated.token_set.refresh_token, session.token_set.refresh_token,
        "the rotated refresh token is kept"
    );
    auth.userinfo(&updated).await.unwrap();
    assert_eq!(op.userinfo_bearers().last(), Some(&out.token.token));
}

async fn refresh_refused(claims: Option<hostile_op::Edit>) -> IdTokenError {
    let (op, auth, session) = logged_in().await;
    op.mutate(Mutation {
        refresh_id_token_claims: claims,
        ..Mutation::default()
    });
    let err = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap_err();
    // An application calls UserInfo only with a token it got.
    op.assert_silent_after_token();
    assert_eq!(
        op.count("GET /userinfo"),
        1,
        "only the one before the refresh"
    );
    match err {
        AccessTokenError::InvalidIdToken(e) => e,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refresh_token_invalid_issuer_is_refused() {
    let err = refresh_refused(edit(|c| {
        c["iss"] = json!(format!("{}1", c["iss"].as_str().unwrap()))
    }))
    .await;
    assert!(
        matches!(err, IdTokenError::IssuerMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn refresh_token_invalid_sub_is_refused() {
    let err = refresh_refused(set("sub", json!(format!("{SUB}1")))).await;
    assert_eq!(err, IdTokenError::SubjectMismatch);
}

// ---------------------------------------------------------------------------------------------
// Back-Channel logout RP plan (the other mutations are in tests/backchannel.rs)

fn logout_claims(op: &HostileOp) -> Value {
    json!({
        "iss": op.issuer, "sub": SUB, "aud": CLIENT_ID, "sid": SID,
        "jti": format!("jti-{}", now_nanos()), "iat": now(), "exp": now() + 120,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        "ignored_claim": "ignored",
    })
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Logs in through the OP with a server-side store; returns the cookies of the session.
async fn bcl_setup() -> (HostileOp, Tollgate, tollgate::CookieJar) {
    let op = HostileOp::start().await;
    // RS256 pinned: the OP's discovery also lists ES256, which the wrong-alg case must not use.
    let config = op.config().id_token_algorithms([Algorithm::RS256]);
    let auth = Tollgate::builder(config.build().unwrap())
        .store(Arc::new(MemoryStore::new()))
        .build();
    let run = op.rp_run(&auth).await;
    let jar = jar_after(&run.outcome.cookies);
    assert_completes(&op, &auth, run).await;
    (op, auth, jar)
}

async fn post_logout_token(auth: &Tollgate, token: &str) -> tollgate::AuthResponse {
    let body = format!("logout_token={token}&ignored_parameter=ignored");
    let resp = auth.backchannel_logout().handle(body.as_bytes()).await;
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp
}

#[tokio::test]
async fn backchannel_rpinitlogout_good_token_is_exactly_200_and_ends_the_session() {
    let (op, auth, jar) = bcl_setup().await;
    let token = sign_jws(&Signer::default(), None, &logout_claims(&op));
    assert!(
        !tollgate_header(&token)
            .as_object()
            .unwrap()
            .contains_key("typ")
    );
    let resp = post_logout_token(&auth, &token).await;
    assert_eq!(resp.status(), 200, "{}", resp.body());
    assert!(auth.session(&jar).await.unwrap().is_none(), "logged out");
}

async fn bcl_refused(token_for: impl FnOnce(&HostileOp) -> String) {
    let (op, auth, jar) = bcl_setup().await;
    let resp = post_logout_token(&auth, &token_for(&op)).await;
    assert_eq!(resp.status(), 400, "{}", resp.body());
    assert!(
        auth.session(&jar).await.unwrap().is_some(),
        "the session is untouched"
    );
}

/// A valid ES256 signature with a key the OP publishes, while RS256 is expected (pinned).
#[tokio::test]
async fn backchannel_wrong_alg_es256_with_a_published_key_is_400() {
    bcl_refused(|op| {
        sign_jws(
            &Signer::Ec {
                kid: Some("ec-0".into()),
            },
            None,
            &logout_claims(op),
        )
    })
    .await;
}

#[tokio::test]
async fn backchannel_key_the_op_does_not_publish_is_400() {
    bcl_refused(|op| {
        sign_jws(
            &Signer::Rsa {
                key: 2,
                kid: Some("unpublished".into()),
            },
            None,
            &logout_claims(op),
        )
    })
    .await;
}

#[tokio::test]
async fn backchannel_alg_none_with_a_real_session_is_400() {
    bcl_refused(|op| sign_jws(&Signer::None, None, &logout_claims(op))).await;
}

// ---------------------------------------------------------------------------------------------
// RP-Initiated logout plan

async fn logout_redirect(auth: &Tollgate, query: &str, jar: &tollgate::CookieJar) -> url::Url {
    let resp = auth
        .handle_logout(&crate::common::callback_request(query, jar.clone()))
        .await;
    assert_eq!(resp.status(), 302);
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__session=;")),
        "{cookies:?}"
    );
    url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn rp_init_logout_sends_id_token_hint_and_the_registered_redirect() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    let jar = jar_after(&run.outcome.cookies);
    assert_completes(&op, &auth, run).await;
    let to = logout_redirect(&auth, "state=rp-state-1", &jar).await;
    assert_eq!(
        to.as_str().split('?').next(),
        Some(&*format!("{}end_session", op.issuer))
    );
    assert_eq!(param(&to, "id_token_hint"), op.id_tokens().last().cloned());
    assert_eq!(
        param(&to, "post_logout_redirect_uri").as_deref(),
        Some(POST_LOGOUT)
    );
    assert_eq!(param(&to, "state").as_deref(), Some("rp-state-1"));
    // The OP accepts it and sends the browser back with the state.
    let back = browser().get(to.as_str()).send().await.unwrap();
    assert_eq!(back.status(), 302);
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(param(&back, "state").as_deref(), Some("rp-state-1"));
    assert!(back.as_str().starts_with(POST_LOGOUT));
}

/// Without a `state`, none is sent, and the OP's redirect back carries none. (Tollgate consumes no
/// logout response, so an *other* state cannot be accepted as one: the landing page is the app's.)
#[tokio::test]
async fn rp_init_logout_no_state() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    let jar = jar_after(&run.outcome.cookies);
    assert_completes(&op, &auth, run).await;
    let to = logout_redirect(&auth, "", &jar).await;
    assert_eq!(param(&to, "state"), None);
    let back = browser().get(to.as_str()).send().await.unwrap();
    assert_eq!(back.headers()["location"], POST_LOGOUT);
}

/// A provider's `expires_in` is a number Tollgate adds to the clock: the largest one cannot
/// overflow, at login or at refresh; the token simply never expires early.
#[tokio::test]
async fn the_largest_expires_in_neither_overflows_nor_fails() {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        token_response: set("expires_in", json!(u64::MAX)),
        ..Mutation::default()
    });
    let auth = op.client();
    let run = op.rp_run(&auth).await;
    let session = assert_completes(&op, &auth, run).await;
    assert_eq!(session.token_set.expires_at, u64::MAX);
    let out = auth
        .access_token(&session, &AccessTokenOptions::new().force_refresh())
        .await
        .unwrap();
    assert_eq!(out.token.expires_at, u64::MAX);
}

/// The callback query without its `iss` parameter.
fn without_iss(query: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "iss"))
        .finish()
}

#[tokio::test]
async fn rfc9207_a_callback_without_iss_is_refused_when_discovery_promises_it() {
    let op = HostileOp::start().await;
    let auth = op.client();
    let (query, jar) = op.authorize(&auth, LoginOptions::new()).await;
    assert!(query.contains("iss="), "the OP sends iss: {query}");
    let outcome = auth
        .handle_callback(&crate::common::callback_request(without_iss(&query), jar))
        .await;
    let err = outcome.result.as_ref().unwrap_err();
    assert_eq!(
        err,
        &Error::Callback(CallbackError::MissingIssuer),
        "{err:?}"
    );
    assert_eq!(err.code(), "missing_iss");
    assert!(!sets_session(&outcome.cookies));
    assert!(
        !op.calls().iter().any(|c| c == "POST /oauth/token"),
        "refused before the code is exchanged: {:?}",
        op.calls()
    );
}

#[tokio::test]
async fn rfc9207_a_callback_without_iss_passes_when_discovery_does_not_promise_it() {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        discovery: Some(Arc::new(|d: &mut Value| {
            d["authorization_response_iss_parameter_supported"] = json!(false);
        })),
        ..Mutation::default()
    });
    let auth = op.client();
    let (query, jar) = op.authorize(&auth, LoginOptions::new()).await;
    let outcome = auth
        .handle_callback(&crate::common::callback_request(without_iss(&query), jar))
        .await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(sets_session(&outcome.cookies));
}

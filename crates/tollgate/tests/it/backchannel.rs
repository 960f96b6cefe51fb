//! Back-channel logout: the good token ends the session (200), and every bad variant of the
//! certification plan and of BCL 1.0 §2.4/§2.6 is refused (400) without ending anything.

use std::sync::Arc;

use crate::common::fake_op::FakeOp;
use serde_json::{Value, json};
use tollgate::store::{MemoryStore, SessionStore};
use tollgate::{Config, CookieJar, LogoutTokenError, SessionData, Tollgate, User};
use tollgate_testkit::now;

const CLIENT: &str = "bcl-client";

fn config(op: &FakeOp) -> Config {
    tollgate_testkit::local_config(
        &op.issuer,
        (CLIENT, "bcl-secret"),
        "backchannel-test-secret-0123456789abcdef",
        "http://127.0.0.1:3000",
    )
    .build()
    .unwrap()
}

fn claims(op: &FakeOp) -> Value {
    json!({
        "iss": op.issuer, "aud": CLIENT, "sub": "auth0|alice", "sid": "sid-1",
        "iat": now(), "exp": now() + 120, "jti": format!("jti-{}", rand_suffix()),
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        "ignored_claim": "ignored"
    })
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        v.as_object_mut().unwrap().remove(key);
    } else {
        v[key] = value;
    }
    v
}

fn session(sid: &str, sub: &str) -> SessionData {
    let mut s = SessionData::default();
    s.internal.sid = sid.into();
    s.internal.created_at = now();
    s.user = User(serde_json::from_value(json!({"sub": sub})).unwrap());
    s
}

fn form(token: &str) -> Vec<u8> {
    format!("logout_token={token}&ignored_parameter=x").into_bytes()
}

#[tokio::test]
async fn every_bad_logout_token_is_refused_with_400() {
    let op = FakeOp::start().await;
    let auth = Tollgate::new(config(&op));
    let good = claims(&op);
    let bcl = "http://schemas.openid.net/event/backchannel-logout";
    let cases: Vec<(&str, String)> = vec![
        ("alg none", op.unsigned(&good)),
        ("wrong alg", op.with_alg("ES256", &good)),
        ("HS256", op.with_alg("HS256", &good)),
        ("bad signature", {
            let t = op.sign(&good, None);
            let (head, sig) = t.rsplit_once('.').unwrap();
            format!("{head}.{}", sig.chars().rev().collect::<String>())
        }),
        (
            "no event",
            op.sign(&with(good.clone(), "events", Value::Null), None),
        ),
        (
            "wrong event",
            op.sign(
                &with(
                    good.clone(),
                    "events",
                    json!({"http://schemas.openid.net/event/foobar": {}}),
                ),
                None,
            ),
        ),
        (
            "event not an object",
            op.sign(&with(good.clone(), "events", json!({bcl: "yes"})), None),
        ),
        (
            "nonce",
            op.sign(
                &with(
                    good.clone(),
                    "nonce",
                    json!("logout_tokens_must_not_contain_a_nonce"),
                ),
                None,
            ),
        ),
        (
            "wrong aud",
            op.sign(
                &with(good.clone(), "aud", json!(format!("{CLIENT}INVALID"))),
                None,
            ),
        ),
        (
            "wrong iss",
            op.sign(
                &with(good.clone(), "iss", json!(format!("{}INVALID", op.issuer))),
                None,
            ),
        ),
        (
            "expired",
            op.sign(
                &with(
                    with(good.clone(), "exp", json!(now() - 3600)),
                    "iat",
                    json!(now() - 3720),
                ),
                None,
            ),
        ),
        (
            "no iat",
            op.sign(&with(good.clone(), "iat", Value::Null), None),
        ),
        (
            "iat in the future",
            op.sign(&with(good.clone(), "iat", json!(now() + 3600)), None),
        ),
        (
            "old without exp",
            op.sign(
                &with(
                    with(good.clone(), "exp", Value::Null),
                    "iat",
                    json!(now() - 3600),
                ),
                None,
            ),
        ),
        (
            "no jti",
            op.sign(&with(good.clone(), "jti", Value::Null), None),
        ),
        (
            "neither sid nor sub",
            op.sign(
                &with(with(good.clone(), "sid", Value::Null), "sub", Value::Null),
                None,
            ),
        ),
        ("wrong typ", op.sign(&good, Some("at+jwt"))),
        (
            "string exp",
            op.sign(
                &with(good.clone(), "exp", json!(format!("{}", now() + 120))),
                None,
            ),
        ),
        ("not a JWT", "abc".to_owned()),
    ];
    for (name, token) in cases {
        let resp = auth.backchannel_logout().handle(&form(&token)).await;
        assert_eq!(resp.status(), 400, "{name}: {}", resp.body());
        assert_eq!(resp.headers()["cache-control"], "no-store", "{name}");
        let body: Value = serde_json::from_str(resp.body()).unwrap();
        assert_eq!(body["error"], "invalid_request", "{name}");
    }
    assert_eq!(
        auth.backchannel_logout()
            .handle(b"nothing=here")
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn the_good_token_ends_the_session_once() {
    let op = FakeOp::start().await;
    let store = Arc::new(MemoryStore::new());
    let auth = Tollgate::builder(config(&op)).store(store.clone()).build();
    store
        .set("mine", &session("sid-1", "auth0|alice"), now() + 3600)
        .await
        .unwrap();
    store
        .set(
            "other-device",
            &session("sid-2", "auth0|alice"),
            now() + 3600,
        )
        .await
        .unwrap();
    store
        .set("someone-else", &session("sid-9", "auth0|bob"), now() + 3600)
        .await
        .unwrap();

    // typ absent, JWT, and logout+jwt are all accepted.
    for typ in [None, Some("JWT"), Some("logout+jwt")] {
        let token = op.sign(&claims(&op), typ);
        assert!(
            auth.backchannel_logout().verify(&token).await.is_ok(),
            "typ {typ:?}"
        );
    }
    let token = op.sign(&claims(&op), None);
    let resp = auth.backchannel_logout().handle(&form(&token)).await;
    assert_eq!(resp.status(), 200, "{}", resp.body());
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(
        store.get("mine", now()).await.unwrap().is_none(),
        "the sid's session ended"
    );
    assert!(
        store.get("other-device", now()).await.unwrap().is_some(),
        "only that sid"
    );
    assert!(store.get("someone-else", now()).await.unwrap().is_some());

    // The same jti again is a replay.
    assert_eq!(
        auth.backchannel_logout().verify(&token).await.unwrap_err(),
        LogoutTokenError::Replayed
    );
    assert_eq!(
        auth.backchannel_logout()
            .handle(&form(&token))
            .await
            .status(),
        400
    );

    // sub only: every session of the user.
    let by_sub = op.sign(&with(claims(&op), "sid", Value::Null), None);
    assert_eq!(
        auth.backchannel_logout()
            .handle(&form(&by_sub))
            .await
            .status(),
        200
    );
    assert!(store.get("other-device", now()).await.unwrap().is_none());
    assert!(store.get("someone-else", now()).await.unwrap().is_some());
}

#[tokio::test]
async fn cookie_sessions_are_ended_through_the_revocation_list() {
    let op = FakeOp::start().await;
    let auth = Tollgate::new(config(&op));
    let s = session("sid-1", "auth0|alice");
    let lines = auth.session_codec().write(&CookieJar::default(), &s, now());
    let jar = CookieJar::parse(lines[0].split(';').next().unwrap());
    assert!(auth.session(&jar).await.unwrap().is_some());
    let token = op.sign(&claims(&op), Some("logout+jwt"));
    assert_eq!(
        auth.backchannel_logout()
            .handle(&form(&token))
            .await
            .status(),
        200
    );
    assert!(
        auth.session(&jar).await.unwrap().is_none(),
        "the cookie no longer opens a session"
    );
    // A later login in the same provider session (created after the logout) is not affected.
    let mut later = session("sid-1", "auth0|alice");
    later.internal.created_at = now() + 1;
    let lines = auth
        .session_codec()
        .write(&CookieJar::default(), &later, now());
    assert!(
        auth.session(&CookieJar::parse(lines[0].split(';').next().unwrap()))
            .await
            .unwrap()
            .is_some()
    );
}

use super::*;

fn claims(json: serde_json::Value) -> Map<String, Value> {
    match json {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn expectations(secret: &Secret) -> Expectations<'_> {
    Expectations {
        issuer: "https://tenant.example/",
        client_id: "client",
        nonce: Some("n-1"),
        max_age: None,
        now: 1_000_000,
        tolerance: 60,
        algorithms: &[Algorithm::RS256],
        client_secret: secret,
    }
}

fn good() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://tenant.example/", "sub": "auth0|1", "aud": "client",
        "exp": 1_000_100, "iat": 999_990, "nonce": "n-1", "auth_time": 999_000
    })
}

fn with(key: &str, value: serde_json::Value) -> Map<String, Value> {
    let mut c = claims(good());
    if value.is_null() {
        c.remove(key);
    } else {
        c.insert(key.into(), value);
    }
    c
}

#[test]
fn good_claims_pass() {
    let s = Secret::new("x");
    assert_eq!(check_claims(&claims(good()), &expectations(&s)), Ok(()));
}

#[test]
fn each_bad_claim_has_its_error() {
    let s = Secret::new("x");
    let e = expectations(&s);
    let cases: Vec<(Map<String, Value>, IdTokenError)> = vec![
        (
            with("iss", serde_json::json!("https://evil.example/")),
            IdTokenError::IssuerMismatch {
                expected: "https://tenant.example/".into(),
                found: "https://evil.example/".into(),
            },
        ),
        (
            with("iss", serde_json::json!(null)),
            IdTokenError::InvalidClaim("iss"),
        ),
        (
            with("sub", serde_json::json!("")),
            IdTokenError::InvalidClaim("sub"),
        ),
        (
            with("aud", serde_json::json!("other")),
            IdTokenError::AudienceMismatch,
        ),
        (
            with("aud", serde_json::json!(["client", "other"])),
            IdTokenError::AuthorizedPartyMismatch,
        ),
        (
            with("aud", serde_json::json!([1])),
            IdTokenError::InvalidClaim("aud"),
        ),
        (
            with("azp", serde_json::json!("other")),
            IdTokenError::AuthorizedPartyMismatch,
        ),
        (
            with("exp", serde_json::json!(999_000)),
            IdTokenError::Expired,
        ),
        (
            with("exp", serde_json::json!("2000000")),
            IdTokenError::InvalidClaim("exp"),
        ),
        (
            with("exp", serde_json::json!(null)),
            IdTokenError::InvalidClaim("exp"),
        ),
        (
            with("iat", serde_json::json!(1_000_200)),
            IdTokenError::IssuedInFuture,
        ),
        (
            with("iat", serde_json::json!(null)),
            IdTokenError::InvalidClaim("iat"),
        ),
        (
            with("nbf", serde_json::json!(1_000_061)),
            IdTokenError::NotYetValid,
        ),
        (
            with("nbf", serde_json::json!("999000")),
            IdTokenError::InvalidClaim("nbf"),
        ),
        (
            with("nonce", serde_json::json!("n-2")),
            IdTokenError::NonceMismatch,
        ),
        (
            with("nonce", serde_json::json!(null)),
            IdTokenError::NonceMismatch,
        ),
    ];
    for (c, want) in cases {
        assert_eq!(check_claims(&c, &e), Err(want.clone()), "{want}");
    }
}

#[test]
fn an_nbf_within_the_clock_tolerance_passes() {
    let secret = Secret::new("x".repeat(32));
    let e = expectations(&secret);
    assert_eq!(
        check_claims(&with("nbf", serde_json::json!(1_000_060)), &e),
        Ok(())
    );
    assert_eq!(
        check_claims(&with("nbf", serde_json::json!(999_000)), &e),
        Ok(())
    );
}

#[test]
fn several_audiences_pass_with_matching_azp() {
    let s = Secret::new("x");
    let mut c = with("aud", serde_json::json!(["client", "other"]));
    c.insert("azp".into(), serde_json::json!("client"));
    assert_eq!(check_claims(&c, &expectations(&s)), Ok(()));
}

#[test]
fn max_age_needs_a_recent_auth_time() {
    let s = Secret::new("x");
    let mut e = expectations(&s);
    e.max_age = Some(2000);
    assert_eq!(check_claims(&claims(good()), &e), Ok(()));
    e.max_age = Some(100);
    assert_eq!(
        check_claims(&claims(good()), &e),
        Err(IdTokenError::AuthTimeTooOld)
    );
    assert_eq!(
        check_claims(&with("auth_time", serde_json::json!(null)), &e),
        Err(IdTokenError::InvalidClaim("auth_time"))
    );
}

#[test]
fn parse_jws_rejects_garbage_without_panicking() {
    for t in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "!!.e30.",
        "e30.e30.",
        "eyJhbGciOjF9.e30.x",
    ] {
        assert!(parse_jws(t).is_err(), "{t}");
    }
    let crit = "eyJhbGciOiJSUzI1NiIsImNyaXQiOlsieCJdfQ.e30.x";
    assert!(matches!(parse_jws(crit), Err(IdTokenError::Malformed(_))));
}

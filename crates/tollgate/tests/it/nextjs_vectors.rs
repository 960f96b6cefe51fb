//! Cookie compatibility with nextjs-auth0 v4, both directions, on the vectors made with the real
//! `@auth0/nextjs-auth0` 4.30.0.

use std::path::PathBuf;

use serde_json::Value;
use tollgate::{Config, CookieJar, CookieSessionCodec, SessionData};
use tollgate_testkit::now;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nextjs-auth0")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

fn codec(secret: &str) -> CookieSessionCodec {
    let config = Config::builder()
        .domain("acme.eu.auth0.com")
        .client_id("Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe")
        .client_secret("unused-in-this-test")
        .secret(secret)
        .app_base_url("https://app.acme.example")
        .build()
        .unwrap();
    CookieSessionCodec::new(&config)
}

fn jar_of(case: &Value) -> CookieJar {
    let header = case["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["name"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    CookieJar::parse(&header)
}

#[test]
fn reads_every_vector_with_the_expected_outcome() {
    let vectors: Value = serde_json::from_str(&read("vectors.json")).unwrap();
    let codec = codec(read("secret.txt").trim());
    let cases = vectors["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let got = codec.read(&jar_of(case), now());
        match case["expect"].as_str().unwrap() {
            "valid" => {
                let (session, exp) = got.unwrap_or_else(|| panic!("{name}: expected a session"));
                assert_eq!(exp, case["exp"].as_u64().unwrap(), "{name}");
                let want: Value =
                    serde_json::from_str(&read(case["plaintext"].as_str().unwrap())).unwrap();
                assert_eq!(
                    serde_json::to_value(&session).unwrap(),
                    want,
                    "{name}: every member survives"
                );
                assert_eq!(session.user.sub(), "auth0|64f1c2a9b3e4d5f6a7b8c9d0");
                assert_eq!(session.internal.sid, "Hk3mN9pQ2rS7tV1wX5yZ8aB4cD6eF0gJ");
            }
            "no-session" => assert!(got.is_none(), "{name}: expected no session"),
            other => panic!("unknown expectation {other}"),
        }
    }
}

#[test]
fn the_mrrt_session_keeps_its_audience_tokens() {
    let vectors: Value = serde_json::from_str(&read("vectors.json")).unwrap();
    let codec = codec(read("secret.txt").trim());
    let case = &vectors["cases"][1];
    let (session, _) = codec.read(&jar_of(case), now()).unwrap();
    assert!(!session.access_tokens.is_empty());
    assert!(session.access_tokens.iter().all(|t| !t.audience.is_empty()));
}

/// Writes the vectors' plaintext with Tollgate and checks the cookie is what nextjs-auth0 reads: the
/// same header, the same chunk names and sizes, and a payload that opens with the nextjs-derived key
/// to exactly the same JSON plus `exp`.
#[test]
fn writes_cookies_in_the_nextjs_layout() {
    let secret = read("secret.txt");
    let codec = codec(secret.trim());
    for (plaintext, chunks) in [("session.json", 1), ("session-mrrt.json", 2)] {
        let session: SessionData = serde_json::from_str(&read(plaintext)).unwrap();
        let now = now();
        let mut fresh = session.clone();
        fresh.internal.created_at = now;
        let lines = codec.write(&CookieJar::default(), &fresh, now);
        assert_eq!(lines.len(), chunks, "{plaintext}");
        let header = lines
            .iter()
            .map(|l| l.split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        for (i, l) in lines.iter().enumerate() {
            let name = if chunks == 1 {
                "__session".to_owned()
            } else {
                format!("__session__{i}")
            };
            assert!(
                l.starts_with(&format!("{name}=eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0")) || i > 0,
                "{l}"
            );
            assert!(l.starts_with(&format!("{name}=")), "{l}");
            assert!(
                l.contains("; HttpOnly") && l.contains("; SameSite=Lax") && l.contains("; Secure")
            );
            assert!(l.contains("; Max-Age=86400"), "{l}");
        }
        let (back, exp) = codec.read(&CookieJar::parse(&header), now).unwrap();
        assert_eq!(back, fresh);
        assert_eq!(exp, now + 86_400);
    }
}

#[test]
fn a_cookie_sealed_with_an_old_secret_still_opens_after_rotation() {
    let vectors: Value = serde_json::from_str(&read("vectors.json")).unwrap();
    let rotated = codec(&format!("{},{}", "n".repeat(64), read("secret.txt").trim()));
    assert!(rotated.read(&jar_of(&vectors["cases"][0]), now()).is_some());
}

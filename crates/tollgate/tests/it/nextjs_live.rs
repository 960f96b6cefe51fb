//! Tollgate and the real `@auth0/nextjs-auth0` 4.30.0 (pinned in `interop/nextjs-auth0`) read each
//! other's session cookies: a Next.js front end and a Rust API on one domain share one login.
//! Needs `npm ci` in `interop/nextjs-auth0` (the test script does it).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use tollgate::{Config, CookieJar, CookieSessionCodec, SessionData};
use tollgate_testkit::now;

fn interop_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/nextjs-auth0");
    if dir.join("node_modules/@auth0/nextjs-auth0").is_dir() {
        return Some(dir);
    }
    if std::env::var("TOLLGATE_SKIP_NODE").as_deref() == Ok("1") {
        eprintln!("skipped: TOLLGATE_SKIP_NODE=1 and interop/nextjs-auth0 has no node_modules");
        return None;
    }
    panic!(
        "interop/nextjs-auth0/node_modules is missing: run scripts/test.sh (or `npm ci` in interop/nextjs-auth0)"
    );
}

fn node(dir: &PathBuf, mode: &str, secret: &str, input: &str) -> String {
    let mut child = Command::new("node")
        .arg("session.mjs")
        .arg(mode)
        .arg(secret)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node session.mjs {mode} failed");
    String::from_utf8(out.stdout).unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/nextjs-auth0")
            .join(name),
    )
    .unwrap()
}

fn codec(secret: &str) -> CookieSessionCodec {
    let config = Config::builder()
        .domain("acme.eu.auth0.com")
        .client_id("client")
        .client_secret("unused")
        .secret(secret)
        .app_base_url("http://127.0.0.1:3000")
        .build()
        .unwrap();
    CookieSessionCodec::new(&config)
}

/// `name=value` pairs of the cookies that are set (not deleted) by `Set-Cookie` lines.
fn cookie_header<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    lines
        .map(|l| l.split(';').next().unwrap().trim())
        .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn nextjs_auth0_reads_the_cookies_tollgate_writes() {
    let Some(dir) = interop_dir() else { return };
    let secret = fixture("secret.txt").trim().to_owned();
    for plaintext in ["session.json", "session-mrrt.json"] {
        let mut session: SessionData = serde_json::from_str(&fixture(plaintext)).unwrap();
        session.internal.created_at = now();
        session.authentication = Some(tollgate::Authentication {
            amr: vec!["pwd".into(), "mfa".into()],
            acr: None,
            auth_time: Some(now()),
        });
        let lines = codec(&secret).write(&CookieJar::default(), &session, now());
        let read = node(
            &dir,
            "read",
            &secret,
            &cookie_header(lines.iter().map(String::as_str)),
        );
        let theirs: Value = serde_json::from_str(&read).unwrap();
        assert!(
            !theirs.is_null(),
            "nextjs-auth0 found no session in Tollgate's {plaintext} cookie"
        );
        let ours = serde_json::to_value(&session).unwrap();
        for key in ["user", "tokenSet", "internal", "authentication"] {
            assert_eq!(theirs[key], ours[key], "{plaintext}: {key}");
        }
        assert_eq!(theirs.get("accessTokens"), ours.get("accessTokens"));
    }
}

#[test]
fn tollgate_reads_the_cookies_nextjs_auth0_writes() {
    let Some(dir) = interop_dir() else { return };
    let secret = fixture("secret.txt").trim().to_owned();
    for (plaintext, chunks) in [("session.json", 1), ("session-mrrt.json", 2)] {
        let set_cookies = node(&dir, "write", &secret, &fixture(plaintext));
        let header = cookie_header(set_cookies.lines());
        assert_eq!(header.matches("__session").count(), chunks, "{header}");
        let (session, exp) = codec(&secret)
            .read(&CookieJar::parse(&header), now())
            .unwrap_or_else(|| {
                panic!("Tollgate found no session in nextjs-auth0's {plaintext} cookie")
            });
        let want: Value = serde_json::from_str(&fixture(plaintext)).unwrap();
        let got = serde_json::to_value(&session).unwrap();
        assert_eq!(got["user"], want["user"]);
        assert_eq!(got["tokenSet"], want["tokenSet"]);
        assert_eq!(got["internal"]["sid"], want["internal"]["sid"]);
        assert_eq!(got.get("accessTokens"), want.get("accessTokens"));
        assert!(exp > now() + 86_000, "nextjs-auth0's rolling expiry: {exp}");
    }
}

//! Session cookie speed: reading (unseal, parse, validate) and writing (seal, chunk) the realistic
//! 3.3 KB session of the nextjs-auth0 vectors, and a request's rolling re-seal through the public
//! API (`Tollgate::session_with_touch`: read, touch, write). Figures go to BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use tollgate::{
    Config, CookieJar, CookieSessionCodec, ManualClock, MemoryRevocations, SessionData, Tollgate,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nextjs-auth0");

fn config(clock: Option<ManualClock>) -> Config {
    let secret = std::fs::read_to_string(format!("{FIXTURES}/secret.txt")).unwrap();
    let mut b = Config::builder()
        .domain("acme.eu.auth0.com")
        .client_id("client")
        .client_secret("unused")
        .secret(secret.trim())
        .app_base_url("https://app.acme.example");
    if let Some(clock) = clock {
        b = b.clock(Arc::new(clock));
    }
    b.build().unwrap()
}

fn codec() -> CookieSessionCodec {
    CookieSessionCodec::new(&config(None))
}

/// The `Cookie` header of `session` sealed at `at`, as the browser sends it back.
fn header_of(codec: &CookieSessionCodec, session: &SessionData, at: u64) -> String {
    codec
        .write(&CookieJar::default(), session, at)
        .iter()
        .map(|line| line.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn cookie_header(case: usize) -> String {
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/vectors.json")).unwrap())
            .unwrap();
    vectors["cases"][case]["cookies"]
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
        .join("; ")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bench(c: &mut Criterion) {
    let codec = codec();
    let now = now();
    for (case, label) in [(0, "session"), (1, "session-mrrt-chunked")] {
        let header = cookie_header(case);
        c.bench_function(&format!("read/{label}"), |b| {
            b.iter(|| {
                let jar = CookieJar::parse(black_box(&header));
                black_box(codec.read(&jar, now).expect("the vector is valid"))
            })
        });
        let (session, _): (SessionData, u64) = codec.read(&CookieJar::parse(&header), now).unwrap();
        let empty = CookieJar::default();
        let mut session = session;
        session.internal.created_at = now;
        c.bench_function(&format!("write/{label}"), |b| {
            b.iter(|| black_box(codec.write(&empty, black_box(&session), now)))
        });
        // A request two minutes after the cookie was written: the rolling expiry moves by more
        // than the granularity, so every iteration re-seals (the input cookie never changes).
        let sealed = header_of(&codec, &session, now);
        let clock = ManualClock::at(now + 120);
        let auth = Tollgate::builder(config(Some(clock)))
            .revocations(Arc::new(MemoryRevocations::new()))
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        c.bench_function(&format!("reseal/{label}"), |b| {
            b.iter(|| {
                let jar = CookieJar::parse(black_box(&sealed));
                let saved = runtime
                    .block_on(auth.session_with_touch(&jar))
                    .unwrap()
                    .expect("the cookie is valid");
                assert!(!saved.cookies.is_empty(), "a re-seal was due");
                black_box(saved)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

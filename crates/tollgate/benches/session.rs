//! Session cookie speed: reading (unseal, parse, validate) and writing (seal, chunk) the realistic
//! 3.3 KB session of the nextjs-auth0 vectors. Figures go to BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tollgate::{Config, CookieJar, CookieSessionCodec, SessionData};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nextjs-auth0");

fn codec() -> CookieSessionCodec {
    let secret = std::fs::read_to_string(format!("{FIXTURES}/secret.txt")).unwrap();
    let config = Config::builder()
        .domain("acme.eu.auth0.com")
        .client_id("client")
        .client_secret("unused")
        .secret(secret.trim())
        .app_base_url("https://app.acme.example")
        .build()
        .unwrap();
    CookieSessionCodec::new(&config)
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
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

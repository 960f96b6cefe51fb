//! Access tokens and stores: the cached-token path from the Cookie header, and the Redis store's
//! round-trip on loopback. Figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::store::{RedisStore, SessionStore};
use tollgate::{AccessTokenOptions, Config, CookieJar, SessionData, Tollgate};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nextjs-auth0");

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn auth() -> Tollgate {
    let secret = std::fs::read_to_string(format!("{FIXTURES}/secret.txt")).unwrap();
    Tollgate::new(
        Config::builder()
            .domain("acme.eu.auth0.com")
            .client_id("client")
            .client_secret("unused")
            .secret(secret.trim())
            .app_base_url("https://app.acme.example")
            .build()
            .unwrap(),
    )
}

fn fixture_session(name: &str) -> SessionData {
    let mut s: SessionData =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap())
            .unwrap();
    s.internal.created_at = now();
    s
}

fn cookie_header(auth: &Tollgate, session: &SessionData) -> String {
    let lines = auth
        .session_codec()
        .write(&CookieJar::default(), session, now());
    lines
        .iter()
        .map(|l| l.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn bench_cached_token(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let auth = auth();
    let single = cookie_header(&auth, &fixture_session("session.json"));
    let mrrt_session = fixture_session("session-mrrt.json");
    let chunked = cookie_header(&auth, &mrrt_session);
    let audience = mrrt_session.access_tokens[0].audience.clone();
    let opts_default = AccessTokenOptions::new();
    let opts_aud = AccessTokenOptions::new().audience(audience);
    c.bench_function("access_token/cached/default", |b| {
        b.iter(|| {
            rt.block_on(async {
                let jar = CookieJar::parse(black_box(&single));
                let s = auth.session(&jar).await.unwrap().unwrap();
                black_box(auth.access_token(&s, &opts_default).await.unwrap())
            })
        })
    });
    c.bench_function("access_token/cached/other-audience-chunked", |b| {
        b.iter(|| {
            rt.block_on(async {
                let jar = CookieJar::parse(black_box(&chunked));
                let s = auth.session(&jar).await.unwrap().unwrap();
                black_box(auth.access_token(&s, &opts_aud).await.unwrap())
            })
        })
    });
}

fn bench_redis(c: &mut Criterion) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = match std::process::Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping the Redis benchmark: redis-server did not start ({e})");
            return;
        }
    };
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(
        rt.block_on(RedisStore::connect(&format!("redis://127.0.0.1:{port}/")))
            .unwrap(),
    );
    let session = fixture_session("session.json");
    rt.block_on(store.set("bench", &session, now() + 3600))
        .unwrap();
    c.bench_function("redis_store/get", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(store.get("bench", now()).await.unwrap().unwrap()) })
        })
    });
    c.bench_function("redis_store/get+update", |b| {
        b.iter(|| {
            rt.block_on(async {
                let s = store.get("bench", now()).await.unwrap().unwrap();
                black_box(
                    store
                        .update("bench", s.version, &s.session, now() + 3600)
                        .await
                        .unwrap(),
                )
            })
        })
    });
    let _ = server.kill();
    let _ = server.wait();
}

criterion_group!(benches, bench_cached_token, bench_redis);
criterion_main!(benches);

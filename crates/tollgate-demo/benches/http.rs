//! The demo's router, one request at a time in process (`tower::ServiceExt::oneshot`, no
//! sockets): the CPU the whole HTTP stack spends per request, so the auth overhead shows against
//! the same page's static floor.
//!
//! | benchmark | request |
//! |---|---|
//! | `home/signed_out` | `GET /` without a cookie: the floor (routing, the session layer finding no cookie, the page) |
//! | `home/signed_in/cookie/1_chunk` … `4_chunks` | `GET /` with a cookie session of 1, 2 or 4 chunks that needs no re-seal |
//! | `home/resealing/cookie/1_chunk` … | the same cookie when the rolling expiry has moved by 120 s: read, then seal and `Set-Cookie` |
//! | `home/signed_in/redis`, `home/resealing/redis` | the session in a real `redis-server` (skipped without one) |
//!
//! Run with `cargo bench -p tollgate-demo --bench http`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tollgate::{Clock, Config, ManualClock, Tollgate};
use tower::ServiceExt;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-01";

/// How far the clock moves between sealing the cookie and the re-sealing requests: more than
/// the 60 s after which a rolling session is re-sealed.
const RESEAL_AFTER: Duration = Duration::from_secs(120);

fn config(clock: &ManualClock) -> Config {
    Config::builder()
        .domain("https://tenant.example.com")
        .client_id("bench")
        .client_secret("bench-secret")
        .secret(SECRET)
        .app_base_url("http://127.0.0.1:3000")
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("a valid configuration")
}

/// A session whose cookie takes `chunks` cookies of at most 3,500 bytes.
fn session(chunks: usize) -> tollgate::testing::TestSession {
    // ≈ 1.6 KB of session before padding; each chunk holds ≈ 2.5 KB of JSON after sealing.
    let padding = "p".repeat((chunks.saturating_sub(1)) * 2_600);
    tollgate::testing::session(json!({
        "sub": "auth0|bench",
        "name": "Bench User",
        "email": "bench@example.com",
        "https://example.com/padding": padding,
    }))
    .access_token("a".repeat(800), 3_600)
    .refresh_token("r".repeat(40))
}

struct Page {
    app: Router,
    cookie: String,
    clock: ManualClock,
    sealed_at: u64,
}

async fn page(store: Option<Arc<dyn tollgate::store::SessionStore>>, chunks: usize) -> Page {
    let clock = ManualClock::starting_now();
    let sealed_at = clock.now();
    let mut builder = Tollgate::builder(config(&clock));
    if let Some(store) = store {
        builder = builder.store(store);
    }
    let auth = builder.build();
    let cookie = tollgate::testing::cookie_header(&auth, session(chunks))
        .await
        .expect("the session is saved");
    Page {
        app: tollgate_demo::app(auth),
        cookie,
        clock,
        sealed_at,
    }
}

async fn get(app: &Router, cookie: Option<&str>) -> (StatusCode, bool) {
    let mut request = Request::get("/").header(header::ACCEPT, "text/html");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("a request"))
        .await
        .expect("the router is infallible");
    let resealed = response.headers().contains_key(header::SET_COOKIE);
    (response.status(), resealed)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("home");

    let floor = rt.block_on(page(None, 1));
    group.bench_function("signed_out", |b| {
        b.iter(|| rt.block_on(get(&floor.app, None)));
    });

    for chunks in [1, 2, 4] {
        let p = rt.block_on(page(None, chunks));
        let parts = p.cookie.matches("__session").count();
        assert_eq!(
            parts,
            if chunks == 1 { 1 } else { chunks },
            "{chunks} chunks"
        );
        let name = if chunks == 1 {
            "1_chunk".to_owned()
        } else {
            format!("{chunks}_chunks")
        };
        measure(&rt, &mut group, "cookie", &name, &p);
    }

    let has_redis = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match has_redis.then(tollgate_testkit::RedisServer::start) {
        Some(redis) => {
            let store = rt
                .block_on(tollgate::store::RedisStore::connect(&redis.url()))
                .expect("redis answers");
            let p = rt.block_on(page(Some(Arc::new(store)), 1));
            measure(&rt, &mut group, "redis", "1_chunk", &p);
        }
        None => eprintln!("redis-server is not installed: the Redis benchmarks are skipped"),
    }
    group.finish();
}

fn measure(
    rt: &tokio::runtime::Runtime,
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    store: &str,
    name: &str,
    p: &Page,
) {
    p.clock.set(p.sealed_at);
    assert_eq!(
        rt.block_on(get(&p.app, Some(&p.cookie))),
        (StatusCode::OK, false),
        "a fresh cookie is read, not re-sealed"
    );
    group.bench_function(format!("signed_in/{store}/{name}"), |b| {
        b.iter(|| rt.block_on(get(&p.app, Some(&p.cookie))));
    });
    p.clock.set(p.sealed_at + RESEAL_AFTER.as_secs());
    assert_eq!(
        rt.block_on(get(&p.app, Some(&p.cookie))),
        (StatusCode::OK, true),
        "a cookie whose expiry moved is re-sealed"
    );
    group.bench_function(format!("resealing/{store}/{name}"), |b| {
        b.iter(|| rt.block_on(get(&p.app, Some(&p.cookie))));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);

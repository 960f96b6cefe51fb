//! A refresh storm: 100 concurrent requests for one session whose token must be refreshed, against
//! the in-process local tenant (refresh-token rotation and reuse detection on). Reports the time of
//! a whole storm (criterion), and prints the grants the tenant issued per storm (must be 1) and the
//! p50/p99 latency of the individual requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::{AccessTokenOptions, Config, CookieJar, LoginOptions, SessionData, Tollgate};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};

const APP: &str = "http://127.0.0.1:3999";

async fn setup() -> (RunningTenant, Tollgate, SessionData) {
    let tenant = Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new("bench", "bench-secret")
                    .with_callback(format!("{APP}/auth/callback")),
            )
            .with_user(UserConfig::new("alice@example.com", "alice-password-1")),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let auth = Tollgate::new(
        Config::builder()
            .domain(tenant.issuer())
            .insecure_allow_http_loopback_issuer()
            .client_id("bench")
            .client_secret("bench-secret")
            .secret("bench-secret-bench-secret-bench-secret-01")
            .app_base_url(APP)
            .build()
            .unwrap(),
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = auth
        .start_login(&tollgate::RequestOrigin::default(), LoginOptions::new())
        .await
        .unwrap();
    let jar = CookieJar::parse(
        login
            .cookies
            .lines()
            .next()
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
    );
    let page = browser.get(login.url.as_str()).send().await.unwrap();
    let page = login
        .url
        .join(page.headers()["location"].to_str().unwrap())
        .unwrap();
    let state = page
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let back = browser
        .post(page.as_str())
        .form(&[
            ("state", state.as_str()),
            ("username", "alice@example.com"),
            ("password", "alice-password-1"),
        ])
        .send()
        .await
        .unwrap();
    let back = page
        .join(back.headers()["location"].to_str().unwrap())
        .unwrap();
    let outcome = auth
        .handle_callback(
            &tollgate::AuthRequest::new()
                .with_query(back.query().unwrap())
                .with_cookies(jar.clone()),
        )
        .await;
    let session = outcome.result.unwrap().session;
    (tenant, auth, session)
}

/// One storm: `n` concurrent forced refreshes of `session`. Returns the refreshed session and
/// each request's latency.
async fn storm(auth: &Tollgate, session: &SessionData, n: usize) -> (SessionData, Vec<Duration>) {
    let opts = Arc::new(AccessTokenOptions::new().force_refresh());
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (auth, session, opts) = (auth.clone(), session.clone(), opts.clone());
        handles.push(tokio::spawn(async move {
            let started = Instant::now();
            let out = auth
                .access_token(&session, &opts)
                .await
                .expect("every request gets a token");
            (started.elapsed(), out.session)
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    let mut next = None;
    for h in handles {
        let (d, s) = h.await.unwrap();
        latencies.push(d);
        next = next.or(s);
    }
    (next.expect("the refreshed session"), latencies)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tenant, auth, mut session) = rt.block_on(setup());

    // Figures for BENCHMARKS.md: grants per storm and per-request latency percentiles.
    let rounds = 20;
    let mut all = Vec::new();
    let before = tenant.events_of_type("sertft").len();
    for _ in 0..rounds {
        let (next, mut l) = rt.block_on(storm(&auth, &session, 100));
        session = next;
        all.append(&mut l);
        // Let the single-flight grace window of this refresh token pass unused: the next storm
        // presents the rotated token.
    }
    let grants = tenant.events_of_type("sertft").len() - before;
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "refresh storm: {rounds} storms x 100 concurrent requests -> {grants} refresh grants ({} per storm); \
         request latency p50 {:?}, p99 {:?}; reuse detections {}",
        grants as f64 / rounds as f64,
        pct(0.50),
        pct(0.99),
        tenant.events_of_type("ferrt").len()
    );

    c.bench_function("refresh_storm/100_concurrent", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let (next, _) = rt.block_on(storm(&auth, &session, 100));
                total += started.elapsed();
                session = next;
            }
            total
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);

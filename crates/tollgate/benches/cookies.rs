//! Cookie-header parsing against a hostile client: a `Cookie` header of 100 to 40,000 junk pairs
//! with the session cookie last. Parsing is linear up to `MAX_COOKIE_PAIRS` and flat after it
//! (the rest is never looked at). Figures go to BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tollgate::CookieJar;

/// `n` pairs of about 11 bytes (`c12345=xyz`), the last one the session cookie.
fn header(n: usize) -> String {
    let mut pairs: Vec<String> = (0..n.saturating_sub(1))
        .map(|i| format!("c{i}=xyz"))
        .collect();
    pairs.push("__session=sealed".into());
    pairs.join("; ")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cookies");
    for n in [100, 1_000, 10_000, 40_000] {
        let h = header(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("parse+read", n), &h, |b, h| {
            b.iter(|| {
                let jar = CookieJar::parse(black_box(h));
                black_box((
                    jar.get_chunked("__session").is_some(),
                    jar.names_with_prefix("__txn_").count(),
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

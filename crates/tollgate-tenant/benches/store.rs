//! The tenant's store under load (issue 16): the cost of one login journey's store work with N
//! journeys already held, and how much the store holds after 50,000 journeys once their time has
//! passed.
//!
//! `cargo bench -p tollgate-tenant --features bench --bench store`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use tollgate_tenant::bench_support::StoreHarness;

const HELD: [usize; 4] = [0, 1_000, 10_000, 50_000];

/// A store holding `n` journeys, spread over 1,000 users.
fn holding(n: usize) -> StoreHarness {
    let mut harness = StoreHarness::new();
    for _ in 0..n {
        harness.login_step();
    }
    harness
}

/// How many entries the store holds (printed with each `n`, to show that it stays near `n`).
fn held(harness: &StoreHarness) -> usize {
    harness.sizes().total()
}

/// Times `iters` journeys, then takes their sessions and families back (untimed), so that the
/// number held stays near `n`.
fn journeys(harness: &mut StoreHarness, iters: u64, old_walk: bool) -> Duration {
    let mut done = Vec::with_capacity(usize::try_from(iters).unwrap_or(0));
    let start = Instant::now();
    for _ in 0..iters {
        if old_walk {
            // The four purging calls of a journey each walked everything before the index.
            for _ in 0..4 {
                black_box(harness.walk_everything());
            }
        }
        done.push(black_box(harness.login_step()));
    }
    let elapsed = start.elapsed();
    for journey in done {
        harness.undo(journey);
    }
    elapsed
}

fn login_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("login_step_with_n_journeys_held");
    group.throughput(Throughput::Elements(1));
    for n in HELD {
        let mut harness = holding(n);
        let before = held(&harness);
        group.bench_with_input(BenchmarkId::new("indexed", n), &n, |b, _| {
            b.iter_custom(|iters| journeys(&mut harness, iters, false));
        });
        group.bench_with_input(BenchmarkId::new("full_walk_as_before", n), &n, |b, _| {
            b.iter_custom(|iters| journeys(&mut harness, iters, true));
        });
        println!(
            "n = {n}: entries held before {before}, after {}",
            held(&harness)
        );
    }
    group.finish();
}

/// Resident memory of this process, from `/proc/self/status` (Linux), in kB.
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Prints the store's entry counts (and the process's RSS) after 50,000 journeys, and again once
/// the clock has moved past every expiry.
fn memory_report() {
    let before = rss_kb();
    let mut harness = holding(50_000);
    let full = harness.sizes();
    let held = rss_kb();
    harness.advance(3600 + 61);
    harness.purge();
    let after_hour = harness.sizes();
    harness.advance(31 * 86_400);
    let gone = harness.purge();
    let after = harness.sizes();
    let idle = rss_kb();
    println!(
        "store after 50,000 journeys: {full:?} (total {})",
        full.total()
    );
    println!(
        "an hour later: {after_hour:?} (total {})",
        after_hour.total()
    );
    println!(
        "31 days later: {after:?} (total {}; the last purge forgot {gone})",
        after.total()
    );
    println!("process RSS kB: start {before:?}, holding {held:?}, after expiry {idle:?}");
}

criterion_group!(benches, login_step);

fn main() {
    memory_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

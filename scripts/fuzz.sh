#!/usr/bin/env bash
# Runs Tollgate's cargo-fuzz targets (fuzz/fuzz_targets/*) on the stable toolchain.
#
#   scripts/fuzz.sh smoke [SECONDS]      each target for SECONDS (default 15): the test script's check
#   scripts/fuzz.sh run TARGET [RUNS]    one target for RUNS executions (default 10,000,000)
#   scripts/fuzz.sh all [RUNS]           every target for RUNS executions, one after the other
#
# libFuzzer needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept
# them, as rustls and others do in CI. Each run starts from the committed seeds (fuzz/seeds/*, made
# by fuzz/make_seeds.py) plus whatever corpus earlier runs left in fuzz/corpus/. A crash stops the
# run with a non-zero status and leaves its input in fuzz/artifacts/TARGET/; replay it with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/<file>` from fuzz/.
# Final statistics (executions, speed, peak memory) are printed for each target and appended to
# fuzz/runs.log.
#
# Builds have debug assertions and overflow checks on, and no sanitizer by default: every crate of
# Tollgate forbids `unsafe`, so the findings are panics, overflows and the invariants each target
# asserts. FUZZ_SANITIZER=address adds AddressSanitizer (for the unsafe code in dependencies, such
# as SIMD base64) at about a third of the speed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-none}

if ! cargo fuzz --version >/dev/null 2>&1; then
    printf 'Installing cargo-fuzz (pinned, from crates.io)\n'
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

targets() {
    cargo fuzz list
}

# run TARGET LIBFUZZER_ARGS...
run() {
    local target=$1
    shift
    mkdir -p "corpus/$target"
    cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
    printf '\n==== fuzz %s %s ====\n' "$target" "$*"
    local log
    log=$(mktemp)
    # -a: debug assertions on, like the overflow checks the release profile keeps.
    if ! cargo fuzz run -a -s "$sanitizer" "$target" "corpus/$target" -- -print_final_stats=1 -max_len=8192 \
        -timeout=10 -rss_limit_mb=2048 "$@" 2>"$log"; then
        tail -n 60 "$log" >&2
        rm -f "$log"
        printf 'error: fuzz target %s failed; the input is in fuzz/artifacts/%s/\n' "$target" "$target" >&2
        return 1
    fi
    local stats
    stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | tr '\n' ' ')
    rm -f "$log"
    printf '%s %s %s\n' "$(date -u +%FT%TZ)" "$target" "$stats" | tee -a runs.log
}

mode=${1:-smoke}
case $mode in
smoke)
    seconds=${2:-15}
    cargo fuzz build -a -s "$sanitizer"
    for target in $(targets); do
        run "$target" -max_total_time="$seconds"
    done
    ;;
run)
    [[ $# -ge 2 ]] || { printf 'usage: %s run TARGET [RUNS]\n' "$0" >&2; exit 2; }
    run "$2" -runs="${3:-10000000}"
    ;;
all)
    cargo fuzz build -a -s "$sanitizer"
    for target in $(targets); do
        run "$target" -runs="${2:-10000000}"
    done
    ;;
*)
    printf 'usage: %s smoke [SECONDS] | run TARGET [RUNS] | all [RUNS]\n' "$0" >&2
    exit 2
    ;;
esac

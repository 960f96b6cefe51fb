#!/usr/bin/env bash
# Installs what Tollgate's tests need on a Debian machine, then runs the checks CI runs:
#
#   cargo fetch --locked                                    (every crate of Cargo.lock, all platforms)
#   cargo fmt --all --check
#   cargo clippy --workspace --all-targets --all-features -- -D warnings
#   cargo deny check                                        (advisories, licences, bans, sources)
#   scripts/fuzz.sh smoke                                   (each fuzz target for 10 s)
#   cargo test --workspace --all-features --no-fail-fast   (unit, integration and doc tests)
#
# --no-fail-fast runs every test binary even after a failure, so the log has the `test result:`
# line of each (CI reads them); the exit status is still non-zero.
#
# What it installs, each only when missing (installing needs root, or sudo):
#   chromium, chromium-driver   headless browser tests (crates/tollgate-demo/tests/it/browser.rs)
#   redis-server, procps        Redis store tests (procps provides `kill`)
#   nodejs, npm                 live interop with @auth0/nextjs-auth0 and oidc-provider (Node.js 20 or newer)
#   gcc, libc6-dev              the linker rustc uses, on machines without one
# and the pinned npm packages of each interop/* folder (`npm ci`, when its lock file changed).
# Safe to run again: nothing installed is installed twice and `apt-get update` runs at most once.
#
# TOLLGATE_SKIP_BROWSER=1 / TOLLGATE_SKIP_NODE=1 skip the browser / Node.js tests (they say so)
# and what only they need; TOLLGATE_SKIP_FUZZ=1 skips the fuzz smoke run.
# cargo-deny and cargo-fuzz are installed from crates.io (pinned) when missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() {
    printf '\n==== %s ====\n' "$*"
}

fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

skipping() {
    [[ ${!1:-} == 1 ]]
}

# Steps that failed without stopping the run (reported, and the exit status, at the end).
failed_steps=()

# ---------------------------------------------------------------------------------------------
section "System packages"

wanted=(redis-server)
if skipping TOLLGATE_SKIP_BROWSER; then
    printf 'TOLLGATE_SKIP_BROWSER=1: not installing chromium\n'
else
    wanted+=(chromium chromium-driver)
fi
# `kill` pauses and resumes redis-server in the store tests.
if ! [[ -x /bin/kill || -x /usr/bin/kill ]]; then
    wanted+=(procps)
fi
# rustc links through the system C compiler.
if ! command -v cc >/dev/null 2>&1; then
    wanted+=(gcc libc6-dev)
fi
# Node.js may come from elsewhere (e.g. NodeSource, whose nodejs includes npm): check commands.
if ! skipping TOLLGATE_SKIP_NODE; then
    command -v node >/dev/null 2>&1 || wanted+=(nodejs)
    command -v npm >/dev/null 2>&1 || wanted+=(npm)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    printf 'Not a Debian system: make sure these are installed: %s\n' "${wanted[*]}"
else
    missing=()
    for package in "${wanted[@]}"; do
        if ! installed "$package"; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        printf 'Already installed: %s\n' "${wanted[*]}"
    else
        if [[ $(id -u) -eq 0 ]]; then
            as_root=()
        elif command -v sudo >/dev/null 2>&1; then
            as_root=(sudo)
        else
            fail "installing ${missing[*]} needs root: run this script as root"
        fi
        printf 'Installing: %s\n' "${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        "${as_root[@]}" apt-get update
        "${as_root[@]}" apt-get install -y "${missing[@]}"
    fi
fi

# ---------------------------------------------------------------------------------------------
section "npm packages for the interop suites (interop/*)"

if skipping TOLLGATE_SKIP_NODE; then
    printf 'TOLLGATE_SKIP_NODE=1: not installing them\n'
else
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    if ((node_major < 20)); then
        printf 'warning: Node.js %s is older than 20, which the interop packages need; the interop tests may fail\n' \
            "$(node --version)" >&2
    fi
    # Every folder under interop/ with a lock file is one pinned npm project.
    for lock in interop/*/package-lock.json; do
        interop=$(dirname "$lock")
        # `npm ci` leaves node_modules/.package-lock.json behind: reinstall only when the lock changed.
        if [[ $interop/node_modules/.package-lock.json -nt $lock ]]; then
            printf 'Up to date: %s/node_modules\n' "$interop"
        elif ! (cd "$interop" && npm ci --no-audit --no-fund); then
            # Keep going so the Rust checks still report, but fail at the end.
            failed_steps+=("npm ci in $interop (if the lock file is out of sync with package.json, regenerate it with \`npm install --package-lock-only\` there and commit it)")
            printf 'error: npm ci failed in %s; the interop tests will fail\n' "$interop" >&2
        fi
    done
fi

# ---------------------------------------------------------------------------------------------
section "Toolchain"

command -v cargo >/dev/null 2>&1 || fail "cargo is not installed: install Rust from https://rustup.rs"
for component in rustfmt clippy; do
    subcommand=${component/rustfmt/fmt}
    if ! cargo "$subcommand" --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || fail "cargo $subcommand is missing and rustup is not available to add $component"
        rustup component add "$component"
    fi
done
cargo --version
rustc --version
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    /usr/bin/chromedriver --version
fi

# ---------------------------------------------------------------------------------------------
section "cargo fetch --locked: every crate in Cargo.lock, for every platform"
# cargo deny (below) reads the metadata of every package in the lock file, including those only
# other platforms build (wasm-bindgen's bumpalo, tracing's valuable, ...), and runs --offline.
# Builds download only what this platform compiles, so on a machine with an empty ~/.cargo those
# would be missing: fetch them all first.
cargo fetch --locked

# ---------------------------------------------------------------------------------------------
section "cargo fmt --all --check"
cargo fmt --all --check

section "cargo clippy --workspace --all-targets --all-features -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

section "cargo deny: advisories, licences, duplicate versions, sources (deny.toml)"

if ! cargo deny --version >/dev/null 2>&1; then
    cargo install cargo-deny --version 0.20.2 --locked
fi
# The RustSec advisory database is a git repository outside the package registries. Use a fresh
# copy when it can be fetched, else the last one fetched on this machine; with neither, check the
# rest and say loudly that advisories were not checked.
if cargo deny fetch db >/dev/null 2>&1; then
    deny_checks=(all)
elif compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/*/crates" >/dev/null; then
    printf 'note: the advisory database could not be fetched; using the copy on this machine\n'
    deny_checks=(all)
else
    printf 'warning: no RustSec advisory database is reachable from here: advisories NOT checked\n' >&2
    deny_checks=(bans licenses sources)
fi
if ! cargo deny --offline --all-features check --hide-inclusion-graph "${deny_checks[@]}"; then
    failed_steps+=("cargo deny (see deny.toml)")
fi

section "Fuzz smoke run: every cargo-fuzz target for a few seconds (scripts/fuzz.sh)"
if skipping TOLLGATE_SKIP_FUZZ; then
    printf 'TOLLGATE_SKIP_FUZZ=1: not fuzzing\n'
elif ! scripts/fuzz.sh smoke "${TOLLGATE_FUZZ_SECONDS:-10}"; then
    failed_steps+=("fuzz smoke run (inputs that failed are in fuzz/artifacts/)")
fi

section "cargo test --workspace --all-features --no-fail-fast"
cargo test --workspace --all-features --no-fail-fast

if ((${#failed_steps[@]})); then
    section "Failed"
    printf 'error: %s\n' "${failed_steps[@]}" >&2
    exit 1
fi
section "All checks passed"

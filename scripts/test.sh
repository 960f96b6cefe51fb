#!/usr/bin/env bash
# Installs what Tollgate's tests need on a Debian machine, then runs the checks CI runs:
#
#   cargo fetch --locked                                    (every crate of Cargo.lock, all platforms)
#   cargo fmt --all --check
#   cargo clippy --workspace --all-targets --all-features -- -D warnings -D clippy::incompatible_msrv
#   MSRV: no crate in the resolved graph declares a rust-version above the workspace's (1.88)
#   cargo doc --workspace --no-deps --all-features          (RUSTDOCFLAGS=-D warnings)
#   cargo check -p <crate> [--no-default-features --features <f>]   (default features, each alone)
#   cargo package -p tollgate -p tollgate-axum -p tollgate-tenant   (the crates meant for crates.io)
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

# Each section's heading, and the time the one before it took (so a slow step shows in CI logs).
section_name=
section_start=$SECONDS
section() {
    if [[ -n $section_name ]]; then
        printf -- '---- %s: %d s\n' "$section_name" $((SECONDS - section_start))
    fi
    section_name=$*
    section_start=$SECONDS
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

# A step's output is also kept in a file, so that a failure can be shown again at the very end:
# CI shows only the last part of a long log, and the cause of a failed step would otherwise sit
# far above the test runner's output.
step_logs=$(mktemp -d -t tollgate-steps.XXXXXX)
failed_logs=()
logged() {
    local log="$step_logs/$1.log"
    shift
    "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    if ((status != 0)); then
        failed_logs+=("$log")
    fi
    return "$status"
}

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

section "cargo clippy --workspace --all-targets --all-features -- -D warnings -D clippy::incompatible_msrv"
# incompatible_msrv is warn-by-default (so -D warnings already denies it); naming it says that the
# MSRV check below relies on it. It reads each crate's `rust-version` and flags uses of std items
# stabilised after it (tried: File::lock_shared, 1.89, fails the run). It skips #[test] functions
# and #[cfg(test)] modules unless clippy.toml sets check-incompatible-msrv-in-tests; helpers in
# tests/ outside a #[test] function are checked.
cargo clippy --workspace --all-targets --all-features -- -D warnings -D clippy::incompatible_msrv

# ---------------------------------------------------------------------------------------------
section "MSRV: the dependency graph against the workspace's rust-version"
# Only one toolchain is installed here and in CI (no rustup downloads), so there is no
# `cargo +1.88 check`. What the MSRV checks do prove, with one toolchain:
#   - clippy's incompatible_msrv (above): our code, outside #[test] functions, calls no std API
#     stabilised after rust-version;
#   - this step: every crate in the resolved graph (Cargo.lock, all features, every platform, dev-
#     dependencies too) that declares a `rust-version` declares one no higher than ours, so cargo
#     on 1.88 would not refuse to build any of them.
# What they do not prove: that the code compiles on 1.88. Language features (syntax, trait-solver
# and borrow-checker changes, lints that became errors) are not checked, nor are crates that
# declare no rust-version, nor what Cargo.lock does not pin (a downstream user resolves their own
# versions). The floor is 1.88 because the code uses let-chains (`if let .. && let ..`), stable in
# 1.88 with edition 2024; that is a language feature, so only a 1.88 toolchain would catch a newer one.
if ! cargo metadata --format-version 1 --all-features --locked | python3 -c '
import json, sys

def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

metadata = json.load(sys.stdin)
packages = {package["id"]: package for package in metadata["packages"]}
members = [packages[id] for id in metadata["workspace_members"]]
floors = [member["rust_version"] for member in members if member.get("rust_version")]
if not floors:
    sys.exit("no workspace member declares rust-version")
floor = min(floors, key=version)
graph = [packages[node["id"]] for node in metadata["resolve"]["nodes"]]
declared = [package for package in graph if package.get("rust_version")]
above = sorted(
    (package for package in declared if version(package["rust_version"]) > version(floor)),
    key=lambda package: (package["name"], package["version"]),
)
print(f"rust-version {floor}: {len(graph)} crates in the resolved graph, {len(declared)} declare a rust-version")
for package in above:
    name, needs = package["name"] + " " + package["version"], package["rust_version"]
    print(f"error: {name} needs Rust {needs}", file=sys.stderr)
if above:
    sys.exit(f"{len(above)} crate(s) need a newer Rust than {floor}: pin an older version (cargo update -p NAME --precise VERSION) or raise rust-version")
print("ok: none declares a higher one")
'; then
    failed_steps+=("MSRV: a dependency needs a newer Rust than the workspace's rust-version")
fi

# ---------------------------------------------------------------------------------------------
section "cargo doc --workspace --no-deps --all-features, RUSTDOCFLAGS=-D warnings"
# Broken intra-doc links, unclosed HTML tags, invalid code-block attributes, ...
if ! RUSTDOCFLAGS="-D warnings" logged doc cargo doc --workspace --no-deps --all-features --locked; then
    failed_steps+=("cargo doc (rustdoc warnings are errors)")
fi

# ---------------------------------------------------------------------------------------------
section "cargo check: each crate with its default features, and with each feature alone"
# Everything else builds with --all-features, which would hide a default build of tollgate that
# only compiles because `redis` is on (review §5). `-p` resolves features for that crate alone,
# so the other members' features do not leak in. The list comes from each member's [features].
mapfile -t feature_checks < <(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    name, features = package["name"], package["features"]
    print(f"-p {name}")
    if features.get("default"):
        print(f"-p {name} --no-default-features")
    for feature in sorted(features):
        if feature != "default":
            print(f"-p {name} --no-default-features --features {feature}")
')
for check in "${feature_checks[@]}"; do
    read -ra check_args <<<"$check"
    printf -- '-- cargo check %s\n' "$check"
    if ! logged "check ${check//[^a-z0-9-]/_}" cargo check --locked "${check_args[@]}"; then
        failed_steps+=("cargo check $check")
    fi
done

# ---------------------------------------------------------------------------------------------
section "cargo package: the crates meant for crates.io"
# Every member without `publish = false`, packaged together: cargo (1.90 or newer) resolves their
# dependencies on each other through a local registry overlay, so tollgate-axum packages before
# tollgate is on crates.io. Each .crate is then unpacked and built (verification), which catches
# files missing from the package and path dependencies without a version. --allow-dirty lets
# developers run this with uncommitted work; CI checks out a clean tree.
mapfile -t publishable < <(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    if package["publish"] != []:
        print(package["name"])
')
package_args=()
for crate in "${publishable[@]}"; do
    package_args+=(-p "$crate")
done
package() {
    logged "$1" cargo package --locked --allow-dirty "${package_args[@]}"
}
# Verification downloads from crates.io again (through cargo's overlay registry): a download that
# fails once is tried once more; a failure that repeats is reported with both outputs.
if ((${#package_args[@]})) && ! package package; then
    printf 'cargo package failed; once more, in case a download failed\n'
    if package package-again; then
        unset 'failed_logs[-1]'
    else
        failed_steps+=("cargo package ${publishable[*]}")
    fi
fi

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
if ! logged deny cargo deny --offline --all-features check --hide-inclusion-graph "${deny_checks[@]}"; then
    failed_steps+=("cargo deny (see deny.toml)")
fi

section "Fuzz smoke run: every cargo-fuzz target for a few seconds (scripts/fuzz.sh)"
if skipping TOLLGATE_SKIP_FUZZ; then
    printf 'TOLLGATE_SKIP_FUZZ=1: not fuzzing\n'
elif ! logged fuzz scripts/fuzz.sh smoke "${TOLLGATE_FUZZ_SECONDS:-10}"; then
    failed_steps+=("fuzz smoke run (inputs that failed are in fuzz/artifacts/)")
fi

section "cargo test --workspace --all-features --no-fail-fast"
cargo test --workspace --all-features --no-fail-fast

if ((${#failed_steps[@]})); then
    section "Failed"
    for log in "${failed_logs[@]}"; do
        printf -- '---- the last lines of %s:\n' "$(basename "$log" .log)" >&2
        grep -v -E '^ *(Compiling|Checking|Downloaded|Downloading|Fresh) ' "$log" | tail -n 25 >&2
    done
    printf 'error: %s\n' "${failed_steps[@]}" >&2
    exit 1
fi
section "All checks passed"

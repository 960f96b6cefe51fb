#!/usr/bin/env bash
# Installs what Tollgate's tests need on a Debian machine, then runs the checks CI runs:
#
#   cargo fmt --all --check
#   cargo clippy --workspace --all-targets --all-features -- -D warnings
#   cargo test --workspace --all-features          (unit, integration and doc tests)
#
# System packages: chromium + chromium-driver (headless browser tests), redis-server (Redis
# store tests), procps (`kill`, used by those tests) and a C toolchain for linking, each only
# when missing. Installing needs root (or sudo). Safe to run again: installed packages are
# skipped and `apt-get update` runs at most once.
#
# Environment: TOLLGATE_SKIP_BROWSER=1 skips the headless Chromium tests (they say so).
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

# ---------------------------------------------------------------------------------------------
section "System packages"

wanted=(chromium chromium-driver redis-server)
# `kill` (procps) pauses and resumes redis-server in the store tests.
if ! [[ -x /bin/kill || -x /usr/bin/kill ]]; then
    wanted+=(procps)
fi
# rustc links through the system C compiler.
if ! command -v cc >/dev/null 2>&1; then
    wanted+=(gcc libc6-dev)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    printf 'Not a Debian system: install %s yourself.\n' "${wanted[*]}"
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
section "cargo fmt --all --check"
cargo fmt --all --check

section "cargo clippy --workspace --all-targets --all-features -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

section "cargo test --workspace --all-features"
cargo test --workspace --all-features

section "All checks passed"

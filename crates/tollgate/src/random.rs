//! Randomness from the operating system.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

/// Fills `buf` with random bytes from the OS.
pub(crate) fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("invariant: the operating system random source is available");
}

/// `n` random bytes, base64url-encoded without padding.
pub(crate) fn token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    B64.encode(buf)
}

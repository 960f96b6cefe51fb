//! Random identifiers for codes, tokens, sessions and transactions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` random bytes from the OS, base64url-encoded without padding.
///
/// # Panics
/// Panics if the operating system has no random source, which the tenant cannot work without.
pub(crate) fn token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A 256-bit secret: authorization codes, refresh tokens, opaque access tokens, cookies.
pub(crate) fn secret() -> String {
    token(32)
}

/// A 32-character id: session ids (`sid`) and login transaction ids.
pub(crate) fn id() -> String {
    token(24)
}

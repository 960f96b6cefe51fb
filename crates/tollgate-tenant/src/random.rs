//! Random identifiers for codes, tokens, sessions and transactions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Fills `buf` with random bytes from the OS.
///
/// # Panics
/// Panics if the operating system has no random source, which the tenant cannot work without.
pub(crate) fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source is available");
}

/// `bytes` random bytes from the OS, base64url-encoded without padding.
pub(crate) fn token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf);
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

/// `bytes` random bytes as lower-case hex (`2 * bytes` characters): `trace_id`s.
pub(crate) fn hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random (version 4) UUID in its usual form, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`: `jti`s.
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 characters long).
pub(crate) fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Rejection sampling: only bytes below the largest multiple of the alphabet size are used,
    // so every character is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        fill(&mut buf);
        for &byte in &buf {
            if usize::from(byte) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    out
}

/// `len` random decimal digits: one-time codes sent by SMS, voice or email.
pub(crate) fn digits(len: usize) -> String {
    from_alphabet(b"0123456789", len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabets_are_respected() {
        let code = digits(6);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let word = from_alphabet(b"AB", 40);
        assert!(word.bytes().all(|b| b == b'A' || b == b'B'));
        let trace = hex(8);
        assert_eq!(trace.len(), 16);
        assert!(
            trace
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let uuid = uuid_v4();
        let parts: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid, uuid_v4());
    }
}

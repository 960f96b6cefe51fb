//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 6 digits, 30-second steps) and the
//! RFC 4648 Base32 encoding their secrets are written in.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The length of a step, in seconds.
pub(crate) const STEP_SECONDS: u64 = 30;
/// How many steps before and after the current one are accepted (clock drift).
const DRIFT_STEPS: u64 = 1;
/// The RFC 4648 Base32 alphabet.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The step that contains `unix_seconds`.
pub(crate) fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The 6-digit code of `key` for `step` (RFC 4226 dynamic truncation of HMAC-SHA1).
pub(crate) fn code_for_step(key: &[u8], step: u64) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// The code of a Base32 `secret` at `unix_seconds`, or `None` if the secret is not Base32.
pub(crate) fn code_at(secret: &str, unix_seconds: u64) -> Option<String> {
    let key = base32_decode(secret)?;
    Some(code_for_step(&key, step_at(unix_seconds)))
}

/// The step whose code `code` is, among the current step and its neighbours, if any.
///
/// `code` must be exactly six ASCII digits; codes are compared in constant time.
pub(crate) fn matching_step(secret: &str, code: &str, unix_seconds: u64) -> Option<u64> {
    use subtle::ConstantTimeEq;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = base32_decode(secret)?;
    let now = step_at(unix_seconds);
    (now.saturating_sub(DRIFT_STEPS)..=now + DRIFT_STEPS)
        .find(|step| bool::from(code_for_step(&key, *step).as_bytes().ct_eq(code.as_bytes())))
}

/// A new random 160-bit secret, Base32 without padding (32 characters).
pub(crate) fn generate_secret() -> String {
    let mut key = [0u8; 20];
    crate::random::fill(&mut key);
    base32_encode(&key)
}

/// The `otpauth://totp/<tenant>:<account>?secret=…&issuer=<tenant>&algorithm=SHA1&digits=6&period=30`
/// URI that authenticator apps read from the QR code.
pub(crate) fn otpauth_uri(tenant: &str, account: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        percent_encode(tenant),
        percent_encode(account),
        percent_encode(tenant)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `@`.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Base32 (RFC 4648) without padding.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 0x1f) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[((buffer << (5 - bits)) & 0x1f) as usize],
        ));
    }
    out
}

/// Decodes Base32, ignoring case, spaces, hyphens and `=` padding. `None` for any other
/// character or an empty result.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars() {
        if matches!(c, ' ' | '-' | '=') {
            continue;
        }
        let upper = c.to_ascii_uppercase();
        let value = ALPHABET.iter().position(|&a| char::from(a) == upper)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 Appendix B, SHA-1 column (8 digits there; the last 6 digits here).
        let key = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_for_step(key, step_at(time)), expected[2..], "t={time}");
        }
    }

    #[test]
    fn otpauth_uris_are_encoded() {
        assert_eq!(
            otpauth_uri("tollgate", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/tollgate:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=tollgate&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent_encode("a b:c/d"), "a%20b%3Ac%2Fd");
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb-oi").unwrap(), b"foobar");
        assert_eq!(
            base32_decode("JBSWY3DPEHPK3PXP").unwrap(),
            b"Hello!\xde\xad\xbe\xef"
        );
        assert!(base32_decode("not base32!").is_none());
        assert!(base32_decode("").is_none());
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).unwrap().len(), 20);
    }

    #[test]
    fn accepts_one_step_of_drift_only() {
        let secret = "JBSWY3DPEHPK3PXP";
        let now = 1_700_000_000;
        let current = step_at(now);
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let code = code_at(secret, now.saturating_add_signed(offset)).unwrap();
            let found = matching_step(secret, &code, now);
            assert_eq!(found.is_some(), accepted, "offset {offset}");
            if let Some(step) = found {
                assert_eq!(step as i64 - current as i64, offset / 30);
            }
        }
        assert!(matching_step(secret, "12345", now).is_none());
        assert!(matching_step(secret, "12345a", now).is_none());
        assert!(matching_step(secret, "１２３４５６", now).is_none());
    }
}

//! RFC 6238 one-time codes for the tests (HMAC-SHA1, 6 digits, 30-second steps), written apart
//! from the tenant's implementation so that a secret shown on a page is checked end to end.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The length of a TOTP step, in seconds.
pub(crate) const STEP: u64 = 30;

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// RFC 4648 Base32 (upper or lower case, padding and spaces ignored), or `None`.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0u32;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b' ')) {
        let value = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())?;
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// The 6-digit code of the Base32 `secret` at `unix_seconds`.
///
/// # Panics
/// When `secret` is not Base32.
pub(crate) fn code_at(secret: &str, unix_seconds: u64) -> String {
    let key = base32_decode(secret).unwrap_or_else(|| panic!("{secret:?} is not Base32"));
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(&(unix_seconds / STEP).to_be_bytes());
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

/// A 6-digit code that is none of the codes `code_at` gives for the previous, current and next
/// step (the ones the tenant accepts), so it is refused for sure.
pub(crate) fn wrong_code(code_at: impl Fn(u64) -> String) -> String {
    let t = now();
    let valid: Vec<String> = [t.saturating_sub(STEP), t, t + STEP]
        .into_iter()
        .map(code_at)
        .collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .expect("three valid codes cannot cover four candidates")
        .to_owned()
}

/// Hands out accepted codes without reusing a step: the tenant takes each step's code once per
/// user, and accepts one step of drift, so the second code within a step is the next step's.
#[derive(Debug, Default)]
pub(crate) struct FreshCodes {
    used: HashSet<u64>,
}

impl FreshCodes {
    /// A code from `code_at` for the current step, or for the next one if the current step's
    /// code was handed out already.
    ///
    /// # Panics
    /// When both were handed out (more than two codes in one 30-second step).
    pub(crate) fn next(&mut self, code_at: impl Fn(u64) -> String) -> String {
        let current = now() / STEP;
        let step = (current..=current + 1)
            .find(|s| !self.used.contains(s))
            .expect("at most two codes per 30-second step: the tenant accepts one step of drift");
        self.used.insert(step);
        code_at(step * STEP)
    }
}

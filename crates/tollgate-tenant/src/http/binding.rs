//! Binding a login transaction (or a consent ticket) to the browser that started it, against
//! login CSRF: the step that creates the transaction sets a cookie whose name and value derive
//! from the transaction id, and every form post of the transaction must carry it.
//!
//! The value is an HMAC of the id under a key that never leaves the process, so it cannot be
//! computed from the id, and the name differs per transaction, so a browser can run several
//! logins at once (tabs). An attacker who starts a transaction in their own browser gets its
//! cookie there, not in the victim's: a form post from the victim's browser with the attacker's
//! `state` arrives without the cookie and is refused before anything is checked or consumed.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::pages;
use crate::random;

/// What a binding protects; part of the cookie name and of the HMAC input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    /// A login transaction (`/u/login`, `/u/mfa*`), set by `/authorize`.
    Login,
    /// A Connected Accounts consent ticket, set by the consent page.
    Consent,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::Login => "txn",
            Self::Consent => "consent",
        }
    }
}

/// The process's binding key, made on first use.
fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        random::fill(&mut key);
        key
    })
}

/// The cookie's name for `id`: `tollgate_txn_…` or `tollgate_consent_…` and 16 characters of
/// the id's hash (so any id makes a valid cookie name).
pub(crate) fn cookie_name(purpose: Purpose, id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let short = URL_SAFE_NO_PAD.encode(&digest[..12]);
    format!("tollgate_{}_{short}", purpose.label())
}

fn value(purpose: Purpose, id: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key()) else {
        // A 32-byte key always fits HMAC; an impossible failure binds to nothing that matches.
        return random::secret();
    };
    mac.update(purpose.label().as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The `Set-Cookie` that binds `id` to the browser: HttpOnly, `SameSite=Lax`, `Path=/`, for
/// `max_age_secs`, and `Secure` when the issuer is `https`.
pub(crate) fn set_cookie(
    purpose: Purpose,
    id: &str,
    max_age_secs: u64,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(purpose, id),
        value(purpose, id)
    );
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("tollgate_txn=; Max-Age=0"))
}

/// Whether the request carries the binding cookie of `id`.
pub(crate) fn is_bound(headers: &HeaderMap, purpose: Purpose, id: &str) -> bool {
    let name = cookie_name(purpose, id);
    let expected = value(purpose, id);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .any(|(_, v)| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                v.as_bytes(),
                expected.as_bytes(),
            ))
        })
}

/// Refuses a post for `id` without its binding cookie.
#[expect(
    clippy::result_large_err,
    reason = "the error is the early-return response, built at most once per request"
)]
pub(crate) fn require(headers: &HeaderMap, purpose: Purpose, id: &str) -> Result<(), Response> {
    if is_bound(headers, purpose, id) {
        return Ok(());
    }
    tracing::info!(
        ?purpose,
        "refused a post without the browser's binding cookie"
    );
    Err(pages::error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This sign-in step was not started in this browser (its cookie is missing or does not match), \
         so it was not continued. Go back to the application and sign in again.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_binds_one_id_only() {
        let set = set_cookie(Purpose::Login, "abc", 900, false);
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert!(is_bound(&headers, Purpose::Login, "abc"));
        assert!(!is_bound(&headers, Purpose::Login, "abd"));
        assert!(!is_bound(&headers, Purpose::Consent, "abc"));
        assert!(set.to_str().unwrap().ends_with("HttpOnly; SameSite=Lax"));
        assert!(
            set_cookie(Purpose::Login, "abc", 900, true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }
}

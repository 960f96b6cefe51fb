//! The login transaction: state, nonce, PKCE verifier and where to return, sealed in a short-lived,
//! single-use cookie `__txn_{state}` with its own key. Several logins may be in flight at once.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::session::cookies::CookieJar;
use crate::session::jwe;
use crate::session::secret::Keyring;

/// What the callback needs to finish a login.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Transaction {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) code_verifier: String,
    pub(crate) return_to: String,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acr_values: Option<String>,
    /// Finish in a popup window (answer with `postMessage`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) popup: bool,
    /// A silent login (`prompt=none`): when the provider needs the user, return without a session
    /// instead of showing an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) silent: bool,
    /// A Connected Accounts flow (the callback carries `connect_code`, not `code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) connect: Option<crate::my_account::ConnectTransaction>,
    /// Expiry, seconds since the epoch.
    pub(crate) exp: u64,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("return_to", &self.return_to)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("max_age", &self.max_age)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// The cookie name of the transaction for `state`.
pub(crate) fn cookie_name(config: &Config, state: &str) -> String {
    format!("{}{}", config.transaction.prefix, state)
}

/// Whether `state` is safe to use in a cookie name (it is ours: base64url).
fn state_is_cookie_safe(state: &str) -> bool {
    !state.is_empty()
        && state.len() <= 128
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Set-Cookie` that stores `txn`.
pub(crate) fn store(config: &Config, keys: &Keyring, txn: &Transaction) -> String {
    let json = serde_json::to_vec(txn).expect("invariant: a transaction always serialises");
    config.session.cookie.set(
        &cookie_name(config, &txn.state),
        &jwe::seal(keys, &json),
        Some(config.transaction.max_age.as_secs()),
    )
}

/// Finds and opens the transaction of `state`. `None` when it is missing, unreadable, expired or
/// for another state.
pub(crate) fn load(
    config: &Config,
    keys: &Keyring,
    jar: &CookieJar,
    state: &str,
    now: u64,
) -> Option<Transaction> {
    if !state_is_cookie_safe(state) {
        return None;
    }
    let sealed = jar.get(&cookie_name(config, state))?;
    let plain = jwe::open(keys, sealed).ok()?;
    let txn: Transaction = serde_json::from_slice(&plain).ok()?;
    let same_state: bool = txn.state.as_bytes().ct_eq(state.as_bytes()).into();
    (same_state && txn.exp > now).then_some(txn)
}

/// `Set-Cookie` that deletes the transaction of `state` (if the name is one we could have set).
pub(crate) fn clear(config: &Config, state: &str) -> Option<String> {
    state_is_cookie_safe(state).then(|| config.session.cookie.delete(&cookie_name(config, state)))
}

/// `Set-Cookie` lines that delete every transaction cookie the request carries.
pub(crate) fn clear_all(config: &Config, jar: &CookieJar) -> Vec<String> {
    jar.names_with_prefix(&config.transaction.prefix)
        .map(|n| config.session.cookie.delete(n))
        .collect()
}

//! Server-provided DPoP nonces, remembered per origin (RFC 9449 §8, §9).

use std::collections::VecDeque;
use std::sync::Mutex;

/// How many origins' nonces are kept; the least recently stored is forgotten first.
pub(crate) const MAX_ORIGINS: usize = 64;

/// Longest nonce kept, in bytes: a server that sends more is ignored rather than stored.
const MAX_NONCE_LEN: usize = 1024;

/// The latest `DPoP-Nonce` of each origin (`scheme://host:port`), bounded in size.
#[derive(Debug, Default)]
pub(crate) struct NonceCache {
    entries: Mutex<VecDeque<(String, String)>>,
}

impl NonceCache {
    /// The nonce last received from `origin`.
    pub(crate) fn get(&self, origin: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, n)| n.clone())
    }

    /// Remembers `nonce` for `origin`, replacing an older one. Values that cannot be a nonce
    /// (empty, too long, not visible ASCII as RFC 9449 §8.1 requires) are ignored.
    pub(crate) fn put(&self, origin: &str, nonce: &str) {
        let usable = !nonce.is_empty()
            && nonce.len() <= MAX_NONCE_LEN
            && nonce.bytes().all(|b| b.is_ascii_graphic());
        if !usable {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(o, _)| o != origin);
        if entries.len() >= MAX_ORIGINS {
            entries.pop_front();
        }
        entries.push_back((origin.to_owned(), nonce.to_owned()));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The origin of a URL, as the nonce cache keys it; `None` for a URL without a host.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.host_str()?;
    Some(url.origin().ascii_serialization())
}

//! What the login pages remember about browsers: the device cookie (`tollgate_did`) and client
//! addresses each user logged in from, and browsers remembered after MFA
//! (`tollgate_mfa_remember`), for [`MfaPolicy::remember_browser_days`] and
//! [`MfaPolicy::new_devices_only`].
//!
//! [`MfaPolicy::remember_browser_days`]: crate::MfaPolicy::remember_browser_days
//! [`MfaPolicy::new_devices_only`]: crate::MfaPolicy::new_devices_only

use std::collections::{HashMap, VecDeque};

use axum::http::{HeaderMap, HeaderValue, header};

use crate::random;

/// The device cookie: a random id per browser.
pub(crate) const DEVICE_COOKIE: &str = "tollgate_did";
/// The remember-this-browser cookie.
pub(crate) const REMEMBER_COOKIE: &str = "tollgate_mfa_remember";
/// How long the device cookie lives: a year.
const DEVICE_COOKIE_AGE: u64 = 365 * 86_400;
/// How many device ids, and how many addresses, are remembered per user; beyond, the one seen
/// least recently is forgotten (a login from it then counts as a new device).
pub(crate) const DEVICES_PER_USER: usize = 50;
/// How many remembered browsers one user may have; remembering one more forgets the oldest
/// (which is then asked for MFA again).
pub(crate) const REMEMBERED_PER_USER: usize = 50;

/// Per user: the devices and addresses of earlier logins; remembered browsers.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct DeviceStore {
    /// Per user: device ids and addresses, least recently seen first.
    seen: HashMap<String, (VecDeque<String>, VecDeque<String>)>,
    /// Remember token → (email, expiry in Unix seconds).
    remembered: HashMap<String, (String, u64)>,
    /// Per user: remember tokens, oldest first.
    remembered_by_user: HashMap<String, VecDeque<String>>,
}

/// Records `item` as the most recently seen of `items`, forgetting the least recently seen
/// beyond [`DEVICES_PER_USER`].
fn saw(items: &mut VecDeque<String>, item: &str) {
    if let Some(at) = items.iter().position(|i| i == item) {
        items.remove(at);
    }
    items.push_back(item.to_owned());
    while items.len() > DEVICES_PER_USER {
        items.pop_front();
    }
}

/// The browser a login request comes from.
#[derive(Debug, Clone)]
pub(crate) struct Browser {
    /// Its device cookie, if it has one.
    pub(crate) device: Option<String>,
    /// The client address (`X-Forwarded-For`'s first entry), if the request says.
    pub(crate) ip: Option<String>,
    /// Its remember-this-browser token, if any.
    pub(crate) remember: Option<String>,
}

impl Browser {
    /// Reads the cookies and address of a request.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let ip = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Self {
            device: cookie(headers, DEVICE_COOKIE),
            ip,
            remember: cookie(headers, REMEMBER_COOKIE),
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

impl DeviceStore {
    /// Whether `email` logged in from this browser's device and address before (an unknown
    /// address counts as new only when the request names one).
    pub(crate) fn is_known(&self, email: &str, browser: &Browser) -> bool {
        let Some((devices, ips)) = self.seen.get(email) else {
            return false;
        };
        let device_known = browser.device.as_ref().is_some_and(|d| devices.contains(d));
        let ip_known = browser.ip.as_ref().is_none_or(|ip| ips.contains(ip));
        device_known && ip_known
    }

    /// Whether this browser was remembered for `email` after MFA and still is at `now` (Unix
    /// seconds).
    pub(crate) fn is_remembered(&self, email: &str, browser: &Browser, now: u64) -> bool {
        browser.remember.as_ref().is_some_and(|token| {
            self.remembered
                .get(token)
                .is_some_and(|(owner, until)| owner == email && *until > now)
        })
    }

    /// Records a login of `email` from `browser`; returns the device id to keep in its cookie.
    pub(crate) fn record_login(&mut self, email: &str, browser: &Browser) -> String {
        let device = browser.device.clone().unwrap_or_else(|| random::token(16));
        let (devices, ips) = self.seen.entry(email.to_owned()).or_default();
        saw(devices, &device);
        if let Some(ip) = &browser.ip {
            saw(ips, ip);
        }
        device
    }

    /// Remembers a browser of `email` for `days` from `now` (Unix seconds); returns the token
    /// for its cookie.
    pub(crate) fn remember(&mut self, email: &str, days: u64, now: u64) -> String {
        let token = random::token(24);
        let tokens = self.remembered_by_user.entry(email.to_owned()).or_default();
        // Those that ran out, then the oldest beyond the cap.
        tokens.retain(|t| {
            let live = self
                .remembered
                .get(t)
                .is_some_and(|(_, until)| *until > now);
            if !live {
                self.remembered.remove(t);
            }
            live
        });
        while tokens.len() >= REMEMBERED_PER_USER {
            if let Some(oldest) = tokens.pop_front() {
                self.remembered.remove(&oldest);
            }
        }
        tokens.push_back(token.clone());
        self.remembered.insert(
            token.clone(),
            (
                email.to_owned(),
                now.saturating_add(days.saturating_mul(86_400)),
            ),
        );
        token
    }

    /// Forgets the remembered browsers that ran out at `now` (Unix seconds); this walks them,
    /// so it runs from the store's once-a-minute sweep, not per request.
    pub(crate) fn purge(&mut self, now: u64) {
        let Self {
            remembered,
            remembered_by_user,
            ..
        } = self;
        remembered.retain(|_, (_, until)| *until > now);
        remembered_by_user.retain(|_, tokens| {
            tokens.retain(|t| remembered.contains_key(t));
            !tokens.is_empty()
        });
    }
}

/// `Set-Cookie` for the device cookie.
pub(crate) fn device_cookie(id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={id}; Path=/; Max-Age={DEVICE_COOKIE_AGE}; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

/// `Set-Cookie` for the remember-this-browser cookie.
pub(crate) fn remember_cookie(token: &str, days: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{REMEMBER_COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax",
        days.saturating_mul(86_400)
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(device: &str, ip: &str) -> Browser {
        Browser {
            device: Some(device.to_owned()),
            ip: Some(ip.to_owned()),
            remember: None,
        }
    }

    #[test]
    fn device_ids_and_addresses_are_capped_least_recently_seen_first() {
        let mut store = DeviceStore::default();
        store.record_login("a@x", &from("d0", "ip0"));
        for n in 1..DEVICES_PER_USER {
            store.record_login("a@x", &from(&format!("d{n}"), &format!("ip{n}")));
        }
        // Seen again: d0 becomes the most recent, so d1 is the one to go.
        store.record_login("a@x", &from("d0", "ip0"));
        store.record_login("a@x", &from("new", "new-ip"));
        assert!(store.is_known("a@x", &from("d0", "ip0")));
        assert!(store.is_known("a@x", &from("new", "new-ip")));
        assert!(!store.is_known("a@x", &from("d1", "ip2")), "d1 was evicted");
        assert!(
            !store.is_known("a@x", &from("d2", "ip1")),
            "ip1 was evicted"
        );
        assert!(store.is_known("a@x", &from("d2", "ip2")));
        let (devices, ips) = &store.seen["a@x"];
        assert_eq!(
            (devices.len(), ips.len()),
            (DEVICES_PER_USER, DEVICES_PER_USER)
        );
    }

    #[test]
    fn remembered_browsers_are_capped_and_expire() {
        let mut store = DeviceStore::default();
        let now = 1_700_000_000;
        let first = store.remember("a@x", 1, now);
        let tokens: Vec<String> = (1..REMEMBERED_PER_USER)
            .map(|_| store.remember("a@x", 30, now))
            .collect();
        let with = |token: &str| Browser {
            device: None,
            ip: None,
            remember: Some(token.to_owned()),
        };
        assert!(store.is_remembered("a@x", &with(&first), now));
        let newest = store.remember("a@x", 30, now);
        assert!(
            !store.is_remembered("a@x", &with(&first), now),
            "the oldest went"
        );
        assert!(store.is_remembered("a@x", &with(&newest), now));
        assert!(store.is_remembered("a@x", &with(&tokens[0]), now));
        assert_eq!(store.remembered.len(), REMEMBERED_PER_USER);
        // Past their 30 days, the sweep forgets them all.
        store.purge(now + 30 * 86_400);
        assert!(store.remembered.is_empty());
        assert!(store.remembered_by_user.is_empty());
    }
}

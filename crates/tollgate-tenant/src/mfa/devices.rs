//! What the login pages remember about browsers: the device cookie (`tollgate_did`) and client
//! addresses each user logged in from, and browsers remembered after MFA
//! (`tollgate_mfa_remember`), for [`MfaPolicy::remember_browser_days`] and
//! [`MfaPolicy::new_devices_only`].
//!
//! [`MfaPolicy::remember_browser_days`]: crate::MfaPolicy::remember_browser_days
//! [`MfaPolicy::new_devices_only`]: crate::MfaPolicy::new_devices_only

use std::collections::{HashMap, HashSet};

use axum::http::{HeaderMap, HeaderValue, header};

use crate::random;

/// The device cookie: a random id per browser.
pub(crate) const DEVICE_COOKIE: &str = "tollgate_did";
/// The remember-this-browser cookie.
pub(crate) const REMEMBER_COOKIE: &str = "tollgate_mfa_remember";
/// How long the device cookie lives: a year.
const DEVICE_COOKIE_AGE: u64 = 365 * 86_400;

/// Per user: the devices and addresses of earlier logins; remembered browsers.
#[derive(Debug, Default)]
pub(crate) struct DeviceStore {
    seen: HashMap<String, (HashSet<String>, HashSet<String>)>,
    /// Remember token → (email, expiry in Unix seconds).
    remembered: HashMap<String, (String, u64)>,
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
        devices.insert(device.clone());
        if let Some(ip) = &browser.ip {
            ips.insert(ip.clone());
        }
        device
    }

    /// Remembers a browser of `email` for `days` from `now` (Unix seconds); returns the token
    /// for its cookie.
    pub(crate) fn remember(&mut self, email: &str, days: u64, now: u64) -> String {
        self.remembered.retain(|_, (_, until)| *until > now);
        let token = random::token(24);
        self.remembered.insert(
            token.clone(),
            (
                email.to_owned(),
                now.saturating_add(days.saturating_mul(86_400)),
            ),
        );
        token
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

//! DPoP (RFC 9449): sender-constrained tokens.
//!
//! With DPoP on ([`ConfigBuilder::dpop`](crate::ConfigBuilder::dpop) or
//! [`use_dpop`](crate::ConfigBuilder::use_dpop)), the login sends `dpop_jkt` to `/authorize`, and
//! every call to the token endpoint (code exchange, refresh, MFA verification) carries a proof
//! signed with the [`DpopKey`]. When the server answers `use_dpop_nonce`, the call is repeated
//! once with the nonce from its `DPoP-Nonce` header; nonces are remembered per origin for the
//! next calls. The token type the server chose (`DPoP` or `Bearer`) is kept with each token, so
//! bound and unbound tokens can live in one session.

mod key;
mod nonce;
mod proof;

use std::time::Duration;

pub(crate) use key::jwk_thumbprint;
pub use key::{DpopKey, DpopKeyError};
pub(crate) use nonce::{NonceCache, origin_of};

/// The most clock tolerance accepted, as nextjs-auth0 does in production.
pub const MAX_DPOP_CLOCK_TOLERANCE: Duration = Duration::from_secs(300);

/// Timing of DPoP proofs and of the nonce retry (nextjs-auth0's `dpopOptions`).
///
/// ```
/// use std::time::Duration;
/// let opts = tollgate::DpopOptions::new()
///     .clock_skew(-5)
///     .clock_tolerance(Duration::from_secs(60))
///     .retry_delay(Duration::from_millis(200))
///     .retry_jitter(false);
/// assert_eq!(opts.clock_skew_value(), -5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopOptions {
    pub(crate) clock_skew: i64,
    pub(crate) clock_tolerance: Option<Duration>,
    pub(crate) retry_delay: Duration,
    pub(crate) retry_jitter: bool,
}

impl Default for DpopOptions {
    fn default() -> Self {
        Self {
            clock_skew: 0,
            clock_tolerance: None,
            retry_delay: Duration::from_millis(100),
            retry_jitter: true,
        }
    }
}

impl DpopOptions {
    /// Defaults: no skew, the configured clock tolerance, 100 ms before the nonce retry with
    /// jitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Seconds added to the local clock for a proof's `iat` (negative when this server's clock
    /// runs ahead of the provider's). Default 0. (`AUTH0_DPOP_CLOCK_SKEW`)
    pub fn clock_skew(mut self, seconds: i64) -> Self {
        self.clock_skew = seconds;
        self
    }

    /// Tolerance for time claims of the provider's tokens (`exp`, `iat`, `auth_time`) while DPoP
    /// is on, unless [`ConfigBuilder::clock_tolerance`](crate::ConfigBuilder::clock_tolerance) is
    /// set; at most [`MAX_DPOP_CLOCK_TOLERANCE`]. (`AUTH0_DPOP_CLOCK_TOLERANCE`)
    pub fn clock_tolerance(mut self, tolerance: Duration) -> Self {
        self.clock_tolerance = Some(tolerance);
        self
    }

    /// Wait before repeating a request the server answered with `use_dpop_nonce`. Default
    /// 100 ms. (`AUTH0_RETRY_DELAY`, milliseconds)
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Whether the retry delay is randomised to 50–100 % of itself, so that many clients do not
    /// retry in step. Default true. (`AUTH0_RETRY_JITTER`)
    pub fn retry_jitter(mut self, jitter: bool) -> Self {
        self.retry_jitter = jitter;
        self
    }

    /// The configured clock skew, in seconds.
    pub fn clock_skew_value(&self) -> i64 {
        self.clock_skew
    }

    /// The delay before the nonce retry, with jitter applied when on.
    pub(crate) fn delay(&self) -> Duration {
        if !self.retry_jitter || self.retry_delay.is_zero() {
            return self.retry_delay;
        }
        let mut b = [0u8; 1];
        crate::random::fill(&mut b);
        // 50 % plus 0..=50 % in 1/510 steps.
        let fraction = 0.5 + f64::from(b[0]) / 510.0;
        self.retry_delay.mul_f64(fraction)
    }
}

/// DPoP at run time: the key, its options and the nonces learnt so far.
#[derive(Debug)]
pub(crate) struct Dpop {
    pub(crate) key: DpopKey,
    pub(crate) options: DpopOptions,
    pub(crate) nonces: NonceCache,
    /// Dates the proofs.
    pub(crate) clock: std::sync::Arc<dyn crate::time::Clock>,
}

impl Dpop {
    pub(crate) fn new(
        key: DpopKey,
        options: DpopOptions,
        clock: std::sync::Arc<dyn crate::time::Clock>,
    ) -> Self {
        Self {
            key,
            options,
            nonces: NonceCache::default(),
            clock,
        }
    }

    /// A proof for `htm url`, with the nonce last learnt from the URL's origin and the
    /// configured clock skew.
    pub(crate) fn proof_for(&self, htm: &str, url: &str, access_token: Option<&str>) -> String {
        let nonce = origin_of(url).and_then(|o| self.nonces.get(&o));
        let iat = self
            .clock
            .now()
            .saturating_add_signed(self.options.clock_skew);
        self.key
            .proof_at(htm, url, nonce.as_deref(), access_token, iat)
    }

    /// Remembers a `DPoP-Nonce` answered by `url`'s origin.
    pub(crate) fn learn_nonce(&self, url: &str, nonce: &str) {
        if let Some(origin) = origin_of(url) {
            self.nonces.put(&origin, nonce);
        }
    }
}

#[cfg(test)]
mod tests;

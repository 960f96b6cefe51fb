//! The tenant's clock ([`Clock`], [`SystemClock`], [`ManualClock`]), the instants its state
//! keeps ([`Moment`]), and time as ISO-8601 strings.

use std::fmt;
use std::ops::{Add, AddAssign, SubAssign};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a tenant reads the time, in seconds since the Unix epoch.
///
/// Everything time-dependent in a tenant reads its one clock
/// ([`TenantConfig::with_clock`](crate::TenantConfig::with_clock)): the `iat`, `exp` and
/// `auth_time` of tokens, authorization codes, SSO sessions, login transactions, refresh
/// tokens, `mfa_token`s, `oob_code`s, push and CIBA polling intervals, MFA rate limits,
/// remembered browsers, TOTP steps and DPoP proof times. The default is [`SystemClock`]; tests
/// give the tenant a [`ManualClock`] and advance it instead of sleeping. (The event log's `date`
/// stays wall-clock time: it says when a request was served.)
///
/// ```
/// use tollgate_tenant::Clock;
///
/// /// A clock that always says the same second.
/// #[derive(Debug)]
/// struct Frozen(u64);
///
/// impl Clock for Frozen {
///     fn now(&self) -> u64 {
///         self.0
///     }
/// }
///
/// let clock = Frozen(1_700_000_000);
/// assert_eq!(clock.now(), 1_700_000_000);
/// assert_eq!(clock.now_millis(), 1_700_000_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;

    /// Milliseconds since the Unix epoch, for intervals shorter than a second (polling
    /// intervals, expiries of a few seconds). The default is [`now`](Self::now) in whole
    /// seconds; [`SystemClock`] is precise to the millisecond.
    ///
    /// ```
    /// use tollgate_tenant::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new(10);
    /// assert_eq!(clock.now_millis(), 10_000);
    /// ```
    fn now_millis(&self) -> u64 {
        self.now().saturating_mul(1000)
    }
}

/// The operating system's wall clock, the default of every tenant.
///
/// ```
/// use tollgate_tenant::{Clock, SystemClock};
///
/// let now = SystemClock.now();
/// assert!(now > 1_700_000_000);
/// assert!(SystemClock.now_millis() / 1000 >= now);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        self.now_millis() / 1000
    }

    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told to, for tests: clones share one time, so the test keeps a
/// clone and advances the tenant's clock with it.
///
/// ```
/// use std::time::Duration;
/// use tollgate_tenant::{Clock, ManualClock, Tenant, TenantConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tollgate_tenant::TenantError> {
/// let clock = ManualClock::new(1_700_000_000);
/// let config = TenantConfig::example().with_clock(clock.clone());
/// let tenant = Tenant::start(config, "127.0.0.1:0").await?;
/// assert_eq!(tenant.config().clock().now(), 1_700_000_000);
///
/// // An `mfa_token` issued now is expired once the clock has moved past its lifetime.
/// clock.advance(601);
/// assert_eq!(tenant.config().clock().now(), 1_700_000_601);
/// clock.set(1_700_000_000);
/// assert_eq!(clock.now(), 1_700_000_000);
/// tenant.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Milliseconds since the Unix epoch.
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `unix_seconds`.
    ///
    /// ```
    /// use tollgate_tenant::{Clock, ManualClock};
    ///
    /// assert_eq!(ManualClock::new(42).now(), 42);
    /// ```
    pub fn new(unix_seconds: u64) -> Self {
        Self {
            millis: Arc::new(AtomicU64::new(unix_seconds.saturating_mul(1000))),
        }
    }

    /// A clock standing at the current system time, in whole seconds.
    ///
    /// ```
    /// use tollgate_tenant::{Clock, ManualClock, SystemClock};
    ///
    /// let clock = ManualClock::starting_now();
    /// assert!(clock.now().abs_diff(SystemClock.now()) <= 1);
    /// ```
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock `secs` seconds forward.
    ///
    /// ```
    /// use tollgate_tenant::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new(100);
    /// let shared = clock.clone();
    /// clock.advance(30);
    /// assert_eq!(shared.now(), 130);
    /// ```
    pub fn advance(&self, secs: u64) {
        let by = secs.saturating_mul(1000);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(by))
            });
    }

    /// Sets the clock to `unix_seconds` (backwards too, for clock-skew tests).
    ///
    /// ```
    /// use tollgate_tenant::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new(100);
    /// clock.set(50);
    /// assert_eq!(clock.now(), 50);
    /// ```
    pub fn set(&self, unix_seconds: u64) {
        self.millis
            .store(unix_seconds.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now_millis() / 1000
    }

    fn now_millis(&self) -> u64 {
        self.millis.load(Ordering::SeqCst)
    }
}

/// The clock a tenant's configuration and state share ([`SystemClock`] unless configured).
#[derive(Clone)]
pub(crate) struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    pub(crate) fn new(clock: impl Clock + 'static) -> Self {
        Self(Arc::new(clock))
    }

    /// The clock itself.
    pub(crate) fn get(&self) -> &dyn Clock {
        &*self.0
    }

    /// Seconds since the Unix epoch.
    pub(crate) fn now(&self) -> u64 {
        self.0.now()
    }

    /// The current instant, to the millisecond.
    pub(crate) fn moment(&self) -> Moment {
        Moment(self.0.now_millis())
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        Self::new(SystemClock)
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An instant on the tenant's clock, in milliseconds since the Unix epoch: what deadlines and
/// polling times in the state are kept as. Arithmetic saturates.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub(crate) struct Moment(u64);

impl Moment {
    fn millis(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whole seconds since the Unix epoch.
    pub(crate) fn secs(self) -> u64 {
        self.0 / 1000
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub(crate) fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Moment {
    type Output = Self;

    fn add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(Self::millis(d)))
    }
}

impl AddAssign<Duration> for Moment {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl SubAssign<Duration> for Moment {
    fn sub_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_sub(Self::millis(d));
    }
}

/// The current time as RFC 3339 in UTC with milliseconds: `2024-05-01T12:34:56.789Z`.
pub(crate) fn rfc3339_now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = iso8601(since.as_secs());
    // `iso8601` ends in `.000Z`; put the milliseconds in.
    format!(
        "{}.{:03}Z",
        secs.trim_end_matches(".000Z"),
        since.subsec_millis()
    )
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SS.000Z`, the form Auth0 uses for `updated_at`.
pub(crate) fn iso8601(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 into a (year, month, day) Gregorian date
/// (Howard Hinnant's `civil_from_days`, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20.000Z");
    }
}

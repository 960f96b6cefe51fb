//! Time: the [`Clock`] every expiry, rolling and token decision reads.
//!
//! The default is [`SystemClock`]. Tests install a [`ManualClock`] with
//! [`ConfigBuilder::clock`](crate::ConfigBuilder::clock) and move it forward instead of sleeping;
//! the same clock dates DPoP proofs and client assertions, so a provider whose clock is moved
//! with it (the local tenant's `ManualClock`) sees consistent times.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of the current time, in whole seconds since the Unix epoch.
///
/// ```
/// use tollgate::Clock;
///
/// #[derive(Debug)]
/// struct Frozen(u64);
/// impl Clock for Frozen {
///     fn now(&self) -> u64 {
///         self.0
///     }
/// }
/// assert_eq!(Frozen(1_700_000_000).now(), 1_700_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in whole seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The system's wall clock: the default.
///
/// ```
/// use tollgate::{Clock, SystemClock};
/// assert!(SystemClock.now() > 1_600_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        system_now()
    }
}

/// A clock that moves only when told to, for tests. Clones share one time.
///
/// ```
/// use std::time::Duration;
/// use tollgate::{Clock, ManualClock};
///
/// let clock = ManualClock::starting_now();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3_600));
/// assert_eq!(clock.now(), start + 3_600);
/// clock.set(42);
/// assert_eq!(clock.now(), 42);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    secs: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at `secs` since the epoch.
    pub fn at(secs: u64) -> Self {
        Self {
            secs: Arc::new(AtomicU64::new(secs)),
        }
    }

    /// A clock at the system's current time.
    pub fn starting_now() -> Self {
        Self::at(system_now())
    }

    /// Moves the clock forward by `by` (whole seconds; saturating).
    pub fn advance(&self, by: Duration) {
        let by = by.as_secs();
        let _ = self
            .secs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                Some(s.saturating_add(by))
            });
    }

    /// Sets the clock to `secs` since the epoch.
    pub fn set(&self, secs: u64) {
        self.secs.store(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.secs.load(Ordering::SeqCst)
    }
}

/// The system's time, in whole seconds since the Unix epoch.
pub(crate) fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

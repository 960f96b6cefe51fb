//! Auth0's attack protection for the password page, on the tenant's clock:
//!
//! - **Brute-force protection** (`count_per_identifier_and_ip`, `max_attempts` 10): ten
//!   consecutive wrong passwords for one user from one IP address block that user from that
//!   address. Every later attempt is refused, even with the right password, until the block
//!   lifts: after 30 days here (at Auth0 also when an administrator removes it, the user follows
//!   the e-mailed unblock link or changes the password). A correct password before the tenth
//!   failure starts the count again. Log event `limit_wc`.
//! - **Suspicious IP throttling** (logins): 100 failed logins from one address, for any
//!   accounts, then one more attempt every 864 seconds. A refused attempt logs `limit_mu`.
//!
//! The address is the TCP peer's (the tenant binds loopback only); `X-Forwarded-For` is not
//! trusted here, so a client cannot pick a fresh address per guess.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::Moment;
use crate::mfa::limits::{Bucket, Limit};

/// Consecutive failures of one user from one address that block them.
pub(crate) const MAX_ATTEMPTS: u32 = 10;
/// How long a brute-force block lasts.
const BLOCK: Duration = Duration::from_secs(30 * 86_400);

/// Why an attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The user is blocked from this address (brute-force protection).
    Blocked,
    /// The address has failed too often (suspicious IP throttling).
    Throttled,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Counter {
    failures: u32,
    blocked_until: Option<Moment>,
}

/// The counters of one tenant.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct AttackProtection {
    /// By lower-case email and address.
    #[serde(with = "crate::persist::codec::pairs")]
    users: HashMap<(String, String), Counter>,
    addresses: HashMap<String, Bucket>,
}

fn key(email: &str, ip: &str) -> (String, String) {
    (email.to_lowercase(), ip.to_owned())
}

impl AttackProtection {
    /// Whether an attempt for `email` from `ip` may be checked at all.
    pub(crate) fn admit(&mut self, email: &str, ip: &str, now: Moment) -> Result<(), Refusal> {
        if let Some(counter) = self.users.get_mut(&key(email, ip)) {
            match counter.blocked_until {
                Some(until) if until > now => return Err(Refusal::Blocked),
                Some(_) => *counter = Counter::default(),
                None => {}
            }
        }
        let throttled = self
            .addresses
            .get_mut(ip)
            .is_some_and(|bucket| !bucket.has_token(now));
        if throttled {
            return Err(Refusal::Throttled);
        }
        Ok(())
    }

    /// Counts a wrong password for `email` (`None` for an unknown user, which only the address
    /// counts) from `ip`; `true` when this failure blocked the user.
    pub(crate) fn failed(&mut self, email: Option<&str>, ip: &str, now: Moment) -> bool {
        self.addresses
            .entry(ip.to_owned())
            .or_insert_with(|| Bucket::new(Limit::FAILED_LOGINS_PER_IP))
            .take(now);
        let Some(email) = email else {
            return false;
        };
        let counter = self.users.entry(key(email, ip)).or_default();
        counter.failures = counter.failures.saturating_add(1);
        if counter.failures >= MAX_ATTEMPTS {
            counter.blocked_until = Some(now + BLOCK);
            return true;
        }
        false
    }

    /// Forgets what no longer changes an answer: address buckets that refilled (a full bucket
    /// is a new one) and blocks that lifted (a lifted block is a fresh count). This walks the
    /// counters, so it runs from the store's once-a-minute sweep, not per request. A count of
    /// fewer than [`MAX_ATTEMPTS`] failures stays until a success or a block, as at Auth0; there
    /// is one per configured user and client address at most.
    pub(crate) fn purge(&mut self, now: Moment) {
        self.addresses.retain(|_, bucket| !bucket.is_full(now));
        self.users
            .retain(|_, counter| counter.blocked_until.is_none_or(|until| until > now));
    }

    /// A correct password: the user's consecutive count from `ip` starts again.
    pub(crate) fn succeeded(&mut self, email: &str, ip: &str) {
        self.users.remove(&key(email, ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_block_the_user_from_that_address_only() {
        let now = Moment::default() + Duration::from_secs(1_700_000_000);
        let mut p = AttackProtection::default();
        for n in 1..=MAX_ATTEMPTS {
            assert_eq!(p.admit("a@x", "1.1.1.1", now), Ok(()));
            assert_eq!(p.failed(Some("A@x"), "1.1.1.1", now), n == MAX_ATTEMPTS);
        }
        assert_eq!(p.admit("a@x", "1.1.1.1", now), Err(Refusal::Blocked));
        assert_eq!(p.admit("a@x", "2.2.2.2", now), Ok(()));
        assert_eq!(p.admit("b@x", "1.1.1.1", now), Ok(()));
        assert_eq!(p.admit("a@x", "1.1.1.1", now + BLOCK), Ok(()));
    }

    #[test]
    fn refilled_buckets_and_lifted_blocks_are_forgotten() {
        let now = Moment::default() + Duration::from_secs(1_700_000_000);
        let mut p = AttackProtection::default();
        for _ in 0..MAX_ATTEMPTS {
            p.failed(Some("a@x"), "1.1.1.1", now);
        }
        p.failed(Some("b@x"), "2.2.2.2", now);
        p.purge(now);
        assert_eq!(
            (p.users.len(), p.addresses.len()),
            (2, 2),
            "all still count"
        );
        // Eleven failures from 1.1.1.1 and one from 2.2.2.2 refill in 11 × 864 s.
        p.purge(now + Duration::from_secs(11 * 864));
        assert!(p.addresses.is_empty(), "both buckets refilled");
        assert_eq!(p.users.len(), 2, "the block and the count stay");
        p.purge(now + BLOCK);
        assert_eq!(
            p.users.len(),
            1,
            "the lifted block is gone, the count of b stays"
        );
        assert_eq!(p.admit("a@x", "1.1.1.1", now + BLOCK), Ok(()));
        assert!(!p.failed(Some("b@x"), "2.2.2.2", now + BLOCK));
        assert_eq!(p.users[&key("b@x", "2.2.2.2")].failures, 2);
    }

    #[test]
    fn a_success_restarts_the_count_and_the_address_bucket_throttles() {
        let now = Moment::default() + Duration::from_secs(1_700_000_000);
        let mut p = AttackProtection::default();
        for _ in 0..MAX_ATTEMPTS - 1 {
            p.failed(Some("a@x"), "ip", now);
        }
        p.succeeded("a@x", "ip");
        assert!(!p.failed(Some("a@x"), "ip", now));
        for _ in 0..90 {
            p.failed(None, "ip", now);
        }
        assert_eq!(p.admit("c@x", "ip", now), Err(Refusal::Throttled));
        assert_eq!(p.admit("c@x", "ip", now + Duration::from_secs(864)), Ok(()));
    }
}

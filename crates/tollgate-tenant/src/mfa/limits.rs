//! Token buckets for Auth0's limits: failed MFA codes, SMS/voice sends, email sends and (for
//! the login page) failed passwords from one address.

use std::time::Duration;

use crate::clock::Moment;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Limit {
    capacity: u32,
    refill_every: Duration,
}

impl Limit {
    /// Failed MFA codes: 10, then one more every 6 minutes.
    pub(crate) const FAILED_CODES: Self = Self {
        capacity: 10,
        refill_every: Duration::from_secs(6 * 60),
    };
    /// SMS and voice messages: 10, then one more every hour.
    pub(crate) const PHONE_SENDS: Self = Self {
        capacity: 10,
        refill_every: Duration::from_secs(3600),
    };
    /// Failed logins from one IP address, whatever the account (Auth0's suspicious IP
    /// throttling for logins): 100, then one more every 864 seconds (100 a day).
    pub(crate) const FAILED_LOGINS_PER_IP: Self = Self {
        capacity: 100,
        refill_every: Duration::from_secs(864),
    };
    /// Email messages: 20, then one more every minute.
    pub(crate) const EMAIL_SENDS: Self = Self {
        capacity: 20,
        refill_every: Duration::from_secs(60),
    };
}

/// A token bucket that refills one token per `refill_every`, up to `capacity`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Bucket {
    limit: Limit,
    tokens: u32,
    /// When the bucket was last full or last earned a token (set while it is full).
    last_refill: Moment,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(limit: Limit) -> Self {
        Self {
            limit,
            tokens: limit.capacity,
            last_refill: Moment::default(),
        }
    }

    fn refill(&mut self, now: Moment) {
        if self.tokens >= self.limit.capacity {
            self.last_refill = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.last_refill);
        let earned = elapsed.as_secs() / self.limit.refill_every.as_secs().max(1);
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(earned).min(self.limit.capacity);
            self.last_refill += self.limit.refill_every * earned.min(self.limit.capacity);
        }
    }

    /// Whether the bucket is full again at `now`: then it is the same as a new one, and the
    /// store may forget it.
    pub(crate) fn is_full(&mut self, now: Moment) -> bool {
        self.refill(now);
        self.tokens >= self.limit.capacity
    }

    /// Whether a token is available, without taking it.
    pub(crate) fn has_token(&mut self, now: Moment) -> bool {
        self.refill(now);
        self.tokens > 0
    }

    /// Takes a token; `false` when the bucket is empty.
    pub(crate) fn take(&mut self, now: Moment) -> bool {
        self.refill(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empties_then_refills() {
        let now = Moment::default() + Duration::from_secs(1_700_000_000);
        let mut bucket = Bucket::new(Limit::FAILED_CODES);
        for _ in 0..10 {
            assert!(bucket.take(now));
        }
        assert!(!bucket.take(now));
        assert!(!bucket.has_token(now));
        bucket.last_refill -= Duration::from_secs(6 * 60 + 1);
        assert!(bucket.has_token(now));
        assert!(bucket.take(now));
        assert!(!bucket.take(now));
    }
}

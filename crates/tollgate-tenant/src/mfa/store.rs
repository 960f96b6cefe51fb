//! In-memory MFA state: users' authenticators, `mfa_token`s, out-of-band challenges and the
//! outbox. Part of the tenant's `Store`, behind the same mutex; nothing here awaits.

use std::collections::HashMap;
use std::time::Duration;

use super::factors::{Authenticator, Kind, UserFactors};
use super::outbox::{Outbox, OutboxChannel, PushState};
use super::policy::Requirement;
use crate::clock::{Moment, SharedClock};
use crate::store::Expiring;
use crate::{UserConfig, random};

/// How long expired `mfa_token`s and `oob_code`s are remembered, to answer "expired" rather
/// than "unknown".
const EXPIRED_MEMORY: Duration = Duration::from_secs(3600);
/// The prefix of `mfa_token`s, like Auth0's iron-sealed tokens.
const MFA_TOKEN_PREFIX: &str = "Fe26.2*";
/// How many `mfa_token`s (live, or expired and remembered) are held at most; beyond, the one
/// due soonest is forgotten.
pub(crate) const MAX_MFA_TOKENS: usize = 100_000;
/// How many `oob_code`s are held at most; beyond, the one due soonest is forgotten.
pub(crate) const MAX_OOB_CODES: usize = 100_000;

/// `start + lifetime`, saturating (at the end of time) for absurd configured lifetimes.
fn deadline(start: Moment, lifetime: Duration) -> Moment {
    start + lifetime
}

/// What an `mfa_token` stands for: the request that was answered with `mfa_required`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct MfaTransaction {
    pub(crate) email: String,
    pub(crate) client_id: String,
    /// The refresh-token family whose use asked for MFA.
    pub(crate) family: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) scope: Vec<String>,
    /// The factors that may answer.
    pub(crate) requirement: Requirement,
    /// The factor types already passed in this chain (for policies that require several).
    #[serde(with = "crate::persist::codec::factor_types")]
    pub(crate) passed: Vec<&'static str>,
}

impl MfaTransaction {
    /// Whether a factor of this type may answer next: allowed, and not passed already.
    pub(crate) fn may_answer(&self, factor: &str) -> bool {
        self.requirement.allows(factor) && !self.passed.contains(&factor)
    }
}

/// A live, expired or unknown item.
#[derive(Debug)]
pub(crate) enum Lookup<T> {
    Live(T),
    Expired,
    Unknown,
}

/// What an `oob_code` waits for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum OobSecret {
    /// The code sent by SMS, voice or email (the `binding_code`).
    Code(String),
    /// A push request in the outbox.
    Push { message_id: String },
}

/// An out-of-band challenge or enrollment, named by its `oob_code`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct OobChallenge {
    email: String,
    /// The client of the API call; `None` for the login pages.
    client_id: Option<String>,
    authenticator_id: String,
    secret: OobSecret,
    expires_at: Moment,
    last_poll: Option<Moment>,
}

/// The outcome of checking a code, recovery code or `oob_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Accepted. `recovery_code` is a code to show the user: the one that became active with
    /// a first enrollment, or the replacement of a used recovery code. `factor` is the type of
    /// the authenticator that answered (`otp`, `phone`, `email`, `push-notification`,
    /// `recovery-code`); `enrolled` says that this answer confirmed its enrollment.
    Accepted {
        recovery_code: Option<String>,
        factor: &'static str,
        enrolled: bool,
    },
    /// A wrong code (counted as a failure).
    Invalid,
    /// Too many failures: nothing was checked.
    RateLimited,
    /// Push: not answered yet.
    Pending,
    /// Push: polled faster than the interval.
    SlowDown,
    /// Push: denied by the user (the `oob_code` is spent).
    Denied,
    /// The `oob_code` ran out.
    Expired,
    /// The `oob_code` is unknown, spent or someone else's.
    UnknownOob,
    /// A code challenge was presented without its `binding_code`.
    MissingBindingCode,
}

/// Why a code could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The authenticator does not exist or cannot receive messages.
    NoSuchAuthenticator,
    /// The send limit is exhausted.
    RateLimited,
}

/// All MFA state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct MfaStore {
    users: HashMap<String, UserFactors>,
    tokens: Expiring<String, (MfaTransaction, Moment)>,
    oob: Expiring<String, OobChallenge>,
    pub(crate) outbox: Outbox,
    pub(crate) devices: super::devices::DeviceStore,
    #[serde(skip)]
    clock: SharedClock,
}

impl MfaStore {
    /// No MFA state yet, on the tenant's clock.
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Puts restored MFA state on the tenant's clock.
    pub(crate) fn set_clock(&mut self, clock: SharedClock) {
        self.clock = clock;
    }

    /// The user's authenticators, made from the configuration on first use.
    pub(crate) fn user(&mut self, user: &UserConfig) -> &mut UserFactors {
        self.users
            .entry(user.email().to_lowercase())
            .or_insert_with(|| UserFactors::from_config(user))
    }

    /// Forgets what expired long ago (through the expiry indexes); returns how many.
    pub(crate) fn purge(&mut self, now: Moment) -> usize {
        self.tokens.pop_due(now, |_, _| {}) + self.oob.pop_due(now, |_, _| {})
    }

    /// `mfa_token`s and `oob_code`s held.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.tokens.len(), self.oob.len())
    }

    /// Issues an `mfa_token` (`Fe26.2*…`).
    pub(crate) fn issue_token(
        &mut self,
        transaction: MfaTransaction,
        lifetime: Duration,
    ) -> String {
        let now = self.clock.moment();
        self.purge(now);
        let token = format!("{MFA_TOKEN_PREFIX}{}", random::secret());
        let expires_at = deadline(now, lifetime);
        self.tokens.insert_capped(
            token.clone(),
            (transaction, expires_at),
            deadline(expires_at, EXPIRED_MEMORY),
            MAX_MFA_TOKENS,
        );
        token
    }

    /// The transaction of an `mfa_token`.
    pub(crate) fn token(&self, token: &str) -> Lookup<MfaTransaction> {
        match self.tokens.get(token) {
            Some((transaction, expires_at)) if *expires_at > self.clock.moment() => {
                Lookup::Live(transaction.clone())
            }
            Some(_) => Lookup::Expired,
            None => Lookup::Unknown,
        }
    }

    /// Spends an `mfa_token` after a successful verification.
    pub(crate) fn consume_token(&mut self, token: &str) {
        self.tokens.remove(token);
    }

    /// Sends a fresh code (SMS, voice, email) or push request for one of the user's
    /// authenticators (active or pending) and returns the `oob_code` that waits for it.
    pub(crate) fn send(
        &mut self,
        user: &UserConfig,
        authenticator_id: &str,
        client_id: Option<&str>,
        lifetime: Duration,
    ) -> Result<String, SendError> {
        let now = self.clock.moment();
        self.purge(now);
        let factors = self.user(user);
        let kind = factors
            .get(authenticator_id)
            .map(|a| a.kind.clone())
            .ok_or(SendError::NoSuchAuthenticator)?;
        let (channel, to) = match &kind {
            Kind::Sms { phone } => (OutboxChannel::Sms, phone.clone()),
            Kind::Voice { phone } => (OutboxChannel::Voice, phone.clone()),
            Kind::Email { address } => (OutboxChannel::Email, address.clone()),
            Kind::Push { device } => (OutboxChannel::Push, device.clone()),
            _ => return Err(SendError::NoSuchAuthenticator),
        };
        let allowed = match channel {
            OutboxChannel::Sms | OutboxChannel::Voice => factors.phone_sends.take(now),
            OutboxChannel::Email => factors.email_sends.take(now),
            OutboxChannel::Push => true,
        };
        if !allowed {
            return Err(SendError::RateLimited);
        }
        let secret = if channel == OutboxChannel::Push {
            OobSecret::Push {
                message_id: self
                    .outbox
                    .send(user.email(), channel, &to, None, now.secs()),
            }
        } else {
            let code = random::digits(6);
            self.outbox
                .send(user.email(), channel, &to, Some(code.clone()), now.secs());
            OobSecret::Code(code)
        };
        let oob_code = random::secret();
        let expires_at = deadline(now, lifetime);
        self.oob.insert_capped(
            oob_code.clone(),
            OobChallenge {
                email: user.email().to_lowercase(),
                client_id: client_id.map(str::to_owned),
                authenticator_id: authenticator_id.to_owned(),
                secret,
                expires_at,
                last_poll: None,
            },
            deadline(expires_at, EXPIRED_MEMORY),
            MAX_OOB_CODES,
        );
        Ok(oob_code)
    }

    /// Checks a TOTP code against the user's TOTP authenticators that `eligible` accepts; a
    /// match on a pending one confirms that enrollment.
    pub(crate) fn verify_otp(
        &mut self,
        user: &UserConfig,
        code: &str,
        eligible: impl Fn(&Authenticator) -> bool,
    ) -> Verdict {
        let now = self.clock.moment();
        let factors = self.user(user);
        if !factors.failures.has_token(now) {
            return Verdict::RateLimited;
        }
        let matched = factors.verify_totp(code.trim(), now.secs(), eligible);
        match matched {
            Some(id) => {
                let enrolled = factors.get(&id).is_some_and(|a| !a.active);
                Verdict::Accepted {
                    recovery_code: factors.activate(&id),
                    factor: "otp",
                    enrolled,
                }
            }
            None => {
                factors.failures.take(now);
                Verdict::Invalid
            }
        }
    }

    /// Checks a recovery code; a correct one is replaced by a new one, returned in the verdict.
    pub(crate) fn verify_recovery_code(&mut self, user: &UserConfig, code: &str) -> Verdict {
        let now = self.clock.moment();
        let factors = self.user(user);
        if !factors.failures.has_token(now) {
            return Verdict::RateLimited;
        }
        if factors.recovery_code_matches(code) {
            Verdict::Accepted {
                recovery_code: Some(factors.rotate_recovery_code()),
                factor: "recovery-code",
                enrolled: false,
            }
        } else {
            factors.failures.take(now);
            Verdict::Invalid
        }
    }

    /// Checks an `oob_code` of `user` (and `client_id`, for API calls), with the `binding_code`
    /// for code challenges. Push requests may be polled once per `poll_interval`. An `oob_code`
    /// of an authenticator whose factor type `eligible` refuses counts as unknown.
    pub(crate) fn verify_oob(
        &mut self,
        user: &UserConfig,
        oob_code: &str,
        binding_code: Option<&str>,
        client_id: Option<&str>,
        poll_interval: Duration,
        eligible: impl Fn(&str) -> bool,
    ) -> Verdict {
        let now = self.clock.moment();
        let Some(challenge) = self.oob.get(oob_code).cloned() else {
            return Verdict::UnknownOob;
        };
        if challenge.email != user.email().to_lowercase()
            || challenge.client_id.as_deref() != client_id
        {
            return Verdict::UnknownOob;
        }
        if challenge.expires_at <= now {
            return Verdict::Expired;
        }
        let Some((factor, was_active)) = self
            .user(user)
            .get(&challenge.authenticator_id)
            .map(|a| (a.kind.factor_type(), a.active))
        else {
            // The authenticator was removed since the challenge was sent.
            return Verdict::UnknownOob;
        };
        if !eligible(factor) {
            return Verdict::UnknownOob;
        }
        match &challenge.secret {
            OobSecret::Code(expected) => {
                let Some(binding_code) = binding_code else {
                    return Verdict::MissingBindingCode;
                };
                let factors = self.user(user);
                if !factors.failures.has_token(now) {
                    return Verdict::RateLimited;
                }
                let matches: bool = subtle::ConstantTimeEq::ct_eq(
                    expected.as_bytes(),
                    binding_code.trim().as_bytes(),
                )
                .into();
                if !matches {
                    factors.failures.take(now);
                    return Verdict::Invalid;
                }
                self.oob.remove(oob_code);
                let recovery_code = self.user(user).activate(&challenge.authenticator_id);
                Verdict::Accepted {
                    recovery_code,
                    factor,
                    enrolled: !was_active,
                }
            }
            OobSecret::Push { message_id } => {
                let too_fast = challenge
                    .last_poll
                    .is_some_and(|last| now.saturating_duration_since(last) < poll_interval);
                if let Some(entry) = self.oob.get_mut(oob_code) {
                    entry.last_poll = Some(now);
                }
                if too_fast {
                    return Verdict::SlowDown;
                }
                match self.outbox.push_state(message_id) {
                    Some(PushState::Approved) => {
                        self.oob.remove(oob_code);
                        let recovery_code = self.user(user).activate(&challenge.authenticator_id);
                        Verdict::Accepted {
                            recovery_code,
                            factor,
                            enrolled: !was_active,
                        }
                    }
                    Some(PushState::Denied) => {
                        self.oob.remove(oob_code);
                        Verdict::Denied
                    }
                    Some(PushState::Pending) => Verdict::Pending,
                    None => Verdict::UnknownOob,
                }
            }
        }
    }
}

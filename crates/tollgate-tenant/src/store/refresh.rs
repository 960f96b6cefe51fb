//! Refresh-token families with rotation, reuse detection and an overlap (leeway) period.
//!
//! A family is everything that descends from one authorization-code exchange. With rotation,
//! each use hands out a new token and retires the presented one. Presenting a retired token
//! revokes the whole family, unless it is the token retired last (its successor is current)
//! and the client's leeway has not run out since it was retired.
//!
//! Bounds: a user holds at most [`FAMILIES_PER_USER_AND_CLIENT`] live families per application,
//! as at Auth0 (200 active refresh tokens per user per application; the oldest is revoked when
//! a new one is issued at the limit), and a family remembers at most [`TOKENS_PER_FAMILY`]
//! tokens: beyond that its oldest retired token is forgotten, and presenting it is refused as
//! unknown (`Invalid`) instead of revoking the family as a reuse. Families are forgotten at their
//! expiry through an expiry index, and a revocation removes exactly the family's own tokens.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::expiry::Expiring;
use crate::clock::{Moment, SharedClock};
use crate::random;

/// Live refresh-token families one user may hold for one application (Auth0's limit).
pub(crate) const FAMILIES_PER_USER_AND_CLIENT: usize = 200;
/// Tokens (the current one and retired ones) one family remembers for reuse detection.
pub(crate) const TOKENS_PER_FAMILY: usize = 1000;

/// What a refresh-token family grants.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RefreshFamily {
    pub(crate) client_id: String,
    pub(crate) email: String,
    pub(crate) sid: String,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) auth_time: u64,
    /// The DPoP key the family is bound to: refreshes must prove it.
    pub(crate) jkt: Option<String>,
    /// How the user authenticated for this family (`pwd`, `mfa`), for the access tokens'
    /// [`AMR_CLAIM`](crate::tokens::AMR_CLAIM); `mfa` is added when the family passes MFA.
    pub(crate) amr: Vec<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Family {
    grant: RefreshFamily,
    expires_at: Moment,
    current: String,
    /// Every token of the family that is remembered, oldest first (the current one last).
    tokens: VecDeque<String>,
    /// Whether the family passed MFA (through the MFA API, or at the login that started it).
    mfa_satisfied: bool,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct TokenEntry {
    family: String,
    /// When it was retired, and the token issued in its place.
    retired: Option<(Moment, String)>,
}

/// The answer to presenting a refresh token.
#[derive(Debug)]
pub(crate) enum RefreshOutcome {
    /// Accepted; `new_token` is set when the client rotates.
    Granted {
        grant: RefreshFamily,
        new_token: Option<String>,
    },
    /// Unknown, expired, revoked or for another client.
    Invalid,
    /// A rotated-away token outside the leeway: the family was revoked.
    Reused,
}

/// All refresh tokens.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct RefreshTokens {
    families: Expiring<String, Family>,
    tokens: HashMap<String, TokenEntry>,
    /// (lower-case email, client id) → its live families, oldest first.
    #[serde(with = "crate::persist::codec::pairs")]
    by_user: HashMap<(String, String), VecDeque<String>>,
    #[serde(skip)]
    clock: SharedClock,
}

/// The key of a family's user and application in `by_user`.
fn owner(grant: &RefreshFamily) -> (String, String) {
    (grant.email.to_ascii_lowercase(), grant.client_id.clone())
}

impl RefreshTokens {
    /// No tokens yet, on the tenant's clock.
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Puts restored tokens on the tenant's clock.
    pub(crate) fn set_clock(&mut self, clock: SharedClock) {
        self.clock = clock;
    }

    /// Starts a family; returns `(family id, first token)`. At
    /// [`FAMILIES_PER_USER_AND_CLIENT`] live families of this user and application, the oldest
    /// is revoked first.
    pub(crate) fn issue(&mut self, grant: RefreshFamily, lifetime: Duration) -> (String, String) {
        let now = self.clock.moment();
        self.purge(now);
        let family_id = random::id();
        let token = random::secret();
        let key = owner(&grant);
        let oldest: Vec<String> = self.by_user.get(&key).map_or_else(Vec::new, |held| {
            let over = (held.len() + 1).saturating_sub(FAMILIES_PER_USER_AND_CLIENT);
            held.iter().take(over).cloned().collect()
        });
        for id in &oldest {
            tracing::info!(family = %id, "refresh-token limit of the user and application reached; revoking the oldest family");
            self.revoke_family(id);
        }
        self.tokens.insert(
            token.clone(),
            TokenEntry {
                family: family_id.clone(),
                retired: None,
            },
        );
        let expires_at = now + lifetime;
        self.by_user
            .entry(key)
            .or_default()
            .push_back(family_id.clone());
        self.families.insert(
            family_id.clone(),
            Family {
                grant,
                expires_at,
                current: token.clone(),
                tokens: VecDeque::from([token.clone()]),
                mfa_satisfied: false,
            },
            expires_at,
        );
        (family_id, token)
    }

    /// Adds a new token to a family's memory, forgetting its oldest retired token beyond
    /// [`TOKENS_PER_FAMILY`].
    fn remember(&mut self, family_id: &str, token: &str) {
        self.tokens.insert(
            token.to_owned(),
            TokenEntry {
                family: family_id.to_owned(),
                retired: None,
            },
        );
        let Some(family) = self.families.get_mut(family_id) else {
            return;
        };
        family.tokens.push_back(token.to_owned());
        while family.tokens.len() > TOKENS_PER_FAMILY {
            let Some(oldest) = family.tokens.pop_front() else {
                break;
            };
            if oldest == family.current {
                // Never the current token: it goes back at the end (it cannot be the oldest
                // with more than one token remembered, but stay safe).
                family.tokens.push_back(oldest);
                break;
            }
            self.tokens.remove(&oldest);
        }
    }

    /// What `token`'s family grants, without using the token.
    pub(crate) fn peek(&self, token: &str) -> Option<&RefreshFamily> {
        let entry = self.tokens.get(token)?;
        self.families.get(&entry.family).map(|f| &f.grant)
    }

    /// The id of `token`'s live family, without using the token.
    pub(crate) fn family_of(&self, token: &str) -> Option<&str> {
        let entry = self.tokens.get(token)?;
        self.families
            .get(&entry.family)
            .filter(|f| f.expires_at > self.clock.moment())
            .map(|_| entry.family.as_str())
    }

    /// Whether the family passed MFA.
    pub(crate) fn is_mfa_satisfied(&self, family_id: &str) -> bool {
        self.families
            .get(family_id)
            .is_some_and(|f| f.mfa_satisfied)
    }

    /// Records that the family passed MFA.
    pub(crate) fn mark_mfa_satisfied(&mut self, family_id: &str) {
        if let Some(family) = self.families.get_mut(family_id) {
            family.mfa_satisfied = true;
            if !family.grant.amr.iter().any(|m| m == "mfa") {
                family.grant.amr.push("mfa".to_owned());
            }
        }
    }

    /// What a live family grants.
    pub(crate) fn family(&self, family_id: &str) -> Option<&RefreshFamily> {
        self.families
            .get(family_id)
            .filter(|f| f.expires_at > self.clock.moment())
            .map(|f| &f.grant)
    }

    /// Presents `token` on behalf of `client_id`.
    pub(crate) fn present(
        &mut self,
        token: &str,
        client_id: &str,
        rotation: bool,
        leeway: Duration,
    ) -> RefreshOutcome {
        let now = self.clock.moment();
        let Some(entry) = self.tokens.get(token) else {
            return RefreshOutcome::Invalid;
        };
        let family_id = entry.family.clone();
        let retired = entry.retired.clone();
        let Some(family) = self.families.get_mut(&family_id) else {
            return RefreshOutcome::Invalid;
        };
        if family.grant.client_id != client_id || family.expires_at <= now {
            return RefreshOutcome::Invalid;
        }
        if !rotation {
            return RefreshOutcome::Granted {
                grant: family.grant.clone(),
                new_token: None,
            };
        }
        if let Some((retired_at, successor)) = retired {
            let within_leeway = successor == family.current && now < retired_at + leeway;
            if !within_leeway {
                tracing::warn!(family = %family_id, "refresh token reuse detected; revoking the family");
                self.revoke_family(&family_id);
                return RefreshOutcome::Reused;
            }
        }
        let grant = family.grant.clone();
        let new_token = random::secret();
        let previous_current = std::mem::replace(&mut family.current, new_token.clone());
        // Retire the presented token, and the current one if the presented token was the
        // previous one being reused within the leeway.
        for retiring in [token.to_owned(), previous_current] {
            if let Some(entry) = self.tokens.get_mut(&retiring)
                && (entry.retired.is_none() || retiring == token)
            {
                entry.retired = Some((now, new_token.clone()));
            }
        }
        self.remember(&family_id, &new_token);
        RefreshOutcome::Granted {
            grant,
            new_token: Some(new_token),
        }
    }

    /// Revokes the family of `token` if it belongs to `client_id`. Unknown tokens are ignored.
    pub(crate) fn revoke_token(&mut self, token: &str, client_id: &str) {
        let Some(family_id) = self.tokens.get(token).map(|e| e.family.clone()) else {
            return;
        };
        let owned = self
            .families
            .get(&family_id)
            .is_some_and(|f| f.grant.client_id == client_id);
        if owned {
            self.revoke_family(&family_id);
        }
    }

    /// Revokes every family of the user with this email; returns how many.
    pub(crate) fn revoke_user(&mut self, email: &str) -> usize {
        let email = email.to_ascii_lowercase();
        let families: Vec<String> = self
            .by_user
            .iter()
            .filter(|((user, _), _)| *user == email)
            .flat_map(|(_, ids)| ids.iter().cloned())
            .collect();
        for id in &families {
            self.revoke_family(id);
        }
        families.len()
    }

    /// Revokes every token of a family.
    pub(crate) fn revoke_family(&mut self, family_id: &str) {
        if let Some(family) = self.families.remove(family_id) {
            forget(&mut self.tokens, &mut self.by_user, family_id, &family);
        }
    }

    /// Forgets expired families; returns how many.
    pub(crate) fn purge(&mut self, now: Moment) -> usize {
        let Self {
            families,
            tokens,
            by_user,
            ..
        } = self;
        let popped = families.pop_due(now, |id, family| forget(tokens, by_user, &id, &family));
        if popped > 0 {
            if tokens.capacity() > 1024 && tokens.len() < tokens.capacity() / 4 {
                tokens.shrink_to(tokens.len() * 2);
            }
            if by_user.capacity() > 1024 && by_user.len() < by_user.capacity() / 4 {
                by_user.shrink_to(by_user.len() * 2);
            }
        }
        popped
    }

    /// Looks at every family's deadline and every token, as the purge without the index did
    /// (for the benchmark's comparison).
    #[cfg(feature = "bench")]
    pub(crate) fn walk(&self, now: Moment) -> usize {
        let tokens = self.tokens.values().filter(|e| e.retired.is_some()).count();
        std::hint::black_box(tokens);
        self.families.walk(now) + self.tokens.len()
    }

    /// Families, tokens, and (user, application) pairs held.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        (self.families.len(), self.tokens.len(), self.by_user.len())
    }

    /// How many live families this user holds for this application.
    #[cfg(test)]
    fn held(&self, email: &str, client_id: &str) -> usize {
        self.by_user
            .get(&(email.to_ascii_lowercase(), client_id.to_owned()))
            .map_or(0, VecDeque::len)
    }
}

/// Removes a family's tokens and its entry in the owner index (the family itself is gone).
fn forget(
    tokens: &mut HashMap<String, TokenEntry>,
    by_user: &mut HashMap<(String, String), VecDeque<String>>,
    family_id: &str,
    family: &Family,
) {
    for token in &family.tokens {
        tokens.remove(token);
    }
    let key = owner(&family.grant);
    if let Some(held) = by_user.get_mut(&key) {
        if let Some(at) = held.iter().position(|id| id == family_id) {
            held.remove(at);
        }
        if held.is_empty() {
            by_user.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> RefreshFamily {
        RefreshFamily {
            client_id: "c".to_owned(),
            email: "a@example.com".to_owned(),
            sid: "sid".to_owned(),
            scope: vec!["openid".to_owned()],
            audience: None,
            auth_time: 0,
            jkt: None,
            amr: Vec::new(),
        }
    }

    fn rotated(outcome: RefreshOutcome) -> String {
        match outcome {
            RefreshOutcome::Granted {
                new_token: Some(t), ..
            } => t,
            other => panic!("expected a rotated token, got {other:?}"),
        }
    }

    #[test]
    fn rotation_and_reuse_detection() {
        let mut rts = RefreshTokens::default();
        let (_, t0) = rts.issue(grant(), Duration::from_secs(60));
        let t1 = rotated(rts.present(&t0, "c", true, Duration::ZERO));
        assert!(matches!(
            rts.present(&t0, "c", true, Duration::ZERO),
            RefreshOutcome::Reused
        ));
        // The reuse revoked the family, so even the newest token is dead.
        assert!(matches!(
            rts.present(&t1, "c", true, Duration::ZERO),
            RefreshOutcome::Invalid
        ));
    }

    #[test]
    fn leeway_accepts_only_the_previous_token() {
        let mut rts = RefreshTokens::default();
        let leeway = Duration::from_secs(60);
        let (_, t0) = rts.issue(grant(), Duration::from_secs(60));
        let t1 = rotated(rts.present(&t0, "c", true, leeway));
        let t2 = rotated(rts.present(&t0, "c", true, leeway));
        let t3 = rotated(rts.present(&t2, "c", true, leeway));
        // t1 was retired when t0 was reused; its successor (t2) is no longer current.
        assert!(matches!(
            rts.present(&t1, "c", true, leeway),
            RefreshOutcome::Reused
        ));
        assert!(matches!(
            rts.present(&t3, "c", true, leeway),
            RefreshOutcome::Invalid
        ));
    }

    #[test]
    fn a_user_holds_at_most_200_families_per_application_and_the_oldest_is_revoked() {
        let mut rts = RefreshTokens::default();
        let life = Duration::from_secs(60);
        let (_, first) = rts.issue(grant(), life);
        let (_, second) = rts.issue(grant(), life);
        let other_app = RefreshFamily {
            client_id: "other".to_owned(),
            ..grant()
        };
        let (_, elsewhere) = rts.issue(other_app, life);
        for _ in 2..FAMILIES_PER_USER_AND_CLIENT {
            rts.issue(grant(), life);
        }
        assert_eq!(rts.held("A@example.com", "c"), FAMILIES_PER_USER_AND_CLIENT);
        assert!(rts.family_of(&first).is_some());
        let (_, newest) = rts.issue(grant(), life);
        assert!(rts.peek(&first).is_none(), "the oldest family was revoked");
        assert!(matches!(
            rts.present(&first, "c", true, Duration::ZERO),
            RefreshOutcome::Invalid
        ));
        for live in [&second, &newest, &elsewhere] {
            assert!(rts.family_of(live).is_some());
        }
        assert_eq!(rts.held("a@example.com", "c"), FAMILIES_PER_USER_AND_CLIENT);
        assert_eq!(rts.held("a@example.com", "other"), 1);
    }

    #[test]
    fn a_family_remembers_its_newest_tokens_and_forgets_only_its_own() {
        let mut rts = RefreshTokens::default();
        let life = Duration::from_secs(60);
        let (_, mut token) = rts.issue(grant(), life);
        let (other_id, other) = rts.issue(grant(), life);
        let first = token.clone();
        let mut retired = Vec::new();
        for _ in 0..TOKENS_PER_FAMILY {
            retired.push(token.clone());
            token = rotated(rts.present(&token, "c", true, Duration::ZERO));
        }
        assert_eq!(rts.sizes(), (2, TOKENS_PER_FAMILY + 1, 1));
        // The very first token was forgotten: it is refused as unknown, the family lives on.
        assert!(matches!(
            rts.present(&first, "c", true, Duration::ZERO),
            RefreshOutcome::Invalid
        ));
        // A remembered retired one is still a reuse, and revokes exactly its family.
        assert!(matches!(
            rts.present(&retired[1], "c", true, Duration::ZERO),
            RefreshOutcome::Reused
        ));
        assert_eq!(rts.sizes(), (1, 1, 1));
        assert_eq!(rts.family_of(&other), Some(other_id.as_str()));
    }

    #[test]
    fn expired_families_are_purged_with_their_tokens() {
        let clock = crate::ManualClock::new(1_700_000_000);
        let mut rts = RefreshTokens::new(SharedClock::new(clock.clone()));
        let (_, old) = rts.issue(grant(), Duration::from_secs(60));
        rotated(rts.present(&old, "c", true, Duration::ZERO));
        let (_, live) = rts.issue(grant(), Duration::from_secs(120));
        clock.advance(60);
        assert_eq!(rts.purge(clock_moment(&clock)), 1);
        assert_eq!(rts.sizes(), (1, 1, 1));
        assert!(rts.family_of(&live).is_some());
        clock.advance(60);
        assert_eq!(rts.purge(clock_moment(&clock)), 1);
        assert_eq!(rts.sizes(), (0, 0, 0));
    }

    fn clock_moment(clock: &crate::ManualClock) -> Moment {
        SharedClock::new(clock.clone()).moment()
    }

    #[test]
    fn other_client_and_revocation() {
        let mut rts = RefreshTokens::default();
        let (_, t0) = rts.issue(grant(), Duration::from_secs(60));
        assert!(matches!(
            rts.present(&t0, "other", true, Duration::ZERO),
            RefreshOutcome::Invalid
        ));
        rts.revoke_token(&t0, "other");
        let t1 = rotated(rts.present(&t0, "c", true, Duration::ZERO));
        rts.revoke_token(&t1, "c");
        assert!(matches!(
            rts.present(&t1, "c", true, Duration::ZERO),
            RefreshOutcome::Invalid
        ));
    }
}

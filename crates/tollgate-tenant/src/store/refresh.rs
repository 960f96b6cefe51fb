//! Refresh-token families with rotation, reuse detection and an overlap (leeway) period.
//!
//! A family is everything that descends from one authorization-code exchange. With rotation,
//! each use hands out a new token and retires the presented one. Presenting a retired token
//! revokes the whole family, unless it is the token retired last (its successor is current)
//! and the client's leeway has not run out since it was retired.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::{Moment, SharedClock};
use crate::random;

/// What a refresh-token family grants.
#[derive(Debug, Clone)]
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

#[derive(Debug)]
struct Family {
    grant: RefreshFamily,
    expires_at: Moment,
    current: String,
    /// Whether the family passed MFA (through the MFA API, or at the login that started it).
    mfa_satisfied: bool,
}

#[derive(Debug)]
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
#[derive(Debug, Default)]
pub(crate) struct RefreshTokens {
    families: HashMap<String, Family>,
    tokens: HashMap<String, TokenEntry>,
    clock: SharedClock,
}

impl RefreshTokens {
    /// No tokens yet, on the tenant's clock.
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Starts a family; returns `(family id, first token)`.
    pub(crate) fn issue(&mut self, grant: RefreshFamily, lifetime: Duration) -> (String, String) {
        let family_id = random::id();
        let token = random::secret();
        self.tokens.insert(
            token.clone(),
            TokenEntry {
                family: family_id.clone(),
                retired: None,
            },
        );
        self.families.insert(
            family_id.clone(),
            Family {
                grant,
                expires_at: self.clock.moment() + lifetime,
                current: token.clone(),
                mfa_satisfied: false,
            },
        );
        (family_id, token)
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

    /// Rotates a family without presenting a token (after an MFA grant answered for it): the
    /// current token is retired as if it had been used, and the new token is returned.
    pub(crate) fn rotate_family(&mut self, family_id: &str) -> Option<String> {
        let now = self.clock.moment();
        let family = self
            .families
            .get_mut(family_id)
            .filter(|f| f.expires_at > now)?;
        let new_token = random::secret();
        let previous = std::mem::replace(&mut family.current, new_token.clone());
        if let Some(entry) = self.tokens.get_mut(&previous) {
            entry.retired = Some((now, new_token.clone()));
        }
        self.tokens.insert(
            new_token.clone(),
            TokenEntry {
                family: family_id.to_owned(),
                retired: None,
            },
        );
        Some(new_token)
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
        self.tokens.insert(
            new_token.clone(),
            TokenEntry {
                family: family_id,
                retired: None,
            },
        );
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
        let families: Vec<String> = self
            .families
            .iter()
            .filter(|(_, f)| f.grant.email.eq_ignore_ascii_case(email))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &families {
            self.revoke_family(id);
        }
        families.len()
    }

    /// Revokes every token of a family.
    pub(crate) fn revoke_family(&mut self, family_id: &str) {
        self.families.remove(family_id);
        self.tokens.retain(|_, e| e.family != family_id);
    }

    /// Forgets expired families.
    pub(crate) fn purge(&mut self, now: Moment) {
        let expired: Vec<String> = self
            .families
            .iter()
            .filter(|(_, f)| f.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.revoke_family(&id);
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

//! In-memory state that changes while the tenant runs: SSO sessions, login transactions,
//! authorization codes, refresh-token families and opaque access tokens.
//!
//! Everything lives behind one mutex in the tenant's state (`TenantState`); no method here awaits.
//!
//! # Expiry and bounds
//!
//! Each map is an [`Expiring`] map with an index ordered by the moment its entries are
//! forgotten, and [`Store::purge_expired`] pops that index up to the current time: the work is
//! in proportion to what expires, never a walk over what is held. It runs on every lock of the
//! store (`TenantState::store`) and on a timer (`TenantState::spawn_sweeper`), so that an idle
//! tenant gives its memory back too. The small maps whose entries change their deadline at every
//! use (attack-protection counters, remembered browsers, PAR, CIBA and Connected Accounts
//! requests) are swept once a minute of the tenant's clock instead.
//!
//! What one user, or everyone, can make the tenant hold is capped; at a cap the oldest entry
//! goes (so nothing is granted that would not have been), except for client assertion ids,
//! which are refused (a forgotten id could be replayed):
//!
//! | what | cap | at the cap |
//! |---|---|---|
//! | SSO sessions per user | [`sessions::SESSIONS_PER_USER`] (1,000) | the user's oldest session ends |
//! | refresh-token families per user and application | [`refresh::FAMILIES_PER_USER_AND_CLIENT`] (200, as Auth0) | the oldest family is revoked |
//! | tokens remembered per refresh-token family | [`refresh::TOKENS_PER_FAMILY`] (1,000) | the oldest retired token is forgotten |
//! | login transactions | [`MAX_TRANSACTIONS`] (100,000) | the one due soonest is forgotten |
//! | authorization codes (live or used) | [`MAX_CODES`] (100,000) | the one due soonest is forgotten |
//! | opaque access tokens | [`MAX_OPAQUE_TOKENS`] (100,000) | the one due soonest is forgotten |
//! | `mfa_token`s, `oob_code`s | 100,000 each | the one due soonest is forgotten |
//! | device ids, addresses, remembered browsers per user | 50 each | the oldest is forgotten |
//! | client assertion ids | [`MAX_ASSERTIONS`] (100,000) | new assertions are refused until some expire |

mod ciba;
mod expiry;
mod my_account;
mod par;
mod refresh;
mod sessions;

use std::time::Duration;

pub(crate) use ciba::{CibaRequest, CibaStore};
pub(crate) use my_account::{Account, MyAccountStore, Pending};
pub(crate) use par::{ParStore, Pushed};
pub(crate) use refresh::{RefreshFamily, RefreshOutcome, RefreshTokens};

pub(crate) use expiry::Expiring;
use sessions::Sessions;

use crate::clock::{Moment, SharedClock};
use crate::mfa::store::MfaStore;
use crate::random;

/// How long a used authorization code is remembered, so that a replay can be detected.
const USED_CODE_MEMORY: Duration = Duration::from_secs(3600);
/// How many login transactions are held at most.
pub(crate) const MAX_TRANSACTIONS: usize = 100_000;
/// How many authorization codes (live, or used and remembered) are held at most.
pub(crate) const MAX_CODES: usize = 100_000;
/// How many opaque access tokens are held at most.
pub(crate) const MAX_OPAQUE_TOKENS: usize = 100_000;
/// How many client assertion ids are remembered at most; beyond, assertions are refused.
pub(crate) const MAX_ASSERTIONS: usize = 100_000;
/// How often the small maps without an expiry index are swept (on the tenant's clock).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The checked parameters of one `/authorize` request.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AuthorizeRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    /// Whether `redirect_uri` was sent (then `/oauth/token` must repeat it).
    pub(crate) redirect_uri_sent: bool,
    pub(crate) scope: Vec<String>,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) max_age: Option<u64>,
    /// Kept for the MFA step (`http://schemas.openid.net/pape/policies/2007/06/multi-factor`).
    pub(crate) acr_values: Option<String>,
    pub(crate) login_hint: Option<String>,
    /// The DPoP key thumbprint the code is bound to (RFC 9449 §10).
    pub(crate) dpop_jkt: Option<String>,
}

/// An SSO session, named by the `auth0` cookie.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Session {
    /// The `sid` claim.
    pub(crate) sid: String,
    /// The user's email (users are looked up in the configuration).
    pub(crate) email: String,
    /// When the user last typed their password (Unix seconds).
    pub(crate) auth_time: u64,
    /// Authentication methods used (`pwd`, `mfa`).
    pub(crate) amr: Vec<String>,
    /// When the user last passed MFA in this session (Unix seconds).
    pub(crate) mfa_at: Option<u64>,
    /// The applications the user logged in to through this session (a code was issued), in
    /// order: they receive back-channel logout tokens when it ends.
    pub(crate) clients: Vec<String>,
    expires_at: Moment,
}

/// A login in progress between `/authorize` and the code redirect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct LoginTransaction {
    pub(crate) request: AuthorizeRequest,
    /// Set once the user is known and a second factor is due.
    pub(crate) mfa: Option<MfaStep>,
    expires_at: Moment,
}

/// The MFA step of a login transaction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct MfaStep {
    /// The user being verified.
    pub(crate) email: String,
    /// Whether the password was typed in this transaction (an SSO session is stepped up
    /// without it).
    pub(crate) password: bool,
    /// The `oob_code` of the SMS, voice, email code or push request the page waits for.
    pub(crate) oob_code: Option<String>,
    /// The pending TOTP authenticator shown on the enrollment page.
    pub(crate) enrollment: Option<String>,
    /// When the factor was accepted, if the recovery-code page is still to be acknowledged.
    pub(crate) verified_at: Option<u64>,
}

/// What an authorization code stands for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AuthCode {
    pub(crate) request: AuthorizeRequest,
    pub(crate) email: String,
    pub(crate) sid: String,
    pub(crate) auth_time: u64,
    /// `Some` when the user authenticated interactively in this transaction.
    pub(crate) amr: Option<Vec<String>>,
    /// The `acr` claim, when `acr_values` asked for MFA and it was done.
    pub(crate) acr: Option<String>,
    /// Whether the SSO session had passed MFA when the code was issued.
    pub(crate) mfa_done: bool,
    /// The methods behind the code: `amr`, or the SSO session's for a login without one.
    pub(crate) methods: Vec<String>,
    expires_at: Moment,
    used: bool,
    /// The refresh-token family created when the code was exchanged.
    family: Option<String>,
}

/// The answer to presenting an authorization code.
#[derive(Debug)]
pub(crate) enum CodeUse {
    /// First use of a live code.
    Fresh(Box<AuthCode>),
    /// Unknown, expired or already used (in which case its refresh tokens were revoked).
    Invalid,
}

/// An opaque access token (issued without an `audience`), good only at `/userinfo`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct OpaqueToken {
    pub(crate) email: String,
    pub(crate) scope: Vec<String>,
    /// The DPoP key thumbprint it is bound to.
    pub(crate) jkt: Option<String>,
    expires_at: Moment,
}

/// All mutable tenant state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Store {
    sessions: Sessions,
    transactions: Expiring<String, LoginTransaction>,
    codes: Expiring<String, AuthCode>,
    opaque_tokens: Expiring<String, OpaqueToken>,
    pub(crate) refresh: RefreshTokens,
    pub(crate) mfa: MfaStore,
    pub(crate) ciba: CibaStore,
    pub(crate) par: ParStore,
    /// Connected Accounts and My Organization changes.
    pub(crate) my_account: MyAccountStore,
    /// Brute-force protection and IP throttling of the password page.
    pub(crate) attack: crate::routes::login::protection::AttackProtection,
    /// Client assertion ids (`client_id` + `jti`) seen, forgotten a second after their `exp`.
    assertions: Expiring<String, ()>,
    /// When the small maps were last swept (not saved: a restored store sweeps at once).
    #[serde(skip)]
    last_sweep: Moment,
    /// The tenant's clock (not saved; set again by [`Store::restore`]).
    #[serde(skip)]
    clock: SharedClock,
}

/// How many entries each part of the store holds (for the memory figures).
#[cfg(any(test, feature = "bench"))]
#[cfg_attr(not(feature = "bench"), allow(unreachable_pub))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreSizes {
    /// SSO sessions.
    pub sessions: usize,
    /// Entries of the sessions' `sid` and user indexes.
    pub session_index: usize,
    /// Login transactions.
    pub transactions: usize,
    /// Authorization codes (live or used).
    pub codes: usize,
    /// Opaque access tokens.
    pub opaque_tokens: usize,
    /// Refresh-token families, their tokens, and (user, application) pairs holding families.
    pub refresh: (usize, usize, usize),
    /// `mfa_token`s and `oob_code`s.
    pub mfa: (usize, usize),
    /// Client assertion ids.
    pub assertions: usize,
    /// The capacity of the session, code and opaque-token maps together.
    pub capacity: usize,
}

#[cfg(any(test, feature = "bench"))]
#[cfg_attr(not(feature = "bench"), allow(unreachable_pub))]
impl StoreSizes {
    /// All entries together.
    pub fn total(&self) -> usize {
        self.sessions
            + self.session_index
            + self.transactions
            + self.codes
            + self.opaque_tokens
            + self.refresh.0
            + self.refresh.1
            + self.refresh.2
            + self.mfa.0
            + self.mfa.1
            + self.assertions
    }
}

impl Store {
    /// Empty state on the tenant's clock.
    pub(crate) fn new(clock: &SharedClock) -> Self {
        Self {
            refresh: RefreshTokens::new(clock.clone()),
            mfa: MfaStore::new(clock.clone()),
            clock: clock.clone(),
            ..Self::default()
        }
    }

    /// Puts a store read from the state directory on the tenant's clock, and forgets what
    /// expired while the tenant was down (the small maps are swept too).
    pub(crate) fn restore(mut self, clock: &SharedClock) -> Self {
        self.clock = clock.clone();
        self.refresh.set_clock(clock.clone());
        self.mfa.set_clock(clock.clone());
        self.last_sweep = Moment::default();
        let forgotten = self.purge_expired();
        tracing::debug!(forgotten, "restored the tenant's state");
        self
    }

    /// Records a client assertion's `jti`; `false` when it was seen before (a replay).
    /// Also `false` (fail closed) while [`MAX_ASSERTIONS`] unexpired ids are remembered.
    pub(crate) fn remember_assertion(&mut self, client_id: &str, jti: &str, exp: u64) -> bool {
        let now = self.clock.moment();
        self.assertions.pop_due(now, |_, _| {});
        let key = format!("{client_id} {jti}");
        if self.assertions.contains_key(&key) {
            return false;
        }
        if self.assertions.len() >= MAX_ASSERTIONS {
            tracing::warn!("too many client assertion ids remembered; refusing the assertion");
            return false;
        }
        // Remembered while `exp` is at or after the current second.
        let forget_at = Moment::default() + Duration::from_secs(exp.saturating_add(1));
        self.assertions.insert(key, (), forget_at);
        true
    }

    /// Forgets everything that is due at the current time, and sweeps the small maps once a
    /// minute; returns how many entries of the indexed maps went. Costs a few index look-ups
    /// when nothing is due.
    pub(crate) fn purge_expired(&mut self) -> usize {
        let now = self.clock.moment();
        let popped = self.purge(now);
        if now.saturating_duration_since(self.last_sweep) >= SWEEP_EVERY || now < self.last_sweep {
            self.last_sweep = now;
            self.attack.purge(now);
            self.mfa.devices.purge(now.secs());
            self.par.purge(now);
            self.ciba.purge(now);
            self.my_account.purge(now);
        }
        popped
    }

    /// Forgets everything of the indexed maps that is due at `now`; returns how many.
    fn purge(&mut self, now: Moment) -> usize {
        self.sessions.pop_due(now)
            + self.transactions.pop_due(now, |_, _| {})
            + self.codes.pop_due(now, |_, _| {})
            + self.opaque_tokens.pop_due(now, |_, _| {})
            + self.assertions.pop_due(now, |_, _| {})
            + self.refresh.purge(now)
            + self.mfa.purge(now)
    }

    /// Forgets a code and an opaque token (the benchmark takes its journeys back).
    #[cfg(feature = "bench")]
    pub(crate) fn forget_code_and_token(&mut self, code: &str, token: &str) {
        self.codes.remove(code);
        self.opaque_tokens.remove(token);
    }

    /// Compares every stored item's deadline with the time, as each purge did before the expiry
    /// index (for the benchmark's comparison); returns how many items it looked at.
    #[cfg(feature = "bench")]
    pub(crate) fn walk_everything(&self) -> usize {
        let now = self.clock.moment();
        self.sessions.walk(now)
            + self.transactions.walk(now)
            + self.codes.walk(now)
            + self.opaque_tokens.walk(now)
            + self.refresh.walk(now)
    }

    /// How many entries each part holds.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn sizes(&self) -> StoreSizes {
        let (sids, users) = self.sessions.index_len();
        StoreSizes {
            sessions: self.sessions.len(),
            session_index: sids + users,
            transactions: self.transactions.len(),
            codes: self.codes.len(),
            opaque_tokens: self.opaque_tokens.len(),
            refresh: self.refresh.sizes(),
            mfa: self.mfa.sizes(),
            assertions: self.assertions.len(),
            capacity: self.codes.capacity() + self.opaque_tokens.capacity(),
        }
    }

    /// Starts an SSO session; returns the cookie value.
    pub(crate) fn create_session(
        &mut self,
        email: &str,
        auth_time: u64,
        amr: Vec<String>,
        lifetime: Duration,
    ) -> (String, Session) {
        let now = self.clock.moment();
        self.purge(now);
        let cookie = random::secret();
        let session = Session {
            sid: random::id(),
            email: email.to_owned(),
            auth_time,
            amr,
            mfa_at: None,
            clients: Vec::new(),
            expires_at: now + lifetime,
        };
        let evicted = self
            .sessions
            .insert(cookie.clone(), session.clone(), session.expires_at);
        if evicted > 0 {
            tracing::info!(
                email,
                evicted,
                "too many SSO sessions for this user; ended the oldest"
            );
        }
        (cookie, session)
    }

    /// Records a fresh authentication in an existing session of the same user.
    pub(crate) fn reauthenticate(
        &mut self,
        cookie: &str,
        auth_time: u64,
        amr: Vec<String>,
    ) -> Option<Session> {
        let session = self.sessions.get_mut(cookie)?;
        session.auth_time = auth_time;
        session.amr = amr;
        Some(session.clone())
    }

    /// Records that the user passed MFA in the session named by this cookie value.
    pub(crate) fn record_mfa(&mut self, cookie: &str, at: u64) -> Option<Session> {
        let session = self.sessions.get_mut(cookie)?;
        session.mfa_at = Some(at);
        if !session.amr.iter().any(|m| m == "mfa") {
            session.amr.push("mfa".to_owned());
        }
        Some(session.clone())
    }

    /// The live session named by this cookie value.
    pub(crate) fn session(&self, cookie: &str) -> Option<&Session> {
        self.sessions
            .get(cookie)
            .filter(|s| s.expires_at > self.clock.moment())
    }

    /// Ends the session named by this cookie value.
    pub(crate) fn end_session(&mut self, cookie: &str) -> Option<Session> {
        self.sessions.remove(cookie)
    }

    /// Ends every session of the user with this email; returns them.
    pub(crate) fn end_sessions_of(&mut self, email: &str) -> Vec<Session> {
        let cookies = self.sessions.cookies_of(email);
        let mut ended: Vec<Session> = cookies
            .iter()
            .filter_map(|cookie| self.sessions.remove(cookie))
            .collect();
        ended.sort_by(|a, b| a.sid.cmp(&b.sid));
        ended
    }

    /// Ends the session with this `sid`; returns it.
    pub(crate) fn end_session_by_sid(&mut self, sid: &str) -> Option<Session> {
        let cookie = self.sessions.cookie_of_sid(sid)?;
        self.sessions.remove(&cookie)
    }

    /// Keeps a login transaction; returns its id (the `state` of `/u/login`).
    pub(crate) fn create_transaction(
        &mut self,
        request: AuthorizeRequest,
        lifetime: Duration,
    ) -> String {
        let now = self.clock.moment();
        self.purge(now);
        let id = random::id();
        let expires_at = now + lifetime;
        let transaction = LoginTransaction {
            request,
            mfa: None,
            expires_at,
        };
        self.transactions
            .insert_capped(id.clone(), transaction, expires_at, MAX_TRANSACTIONS);
        id
    }

    /// The live login transaction with this id.
    pub(crate) fn transaction(&self, id: &str) -> Option<&LoginTransaction> {
        self.transactions
            .get(id)
            .filter(|t| t.expires_at > self.clock.moment())
    }

    /// The live login transaction with this id, for changing its MFA step.
    pub(crate) fn transaction_mut(&mut self, id: &str) -> Option<&mut LoginTransaction> {
        self.transactions
            .get_mut(id)
            .filter(|t| t.expires_at > self.clock.moment())
    }

    /// Removes a finished login transaction.
    pub(crate) fn finish_transaction(&mut self, id: &str) -> Option<LoginTransaction> {
        self.transactions
            .remove(id)
            .filter(|t| t.expires_at > self.clock.moment())
    }

    /// Issues an authorization code for a completed login.
    pub(crate) fn issue_code(
        &mut self,
        request: AuthorizeRequest,
        session: &Session,
        amr: Option<Vec<String>>,
        acr: Option<String>,
        lifetime: Duration,
    ) -> String {
        let now = self.clock.moment();
        self.purge(now);
        if let Some(live) = self.sessions.by_sid_mut(&session.sid)
            && !live.clients.contains(&request.client_id)
        {
            live.clients.push(request.client_id.clone());
        }
        let code = random::secret();
        let expires_at = now + lifetime;
        self.codes.insert_capped(
            code.clone(),
            AuthCode {
                request,
                email: session.email.clone(),
                sid: session.sid.clone(),
                auth_time: session.auth_time,
                methods: amr.clone().unwrap_or_else(|| session.amr.clone()),
                amr,
                acr,
                mfa_done: session.mfa_at.is_some(),
                expires_at,
                used: false,
                family: None,
            },
            expires_at + USED_CODE_MEMORY,
            MAX_CODES,
        );
        code
    }

    /// Presents a code on behalf of `client_id`: the first use of a live code by its own client
    /// succeeds; any replay revokes the refresh tokens that the first use produced. A code shown
    /// by another client is refused without being spent.
    pub(crate) fn use_code(&mut self, code: &str, client_id: &str) -> CodeUse {
        let Some(entry) = self.codes.get_mut(code) else {
            return CodeUse::Invalid;
        };
        if entry.request.client_id != client_id {
            return CodeUse::Invalid;
        }
        if entry.used {
            if let Some(family) = entry.family.take() {
                self.refresh.revoke_family(&family);
            }
            return CodeUse::Invalid;
        }
        entry.used = true;
        if entry.expires_at <= self.clock.moment() {
            return CodeUse::Invalid;
        }
        CodeUse::Fresh(Box::new(entry.clone()))
    }

    /// Remembers which refresh-token family a code produced.
    pub(crate) fn link_code_family(&mut self, code: &str, family: &str) {
        if let Some(entry) = self.codes.get_mut(code) {
            entry.family = Some(family.to_owned());
        }
    }

    /// Issues an opaque access token.
    pub(crate) fn issue_opaque_token(
        &mut self,
        email: &str,
        scope: Vec<String>,
        jkt: Option<String>,
        lifetime: Duration,
    ) -> String {
        let now = self.clock.moment();
        self.purge(now);
        let token = random::secret();
        let expires_at = now + lifetime;
        self.opaque_tokens.insert_capped(
            token.clone(),
            OpaqueToken {
                email: email.to_owned(),
                scope,
                jkt,
                expires_at,
            },
            expires_at,
            MAX_OPAQUE_TOKENS,
        );
        token
    }

    /// The live opaque access token with this value.
    pub(crate) fn opaque_token(&self, token: &str) -> Option<&OpaqueToken> {
        self.opaque_tokens
            .get(token)
            .filter(|t| t.expires_at > self.clock.moment())
    }
}

#[cfg(test)]
mod tests;

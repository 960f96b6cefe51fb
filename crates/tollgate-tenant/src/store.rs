//! In-memory state that changes while the tenant runs: SSO sessions, login transactions,
//! authorization codes, refresh-token families and opaque access tokens.
//!
//! Everything lives behind one mutex in the tenant's state (`TenantState`); no method here awaits.

mod ciba;
mod my_account;
mod par;
mod refresh;

use std::collections::HashMap;
use std::time::Duration;

pub(crate) use ciba::{CibaRequest, CibaStore};
pub(crate) use my_account::{Account, MyAccountStore, Pending};
pub(crate) use par::{ParStore, Pushed};
pub(crate) use refresh::{RefreshFamily, RefreshOutcome, RefreshTokens};

use crate::clock::{Moment, SharedClock};
use crate::mfa::store::MfaStore;
use crate::random;

/// How long a used authorization code is remembered, so that a replay can be detected.
const USED_CODE_MEMORY: Duration = Duration::from_secs(3600);

/// The checked parameters of one `/authorize` request.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub(crate) struct LoginTransaction {
    pub(crate) request: AuthorizeRequest,
    /// Set once the user is known and a second factor is due.
    pub(crate) mfa: Option<MfaStep>,
    expires_at: Moment,
}

/// The MFA step of a login transaction.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub(crate) struct OpaqueToken {
    pub(crate) email: String,
    pub(crate) scope: Vec<String>,
    /// The DPoP key thumbprint it is bound to.
    pub(crate) jkt: Option<String>,
    expires_at: Moment,
}

/// All mutable tenant state.
#[derive(Debug, Default)]
pub(crate) struct Store {
    sessions: HashMap<String, Session>,
    transactions: HashMap<String, LoginTransaction>,
    codes: HashMap<String, AuthCode>,
    opaque_tokens: HashMap<String, OpaqueToken>,
    pub(crate) refresh: RefreshTokens,
    pub(crate) mfa: MfaStore,
    pub(crate) ciba: CibaStore,
    pub(crate) par: ParStore,
    /// Connected Accounts and My Organization changes.
    pub(crate) my_account: MyAccountStore,
    /// Brute-force protection and IP throttling of the password page.
    pub(crate) attack: crate::routes::login::protection::AttackProtection,
    /// Client assertion ids (`client_id` + `jti`) seen, with their expiry.
    assertions: HashMap<String, u64>,
    /// The tenant's clock.
    clock: SharedClock,
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

    /// Records a client assertion's `jti`; `false` when it was seen before (a replay).
    pub(crate) fn remember_assertion(&mut self, client_id: &str, jti: &str, exp: u64) -> bool {
        let now = self.clock.now();
        self.assertions.retain(|_, until| *until >= now);
        self.assertions
            .insert(format!("{client_id} {jti}"), exp)
            .is_none()
    }

    /// Forgets everything that has expired.
    fn purge(&mut self, now: Moment) {
        self.sessions.retain(|_, s| s.expires_at > now);
        self.transactions.retain(|_, t| t.expires_at > now);
        self.codes
            .retain(|_, c| c.expires_at + USED_CODE_MEMORY > now);
        self.opaque_tokens.retain(|_, t| t.expires_at > now);
        self.refresh.purge(now);
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
        self.sessions.insert(cookie.clone(), session.clone());
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
        let cookies: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.email.eq_ignore_ascii_case(email))
            .map(|(cookie, _)| cookie.clone())
            .collect();
        let mut ended: Vec<Session> = cookies
            .iter()
            .filter_map(|cookie| self.sessions.remove(cookie))
            .collect();
        ended.sort_by(|a, b| a.sid.cmp(&b.sid));
        ended
    }

    /// Ends the session with this `sid`; returns it.
    pub(crate) fn end_session_by_sid(&mut self, sid: &str) -> Option<Session> {
        let cookie = self
            .sessions
            .iter()
            .find(|(_, s)| s.sid == sid)
            .map(|(cookie, _)| cookie.clone())?;
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
        self.transactions.insert(
            id.clone(),
            LoginTransaction {
                request,
                mfa: None,
                expires_at: now + lifetime,
            },
        );
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
        if let Some(live) = self.sessions.values_mut().find(|s| s.sid == session.sid)
            && !live.clients.contains(&request.client_id)
        {
            live.clients.push(request.client_id.clone());
        }
        let code = random::secret();
        self.codes.insert(
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
                expires_at: now + lifetime,
                used: false,
                family: None,
            },
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
        self.opaque_tokens.insert(
            token.clone(),
            OpaqueToken {
                email: email.to_owned(),
                scope,
                jkt,
                expires_at: now + lifetime,
            },
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

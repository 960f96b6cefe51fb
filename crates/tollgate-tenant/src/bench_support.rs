//! The store harness of the `store` benchmark (feature `bench`; not a stable API): drives the
//! tenant's in-memory store as the login routes do, on a manual clock, without HTTP.

use std::time::Duration;

use crate::clock::SharedClock;
use crate::store::{AuthorizeRequest, CodeUse, RefreshFamily, Store};
use crate::{Clock, ManualClock};

pub use crate::store::StoreSizes;

const HOUR: Duration = Duration::from_secs(3600);
/// Journeys are spread over this many users.
const USERS: u64 = 1000;

/// What one journey left in the store.
#[derive(Debug)]
pub struct Journey {
    cookie: String,
    code: String,
    family: String,
    token: String,
}

/// A store on a manual clock.
#[derive(Debug)]
pub struct StoreHarness {
    store: Store,
    clock: ManualClock,
    journeys: u64,
}

impl Default for StoreHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl StoreHarness {
    /// An empty store, its clock at 1,700,000,000.
    pub fn new() -> Self {
        let clock = ManualClock::new(1_700_000_000);
        Self {
            store: Store::new(&SharedClock::new(clock.clone())),
            clock,
            journeys: 0,
        }
    }

    /// One login journey with the tenant's default lifetimes: a login transaction, an SSO
    /// session (7 days), a code (60 s, remembered an hour longer) and its exchange, a
    /// refresh-token family (30 days), and an opaque `/userinfo` token (24 h).
    pub fn login_step(&mut self) -> Journey {
        self.store.purge_expired();
        let email = format!("user{}@example.com", self.journeys % USERS);
        self.journeys += 1;
        let request = AuthorizeRequest {
            client_id: "app".to_owned(),
            redirect_uri: "http://127.0.0.1:3000/auth/callback".to_owned(),
            redirect_uri_sent: true,
            scope: vec!["openid".to_owned(), "offline_access".to_owned()],
            state: Some("state".to_owned()),
            nonce: Some("nonce".to_owned()),
            code_challenge: Some("challenge".to_owned()),
            audience: None,
            max_age: None,
            acr_values: None,
            login_hint: None,
            dpop_jkt: None,
        };
        let transaction = self.store.create_transaction(request, HOUR);
        let request = self
            .store
            .finish_transaction(&transaction)
            .map(|t| t.request);
        let now = self.clock.now();
        let (cookie, session) =
            self.store
                .create_session(&email, now, vec!["pwd".to_owned()], 7 * 24 * HOUR);
        let code = match request {
            Some(request) => {
                self.store
                    .issue_code(request, &session, None, None, Duration::from_secs(60))
            }
            None => String::new(),
        };
        self.store.purge_expired();
        let fresh = matches!(self.store.use_code(&code, "app"), CodeUse::Fresh(_));
        let grant = RefreshFamily {
            client_id: "app".to_owned(),
            email: email.clone(),
            sid: session.sid.clone(),
            scope: vec!["openid".to_owned(), "offline_access".to_owned()],
            audience: None,
            auth_time: now,
            jkt: None,
            amr: vec!["pwd".to_owned()],
        };
        let (family, _) = self.store.refresh.issue(grant, 30 * 24 * HOUR);
        if fresh {
            self.store.link_code_family(&code, &family);
        }
        let token =
            self.store
                .issue_opaque_token(&email, vec!["openid".to_owned()], None, 24 * HOUR);
        Journey {
            cookie,
            code,
            family,
            token,
        }
    }

    /// Takes back what a journey left (its session, code, refresh-token family and opaque
    /// token), so that a benchmark keeps the number of journeys held steady.
    pub fn undo(&mut self, journey: Journey) {
        self.store.end_session(&journey.cookie);
        self.store.refresh.revoke_family(&journey.family);
        self.store
            .forget_code_and_token(&journey.code, &journey.token);
    }

    /// What the store held before this change did on each of the four purging calls of a
    /// journey: look at every stored item's deadline. Returns how many it looked at.
    pub fn walk_everything(&self) -> usize {
        self.store.walk_everything()
    }

    /// Moves the clock `secs` seconds forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(secs);
    }

    /// Forgets what is due; returns how many entries went.
    pub fn purge(&mut self) -> usize {
        self.store.purge_expired()
    }

    /// How many entries each part of the store holds.
    pub fn sizes(&self) -> StoreSizes {
        self.store.sizes()
    }
}

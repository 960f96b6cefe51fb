//! Client-Initiated Backchannel Authentication requests in flight, between `POST /bc-authorize`
//! and the token poll that redeems or refuses them (`routes/ciba.rs`).

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::Moment;

/// How long an expired request is remembered, so that a late poll is answered `access_denied`
/// (expired) rather than `invalid_grant` (unknown).
const EXPIRED_MEMORY: Duration = Duration::from_secs(3600);

/// One back-channel login request.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CibaRequest {
    pub(crate) client_id: String,
    pub(crate) email: String,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) outbox_id: String,
    pub(crate) expires_at: Moment,
    pub(crate) interval: Duration,
    pub(crate) last_poll: Option<Moment>,
}

/// The requests in flight, by `auth_req_id`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct CibaStore {
    pub(crate) requests: HashMap<String, CibaRequest>,
}

impl CibaStore {
    /// Forgets the requests that expired more than [`EXPIRED_MEMORY`] ago (a request nobody
    /// polls would otherwise stay for ever).
    pub(crate) fn purge(&mut self, now: Moment) {
        self.requests
            .retain(|_, r| r.expires_at + EXPIRED_MEMORY > now);
    }
}

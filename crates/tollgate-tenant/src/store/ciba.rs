//! Client-Initiated Backchannel Authentication requests in flight, between `POST /bc-authorize`
//! and the token poll that redeems or refuses them (`routes/ciba.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One back-channel login request.
#[derive(Debug)]
pub(crate) struct CibaRequest {
    pub(crate) client_id: String,
    pub(crate) email: String,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) outbox_id: String,
    pub(crate) expires_at: Instant,
    pub(crate) interval: Duration,
    pub(crate) last_poll: Option<Instant>,
}

/// The requests in flight, by `auth_req_id`.
#[derive(Debug, Default)]
pub(crate) struct CibaStore {
    pub(crate) requests: HashMap<String, CibaRequest>,
}

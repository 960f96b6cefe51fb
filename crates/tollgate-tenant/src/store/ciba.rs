//! Client-Initiated Backchannel Authentication requests in flight, between `POST /bc-authorize`
//! and the token poll that redeems or refuses them (`routes/ciba.rs`).

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::Moment;

/// One back-channel login request.
#[derive(Debug)]
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
#[derive(Debug, Default)]
pub(crate) struct CibaStore {
    pub(crate) requests: HashMap<String, CibaRequest>,
}

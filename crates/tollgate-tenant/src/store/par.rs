//! Pushed Authorization Requests (RFC 9126) waiting for the browser: stored by `POST /oauth/par`,
//! used once by `/authorize` (`routes/par.rs`).

use std::collections::HashMap;

use crate::clock::Moment;
use crate::http::params::Params;

/// One pushed request: its client and authorization parameters.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pushed {
    pub(crate) client_id: String,
    pub(crate) params: Params,
    pub(crate) expires_at: Moment,
}

/// Pushed requests by `request_uri`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ParStore {
    pub(crate) requests: HashMap<String, Pushed>,
}

impl ParStore {
    /// Forgets the requests that expired (they are refused from then on anyway).
    pub(crate) fn purge(&mut self, now: Moment) {
        self.requests.retain(|_, p| p.expires_at > now);
    }
}

//! The state back-channel deliveries need: the HTTP client, the runtime they run on and the
//! number in flight. It holds nothing of the tenant's, so `TenantState` can own it without a
//! module cycle.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::watch;

/// How long Auth0 waits for an answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client, the runtime deliveries run on, and the number in flight.
#[derive(Debug)]
pub(crate) struct Backchannel {
    client: OnceLock<Result<reqwest::Client, String>>,
    pub(super) runtime: Option<Handle>,
    pub(super) in_flight: watch::Sender<usize>,
}

impl Backchannel {
    /// Deliveries will run on the current Tokio runtime (the tenant's).
    pub(crate) fn new() -> Self {
        Self {
            client: OnceLock::new(),
            runtime: Handle::try_current().ok(),
            in_flight: watch::Sender::new(0),
        }
    }

    /// The client: 5 s timeout, no redirects, no proxy (made on first use).
    pub(super) fn client(&self) -> Result<&reqwest::Client, &str> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(TIMEOUT)
                    .no_proxy()
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Waits until every delivery started so far has finished (answered, failed or timed out).
    pub(crate) async fn settled(&self) {
        let mut in_flight = self.in_flight.subscribe();
        let _ = in_flight.wait_for(|n| *n == 0).await;
    }
}

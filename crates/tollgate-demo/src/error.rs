//! Why the demo could not start.

use std::net::SocketAddr;

/// Why [`start`](crate::start) failed. Each message names the setting to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The app's listen address is not an `IP:PORT`.
    #[error(
        "invalid app address {value:?}: write it as IP:PORT, e.g. 127.0.0.1:3000 (APP_ADDR or --app-addr)"
    )]
    InvalidAddress {
        /// What was given.
        value: String,
    },
    /// The app's listen address is not a loopback address; the demo only serves this machine.
    #[error(
        "the demo listens on loopback addresses only, not {addr}: use 127.0.0.1:PORT (APP_ADDR or --app-addr)"
    )]
    NotLoopback {
        /// What was given.
        addr: SocketAddr,
    },
    /// The app's port could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another demo running? choose another port with APP_ADDR or --app-addr)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The Tollgate configuration was refused.
    #[error("configuration: {0}")]
    Config(#[from] tollgate::ConfigError),
    /// The session store named by `TOLLGATE_SESSION_STORE` could not be opened (Redis
    /// unreachable, or refused the connection).
    #[error("session store: {0} (check TOLLGATE_SESSION_STORE and that the server is up)")]
    Store(#[from] tollgate::store::StoreError),
    /// The embedded tenant could not listen where it was told to.
    #[error("local tenant: {0} (choose another address with TENANT_ADDR or --tenant-addr)")]
    TenantAddress(tollgate_tenant::TenantError),
    /// The embedded tenant's state directory could not be used (not a directory, not
    /// writable, or a corrupt or newer state file in it).
    #[error(
        "local tenant state: {0} (choose another directory with TOLLGATE_DEMO_STATE_DIR, or set it to none to keep state in memory)"
    )]
    TenantState(tollgate_tenant::TenantError),
    /// The embedded tenant could not start for another reason.
    #[error("local tenant: {0}")]
    Tenant(tollgate_tenant::TenantError),
}

impl From<tollgate_tenant::TenantError> for DemoError {
    fn from(error: tollgate_tenant::TenantError) -> Self {
        use tollgate_tenant::TenantError as E;
        match error {
            E::InvalidListenAddress { .. } | E::NotLoopback { .. } | E::Bind { .. } => {
                Self::TenantAddress(error)
            }
            E::StateDir { .. } | E::CorruptState { .. } | E::StateVersion { .. } => {
                Self::TenantState(error)
            }
            other => Self::Tenant(other),
        }
    }
}

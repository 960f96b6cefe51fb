//! Why the demo could not start.

use std::net::SocketAddr;

/// Why [`start`](crate::start) failed. Each message names the setting to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The app's listen address is not an `IP:PORT`.
    #[error("invalid app address {value:?}: write it as IP:PORT, e.g. 127.0.0.1:3000 (APP_ADDR or --app-addr)")]
    InvalidAddress {
        /// What was given.
        value: String,
    },
    /// The app's listen address is not a loopback address; the demo only serves this machine.
    #[error("the demo listens on loopback addresses only, not {addr}: use 127.0.0.1:PORT (APP_ADDR or --app-addr)")]
    NotLoopback {
        /// What was given.
        addr: SocketAddr,
    },
    /// The app's port could not be bound.
    #[error("cannot listen on {addr}: {source} (is another demo running? choose another port with APP_ADDR or --app-addr)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The Tollgate configuration was refused.
    #[error("configuration: {0}")]
    Config(#[from] tollgate::ConfigError),
    /// The embedded tenant could not start.
    #[error("local tenant: {0} (choose another address with TENANT_ADDR or --tenant-addr)")]
    Tenant(#[from] tollgate_tenant::TenantError),
}

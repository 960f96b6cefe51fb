//! Errors from starting a tenant.

use std::path::PathBuf;

use crate::ConfigError;

/// Why a tenant could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TenantError {
    /// The configuration was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listen address is not `IP:PORT`.
    #[error("{value:?} is not a socket address; use e.g. 127.0.0.1:0")]
    InvalidListenAddress {
        /// The value given.
        value: String,
    },
    /// The listen address is not a loopback address; the tenant only serves this machine.
    #[error("{addr} is not a loopback address; the local tenant binds 127.0.0.1 (or ::1) only")]
    NotLoopback {
        /// The address given.
        addr: std::net::SocketAddr,
    },
    /// Binding the socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A signing key file could not be read.
    #[error("cannot read the signing key {}: {source}", path.display())]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A signing key file is not an RSA private key in PKCS#1 or PKCS#8 PEM.
    #[error("{} is not an RSA private key in PKCS#1 or PKCS#8 PEM", path.display())]
    InvalidKey {
        /// The file.
        path: PathBuf,
    },
    /// RSA key generation or encoding failed.
    #[error("cannot create an RSA signing key: {source}")]
    KeyGeneration {
        /// The underlying RSA or encoding error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The state directory (or a file in it) could not be created, read or written.
    #[error("state directory {}: {source} (check --state-dir / state_dir and its permissions)", path.display())]
    StateDir {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The state file is not a state snapshot this tenant can read (truncated, edited or not
    /// JSON). The tenant does not start empty over it: move the file away to start afresh.
    #[error("the state file {} is corrupt ({reason}); move it away to start with empty state", path.display())]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// What was wrong, as the JSON parser said.
        reason: String,
    },
    /// The state file was written by a newer tenant, in a format this one does not know.
    #[error(
        "the state file {} has format {found}, newer than the {supported} this tenant reads; \
         use the newer tenant or move the file away", path.display()
    )]
    StateVersion {
        /// The file.
        path: PathBuf,
        /// The format version in the file.
        found: u64,
        /// The newest format this tenant reads.
        supported: u64,
    },
    /// A listener on port 0 with an issuer that names no port: the issuer could not reach it.
    #[error(
        "issuer {issuer} has no port but the tenant listens on port 0 (any free port); give the \
         issuer a port or --listen a fixed one"
    )]
    IssuerNeedsPort {
        /// The configured issuer.
        issuer: String,
    },
    /// The issuer's host name does not resolve, or resolves to a non-loopback address.
    #[error(
        "issuer host {host:?} does not resolve to loopback addresses only; use localhost, \
         127.0.0.1, [::1] or a name mapped to loopback (e.g. in /etc/hosts)"
    )]
    IssuerHostNotLoopback {
        /// The host name.
        host: String,
    },
    /// A TLS certificate or key file could not be read or parsed.
    #[error("TLS file {}: {reason} (check --tls-cert / --tls-key or [tls])", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The TLS certificate could not be made or does not fit its key.
    #[error("cannot set up TLS: {reason}")]
    Tls {
        /// What went wrong.
        reason: String,
    },
}

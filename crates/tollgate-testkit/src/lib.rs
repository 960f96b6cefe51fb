//! What the Tollgate crates' integration tests share, in one place instead of copies in each test
//! file (`publish = false`: test support for this workspace, not a stable API).
//!
//! - [`now`]: the Unix time in seconds, as the SDK reads it.
//! - [`local_config`] / [`loopback_issuer`]: a [`ConfigBuilder`] for a client of a provider running
//!   on loopback over plain HTTP (the local tenant, the hostile OP, a Node provider).
//! - [`RedisServer`]: a throw-away `redis-server` on a free port, which tests can freeze and thaw.
//! - [`RedisCluster`]: a throw-away three-master Redis Cluster with replicas, whose masters tests
//!   can fail over.
//! - The session-store conformance suite is the core's own, for third-party stores too:
//!   `tollgate::store_conformance!` and `tollgate::store::conformance` (the `testing` feature).
//! - [`app`] and [`HttpBrowser`]: the axum adapter's test app against the local tenant, and a
//!   cookie-keeping HTTP client that never follows redirects.

pub mod app;
mod http_browser;
mod redis_cluster;
mod redis_server;

pub use app::TestApp;
pub use http_browser::{HttpBrowser, Resp};
pub use redis_cluster::RedisCluster;
pub use redis_server::RedisServer;

use tollgate::{Config, ConfigBuilder};

/// The Unix time in seconds, as the SDK reads it.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("invariant: the system clock is after 1970")
        .as_secs()
}

/// A config builder for the provider at `issuer` (an `http://127.0.0.1:…` URL), with plain HTTP to
/// loopback allowed; client and app settings are the caller's.
pub fn loopback_issuer(issuer: &str) -> ConfigBuilder {
    Config::builder()
        .domain(issuer)
        .insecure_allow_http_loopback_issuer()
}

/// A config builder for the client `client` (id, secret) of the loopback provider at `issuer`, for
/// an app at `app_base_url` sealing its cookies with `secret`: the settings every test against a
/// local provider starts from.
pub fn local_config(
    issuer: &str,
    client: (&str, &str),
    secret: &str,
    app_base_url: &str,
) -> ConfigBuilder {
    loopback_issuer(issuer)
        .client_id(client.0)
        .client_secret(client.1)
        .secret(secret)
        .app_base_url(app_base_url)
}

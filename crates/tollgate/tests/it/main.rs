//! The core's integration tests, one module per area, in one test binary: one link instead of one
//! per file, and helpers in `common` are shared rather than compiled into every binary.
//!
//! Nothing here relies on having a process of its own: no test mutates environment variables or
//! other process-global state, every server listens on a port the OS picked (the fault tests
//! start a provider again on the port it had), and the few process-wide caches (the hostile OP's
//! RSA key pool, the fake OP's key) are `OnceLock`s that every test may share.

mod common;

mod backchannel;
mod browser_module;
mod callback_errors;
mod ciba;
mod ciba_bounds;
mod cookie_store;
mod dpop;
mod fetcher;
mod id_token_algorithms;
mod id_token_failures;
mod memory_store;
mod my_account;
mod nextjs_live;
mod nextjs_vectors;
mod pitfalls;
mod private_key_jwt;
mod provider_faults;
#[cfg(feature = "redis")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_store;
mod reseal;
mod rp_conformance;
mod token_exchange;
mod userinfo;

//! The axum adapter's integration tests, one module per area, in one test binary: one link instead
//! of one per file, and the harness in `common` is shared rather than compiled into every binary.
//!
//! Nothing here relies on having a process of its own: no test mutates environment variables or
//! other process-global state, and every app, tenant, Redis and Node provider listens on a port the
//! OS picked.

mod common;

mod access_tokens;
mod api_tokens;
mod backchannel;
mod connected_accounts;
mod connection_tokens;
mod dynamic_base_url;
mod errors;
mod hooks;
mod https_tenant;
mod login_flow;
mod login_query;
mod logout;
mod mfa_api;
mod mfa_pages;
mod my_account_proxy;
mod oidc_provider;
mod open_redirect;
mod par;
mod popup;
mod redis_faults;
mod sessions;
mod silent_auth;
mod step_up;
mod stores;
mod testing_helper;

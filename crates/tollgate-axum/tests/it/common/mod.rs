//! The adapter's test harness: the test app against the local tenant and the cookie-keeping
//! [`HttpBrowser`] come from `tollgate-testkit` (shared with the other crates' tests); the Node
//! `oidc-provider` interop harness is the adapter's own.

pub(crate) use tollgate_testkit::app::*;
pub(crate) use tollgate_testkit::{HttpBrowser, Resp};

pub(crate) mod oidc_provider;

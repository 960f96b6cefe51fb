//! The repository's README.md and EXAMPLES.md as doctests: every Rust block in them is compiled
//! (and run, unless marked `no_run`) by `cargo test -p tollgate-axum --doc`, so an example that
//! stops compiling fails CI. This crate depends on both `tollgate` and `axum`, and its
//! dev-dependencies (`tollgate-tenant`, `tokio`, `reqwest`) cover the testing examples.

#[doc = include_str!("../../../README.md")]
mod readme {}

#[doc = include_str!("../../../EXAMPLES.md")]
mod examples {}

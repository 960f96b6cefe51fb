//! The demo's integration tests, in one test binary (one link instead of four):
//!
//! - `binary`: the built `tollgate-demo` executable, its flags and start-up message;
//! - `http`: the demo over plain HTTP;
//! - `state_dir`: a restart of the demo on the same state directory keeps sessions working;
//! - `browser` and `story`: the demo in real headless Chromium (`support::browser`), one
//!   Chromium at a time.

#[macro_use]
mod support;

mod binary;
mod browser;
mod http;
mod state_dir;
mod story;

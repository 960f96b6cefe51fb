//! Test support for the browser tests: a WebDriver client, a headless Chromium launcher and
//! one-time codes.

#![allow(dead_code, unreachable_pub, unused_imports)]

pub mod browser;
pub mod totp;
pub mod webdriver;

pub use browser::{Browser, artifacts_dir};

/// The outcome of one step of a browser scenario; the error says what went wrong.
pub type Step<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Returns an error from the enclosing step unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

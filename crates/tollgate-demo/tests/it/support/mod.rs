//! Test support for the browser tests: a WebDriver client, a headless Chromium launcher and
//! one-time codes.

pub(crate) mod browser;
pub(crate) mod totp;
pub(crate) mod webdriver;

pub(crate) use browser::{Browser, artifacts_dir};

/// The outcome of one step of a browser scenario; the error says what went wrong.
pub(crate) type Step<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Returns an error from the enclosing step unless `cond` holds (`#[macro_use]` in `main.rs`).
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

//! The callback's side of dynamic base URLs: a login finishes on the base URL it started at.

use url::Url;

use super::CallbackOutcome;
use crate::config::{Config, app_url_at};
use crate::error::{CallbackError, Error};
use crate::session::transaction::Transaction;

impl CallbackOutcome {
    /// The request's host is not an allowed base URL: nothing is read, set or redirected to.
    pub(super) fn refused(error: Error) -> Self {
        tracing::info!(error = %error, "login callback refused: host not allowed");
        Self {
            result: Err(error),
            cookies: crate::session::cookies::SetCookies::new(),
            mode: super::callback::CallbackMode::Redirect,
        }
    }
}

/// With an allow-list, the error when the transaction's `redirect_uri` (recorded at login, on the
/// login request's base URL) is not the callback request's: the code was issued for the other
/// one, and the session cookie would land on another host than the login's.
pub(super) fn callback_mismatch(
    config: &Config,
    app_base: &Url,
    txn: Option<&Transaction>,
) -> Option<Error> {
    let txn = txn.filter(|_| config.has_dynamic_base_url())?;
    let here = app_url_at(app_base, &config.routes.callback);
    if txn.redirect_uri == here.as_str() {
        return None;
    }
    let expected = Url::parse(&txn.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| txn.redirect_uri.clone());
    Some(
        CallbackError::BaseUrlMismatch {
            expected,
            found: app_base.origin().ascii_serialization(),
        }
        .into(),
    )
}

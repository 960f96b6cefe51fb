//! Auth0's My Account API (`{issuer}me/v1`) and My Organization API (`{issuer}my-org`): the
//! Connected Accounts flow, which links an account at another identity provider to the user, and
//! the authenticated proxy that lets the browser call both APIs while tokens and DPoP keys stay on
//! the server.

mod connect;
mod proxy;

use serde::{Deserialize, Serialize};

pub(crate) use connect::ConnectTransaction;
pub use connect::{
    CONNECT_AUTHORIZATION_PARAMS, ConnectAccountError, ConnectAccountOptions, ConnectRedirect,
    ConnectedAccount, ConnectedAccountsPage,
};
pub use proxy::{MyApi, PreparedProxy, ProxyError, ProxyOutcome};

/// The scope the Connected Accounts connect and complete calls need.
pub const SCOPE_CREATE_CONNECTED_ACCOUNTS: &str = "create:me:connected_accounts";
/// The scope listing connected accounts needs.
pub const SCOPE_READ_CONNECTED_ACCOUNTS: &str = "read:me:connected_accounts";
/// The scope deleting a connected account needs.
pub const SCOPE_DELETE_CONNECTED_ACCOUNTS: &str = "delete:me:connected_accounts";

/// An error answer of the My Account or My Organization API (RFC 7807 problem details).
///
/// ```
/// let body = br#"{"type":"https://auth0.com/api-errors/A0E-400-0003","status":400,"title":"Validation Error","detail":"Invalid request payload","validation_errors":[{"detail":"must be a string","field":"connection"}]}"#;
/// let e = tollgate::MyAccountApiError::from_response(400, body);
/// assert_eq!(e.status, 400);
/// assert_eq!(e.validation_errors[0].field.as_deref(), Some("connection"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MyAccountApiError {
    /// The problem type URI.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The HTTP status.
    #[serde(default)]
    pub status: u16,
    /// A short summary.
    #[serde(default)]
    pub title: String,
    /// What went wrong.
    #[serde(default)]
    pub detail: String,
    /// Which fields were invalid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<ValidationError>,
}

/// One invalid field of a My Account API request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidationError {
    /// What is wrong with it.
    #[serde(default)]
    pub detail: String,
    /// The field's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A JSON pointer to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Where it was (body, query, header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl MyAccountApiError {
    /// Reads an error answer; a body that is not problem JSON still gives the status.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let mut e = serde_json::from_slice::<Self>(body).unwrap_or_else(|_| Self {
            kind: String::new(),
            status,
            title: String::new(),
            detail: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
            validation_errors: Vec::new(),
        });
        e.status = status;
        e
    }
}

impl std::fmt::Display for MyAccountApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if !self.title.is_empty() {
            write!(f, " {}", self.title)?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        for v in &self.validation_errors {
            write!(
                f,
                "; {}{}",
                v.field
                    .as_deref()
                    .map(|n| format!("{n}: "))
                    .unwrap_or_default(),
                v.detail
            )?;
        }
        Ok(())
    }
}

impl crate::Tollgate {
    /// The My Account API for the signed-in user: Connected Accounts (link, list, unlink) and
    /// the `/me` and `/my-org` proxy.
    ///
    /// ```
    /// # fn f(auth: tollgate::Tollgate) {
    /// let opts = auth.my_account().token_options(tollgate::SCOPE_READ_CONNECTED_ACCOUNTS);
    /// assert_eq!(opts.audience_value(), Some(format!("{}me/", auth.config().issuer()).as_str()));
    /// # }
    /// ```
    pub fn my_account(&self) -> MyAccount<'_> {
        MyAccount { auth: self }
    }
}

/// The My Account and My Organization APIs, from [`Tollgate::my_account`](crate::Tollgate::my_account).
#[derive(Debug, Clone, Copy)]
pub struct MyAccount<'a> {
    auth: &'a crate::Tollgate,
}

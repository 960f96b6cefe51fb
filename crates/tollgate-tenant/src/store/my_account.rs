//! My Account API state: Connected Accounts tickets and `connect_code`s in flight, linked
//! accounts, and organization names changed through the My Organization API
//! (`my_account/connect.rs`).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::clock::{self, Moment};

/// What a ticket or a `connect_code` remembers of the connect request.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pending {
    pub(crate) auth_session: String,
    pub(crate) email: String,
    pub(crate) connection: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) jkt: Option<String>,
    pub(crate) expires_at: Moment,
}

/// A linked account.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) connection: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_at: u64,
}

impl Account {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "connection": self.connection,
            "access_type": "offline",
            "scopes": self.scopes,
            "created_at": clock::iso8601(self.created_at),
        })
    }
}

/// Tickets, codes, linked accounts, and organization names changed through the API.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct MyAccountStore {
    pub(crate) tickets: HashMap<String, Pending>,
    pub(crate) codes: HashMap<String, Pending>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) org_names: HashMap<String, String>,
}

impl MyAccountStore {
    /// Forgets the tickets and codes that expired before `now`.
    pub(crate) fn purge(&mut self, now: Moment) {
        self.tickets.retain(|_, p| p.expires_at > now);
        self.codes.retain(|_, p| p.expires_at > now);
    }

    /// Whether `email` linked an account at `connection` through the API.
    pub(crate) fn has_account(&self, email: &str, connection: &str) -> bool {
        self.accounts
            .iter()
            .any(|a| a.email == email && a.connection == connection)
    }

    pub(crate) fn org_display_name(&self, org: &str) -> Option<&str> {
        self.org_names.get(org).map(String::as_str)
    }

    pub(crate) fn set_org_display_name(&mut self, org: &str, name: String) {
        self.org_names.insert(org.to_owned(), name);
    }
}

//! The tenant's event log, like an Auth0 tenant's logs: logins, token grants, MFA, logouts and
//! back-channel logout deliveries, in memory, the newest last.
//!
//! Types use Auth0's log event codes (`s`, `f`, `seacft`, `sertft`, `ferrt`, `gd_auth_succeed`,
//! `slo`, `sslo`, …); the README lists every code the tenant records.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::{UserConfig, clock};

/// How many events the log keeps; older ones are dropped.
pub(crate) const CAPACITY: usize = 10_000;

/// One entry of the tenant's event log (see [`RunningTenant::events`]).
///
/// Serialised (at `GET /dev/logs.json`) with the member names of Auth0's log events:
/// `{"id","date","type","description","client_id","user_id","user_name","details"}`.
///
/// [`RunningTenant::events`]: crate::RunningTenant::events
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TenantEvent {
    /// A unique id: 24 decimal digits that sort in recording order.
    pub id: String,
    /// When it happened: RFC 3339 in UTC with milliseconds, `2024-05-01T12:34:56.789Z`.
    pub date: String,
    /// The Auth0 log event type code, such as `s`, `sertft` or `sslo` (`type` in JSON).
    #[serde(rename = "type")]
    pub kind: String,
    /// What happened, in words (for failures, the error description sent to the client).
    pub description: String,
    /// The application involved, when known.
    pub client_id: Option<String>,
    /// The user's `sub`, when known.
    pub user_id: Option<String>,
    /// The user's email (or, for a failed login, the username that was typed), when known.
    pub user_name: Option<String>,
    /// A JSON object with the particulars: `grant_type`, `audience`, `scope`, `error`, …
    pub details: Value,
}

impl TenantEvent {
    /// Whether the event has this type code.
    ///
    /// ```
    /// # fn check(event: &tollgate_tenant::TenantEvent) -> bool {
    /// event.is("sertft")
    /// # }
    /// ```
    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// The member `name` of [`details`](Self::details), if present.
    pub fn detail(&self, name: &str) -> Option<&Value> {
        self.details.get(name)
    }
}

/// An event being recorded: built by the code that saw it happen.
#[derive(Debug)]
pub(crate) struct NewEvent {
    kind: &'static str,
    description: String,
    client_id: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    details: Map<String, Value>,
}

impl NewEvent {
    /// An event of type `kind`.
    pub(crate) fn new(kind: &'static str, description: impl Into<String>) -> Self {
        Self {
            kind,
            description: description.into(),
            client_id: None,
            user_id: None,
            user_name: None,
            details: Map::new(),
        }
    }

    /// Names the application.
    pub(crate) fn client(mut self, client_id: Option<&str>) -> Self {
        self.client_id = client_id.map(str::to_owned);
        self
    }

    /// Names the user (`sub` and email).
    pub(crate) fn user(mut self, user: &UserConfig) -> Self {
        self.user_id = Some(user.sub());
        self.user_name = Some(user.email().to_owned());
        self
    }

    /// Names a user by the text that was typed (for an unknown user).
    pub(crate) fn user_name(mut self, name: &str) -> Self {
        self.user_name = Some(name.to_owned());
        self
    }

    /// Adds a member to `details`; `None` values are left out.
    pub(crate) fn detail(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if !value.is_null() {
            self.details.insert(name.to_owned(), value);
        }
        self
    }
}

#[derive(Debug, Default)]
struct Entries {
    events: VecDeque<TenantEvent>,
    next: u64,
}

/// The log: a bounded list and a signal that fires on every new event.
#[derive(Debug)]
pub(crate) struct EventLog {
    entries: Mutex<Entries>,
    recorded: watch::Sender<u64>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            recorded: watch::Sender::new(0),
        }
    }
}

impl EventLog {
    /// Records an event. Takes only the log's own lock, so it may be called while the store's
    /// lock is held.
    pub(crate) fn record(&self, event: NewEvent) {
        let seq = {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries.next += 1;
            let seq = entries.next;
            if entries.events.len() >= CAPACITY {
                entries.events.pop_front();
            }
            tracing::debug!(kind = event.kind, description = %event.description, "tenant event");
            entries.events.push_back(TenantEvent {
                id: format!("{seq:024}"),
                date: clock::rfc3339_now(),
                kind: event.kind.to_owned(),
                description: event.description,
                client_id: event.client_id,
                user_id: event.user_id,
                user_name: event.user_name,
                details: Value::Object(event.details),
            });
            seq
        };
        self.recorded.send_replace(seq);
    }

    /// Every event, oldest first.
    pub(crate) fn all(&self) -> Vec<TenantEvent> {
        self.matching(|_| true)
    }

    /// The events `predicate` accepts, oldest first.
    pub(crate) fn matching(&self, predicate: impl Fn(&TenantEvent) -> bool) -> Vec<TenantEvent> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .events
            .iter()
            .filter(|e| predicate(e))
            .cloned()
            .collect()
    }

    /// How many events `predicate` accepts.
    pub(crate) fn count(&self, predicate: impl Fn(&TenantEvent) -> bool) -> usize {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.events.iter().filter(|e| predicate(e)).count()
    }

    /// Forgets every event (ids keep increasing).
    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .events
            .clear();
    }

    /// Waits until `predicate` accepts at least `count` events, or `timeout` passes; returns the
    /// accepted events either way, oldest first.
    pub(crate) async fn wait_for(
        &self,
        predicate: impl Fn(&TenantEvent) -> bool,
        count: usize,
        timeout: Duration,
    ) -> Vec<TenantEvent> {
        let mut changes = self.recorded.subscribe();
        let wait = async {
            loop {
                let found = self.matching(&predicate);
                if found.len() >= count {
                    return found;
                }
                if changes.changed().await.is_err() {
                    return found;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(found) => found,
            Err(_) => self.matching(&predicate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_ordered_and_filtered() {
        let log = EventLog::default();
        for i in 0..CAPACITY + 5 {
            let kind = if i % 2 == 0 { "s" } else { "f" };
            log.record(
                NewEvent::new(kind, "x")
                    .detail("i", i)
                    .detail("none", None::<String>),
            );
        }
        let all = log.all();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].details["i"], 5);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        assert!(all[0].details.get("none").is_none());
        assert_eq!(log.count(|e| e.is("s")), CAPACITY / 2);
        log.clear();
        assert!(log.all().is_empty());
        log.record(NewEvent::new("s", "again"));
        assert_eq!(log.all()[0].id, format!("{:024}", CAPACITY + 6));
    }

    #[tokio::test]
    async fn waits_for_events() {
        let log = std::sync::Arc::new(EventLog::default());
        let writer = std::sync::Arc::clone(&log);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            writer.record(NewEvent::new("slo", "a"));
            writer.record(NewEvent::new("slo", "b"));
        });
        let found = log
            .wait_for(|e| e.is("slo"), 2, Duration::from_secs(5))
            .await;
        assert_eq!(found.len(), 2);
        let none = log
            .wait_for(|e| e.is("sslo"), 1, Duration::from_millis(10))
            .await;
        assert!(none.is_empty());
    }
}

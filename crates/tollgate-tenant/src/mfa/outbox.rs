//! The development outbox: SMS, voice and email messages and push requests that a real tenant
//! would send, kept in memory so tests and developers can read codes and answer pushes.

use std::fmt;

use serde::Serialize;

use crate::random;

/// How many messages the outbox keeps; older ones are dropped.
const CAPACITY: usize = 1000;

/// How a message was (pretend-)delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OutboxChannel {
    /// A text message with a code.
    Sms,
    /// A phone call reading out a code.
    Voice,
    /// An email with a code.
    Email,
    /// A push notification waiting for approval.
    Push,
}

impl OutboxChannel {
    /// `sms`, `voice`, `email` or `push`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
            Self::Email => "email",
            Self::Push => "push",
        }
    }
}

impl fmt::Display for OutboxChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for OutboxChannel {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for OutboxChannel {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The state of a push request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PushState {
    /// Waiting for the user.
    Pending,
    /// The user approved it.
    Approved,
    /// The user denied it.
    Denied,
}

impl PushState {
    /// `pending`, `approved` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }
}

impl fmt::Display for PushState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for PushState {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for PushState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One message in the development outbox (see
/// [`RunningTenant::outbox`](crate::RunningTenant::outbox)).
///
/// `channel` and `state` compare with strings: `message.channel == "sms"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct OutboxMessage {
    /// A unique id (`msg_…`); push requests are approved or denied by it.
    pub id: String,
    /// The email of the user the message is for.
    pub user_email: String,
    /// How it was delivered.
    pub channel: OutboxChannel,
    /// The phone number, email address or push device name.
    pub to: String,
    /// The 6-digit code, for SMS, voice and email.
    pub code: Option<String>,
    /// When it was sent, in Unix seconds.
    pub created_at: u64,
    /// For push requests: pending, approved or denied.
    pub state: Option<PushState>,
    /// For back-channel (CIBA) login requests: the message the app asked to show.
    pub binding_message: Option<String>,
}

/// All messages, oldest first.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Outbox {
    messages: Vec<OutboxMessage>,
}

impl Outbox {
    /// Records a message sent at `now` (Unix seconds); returns its id.
    pub(crate) fn send(
        &mut self,
        user_email: &str,
        channel: OutboxChannel,
        to: &str,
        code: Option<String>,
        now: u64,
    ) -> String {
        if self.messages.len() >= CAPACITY {
            self.messages.remove(0);
        }
        let id = format!("msg_{}", random::token(12));
        let state = (channel == OutboxChannel::Push).then_some(PushState::Pending);
        tracing::info!(%id, %channel, to, "MFA message placed in the development outbox");
        self.messages.push(OutboxMessage {
            id: id.clone(),
            user_email: user_email.to_owned(),
            channel,
            to: to.to_owned(),
            code,
            created_at: now,
            state,
            binding_message: None,
        });
        id
    }

    /// Records a back-channel (CIBA) login request waiting for the user's approval; returns its
    /// id, which [`answer_push`](Self::answer_push) approves or denies.
    pub(crate) fn send_login_request(
        &mut self,
        user_email: &str,
        to: &str,
        binding_message: &str,
        now: u64,
    ) -> String {
        let id = self.send(user_email, OutboxChannel::Push, to, None, now);
        if let Some(m) = self.messages.iter_mut().find(|m| m.id == id) {
            m.binding_message = Some(binding_message.to_owned());
        }
        id
    }

    /// Every message, oldest first.
    pub(crate) fn messages(&self) -> &[OutboxMessage] {
        &self.messages
    }

    /// The state of a push request.
    pub(crate) fn push_state(&self, id: &str) -> Option<PushState> {
        self.messages.iter().find(|m| m.id == id)?.state
    }

    /// Answers a pending push request; `false` if there is no pending push with this id.
    pub(crate) fn answer_push(&mut self, id: &str, approve: bool) -> bool {
        let Some(message) = self
            .messages
            .iter_mut()
            .find(|m| m.id == id && m.state == Some(PushState::Pending))
        else {
            return false;
        };
        message.state = Some(if approve {
            PushState::Approved
        } else {
            PushState::Denied
        });
        true
    }
}

//! SSO sessions by cookie value, with the indexes that keep every per-request operation from
//! walking all sessions: by expiry (to forget them), by `sid` (to add an application to one, or
//! end it from a back-channel or admin call) and by user (to end a user's sessions, and to cap
//! how many one user holds).

use std::collections::{HashMap, VecDeque};

use super::Session;
use super::expiry::Expiring;
use crate::clock::Moment;

/// How many SSO sessions one user may hold; a new login beyond that ends the user's oldest
/// session (silently: its applications keep their own sessions, but it no longer gives SSO).
pub(crate) const SESSIONS_PER_USER: usize = 1000;

/// The sessions and their indexes.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sessions {
    by_cookie: Expiring<String, Session>,
    /// `sid` → cookie value.
    by_sid: HashMap<String, String>,
    /// Lower-case email → cookie values, oldest first.
    by_user: HashMap<String, VecDeque<String>>,
}

impl Sessions {
    /// Keeps a new session until `forget_at`, ending the user's oldest one if they hold
    /// [`SESSIONS_PER_USER`] already; returns how many were ended that way.
    pub(crate) fn insert(&mut self, cookie: String, session: Session, forget_at: Moment) -> usize {
        let user = session.email.to_ascii_lowercase();
        let mut evicted = 0;
        let held = self.by_user.get(&user).map_or(0, VecDeque::len);
        if held >= SESSIONS_PER_USER {
            let oldest: Vec<String> = self
                .by_user
                .get(&user)
                .map(|cookies| {
                    cookies
                        .iter()
                        .take(held + 1 - SESSIONS_PER_USER)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            for cookie in oldest {
                evicted += usize::from(self.remove(&cookie).is_some());
            }
        }
        // A cookie value is random, so it is never reused; keep the indexes right anyway.
        self.remove(&cookie);
        self.by_sid.insert(session.sid.clone(), cookie.clone());
        self.by_user
            .entry(user)
            .or_default()
            .push_back(cookie.clone());
        self.by_cookie.insert(cookie, session, forget_at);
        evicted
    }

    /// Removes `session` (held at `cookie`) from the `sid` and user indexes.
    fn unlink(&mut self, cookie: &str, session: &Session) {
        unlink(&mut self.by_sid, &mut self.by_user, cookie, session);
    }

    /// The session at `cookie`, live or not.
    pub(crate) fn get(&self, cookie: &str) -> Option<&Session> {
        self.by_cookie.get(cookie)
    }

    /// The session at `cookie`, to change.
    pub(crate) fn get_mut(&mut self, cookie: &str) -> Option<&mut Session> {
        self.by_cookie.get_mut(cookie)
    }

    /// The session with this `sid`, to change.
    pub(crate) fn by_sid_mut(&mut self, sid: &str) -> Option<&mut Session> {
        let cookie = self.by_sid.get(sid)?;
        self.by_cookie.get_mut(cookie.as_str())
    }

    /// The cookie value of the session with this `sid`.
    pub(crate) fn cookie_of_sid(&self, sid: &str) -> Option<String> {
        self.by_sid.get(sid).cloned()
    }

    /// The cookie values of the sessions of the user with this email.
    pub(crate) fn cookies_of(&self, email: &str) -> Vec<String> {
        self.by_user
            .get(&email.to_ascii_lowercase())
            .map(|cookies| cookies.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Ends the session at `cookie`.
    pub(crate) fn remove(&mut self, cookie: &str) -> Option<Session> {
        let session = self.by_cookie.remove(cookie)?;
        self.unlink(cookie, &session);
        Some(session)
    }

    /// Forgets the sessions due at or before `now`; returns how many.
    pub(crate) fn pop_due(&mut self, now: Moment) -> usize {
        let Self {
            by_cookie,
            by_sid,
            by_user,
        } = self;
        let popped = by_cookie.pop_due(now, |cookie, session| {
            unlink(by_sid, by_user, &cookie, &session);
        });
        if popped > 0 {
            shrink(by_sid);
            shrink(by_user);
        }
        popped
    }

    /// Looks at every session's deadline (for the benchmark's comparison).
    #[cfg(feature = "bench")]
    pub(crate) fn walk(&self, now: Moment) -> usize {
        self.by_cookie.walk(now)
    }

    /// The number of sessions held.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn len(&self) -> usize {
        self.by_cookie.len()
    }

    /// The number of entries in the indexes (`sid`s, users), for the memory figures.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn index_len(&self) -> (usize, usize) {
        (self.by_sid.len(), self.by_user.len())
    }
}

fn unlink(
    by_sid: &mut HashMap<String, String>,
    by_user: &mut HashMap<String, VecDeque<String>>,
    cookie: &str,
    session: &Session,
) {
    if by_sid.get(&session.sid).is_some_and(|c| c == cookie) {
        by_sid.remove(&session.sid);
    }
    let user = session.email.to_ascii_lowercase();
    if let Some(cookies) = by_user.get_mut(&user) {
        if let Some(at) = cookies.iter().position(|c| c == cookie) {
            cookies.remove(at);
        }
        if cookies.is_empty() {
            by_user.remove(&user);
        }
    }
}

/// Gives memory back when a map holds less than a quarter of its capacity.
fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 1024 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

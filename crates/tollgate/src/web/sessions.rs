//! Reading and writing sessions through the [`SessionStore`]: the stateless cookie store by
//! default (the cookie carries the sealed session), or a server-side store (the cookie carries a
//! sealed id).

use std::sync::Arc;

use super::Tollgate;
use crate::error::Error;
use crate::session::SessionData;
use crate::session::cookies::{CookieJar, SetCookies};
use crate::session::store::{SessionStore, StoreError, UpdateOutcome};

/// A session read from a request, with what is needed to write it back safely.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    /// The session.
    pub data: SessionData,
    /// The store key, version and expiry it was read at.
    pub(crate) key: String,
    pub(crate) version: u64,
    pub(crate) exp: u64,
    /// Whether the key is a server-side id (not the sealed session itself).
    pub(crate) server_side: bool,
}

/// A session written back by [`Tollgate::save_session`] or rolled by
/// [`Tollgate::session_with_touch`], with the cookies that carry it (empty when nothing changed).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SavedSession {
    /// The session as stored now, to write over next time.
    pub session: LoadedSession,
    /// The `Set-Cookie` lines the response must carry.
    pub cookies: SetCookies,
}

impl SavedSession {
    fn unchanged(session: LoadedSession) -> Self {
        Self {
            session,
            cookies: SetCookies::new(),
        }
    }
}

impl LoadedSession {
    /// The server-side session id, when a server-side store is used.
    pub fn store_id(&self) -> Option<&str> {
        self.server_side.then_some(self.key.as_str())
    }
}

impl Tollgate {
    fn session_store(&self) -> &Arc<dyn SessionStore> {
        self.backend()
    }

    /// The server-side store, when one is used (not the stateless cookie store).
    pub(crate) fn store(&self) -> Option<&Arc<dyn SessionStore>> {
        let s = self.session_store();
        (!s.key_is_cookie()).then_some(s)
    }

    /// The store key the request's cookie carries.
    fn key_in(&self, jar: &CookieJar, now: u64) -> Option<String> {
        let codec = &self.codec();
        if self.session_store().key_is_cookie() {
            codec.raw_value(jar).map(|v| v.into_owned())
        } else {
            codec.read_id(jar, now).map(|(id, _)| id)
        }
    }

    /// `Set-Cookie` lines that carry `key` until `exp`.
    fn cookie_for(&self, jar: &CookieJar, key: &str, exp: u64, now: u64) -> SetCookies {
        let codec = &self.codec();
        if self.session_store().key_is_cookie() {
            codec.write_value(jar, key, exp, now).into()
        } else {
            codec.write_id(jar, key, exp, now).into()
        }
    }

    /// The session carried by a request, if any and valid.
    pub async fn session(&self, jar: &CookieJar) -> Result<Option<SessionData>, Error> {
        Ok(self.load_session(jar).await?.map(|l| l.data))
    }

    /// The session of a request with its write-back handle. A store outage is an error (503),
    /// never "logged out".
    pub async fn load_session(&self, jar: &CookieJar) -> Result<Option<LoadedSession>, Error> {
        let now = self.config().now();
        let Some(key) = self.key_in(jar, now) else {
            return Ok(None);
        };
        let server_side = !self.session_store().key_is_cookie();
        Ok(self
            .session_store()
            .get(&key, now)
            .await?
            .map(|s| LoadedSession {
                data: s.session,
                key,
                version: s.version,
                exp: s.expires_at,
                server_side,
            }))
    }

    /// Writes `data` over `loaded` (versioned) and returns the new handle and cookie lines.
    async fn write_over(
        &self,
        jar: &CookieJar,
        loaded: &LoadedSession,
        data: &SessionData,
        exp: u64,
        now: u64,
    ) -> Result<Result<SavedSession, UpdateOutcome>, Error> {
        let store = self.session_store();
        match store.update(&loaded.key, loaded.version, data, exp).await? {
            UpdateOutcome::Updated(version) => {
                let key = if store.key_is_cookie() {
                    store.new_key(data, exp)
                } else {
                    loaded.key.clone()
                };
                let cookies = self.cookie_for(jar, &key, exp, now);
                let session = LoadedSession {
                    data: data.clone(),
                    key,
                    version,
                    exp,
                    server_side: loaded.server_side,
                };
                Ok(Ok(SavedSession { session, cookies }))
            }
            other => Ok(Err(other)),
        }
    }

    /// Reads the session and performs a rolling touch when one is due: the cookies of the result
    /// are empty when nothing changes. The touch is a versioned update that never resurrects a
    /// session ended meanwhile.
    pub async fn session_with_touch(&self, jar: &CookieJar) -> Result<Option<SavedSession>, Error> {
        let Some(loaded) = self.load_session(jar).await? else {
            return Ok(None);
        };
        if let Some(hook) = &self.hooks().before_session_rolled
            && !hook(&loaded.data)
        {
            return Ok(Some(SavedSession::unchanged(loaded)));
        }
        let now = self.config().now();
        let Some(new_exp) = self.codec().rolled_exp(&loaded.data, loaded.exp, now) else {
            return Ok(Some(SavedSession::unchanged(loaded)));
        };
        let data = loaded.data.clone();
        match self.write_over(jar, &loaded, &data, new_exp, now).await? {
            Ok(saved) => Ok(Some(saved)),
            Err(UpdateOutcome::Missing) => Ok(None),
            Err(_) => Ok(Some(SavedSession::unchanged(loaded))),
        }
    }

    /// Saves a changed session. With a server-side store the write is versioned: when another
    /// request wrote first, nothing is overwritten and [`StoreError::Conflict`] is returned.
    pub async fn save_session(
        &self,
        jar: &CookieJar,
        loaded: &LoadedSession,
        data: &SessionData,
    ) -> Result<SavedSession, Error> {
        let now = self.config().now();
        let exp = now + self.codec().remaining(data, now);
        match self.write_over(jar, loaded, data, exp, now).await? {
            Ok(saved) => Ok(saved),
            Err(UpdateOutcome::Conflict) => Err(StoreError::Conflict.into()),
            Err(_) => Err(StoreError::Unavailable("the session no longer exists".into()).into()),
        }
    }

    /// Stores a new session at login under a new key. With a server-side store the session the
    /// request carried before is deleted (fixation defence).
    pub(crate) async fn create_session(
        &self,
        jar: &CookieJar,
        data: &SessionData,
    ) -> Result<SetCookies, Error> {
        let now = self.config().now();
        let store = self.session_store();
        let exp = now + self.codec().remaining(data, now);
        if exp <= now {
            return Ok(self.codec().clear(jar).into());
        }
        if !store.key_is_cookie()
            && let Some(old) = self.key_in(jar, now)
        {
            store.delete(&old).await?;
        }
        let key = store.new_key(data, exp);
        store.set(&key, data, exp).await?;
        Ok(self.cookie_for(jar, &key, exp, now))
    }

    /// Ends the request's session: deletes it from the store and returns the cookie deletions.
    pub(crate) async fn end_session(&self, jar: &CookieJar) -> SetCookies {
        if let Some(key) = self.key_in(jar, self.config().now())
            && let Err(e) = self.session_store().delete(&key).await
        {
            tracing::warn!(error = %e, "could not end the session in the store");
        }
        self.codec().clear(jar).into()
    }
}

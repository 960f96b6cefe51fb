//! Reading and writing sessions through the [`SessionStore`]: the stateless cookie store by
//! default (the cookie carries the sealed session), or a server-side store (the cookie carries a
//! sealed id).

use std::sync::Arc;

use super::Tollgate;
use crate::error::Error;
use crate::session::SessionData;
use crate::session::cookies::{CookieJar, SetCookies};
use crate::session::store::{ReadProof, SessionStore, StoreError, UpdateOutcome};

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
    /// The stateless store's evidence that it opened `key` for this request: writing the session
    /// back then does not open the cookie again.
    pub(crate) proof: Option<ReadProof>,
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
                proof: s.proof,
                data: s.session,
                key,
                version: s.version,
                exp: s.expires_at,
                server_side,
            }))
    }

    /// Writes `data` over the session read as `loaded` (versioned) and returns the new handle and
    /// cookie lines; `data` comes back with the outcome when nothing was written. The session is
    /// moved into the new handle, never copied, and the store is handed the read's proof so that
    /// the stateless cookie is not opened a second time.
    async fn write_over(
        &self,
        jar: &CookieJar,
        loaded: &LoadedSession,
        data: SessionData,
        exp: u64,
        now: u64,
    ) -> Result<Result<SavedSession, (UpdateOutcome, SessionData)>, Error> {
        let store = self.session_store();
        let outcome = store
            .update_verified(
                &loaded.key,
                loaded.version,
                loaded.proof.as_ref(),
                &data,
                exp,
            )
            .await?;
        let UpdateOutcome::Updated(version) = outcome else {
            return Ok(Err((outcome, data)));
        };
        let (key, proof) = if store.key_is_cookie() {
            let key = store.new_key(&data, exp);
            // The SDK sealed this value itself from the session the proof vouches for.
            let proof = loaded.proof.as_ref().map(|p| p.rebound_to(&key));
            (key, proof)
        } else {
            (loaded.key.clone(), None)
        };
        let cookies = self.cookie_for(jar, &key, exp, now);
        let session = LoadedSession {
            data,
            key,
            version,
            exp,
            server_side: loaded.server_side,
            proof,
        };
        Ok(Ok(SavedSession { session, cookies }))
    }

    /// Reads the session and performs a rolling touch when one is due: the cookies of the result
    /// are empty when nothing changes. The touch is a versioned update that never resurrects a
    /// session ended meanwhile. With the stateless cookie store the cookie is opened once: the
    /// re-seal costs one read and one write.
    pub async fn session_with_touch(&self, jar: &CookieJar) -> Result<Option<SavedSession>, Error> {
        let Some(mut loaded) = self.load_session(jar).await? else {
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
        let data = std::mem::take(&mut loaded.data);
        match self.write_over(jar, &loaded, data, new_exp, now).await? {
            Ok(saved) => Ok(Some(saved)),
            Err((UpdateOutcome::Missing, _)) => Ok(None),
            Err((_, data)) => {
                loaded.data = data;
                Ok(Some(SavedSession::unchanged(loaded)))
            }
        }
    }

    /// Saves a changed session. With a server-side store the write is versioned: when another
    /// request wrote first, nothing is overwritten and [`StoreError::Conflict`] is returned.
    /// [`save_loaded`](Self::save_loaded) does the same without copying the session.
    pub async fn save_session(
        &self,
        jar: &CookieJar,
        loaded: &LoadedSession,
        data: &SessionData,
    ) -> Result<SavedSession, Error> {
        self.save_as(jar, loaded, data.clone()).await
    }

    /// Saves `loaded.data` as the handler changed it in place: [`save_session`](Self::save_session)
    /// with the session moved into the result rather than copied.
    ///
    /// ```no_run
    /// # async fn run(auth: tollgate::Tollgate, jar: tollgate::CookieJar) -> Result<(), tollgate::Error> {
    /// if let Some(mut loaded) = auth.load_session(&jar).await? {
    ///     loaded.data.extra.insert("theme".into(), "dark".into());
    ///     let saved = auth.save_loaded(&jar, loaded).await?;
    ///     // Send `saved.cookies` with the response.
    /// #   let _ = saved;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn save_loaded(
        &self,
        jar: &CookieJar,
        mut loaded: LoadedSession,
    ) -> Result<SavedSession, Error> {
        let data = std::mem::take(&mut loaded.data);
        self.save_as(jar, &loaded, data).await
    }

    async fn save_as(
        &self,
        jar: &CookieJar,
        loaded: &LoadedSession,
        data: SessionData,
    ) -> Result<SavedSession, Error> {
        let now = self.config().now();
        let exp = now + self.codec().remaining(&data, now);
        match self.write_over(jar, loaded, data, exp, now).await? {
            Ok(saved) => Ok(saved),
            Err((UpdateOutcome::Conflict, _)) => Err(StoreError::Conflict.into()),
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

#[cfg(test)]
mod tests;

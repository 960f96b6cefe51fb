//! Reading and writing sessions, in the cookie (stateless, the default) or in a server-side store
//! with only a sealed id in the cookie.

use std::sync::Arc;

use super::Tollgate;
use crate::cookies::CookieJar;
use crate::error::Error;
use crate::session::SessionData;
use crate::store::{SessionStore, StoreError, UpdateOutcome};

/// Where sessions live.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Cookie,
    Store(Arc<dyn SessionStore>),
}

/// A session read from a request, with what is needed to write it back safely.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    /// The session.
    pub data: SessionData,
    pub(crate) handle: Handle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handle {
    /// The whole session is in the cookie, which expires at `exp`.
    Cookie { exp: u64 },
    /// The session is in the store under `id`, at `version`, expiring at `exp`.
    Stored { id: String, version: u64, exp: u64 },
}

impl LoadedSession {
    /// The server-side session id, when a store is used.
    pub fn store_id(&self) -> Option<&str> {
        match &self.handle {
            Handle::Stored { id, .. } => Some(id),
            Handle::Cookie { .. } => None,
        }
    }
}

impl Tollgate {
    /// The server-side store, when one is used.
    pub(crate) fn store(&self) -> Option<&Arc<dyn SessionStore>> {
        match &self.inner().backend {
            Backend::Store(s) => Some(s),
            Backend::Cookie => None,
        }
    }

    /// The session carried by a request, if any and valid.
    pub async fn session(&self, jar: &CookieJar) -> Result<Option<SessionData>, Error> {
        Ok(self.load_session(jar).await?.map(|l| l.data))
    }

    /// The session of a request with its write-back handle. A store outage is an error (503),
    /// never "logged out".
    pub async fn load_session(&self, jar: &CookieJar) -> Result<Option<LoadedSession>, Error> {
        let now = crate::time::now();
        let codec = &self.inner().sessions;
        let loaded = match &self.inner().backend {
            Backend::Cookie => codec.read(jar, now).map(|(data, exp)| LoadedSession {
                data,
                handle: Handle::Cookie { exp },
            }),
            Backend::Store(store) => {
                let Some((id, _)) = codec.read_id(jar, now) else {
                    return Ok(None);
                };
                store.get(&id, now).await?.map(|s| LoadedSession {
                    data: s.session,
                    handle: Handle::Stored {
                        id,
                        version: s.version,
                        exp: s.expires_at,
                    },
                })
            }
        };
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        let d = &loaded.data;
        // Back-channel logout ends cookie sessions through the revocation list.
        if self
            .inner()
            .revocations
            .is_revoked(&d.internal.sid, d.user.sub(), d.internal.created_at)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(loaded))
    }

    /// Reads the session and performs a rolling touch when one is due: returns the `Set-Cookie`
    /// lines (empty when nothing changes). With a store, the touch is a versioned update that never
    /// resurrects a session deleted meanwhile.
    pub async fn session_with_touch(
        &self,
        jar: &CookieJar,
    ) -> Result<Option<(LoadedSession, Vec<String>)>, Error> {
        let Some(mut loaded) = self.load_session(jar).await? else {
            return Ok(None);
        };
        if let Some(hook) = &self.hooks().before_session_rolled
            && !hook(&loaded.data)
        {
            return Ok(Some((loaded, Vec::new())));
        }
        let now = crate::time::now();
        let codec = &self.inner().sessions;
        let lines = match (&self.inner().backend, &mut loaded.handle) {
            (Backend::Cookie, Handle::Cookie { exp }) => {
                let lines = codec.touch(jar, &loaded.data, *exp, now);
                if let Some(e) = codec.rolled_exp(&loaded.data, *exp, now) {
                    *exp = e;
                }
                lines
            }
            (Backend::Store(store), Handle::Stored { id, version, exp }) => {
                match codec.rolled_exp(&loaded.data, *exp, now) {
                    None => Vec::new(),
                    Some(new_exp) => match store.update(id, *version, &loaded.data, new_exp).await?
                    {
                        UpdateOutcome::Updated(v) => {
                            *version = v;
                            *exp = new_exp;
                            codec.write_id(jar, id, new_exp, now)
                        }
                        UpdateOutcome::Missing => return Ok(None),
                        UpdateOutcome::Conflict => Vec::new(),
                    },
                }
            }
            _ => Vec::new(),
        };
        Ok(Some((loaded, lines)))
    }

    /// Saves a changed session. With a store the write is versioned: when another request wrote
    /// first, nothing is overwritten and [`StoreError::Conflict`] is returned.
    pub async fn save_session(
        &self,
        jar: &CookieJar,
        loaded: &LoadedSession,
        data: &SessionData,
    ) -> Result<(LoadedSession, Vec<String>), Error> {
        let now = crate::time::now();
        let codec = &self.inner().sessions;
        match (&self.inner().backend, &loaded.handle) {
            (Backend::Store(store), Handle::Stored { id, version, .. }) => {
                let exp = now + codec.remaining(data, now);
                match store.update(id, *version, data, exp).await? {
                    UpdateOutcome::Updated(v) => Ok((
                        LoadedSession {
                            data: data.clone(),
                            handle: Handle::Stored {
                                id: id.clone(),
                                version: v,
                                exp,
                            },
                        },
                        codec.write_id(jar, id, exp, now),
                    )),
                    UpdateOutcome::Missing => {
                        Err(StoreError::Unavailable("the session no longer exists".into()).into())
                    }
                    UpdateOutcome::Conflict => Err(StoreError::Conflict.into()),
                }
            }
            _ => {
                let exp = now + codec.remaining(data, now);
                Ok((
                    LoadedSession {
                        data: data.clone(),
                        handle: Handle::Cookie { exp },
                    },
                    codec.write(jar, data, now),
                ))
            }
        }
    }

    /// Stores a new session at login. With a store it gets a new id, and the session the request
    /// carried before is deleted (fixation defence).
    pub(crate) async fn create_session(
        &self,
        jar: &CookieJar,
        data: &SessionData,
    ) -> Result<Vec<String>, Error> {
        let now = crate::time::now();
        let codec = &self.inner().sessions;
        match &self.inner().backend {
            Backend::Cookie => Ok(codec.write(jar, data, now)),
            Backend::Store(store) => {
                if let Some((old, _)) = codec.read_id(jar, now) {
                    store.delete(&old).await?;
                }
                let id = crate::random::token(32);
                let exp = now + codec.remaining(data, now);
                store.set(&id, data, exp).await?;
                Ok(codec.write_id(jar, &id, exp, now))
            }
        }
    }

    /// Ends the request's session: deletes it from the store and returns the cookie deletions.
    pub(crate) async fn end_session(&self, jar: &CookieJar) -> Vec<String> {
        let codec = &self.inner().sessions;
        if let Backend::Store(store) = &self.inner().backend
            && let Some((id, _)) = codec.read_id(jar, crate::time::now())
            && let Err(e) = store.delete(&id).await
        {
            tracing::warn!(error = %e, "could not delete the session from the store");
        }
        codec.clear(jar)
    }
}

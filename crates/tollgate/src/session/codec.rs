//! The stateless session store: the whole session sealed in the `__session` cookie (chunked above
//! 3,500 bytes), in the exact nextjs-auth0 v4 format.

use serde::Serialize;

use crate::config::SessionConfig;
use crate::session::SessionData;
use crate::session::cookies::CookieJar;
use crate::session::jwe;
use crate::session::secret::{KeyPurpose, Keyring, Secret};

/// Leeway on the cookie's own `exp`, as nextjs-auth0 reads it.
pub(crate) const EXP_TOLERANCE: u64 = 15;

/// A rolling session is re-sealed only when its expiry would move by at least this much, so a burst
/// of requests does not pay for a new cookie each time.
pub const ROLLING_GRANULARITY: u64 = 60;

/// Reads and writes sessions in cookies. Keys are derived once, when this is built.
///
/// ```
/// use tollgate::{CookieJar, CookieSessionCodec, Config, SessionData};
/// let config = Config::builder()
///     .domain("example.auth0.com").client_id("id").client_secret("s")
///     .secret("0123456789abcdef0123456789abcdef").app_base_url("https://app.example.com")
///     .build().unwrap();
/// let codec = CookieSessionCodec::new(&config);
/// let mut session = SessionData::default();
/// session.internal.created_at = 1_800_000_000;
/// let lines = codec.write(&CookieJar::default(), &session, 1_800_000_000);
/// let header = lines[0].split(';').next().unwrap();
/// let (read, _exp) = codec.read(&CookieJar::parse(header), 1_800_000_001).unwrap();
/// assert_eq!(read, session);
/// ```
#[derive(Debug, Clone)]
pub struct CookieSessionCodec {
    keys: Keyring,
    config: SessionConfig,
}

#[derive(Serialize)]
struct Sealed<'a> {
    #[serde(flatten)]
    data: &'a SessionData,
    exp: u64,
}

impl CookieSessionCodec {
    /// A codec for `config`'s secrets and session settings.
    pub fn new(config: &crate::Config) -> Self {
        Self::with_secrets(&config.secrets, config.session.clone())
    }

    pub(crate) fn with_secrets(secrets: &[Secret], config: SessionConfig) -> Self {
        Self {
            keys: Keyring::derive(secrets, KeyPurpose::Session)
                .expect("invariant: a built Config has at least one secret"),
            config,
        }
    }

    /// The session in `jar` and the cookie's expiry, or `None` when there is none, or it is
    /// incomplete, tampered with, sealed with an unknown secret, malformed or expired.
    pub fn read(&self, jar: &CookieJar, now: u64) -> Option<(SessionData, u64)> {
        self.open_session(&jar.get_chunked(&self.config.cookie_name)?, now)
    }

    /// Opens a sealed session value (the cookie's content).
    pub(crate) fn open_session(&self, sealed: &str, now: u64) -> Option<(SessionData, u64)> {
        let parsed = jwe::open_with(&self.keys, sealed, |plain| {
            // Validating UTF-8 once for the whole buffer is much faster than serde_json doing it
            // per string.
            let text = std::str::from_utf8(plain).ok()?;
            serde_json::from_str::<SessionData>(text).ok()
        });
        let mut data = match parsed {
            Ok(data) => data?,
            Err(e) => {
                tracing::debug!(reason = ?e, "ignoring a session cookie that does not open");
                return None;
            }
        };
        let exp = data.extra.remove("exp")?.as_u64()?;
        if now > exp.saturating_add(EXP_TOLERANCE) {
            return None;
        }
        Some((data, exp))
    }

    fn open_cookie(&self, jar: &CookieJar) -> Option<Vec<u8>> {
        let sealed = jar.get_chunked(&self.config.cookie_name)?;
        match jwe::open(&self.keys, &sealed) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::debug!(reason = ?e, "ignoring a session cookie that does not open");
                None
            }
        }
    }

    /// The session id in a server-side store's cookie (`{id, exp}`, nextjs-auth0's stateful format).
    pub(crate) fn read_id(&self, jar: &CookieJar, now: u64) -> Option<(String, u64)> {
        #[derive(serde::Deserialize)]
        struct IdCookie {
            id: String,
            exp: u64,
        }
        let c: IdCookie = serde_json::from_slice(&self.open_cookie(jar)?).ok()?;
        (now <= c.exp.saturating_add(EXP_TOLERANCE) && !c.id.is_empty()).then_some((c.id, c.exp))
    }

    /// `Set-Cookie` lines for a server-side store's cookie holding `id` until `exp`.
    pub(crate) fn write_id(&self, jar: &CookieJar, id: &str, exp: u64, now: u64) -> Vec<String> {
        let json = serde_json::json!({"id": id, "exp": exp}).to_string();
        let value = jwe::seal(&self.keys, json.as_bytes());
        let age = (!self.config.transient).then_some(exp.saturating_sub(now));
        self.config
            .cookie
            .set_chunked(jar, &self.config.cookie_name, &value, age)
    }

    /// Seconds the session may still live from `now`, per the rolling and absolute rules;
    /// `0` when it has ended.
    pub fn remaining(&self, session: &SessionData, now: u64) -> u64 {
        let absolute_end = session
            .internal
            .created_at
            .saturating_add(self.config.absolute_duration.as_secs());
        let left = absolute_end.saturating_sub(now);
        if self.config.rolling {
            left.min(self.config.inactivity_duration.as_secs())
        } else {
            left
        }
    }

    /// `Set-Cookie` lines that store `session` (replacing whatever layout `jar` had).
    pub fn write(&self, jar: &CookieJar, session: &SessionData, now: u64) -> Vec<String> {
        let max_age = self.remaining(session, now);
        if max_age == 0 {
            return self.clear(jar);
        }
        let value = self.seal_session(session, now + max_age);
        self.write_value(jar, &value, now + max_age, now)
    }

    /// Seals `session` with the cookie's own expiry `exp`.
    pub(crate) fn seal_session(&self, session: &SessionData, exp: u64) -> String {
        let json = serde_json::to_vec(&Sealed { data: session, exp })
            .expect("invariant: session data always serialises");
        jwe::seal(&self.keys, &json)
    }

    /// `Set-Cookie` lines carrying a sealed value (chunked when long) until `exp`.
    pub(crate) fn write_value(
        &self,
        jar: &CookieJar,
        value: &str,
        exp: u64,
        now: u64,
    ) -> Vec<String> {
        let age = (!self.config.transient).then_some(exp.saturating_sub(now));
        self.config
            .cookie
            .set_chunked(jar, &self.config.cookie_name, value, age)
    }

    /// The sealed value the cookie carries, as it is.
    pub(crate) fn raw_value<'a>(&self, jar: &'a CookieJar) -> Option<std::borrow::Cow<'a, str>> {
        jar.get_chunked(&self.config.cookie_name)
    }

    /// `Set-Cookie` lines for a rolling touch: empty when sessions do not roll or when the expiry
    /// would move by less than [`ROLLING_GRANULARITY`].
    pub fn touch(
        &self,
        jar: &CookieJar,
        session: &SessionData,
        cookie_exp: u64,
        now: u64,
    ) -> Vec<String> {
        match self.rolled_exp(session, cookie_exp, now) {
            Some(_) => self.write(jar, session, now),
            None => Vec::new(),
        }
    }

    /// The new expiry when a rolling touch is due: sessions roll and the expiry would move by at
    /// least [`ROLLING_GRANULARITY`].
    pub(crate) fn rolled_exp(
        &self,
        session: &SessionData,
        current_exp: u64,
        now: u64,
    ) -> Option<u64> {
        if !self.config.rolling {
            return None;
        }
        let new_exp = now + self.remaining(session, now);
        (new_exp >= current_exp.saturating_add(ROLLING_GRANULARITY)).then_some(new_exp)
    }

    /// `Set-Cookie` lines deleting the session cookie and all its chunks.
    pub fn clear(&self, jar: &CookieJar) -> Vec<String> {
        self.config
            .cookie
            .delete_chunked(jar, &self.config.cookie_name)
    }
}

//! Choosing the session store from the environment (`TOLLGATE_SESSION_STORE`), so an app built
//! on [`Config::from_env`](crate::Config::from_env) moves its sessions to Redis without code.

use std::sync::Arc;

use super::{MemoryStore, SessionStore, StoreError};
use crate::ConfigError;

/// The variable that names the session store.
pub const SESSION_STORE_VAR: &str = "TOLLGATE_SESSION_STORE";

/// The variable that sets the Redis key prefix (default `tollgate:`).
pub const SESSION_STORE_PREFIX_VAR: &str = "TOLLGATE_SESSION_STORE_PREFIX";

/// What the value accepts, for error messages.
const EXPECTED: &str = "cookie (the default: the session in the cookie), memory (this process only), or a Redis URL: redis://host:6379/0, rediss://host:6380/0 (TLS) or redis+unix:///path/to/redis.sock";

/// Which session store to use, as `TOLLGATE_SESSION_STORE` says.
///
/// | value | store |
/// |---|---|
/// | unset, empty, `cookie` | the default: the whole session sealed in the cookie (stateless) |
/// | `memory` | [`MemoryStore`]: this process only (tests, one instance) |
/// | `redis://host:port/db`, `rediss://…` (TLS), `redis+unix:///path` | [`RedisStore`](crate::store), shared by every instance; key prefix from `TOLLGATE_SESSION_STORE_PREFIX` (default `tollgate:`) |
///
/// A value is checked when it is read (a bad URL fails there, naming the variable, with any
/// password in it hidden), and the connection when [`open`](Self::open) runs, so an unreachable
/// Redis stops the app at start-up instead of at the first login.
///
/// ```
/// use tollgate::store::StoreChoice;
///
/// let get = |name: &str| (name == "TOLLGATE_SESSION_STORE").then(|| "memory".to_owned());
/// assert_eq!(StoreChoice::from_vars(get)?, StoreChoice::Memory);
/// assert_eq!(StoreChoice::from_vars(|_| None)?, StoreChoice::Cookie);
///
/// let bad = |name: &str| (name == "TOLLGATE_SESSION_STORE").then(|| "postgres://db".to_owned());
/// let err = StoreChoice::from_vars(bad).unwrap_err();
/// assert!(err.to_string().contains("TOLLGATE_SESSION_STORE"));
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreChoice {
    /// The session in the cookie (no server-side store).
    Cookie,
    /// [`MemoryStore`].
    Memory,
    /// Redis at `url`, keys under `prefix`.
    Redis {
        /// The connection URL (may hold a password: never printed).
        url: String,
        /// The key prefix.
        prefix: String,
    },
}

impl std::fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cookie => f.write_str("Cookie"),
            Self::Memory => f.write_str("Memory"),
            Self::Redis { url, prefix } => f
                .debug_struct("Redis")
                .field("url", &redacted(url))
                .field("prefix", prefix)
                .finish(),
        }
    }
}

impl StoreChoice {
    /// Reads `TOLLGATE_SESSION_STORE` and `TOLLGATE_SESSION_STORE_PREFIX` from the process
    /// environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = get(SESSION_STORE_VAR).unwrap_or_default();
        let value = value.trim();
        let prefix = get(SESSION_STORE_PREFIX_VAR);
        let choice = match value {
            "" | "cookie" => Self::Cookie,
            "memory" => Self::Memory,
            url if is_redis_url(url) => Self::Redis {
                url: check_redis_url(url)?,
                prefix: check_prefix(prefix.as_deref())?,
            },
            other => {
                return Err(ConfigError::InvalidValue {
                    name: SESSION_STORE_VAR,
                    value: redacted(other),
                    expected: EXPECTED,
                });
            }
        };
        if prefix.is_some() && !matches!(choice, Self::Redis { .. }) {
            return Err(ConfigError::InvalidValue {
                name: SESSION_STORE_PREFIX_VAR,
                value: prefix.unwrap_or_default(),
                expected: "to be set only with a Redis TOLLGATE_SESSION_STORE",
            });
        }
        Ok(choice)
    }

    /// Opens the store: `None` for the cookie store (the default of
    /// [`TollgateBuilder`](crate::TollgateBuilder)), else the store to pass to
    /// [`TollgateBuilder::store`](crate::TollgateBuilder::store). Redis is connected now, so an
    /// unreachable server is an error here.
    ///
    /// ```no_run
    /// # async fn run(config: tollgate::Config) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut builder = tollgate::Tollgate::builder(config);
    /// if let Some(store) = tollgate::store::StoreChoice::from_env()?.open().await? {
    ///     builder = builder.store(store);
    /// }
    /// let auth = builder.build();
    /// # Ok(()) }
    /// ```
    pub async fn open(&self) -> Result<Option<Arc<dyn SessionStore>>, StoreError> {
        match self {
            Self::Cookie => Ok(None),
            Self::Memory => Ok(Some(Arc::new(MemoryStore::new()))),
            Self::Redis { url, prefix } => open_redis(url, prefix).await,
        }
    }

    /// Whether sessions live outside the cookie, where every instance sees them.
    pub fn is_server_side(&self) -> bool {
        !matches!(self, Self::Cookie)
    }
}

fn is_redis_url(value: &str) -> bool {
    ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|s| value.len() > s.len() && value[..s.len()].eq_ignore_ascii_case(s))
}

#[cfg(feature = "redis")]
fn check_redis_url(url: &str) -> Result<String, ConfigError> {
    match redis::Client::open(url) {
        Ok(_) => Ok(url.to_owned()),
        Err(_) => Err(ConfigError::InvalidValue {
            name: SESSION_STORE_VAR,
            value: redacted(url),
            expected: EXPECTED,
        }),
    }
}

#[cfg(not(feature = "redis"))]
fn check_redis_url(url: &str) -> Result<String, ConfigError> {
    Err(ConfigError::InvalidValue {
        name: SESSION_STORE_VAR,
        value: redacted(url),
        expected: "cookie or memory: this build of tollgate has no Redis support (enable its `redis` feature)",
    })
}

fn check_prefix(prefix: Option<&str>) -> Result<String, ConfigError> {
    match prefix {
        None => Ok("tollgate:".to_owned()),
        Some(p) if !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(p.to_owned())
        }
        Some(p) => Err(ConfigError::InvalidValue {
            name: SESSION_STORE_PREFIX_VAR,
            value: p.chars().take(64).collect(),
            expected: "1 to 64 printable ASCII characters without spaces, such as myapp:",
        }),
    }
}

#[cfg(feature = "redis")]
async fn open_redis(url: &str, prefix: &str) -> Result<Option<Arc<dyn SessionStore>>, StoreError> {
    let store = super::RedisStore::connect(url).await.map_err(|e| {
        StoreError::Unavailable(format!(
            "{SESSION_STORE_VAR} {}: {}",
            redacted(url),
            e.to_string().replace(url, &redacted(url))
        ))
    })?;
    Ok(Some(Arc::new(store.with_prefix(prefix))))
}

#[cfg(not(feature = "redis"))]
async fn open_redis(
    _url: &str,
    _prefix: &str,
) -> Result<Option<Arc<dyn SessionStore>>, StoreError> {
    Err(StoreError::Unavailable(
        "this build of tollgate has no Redis support".into(),
    ))
}

/// `value` with the password of a `scheme://user:password@host` URL replaced by `***`.
fn redacted(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.chars().take(200).collect();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(store: Option<&str>, prefix: Option<&str>) -> Result<StoreChoice, ConfigError> {
        StoreChoice::from_vars(|n| match n {
            SESSION_STORE_VAR => store.map(str::to_owned),
            SESSION_STORE_PREFIX_VAR => prefix.map(str::to_owned),
            _ => None,
        })
    }

    #[test]
    fn cookie_is_the_default_and_memory_is_named() {
        assert_eq!(choice(None, None).unwrap(), StoreChoice::Cookie);
        assert_eq!(choice(Some(" cookie "), None).unwrap(), StoreChoice::Cookie);
        assert_eq!(choice(Some(""), None).unwrap(), StoreChoice::Cookie);
        assert_eq!(choice(Some("memory"), None).unwrap(), StoreChoice::Memory);
        assert!(!StoreChoice::Cookie.is_server_side());
        assert!(StoreChoice::Memory.is_server_side());
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_urls_take_a_prefix() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "rediss://cache.example.com:6380/1",
            "redis://:pw@127.0.0.1:6379",
            "redis+unix:///run/redis.sock",
        ] {
            match choice(Some(url), Some("app-a:")).unwrap() {
                StoreChoice::Redis { url: u, prefix } => {
                    assert_eq!(u, url);
                    assert_eq!(prefix, "app-a:");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        match choice(Some("redis://127.0.0.1"), None).unwrap() {
            StoreChoice::Redis { prefix, .. } => assert_eq!(prefix, "tollgate:"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable_and_hiding_passwords() {
        for bad in [
            "postgres://db",
            "redis",
            "Memory!",
            "http://127.0.0.1:6379",
            "redis://",
        ] {
            let err = choice(Some(bad), None).unwrap_err();
            assert!(err.to_string().contains(SESSION_STORE_VAR), "{bad}: {err}");
        }
        let err = choice(Some("mysql://admin:hunter2@db/x"), None).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("admin:***@db"), "{err}");
        let redis = StoreChoice::Redis {
            url: "redis://u:hunter2@h:6379/0".into(),
            prefix: "p:".into(),
        };
        assert!(!format!("{redis:?}").contains("hunter2"));
    }

    #[test]
    fn a_prefix_needs_redis_and_printable_characters() {
        let err = choice(Some("memory"), Some("x:")).unwrap_err();
        assert!(err.to_string().contains(SESSION_STORE_PREFIX_VAR), "{err}");
        #[cfg(feature = "redis")]
        for bad in ["", "has space", "p".repeat(65).as_str(), "tab\t"] {
            let err = choice(Some("redis://127.0.0.1"), Some(bad)).unwrap_err();
            assert!(
                err.to_string().contains(SESSION_STORE_PREFIX_VAR),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn redaction_keeps_the_host() {
        assert_eq!(redacted("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redacted("redis://pw@h"), "redis://***@h");
        assert_eq!(redacted("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(redacted("plain"), "plain");
    }
}

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
const EXPECTED: &str = "cookie (the default: the session in the cookie), memory (this process only), a Redis URL: redis://host:6379/0, rediss://host:6380/0 (TLS) or redis+unix:///path/to/redis.sock, or a Redis Cluster's seed nodes: redis+cluster://host1:6379,host2:6379/ (rediss+cluster:// for TLS)";

/// What a cluster value accepts, for error messages.
#[cfg(feature = "redis")]
const EXPECTED_CLUSTER: &str = "redis+cluster://[user:password@]host1:port1,host2:port2/ (rediss+cluster:// for TLS): one or more comma-separated host:port seeds, no database number";

/// Which session store to use, as `TOLLGATE_SESSION_STORE` says.
///
/// | value | store |
/// |---|---|
/// | unset, empty, `cookie` | the default: the whole session sealed in the cookie (stateless) |
/// | `memory` | [`MemoryStore`]: this process only (tests, one instance) |
/// | `redis://host:port/db`, `rediss://…` (TLS), `redis+unix:///path` | [`RedisStore`](crate::store), shared by every instance; key prefix from `TOLLGATE_SESSION_STORE_PREFIX` (default `tollgate:`) |
/// | `redis+cluster://host1:port1,host2:port2/`, `rediss+cluster://…` (TLS) | [`RedisStore`](crate::store) on a Redis Cluster, from these seed nodes (a password, `redis+cluster://:pw@h1:6379,h2:6379/`, is used for every node); same prefix variable, which may not hold `{` or `}` there |
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
    /// A Redis Cluster reached through the seed `nodes`, keys under `prefix`.
    RedisCluster {
        /// One `redis://` (or `rediss://`) URL per seed node (may hold a password: never
        /// printed).
        nodes: Vec<String>,
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
            Self::RedisCluster { nodes, prefix } => f
                .debug_struct("RedisCluster")
                .field(
                    "nodes",
                    &nodes.iter().map(|n| redacted(n)).collect::<Vec<_>>(),
                )
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
            url if is_cluster_url(url) => {
                let nodes = check_cluster_url(url)?;
                let prefix = check_prefix(prefix.as_deref())?;
                if prefix.contains(['{', '}']) {
                    return Err(ConfigError::InvalidValue {
                        name: SESSION_STORE_PREFIX_VAR,
                        value: prefix,
                        expected: "no { or } with a Redis Cluster (they would put every key in one hash slot), such as myapp:",
                    });
                }
                Self::RedisCluster { nodes, prefix }
            }
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
        if prefix.is_some() && !matches!(choice, Self::Redis { .. } | Self::RedisCluster { .. }) {
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
            Self::RedisCluster { nodes, prefix } => open_redis_cluster(nodes, prefix).await,
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

/// The scheme of a cluster value (`redis+cluster` or `rediss+cluster`), if it is one.
fn cluster_scheme(value: &str) -> Option<&'static str> {
    let (scheme, _) = value.split_once("://")?;
    if scheme.eq_ignore_ascii_case("redis+cluster") {
        Some("redis")
    } else if scheme.eq_ignore_ascii_case("rediss+cluster") {
        Some("rediss")
    } else {
        None
    }
}

fn is_cluster_url(value: &str) -> bool {
    cluster_scheme(value).is_some()
}

/// `redis+cluster://[userinfo@]h1:p1,h2:p2/` as one `redis://[userinfo@]h:p/` URL per seed.
#[cfg(feature = "redis")]
fn cluster_seeds(value: &str) -> Option<Vec<String>> {
    let scheme = cluster_scheme(value)?;
    let (_, rest) = value.split_once("://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !path.is_empty() && path != "/" {
        return None;
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let seeds: Option<Vec<String>> = hosts
        .split(',')
        .map(|h| {
            let (host, port) = h.rsplit_once(':')?;
            let ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_[]:".contains(&b))
                && port.parse::<u16>().is_ok_and(|p| p > 0);
            ok.then(|| format!("{scheme}://{userinfo}{host}:{port}/"))
        })
        .collect();
    seeds.filter(|s| !s.is_empty())
}

#[cfg(feature = "redis")]
fn check_cluster_url(value: &str) -> Result<Vec<String>, ConfigError> {
    let refused = || ConfigError::InvalidValue {
        name: SESSION_STORE_VAR,
        value: redacted(value),
        expected: EXPECTED_CLUSTER,
    };
    let seeds = cluster_seeds(value).ok_or_else(refused)?;
    match redis::cluster::ClusterClient::new(seeds.iter().map(String::as_str)) {
        Ok(_) => Ok(seeds),
        Err(_) => Err(refused()),
    }
}

#[cfg(not(feature = "redis"))]
fn check_cluster_url(value: &str) -> Result<Vec<String>, ConfigError> {
    Err(ConfigError::InvalidValue {
        name: SESSION_STORE_VAR,
        value: redacted(value),
        expected: "cookie or memory: this build of tollgate has no Redis support (enable its `redis` feature)",
    })
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

#[cfg(feature = "redis")]
async fn open_redis_cluster(
    nodes: &[String],
    prefix: &str,
) -> Result<Option<Arc<dyn SessionStore>>, StoreError> {
    let store = super::RedisStore::connect_cluster(nodes.iter().map(String::as_str))
        .await
        .map_err(|e| {
            let mut message = e.to_string();
            for n in nodes {
                message = message.replace(n.as_str(), &redacted(n));
            }
            let seeds: Vec<String> = nodes.iter().map(|n| redacted(n)).collect();
            StoreError::Unavailable(format!(
                "{SESSION_STORE_VAR} (Redis Cluster {}): {message}",
                seeds.join(", ")
            ))
        })?;
    Ok(Some(Arc::new(store.with_prefix(prefix))))
}

#[cfg(not(feature = "redis"))]
async fn open_redis_cluster(
    _nodes: &[String],
    _prefix: &str,
) -> Result<Option<Arc<dyn SessionStore>>, StoreError> {
    Err(StoreError::Unavailable(
        "this build of tollgate has no Redis support".into(),
    ))
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

    #[cfg(feature = "redis")]
    #[test]
    fn cluster_values_give_one_seed_per_node() {
        match choice(
            Some("redis+cluster://127.0.0.1:7000,127.0.0.1:7001/"),
            Some("app-b:"),
        )
        .unwrap()
        {
            StoreChoice::RedisCluster { nodes, prefix } => {
                assert_eq!(
                    nodes,
                    ["redis://127.0.0.1:7000/", "redis://127.0.0.1:7001/"]
                );
                assert_eq!(prefix, "app-b:");
            }
            other => panic!("{other:?}"),
        }
        match choice(
            Some("rediss+cluster://:hunter2@cache-1.example.com:6380"),
            None,
        )
        .unwrap()
        {
            c @ StoreChoice::RedisCluster { .. } => {
                let StoreChoice::RedisCluster { nodes, prefix } = &c else {
                    unreachable!()
                };
                assert_eq!(nodes, &["rediss://:hunter2@cache-1.example.com:6380/"]);
                assert_eq!(prefix, "tollgate:");
                let shown = format!("{c:?}");
                assert!(!shown.contains("hunter2"), "{shown}");
                assert!(shown.contains(":***@cache-1.example.com:6380"), "{shown}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_cluster_values_are_refused_naming_the_variable_and_hiding_passwords() {
        for bad in [
            "redis+cluster://",
            "redis+cluster:///",
            "redis+cluster://,",
            "redis+cluster://h1:7000,,h2:7001/",
            "redis+cluster://h1,h2/",
            "redis+cluster://h1:notaport/",
            "redis+cluster://h1:0/",
            "redis+cluster://h1:7000/3",
            "redis+cluster://h 1:7000/",
            "rediss+cluster://u:hunter2@h1:7000,h2/",
        ] {
            let err = choice(Some(bad), None).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(SESSION_STORE_VAR), "{bad}: {text}");
            assert!(!text.contains("hunter2"), "{bad}: {text}");
            #[cfg(feature = "redis")]
            assert!(text.contains("redis+cluster://"), "{bad}: {text}");
        }
        #[cfg(feature = "redis")]
        for bad in ["app{x}:", "{", "}"] {
            let err = choice(Some("redis+cluster://h1:7000/"), Some(bad)).unwrap_err();
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
        assert_eq!(
            redacted("redis+cluster://u:pw@h1:1,h2:2/"),
            "redis+cluster://u:***@h1:1,h2:2/"
        );
    }
}

//! A Redis store (cargo feature `redis`), for applications on many machines: one Redis server
//! ([`RedisStore::connect`]) or a Redis Cluster ([`RedisStore::connect_cluster`]).
//!
//! Layout on one server, under a key prefix (default `tollgate:`): `session:{id}` is a hash with
//! `v` (version), `e` (expiry) and `s` (the session JSON), expiring with the session; `lock:{name}`
//! is a lock; `sid:{sid}` and `sub:{sub}` are sets of session ids for back-channel logout;
//! `revoked:sid:{sid}` and `revoked:sub:{sub}` are stateless-logout markers. Versioned updates and
//! lock releases are Lua scripts, so each is one atomic step on the server. Every call has a
//! timeout: when Redis is down requests fail fast with [`StoreError::Unavailable`] and the
//! connection reconnects on its own when Redis is back.
//!
//! # Redis Cluster
//!
//! On a cluster the keys of one session carry a hash tag, so they live in one hash slot (on one
//! master, moved together in a reshard, failed over together): the hash is `{h}:session` and the
//! session's refresh lock is `{h}:lock`, where `h` is the name the SDK gives that session's
//! refresh lock (a SHA-256 of the session id, in hex); any other lock `name` is `{name}:lock`.
//! Single servers keep the layout above, so sessions stored by earlier versions stay readable;
//! moving from one server to a cluster starts with no sessions (users sign in again).
//!
//! The logout indexes cannot share the session's slot: one `sub:` set lists every session of a
//! user, and one `sid:` set may list several, each in a slot of its own. So each index set and each
//! revocation marker is a key in its own slot (same names as on one server), and no command
//! touches two slots: a login writes its index entries first, each with commands on that one set,
//! then the session hash (a failure in between leaves an index entry pointing at no session,
//! which logout ignores, never a session that logout cannot find); a logout by `sid` and `sub`
//! reads both sets and intersects them here, then deletes the sessions one key at a time; the
//! revocation check reads its two markers with two `GET`s. A key prefix holding `{` would make
//! the prefix the hash tag and put every key in one slot: on a cluster use a prefix without
//! braces.
//!
//! Redis replicates asynchronously: a master that fails before its replica received the last
//! writes loses them, as after a restart without persistence: a session stored just then is
//! gone, and a logout or revocation just then is undone (the store does not `WAIT` for
//! replicas). What the replica had survives the failover: the client finds the new master and
//! carries on, and calls during the failover itself fail with [`StoreError::Unavailable`].

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands, Script};

use super::{
    BoxFuture, LockAttempt, LogoutTarget, SessionStore, StoreError, Stored, UpdateOutcome,
};
use crate::session::SessionData;

/// Longest wait for one Redis command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

const UPDATE: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if tonumber(v) ~= tonumber(ARGV[1]) then return -2 end
local nv = tonumber(v) + 1
redis.call('HSET', KEYS[1], 'v', nv, 's', ARGV[2], 'e', ARGV[3])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return nv
";

const REVOKE: &str = r"
local v = redis.call('GET', KEYS[1])
if (not v) or tonumber(v) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
";

const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Sessions in Redis, shared by every process of the application: on one server
/// ([`connect`](Self::connect)) or on a Redis Cluster ([`connect_cluster`](Self::connect_cluster)).
///
/// # Redis Cluster
///
/// On a cluster a session's hash and its refresh lock carry one hash tag (`tollgate:{h}:session`
/// and `tollgate:{h}:lock`, `h` a SHA-256 of the session id in hex), so they live in one slot and
/// fail over together; one server keeps its older layout (`tollgate:session:<id>`), so sessions
/// stored by earlier versions stay readable. The logout indexes (`sid:`, `sub:` sets, which list
/// many sessions) and the revocation markers are keys in slots of their own, and no command spans
/// two slots. Replication is asynchronous: a write the replica had not received when its master
/// failed is lost, a logout included. [`session_keys`](Self::session_keys) names a session's keys.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: String,
}

/// The connection: to one server, or to a cluster (which routes each command to the master of
/// its key's slot and follows failovers and reshards).
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("cluster", &self.is_cluster())
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

async fn timed<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(r) => r.map_err(unavailable),
        Err(_) => Err(StoreError::Unavailable(
            "Redis did not answer in time".into(),
        )),
    }
}

impl RedisStore {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379/`). Fails when Redis cannot be reached now;
    /// later outages are survived.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1);
        let conn = timed(ConnectionManager::new_with_config(client, config)).await?;
        Ok(Self {
            conn: Conn::Single(conn),
            prefix: "tollgate:".into(),
        })
    }

    /// Connects to the Redis Cluster that `nodes` belong to: seed URLs such as
    /// `redis://10.0.0.1:6379/`, one or more (the rest of the cluster is learnt from them;
    /// `rediss://` seeds connect with TLS, and a password in the first seed is used for every
    /// node). Fails when no seed answers now; failovers and reshards later are followed.
    ///
    /// The keys of one session share a hash slot ([Redis Cluster](Self#redis-cluster)).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tollgate::store::StoreError> {
    /// let store = tollgate::store::RedisStore::connect_cluster([
    ///     "redis://10.0.0.1:6379/",
    ///     "redis://10.0.0.2:6379/",
    ///     "redis://10.0.0.3:6379/",
    /// ])
    /// .await?
    /// .with_prefix("myapp:");
    /// # Ok(()) }
    /// ```
    pub async fn connect_cluster<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, StoreError> {
        let nodes: Vec<&str> = nodes.into_iter().collect();
        if nodes.is_empty() {
            return Err(StoreError::Unavailable(
                "a Redis Cluster needs at least one seed node".into(),
            ));
        }
        let client = redis::cluster::ClusterClient::builder(nodes)
            .connection_timeout(COMMAND_TIMEOUT)
            .response_timeout(COMMAND_TIMEOUT)
            // Retries move a command to the new master after a failover or a reshard; short
            // waits keep them inside the command timeout.
            .retries(5)
            .min_retry_wait(20)
            .max_retry_wait(400)
            .build()
            .map_err(unavailable)?;
        let conn = timed(client.get_async_connection()).await?;
        Ok(Self {
            conn: Conn::Cluster(conn),
            prefix: "tollgate:".into(),
        })
    }

    /// Whether this store is connected to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// The Redis keys that hold the session `id` and its refresh lock, in that order: for looking
    /// into Redis (`redis-cli`), and to see that on a cluster both share one hash tag.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tollgate::store::StoreError> {
    /// let store = tollgate::store::RedisStore::connect("redis://127.0.0.1:6379/").await?;
    /// let [session, lock] = store.session_keys("some-session-id");
    /// assert!(session.starts_with("tollgate:session:"));
    /// assert!(lock.starts_with("tollgate:lock:"));
    /// # Ok(()) }
    /// ```
    pub fn session_keys(&self, id: &str) -> [String; 2] {
        [
            self.session_key(id),
            self.lock_key(&crate::tokens::single_flight::refresh_lock_name(id)),
        ]
    }

    /// Uses another key prefix (to share one Redis between applications).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// An index set or a revocation marker: a key of its own on one server and on a cluster.
    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn session_key(&self, id: &str) -> String {
        match self.conn {
            Conn::Single(_) => self.key("session", id),
            Conn::Cluster(_) => format!(
                "{}{{{}}}:session",
                self.prefix,
                crate::tokens::single_flight::refresh_lock_name(id)
            ),
        }
    }

    fn lock_key(&self, name: &str) -> String {
        match self.conn {
            Conn::Single(_) => self.key("lock", name),
            Conn::Cluster(_) => format!("{}{{{name}}}:lock", self.prefix),
        }
    }

    /// Adds `id` to the index set `idx`, which lives at least until `expires_at`.
    fn index_into(pipe: &mut redis::Pipeline, idx: &str, id: &str, expires_at: u64) {
        pipe.sadd(idx, id)
            .ignore()
            .cmd("EXPIREAT")
            .arg(idx)
            .arg(expires_at)
            .arg("GT")
            .ignore();
        // A new index set has no TTL, which GT cannot raise: give it one.
        pipe.cmd("EXPIREAT")
            .arg(idx)
            .arg(expires_at)
            .arg("NX")
            .ignore();
    }

    async fn lock_now(&self, name: &str, ttl: Duration) -> Result<Option<String>, StoreError> {
        let token = crate::random::token(16);
        let mut conn = self.conn.clone();
        let ok: Option<String> = timed(
            redis::cmd("SET")
                .arg(self.lock_key(name))
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async(&mut conn),
        )
        .await?;
        Ok(ok.map(|_| token))
    }

    async fn unlock_now(&self, name: &str, token: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = timed(
            Script::new(UNLOCK)
                .key(self.lock_key(name))
                .arg(token)
                .invoke_async(&mut conn),
        )
        .await?;
        Ok(())
    }
}

impl SessionStore for RedisStore {
    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LockAttempt, StoreError>> {
        Box::pin(async move {
            Ok(match self.lock_now(name, ttl).await? {
                Some(token) => LockAttempt::Acquired(token),
                None => LockAttempt::Busy,
            })
        })
    }

    fn unlock<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.unlock_now(name, token))
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let (v, e, s): (Option<u64>, Option<u64>, Option<String>) = timed(
                redis::cmd("HMGET")
                    .arg(self.session_key(id))
                    .arg("v")
                    .arg("e")
                    .arg("s")
                    .query_async(&mut conn),
            )
            .await?;
            let (Some(v), Some(e), Some(s)) = (v, e, s) else {
                return Ok(None);
            };
            if e <= now {
                return Ok(None);
            }
            let session: SessionData =
                serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Some(Stored::new(session, v, e)))
        })
    }

    fn set<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let json =
                serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let key = self.session_key(id);
            let mut conn = self.conn.clone();
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (kind, value) in [("sid", &*session.internal.sid), ("sub", session.user.sub())] {
                if !value.is_empty() {
                    let idx = self.key(kind, value);
                    if self.is_cluster() {
                        // The set is in a slot of its own: its own transaction, sent before the
                        // session (module docs).
                        let mut own = redis::pipe();
                        own.atomic();
                        Self::index_into(&mut own, &idx, id, expires_at);
                        timed(own.query_async::<()>(&mut conn)).await?;
                    } else {
                        Self::index_into(&mut pipe, &idx, id, expires_at);
                    }
                }
            }
            pipe.hset_multiple(
                &key,
                &[("v", "1"), ("e", &expires_at.to_string()), ("s", &json)],
            )
            .ignore()
            .cmd("EXPIREAT")
            .arg(&key)
            .arg(expires_at)
            .ignore();
            timed(pipe.query_async::<()>(&mut conn)).await
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        version: u64,
        session: &'a SessionData,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<UpdateOutcome, StoreError>> {
        Box::pin(async move {
            let json =
                serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut conn = self.conn.clone();
            let r: i64 = timed(
                Script::new(UPDATE)
                    .key(self.session_key(id))
                    .arg(version)
                    .arg(json)
                    .arg(expires_at)
                    .invoke_async(&mut conn),
            )
            .await?;
            Ok(match r {
                -1 => UpdateOutcome::Missing,
                -2 => UpdateOutcome::Conflict,
                v => UpdateOutcome::Updated(u64::try_from(v).unwrap_or_default()),
            })
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            timed(conn.del::<_, ()>(self.session_key(id))).await
        })
    }

    fn delete_by_logout<'a>(
        &'a self,
        target: &'a LogoutTarget,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let ids: Vec<String> = match (&target.sid, &target.sub) {
                (Some(sid), Some(sub)) if self.is_cluster() => {
                    // Two slots: read both sets, intersect here.
                    let by_sid: Vec<String> = timed(conn.smembers(self.key("sid", sid))).await?;
                    let by_sub: std::collections::HashSet<String> =
                        timed(conn.smembers(self.key("sub", sub))).await?;
                    by_sid
                        .into_iter()
                        .filter(|id| by_sub.contains(id))
                        .collect()
                }
                (Some(sid), Some(sub)) => {
                    timed(conn.sinter(&[self.key("sid", sid), self.key("sub", sub)])).await?
                }
                (Some(sid), None) => timed(conn.smembers(self.key("sid", sid))).await?,
                (None, Some(sub)) => timed(conn.smembers(self.key("sub", sub))).await?,
                (None, None) => Vec::new(),
            };
            if ids.is_empty() {
                return Ok(0);
            }
            let keys: Vec<String> = ids.iter().map(|id| self.session_key(id)).collect();
            if !self.is_cluster() {
                return timed(conn.del(keys)).await;
            }
            // One slot per session: one DEL each.
            let mut n = 0;
            for key in keys {
                let deleted: usize = timed(conn.del(key)).await?;
                n += deleted;
            }
            Ok(n)
        })
    }
}

impl crate::oidc::backchannel::RevocationList for RedisStore {
    fn revoke<'a>(
        &'a self,
        target: &'a LogoutTarget,
        at: u64,
        ttl: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = match (&target.sid, &target.sub) {
                (Some(sid), _) => self.key("revoked", &format!("sid:{sid}")),
                (None, Some(sub)) => self.key("revoked", &format!("sub:{sub}")),
                (None, None) => return Ok(()),
            };
            let mut conn = self.conn.clone();
            // Never move a revocation back in time: the latest one wins.
            let _: i64 = timed(
                Script::new(REVOKE)
                    .key(key)
                    .arg(at)
                    .arg(ttl.max(1))
                    .invoke_async(&mut conn),
            )
            .await?;
            Ok(())
        })
    }

    fn is_revoked<'a>(
        &'a self,
        sid: &'a str,
        sub: &'a str,
        created_at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let (sid_key, sub_key) = (
                self.key("revoked", &format!("sid:{sid}")),
                self.key("revoked", &format!("sub:{sub}")),
            );
            let mut conn = self.conn.clone();
            let (a, b): (Option<u64>, Option<u64>) = if self.is_cluster() {
                // Two slots: two GETs, side by side.
                let mut other = self.conn.clone();
                let (a, b) = tokio::join!(timed(conn.get(sid_key)), timed(other.get(sub_key)));
                (a?, b?)
            } else {
                timed(
                    redis::cmd("MGET")
                        .arg(sid_key)
                        .arg(sub_key)
                        .query_async(&mut conn),
                )
                .await?
            };
            let hit = |at: Option<u64>| at.is_some_and(|at| created_at <= at);
            Ok((!sid.is_empty() && hit(a)) || (!sub.is_empty() && hit(b)))
        })
    }
}

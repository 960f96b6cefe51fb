//! A Redis store (cargo feature `redis`), for applications on many machines.
//!
//! Layout, under a key prefix (default `tollgate:`): `session:{id}` is a hash with `v` (version),
//! `e` (expiry) and `s` (the session JSON), expiring with the session; `sid:{sid}` and `sub:{sub}`
//! are sets of session ids for back-channel logout. Versioned updates and lock releases are Lua
//! scripts, so each is one atomic step on the server. Every call has a timeout: when Redis is down
//! requests fail fast with [`StoreError::Unavailable`] and the connection manager reconnects on its
//! own when Redis is back.

use std::time::Duration;

use redis::aio::ConnectionManager;
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

/// Sessions in Redis, shared by every process of the application.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
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
            conn,
            prefix: "tollgate:".into(),
        })
    }

    /// Uses another key prefix (to share one Redis between applications).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    async fn lock_now(&self, name: &str, ttl: Duration) -> Result<Option<String>, StoreError> {
        let token = crate::random::token(16);
        let mut conn = self.conn.clone();
        let ok: Option<String> = timed(
            redis::cmd("SET")
                .arg(self.key("lock", name))
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
                .key(self.key("lock", name))
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
                    .arg(self.key("session", id))
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
            let key = self.key("session", id);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .hset_multiple(
                    &key,
                    &[("v", "1"), ("e", &expires_at.to_string()), ("s", &json)],
                )
                .ignore()
                .cmd("EXPIREAT")
                .arg(&key)
                .arg(expires_at)
                .ignore();
            for (kind, value) in [
                ("sid", &session.internal.sid),
                ("sub", &session.user.sub().to_owned()),
            ] {
                if !value.is_empty() {
                    let idx = self.key(kind, value);
                    pipe.sadd(&idx, id)
                        .ignore()
                        .cmd("EXPIREAT")
                        .arg(&idx)
                        .arg(expires_at)
                        .arg("GT")
                        .ignore();
                    // A new index set has no TTL, which GT cannot raise: give it one.
                    pipe.cmd("EXPIREAT")
                        .arg(&idx)
                        .arg(expires_at)
                        .arg("NX")
                        .ignore();
                }
            }
            let mut conn = self.conn.clone();
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
                    .key(self.key("session", id))
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
            timed(conn.del::<_, ()>(self.key("session", id))).await
        })
    }

    fn delete_by_logout<'a>(
        &'a self,
        target: &'a LogoutTarget,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let ids: Vec<String> = match (&target.sid, &target.sub) {
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
            let keys: Vec<String> = ids.iter().map(|id| self.key("session", id)).collect();
            let n: usize = timed(conn.del(keys)).await?;
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
            let mut conn = self.conn.clone();
            let (a, b): (Option<u64>, Option<u64>) = timed(
                redis::cmd("MGET")
                    .arg(self.key("revoked", &format!("sid:{sid}")))
                    .arg(self.key("revoked", &format!("sub:{sub}")))
                    .query_async(&mut conn),
            )
            .await?;
            let hit = |at: Option<u64>| at.is_some_and(|at| created_at <= at);
            Ok((!sid.is_empty() && hit(a)) || (!sub.is_empty() && hit(b)))
        })
    }
}

//! The state directory (`--state-dir`, [`TenantConfig::with_state_dir`]): the signing keys and a
//! snapshot of the store, so that a restarted tenant keeps its sessions, refresh tokens and
//! enrolments.
//!
//! - `signing-keys.pem`: the published RSA keys as PKCS#1 PEM blocks, current first.
//! - `state.json`: `{"format": 1, "issuer": …, "saved_at": …, "kids": […], "store": {…}}`.
//!
//! Both are written atomically (a temporary file, fsync, rename, fsync of the folder) with mode
//! 0600; a directory the tenant creates gets 0700. The snapshot is written by a timer at most
//! every [`SAVE_EVERY`] while something changed, and at shutdown: a tenant killed with SIGKILL
//! loses at most the last interval. A corrupt or newer snapshot stops the start (fail closed).
//!
//! [`TenantConfig::with_state_dir`]: crate::TenantConfig::with_state_dir

pub(crate) mod codec;

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::TenantError;
use crate::keys::{KeyRing, SigningKey};
use crate::store::Store;

/// The snapshot format this tenant writes and the newest it reads.
pub(crate) const FORMAT_VERSION: u64 = 1;
/// How often the snapshot is written while something changed (real time).
pub(crate) const SAVE_EVERY: Duration = Duration::from_secs(1);
/// The snapshot's file name.
pub(crate) const STATE_FILE: &str = "state.json";
/// The signing keys' file name.
pub(crate) const KEYS_FILE: &str = "signing-keys.pem";

/// The snapshot as written.
#[derive(Serialize)]
struct SnapshotOut<'a> {
    format: u64,
    issuer: &'a str,
    /// Unix milliseconds on the tenant's clock.
    saved_at: u64,
    /// The published keys' `kid`s, current first (informative).
    kids: Vec<String>,
    store: &'a Store,
}

/// The first thing read: only the version, so that a newer file is refused as newer rather
/// than as corrupt.
#[derive(Deserialize)]
struct Header {
    format: u64,
}

/// The snapshot as read.
#[derive(Deserialize)]
struct SnapshotIn {
    issuer: String,
    store: Store,
}

/// What was found in the directory at start.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The keys of `signing-keys.pem`, current first; `None` when there is no such file.
    pub(crate) keys: Option<Vec<SigningKey>>,
    /// The store of `state.json` and the issuer it was written under; `None` without a file.
    pub(crate) store: Option<(Store, String)>,
}

/// An open state directory: where to write, and whether there is something to write.
#[derive(Debug)]
pub(crate) struct StateDir {
    path: PathBuf,
    /// Set whenever the store or the keys may have changed since the last write.
    dirty: AtomicBool,
    /// Serialises writes (the timer's and the shutdown's), and remembers the `kid`s last
    /// written to `signing-keys.pem` (`None`: keys come from configured files, never written).
    written: Mutex<Option<Vec<String>>>,
    /// Set at shutdown, after the last write.
    closed: AtomicBool,
}

impl StateDir {
    /// Creates the directory (0700) if it is missing and reads what it holds.
    pub(crate) fn open(path: &Path) -> Result<(Self, Loaded), TenantError> {
        let io = |source| TenantError::StateDir {
            path: path.to_path_buf(),
            source,
        };
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => warn_if_open_to_others(path, &meta),
            Ok(_) => {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "exists and is not a directory",
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_dir(path).map_err(io)?,
            Err(e) => return Err(io(e)),
        }
        let keys_path = path.join(KEYS_FILE);
        let keys = if keys_path.exists() {
            Some(SigningKey::all_from_pem_file(&keys_path)?)
        } else {
            None
        };
        let store = read_snapshot(&path.join(STATE_FILE))?;
        let dir = Self {
            path: path.to_path_buf(),
            dirty: AtomicBool::new(false),
            written: Mutex::new(None),
            closed: AtomicBool::new(false),
        };
        Ok((dir, Loaded { keys, store }))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops all writes (at shutdown, after the last one).
    pub(crate) fn close(&self) {
        // Taken so that a write in progress finishes first.
        let _written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        self.closed.store(true, Ordering::Release);
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Notes that the state may have changed.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Whether something may have changed since the last write; clears the mark.
    pub(crate) fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    /// Writes `signing-keys.pem` now (at start), and from then on whenever the published keys
    /// change. Not called for keys from configured files.
    pub(crate) fn own_keys(&self, keys: &KeyRing) -> Result<(), TenantError> {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        self.write_keys(keys)?;
        *written = Some(keys.kids());
        Ok(())
    }

    fn write_keys(&self, keys: &KeyRing) -> Result<(), TenantError> {
        let pem: String = keys.all().iter().map(|k| k.private_pem()).collect();
        write_atomically(&self.path.join(KEYS_FILE), pem.as_bytes())
    }

    /// Writes the keys (when they changed and are the directory's own), then the snapshot
    /// that `snapshot` makes from the `kid`s (it locks the store; the file is written after it
    /// returns). The key ring's lock is released before `snapshot` runs.
    pub(crate) fn save(
        &self,
        keys: &std::sync::RwLock<KeyRing>,
        snapshot: impl FnOnce(Vec<String>) -> Result<Vec<u8>, serde_json::Error>,
    ) -> Result<(), TenantError> {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if self.is_closed() {
            return Ok(());
        }
        let kids = {
            let keys = keys.read().unwrap_or_else(PoisonError::into_inner);
            let kids = keys.kids();
            if let Some(last) = written.as_mut()
                && *last != kids
            {
                self.write_keys(&keys)?;
                last.clone_from(&kids);
            }
            kids
        };
        let path = self.path.join(STATE_FILE);
        let bytes = snapshot(kids).map_err(|e| TenantError::StateDir {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomically(&path, &bytes)
    }
}

/// Serialises a snapshot of `store` (call with the store locked).
pub(crate) fn snapshot(
    store: &Store,
    issuer: &str,
    kids: Vec<String>,
    saved_at: u64,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&SnapshotOut {
        format: FORMAT_VERSION,
        issuer,
        saved_at,
        kids,
        store,
    })
}

/// Reads `state.json`: `None` when missing; corrupt or newer files are errors.
fn read_snapshot(path: &Path) -> Result<Option<(Store, String)>, TenantError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(TenantError::StateDir {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let corrupt = |e: serde_json::Error| TenantError::CorruptState {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let header: Header = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if header.format > FORMAT_VERSION {
        return Err(TenantError::StateVersion {
            path: path.to_path_buf(),
            found: header.format,
            supported: FORMAT_VERSION,
        });
    }
    if header.format < FORMAT_VERSION {
        return Err(TenantError::CorruptState {
            path: path.to_path_buf(),
            reason: format!("unknown format {}", header.format),
        });
    }
    let snapshot: SnapshotIn = serde_json::from_slice(&bytes).map_err(corrupt)?;
    Ok(Some((snapshot.store, snapshot.issuer)))
}

/// Writes `bytes` to `path` through a temporary file in the same folder (mode 0600), synced
/// before it replaces `path`, and syncs the folder after the rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TenantError> {
    let io = |source| TenantError::StateDir {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut file = private_file(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(folder) = path.parent() {
        // Makes the rename itself durable; not every platform can open a folder for this.
        if let Ok(folder) = File::open(folder) {
            let _ = folder.sync_all();
        }
    }
    Ok(())
}

/// Creates (or truncates) a file readable and writable by its owner only.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        // A file left by an earlier run keeps its mode through `open`: set it.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Creates the directory and its missing parents; the directory itself gets mode 0700.
pub(crate) fn create_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Logs a warning when an existing directory is open to the group or others (the tenant does
/// not change the mode of a directory it did not create).
fn warn_if_open_to_others(path: &Path, meta: &fs::Metadata) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                dir = %path.display(),
                "the state directory is open to other users; it holds private keys and tokens (chmod 700 it)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
}

/// Spawns the task that writes the snapshot every [`SAVE_EVERY`] while something changed. It
/// holds the state weakly and ends with the tenant. Must be called inside a Tokio runtime.
pub(crate) fn spawn_saver(state: &Arc<crate::state::TenantState>) {
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAVE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(strong) = state.upgrade() else {
                break;
            };
            let saved = tokio::task::spawn_blocking(move || strong.save_if_dirty()).await;
            if let Ok(Err(error)) = saved {
                tracing::error!(%error, "cannot save the tenant's state");
            }
        }
    });
}

//! What the demo is told: listen addresses (flags or environment) and the configuration variables.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the app listens unless told otherwise.
pub const DEFAULT_APP_ADDR: &str = "127.0.0.1:3000";

/// Where the embedded tenant listens unless told otherwise.
pub const DEFAULT_TENANT_ADDR: &str = "127.0.0.1:4000";

/// The variable that chooses the embedded tenant's state directory (`none` or empty: memory).
pub const STATE_DIR_VAR: &str = "TOLLGATE_DEMO_STATE_DIR";

/// The command-line help.
pub const USAGE: &str = "\
usage: tollgate-demo [--app-addr 127.0.0.1:3000] [--tenant-addr 127.0.0.1:4000]

Environment:
  APP_ADDR, TENANT_ADDR     listen addresses (the flags win)
  AUTH0_DOMAIN              use this provider instead of the embedded local tenant; the whole
                            configuration then comes from AUTH0_* variables and APP_BASE_URL
  AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_SECRET, APP_BASE_URL, AUTH0_COOKIE_*,
  AUTH0_SESSION_*, …        override single settings (see tollgate::ConfigBuilder::from_env)
  TOLLGATE_SESSION_STORE    cookie (default), memory, or redis://host:6379/0 (rediss:// for TLS):
                            or redis+cluster://h1:6379,h2:6379/ (a Redis Cluster's seeds):
                            where sessions live; with Redis, several demos share them
  TOLLGATE_SESSION_STORE_PREFIX  Redis key prefix (default tollgate:)
  TOLLGATE_DEMO_STATE_DIR   where the embedded tenant keeps its keys, SSO sessions and refresh
                            tokens across restarts (default target/tollgate-demo-state under
                            cargo, else $XDG_DATA_HOME/tollgate-demo or ~/.local/share/tollgate-demo);
                            none (or empty) keeps them in memory only
  RUST_LOG                  log filter (default info), logs go to stderr";

/// Prefixes of the environment variables the demo's configuration reads.
const VAR_PREFIXES: &[&str] = &["AUTH0_", "APP_BASE_URL", "TOLLGATE_"];

/// How to start the demo: the two listen addresses and the configuration variables
/// (`AUTH0_DOMAIN`, `AUTH0_SECRET`, `APP_BASE_URL`, …, with the names of
/// [`tollgate::ConfigBuilder::from_env`]).
///
/// The variables are a map rather than the process environment so that tests can start several
/// demos with different settings in one process.
///
/// ```
/// use tollgate_demo::DemoOptions;
///
/// let options = DemoOptions::ephemeral().with_var("AUTH0_SESSION_ROLLING", "false");
/// assert_eq!(options.app_addr(), "127.0.0.1:0");
/// assert_eq!(options.var("AUTH0_SESSION_ROLLING"), Some("false"));
///
/// let options = DemoOptions::new()
///     .with_args(["--app-addr", "127.0.0.1:8080"])
///     .unwrap();
/// assert_eq!(options.app_addr(), "127.0.0.1:8080");
/// assert_eq!(options.tenant_addr(), "127.0.0.1:4000");
/// ```
#[derive(Clone)]
pub struct DemoOptions {
    app_addr: String,
    tenant_addr: String,
    vars: BTreeMap<String, String>,
    state_dir: Option<PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoOptions {
    /// The defaults: app on `127.0.0.1:3000`, tenant on `127.0.0.1:4000`, no variables set, no
    /// state directory (the tenant's state in memory only).
    pub fn new() -> Self {
        Self {
            app_addr: DEFAULT_APP_ADDR.to_owned(),
            tenant_addr: DEFAULT_TENANT_ADDR.to_owned(),
            vars: BTreeMap::new(),
            state_dir: None,
        }
    }

    /// App and tenant on free loopback ports (`127.0.0.1:0`), no variables set, no state
    /// directory: for tests.
    pub fn ephemeral() -> Self {
        Self::new()
            .with_app_addr("127.0.0.1:0")
            .with_tenant_addr("127.0.0.1:0")
    }

    /// The defaults overridden by the process environment: `APP_ADDR`, `TENANT_ADDR`, and every
    /// `AUTH0_*`, `TOLLGATE_*` and `APP_BASE_URL` variable, with the default state directory
    /// (see [`from_vars`](Self::from_vars)). Variables that are not valid UTF-8 are ignored.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// Like [`from_env`](Self::from_env), from the given `(name, value)` pairs.
    ///
    /// The embedded tenant's state directory is [`STATE_DIR_VAR`] (`TOLLGATE_DEMO_STATE_DIR`;
    /// `none` or empty for none), else `target/tollgate-demo-state` of the workspace when
    /// `CARGO_MANIFEST_DIR` says the demo runs under cargo, else
    /// `$XDG_DATA_HOME/tollgate-demo`, else `$HOME/.local/share/tollgate-demo`, else none.
    ///
    /// ```
    /// use std::path::Path;
    /// use tollgate_demo::DemoOptions;
    ///
    /// let options = DemoOptions::from_vars([("HOME", "/home/ada")]);
    /// assert_eq!(options.state_dir(), Some(Path::new("/home/ada/.local/share/tollgate-demo")));
    /// let options = DemoOptions::from_vars([("HOME", "/home/ada"), ("TOLLGATE_DEMO_STATE_DIR", "none")]);
    /// assert_eq!(options.state_dir(), None);
    /// ```
    ///
    /// ```
    /// let options = tollgate_demo::DemoOptions::from_vars([
    ///     ("TENANT_ADDR", "127.0.0.1:4100"),
    ///     ("AUTH0_SECRET", "a-long-random-value-of-at-least-32-bytes"),
    ///     ("HOME", "/root"),
    /// ]);
    /// assert_eq!(options.tenant_addr(), "127.0.0.1:4100");
    /// assert!(options.var("AUTH0_SECRET").is_some());
    /// assert_eq!(options.var("HOME"), None);
    /// ```
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut options = Self::new();
        let (mut chosen, mut manifest, mut data_home, mut home) = (None, None, None, None);
        for (name, value) in vars {
            let (name, value) = (name.into(), value.into());
            let set = || Some(value.clone()).filter(|v| !v.trim().is_empty());
            match name.as_str() {
                STATE_DIR_VAR => chosen = Some(value.clone()),
                "CARGO_MANIFEST_DIR" => manifest = set(),
                "XDG_DATA_HOME" => data_home = set(),
                "HOME" => home = set(),
                _ => {}
            }
            match name.as_str() {
                "APP_ADDR" if !value.trim().is_empty() => options.app_addr = value,
                "TENANT_ADDR" if !value.trim().is_empty() => options.tenant_addr = value,
                _ if VAR_PREFIXES.iter().any(|p| name.starts_with(p)) => {
                    options.vars.insert(name, value);
                }
                _ => {}
            }
        }
        options.state_dir = match chosen {
            Some(value) if value.trim().is_empty() || value.trim() == "none" => None,
            Some(value) => Some(PathBuf::from(value)),
            None => default_state_dir(manifest.as_deref(), data_home.as_deref(), home.as_deref()),
        };
        options
    }

    /// Sets the embedded tenant's state directory (`None`: its state in memory only, so a
    /// restart logs everyone out).
    ///
    /// ```
    /// use tollgate_demo::DemoOptions;
    ///
    /// let options = DemoOptions::ephemeral().with_state_dir(Some("/tmp/demo-state"));
    /// assert!(options.state_dir().is_some());
    /// assert!(DemoOptions::ephemeral().state_dir().is_none());
    /// ```
    #[must_use]
    pub fn with_state_dir(mut self, dir: Option<impl Into<PathBuf>>) -> Self {
        self.state_dir = dir.map(Into::into);
        self
    }

    /// The embedded tenant's state directory, if it keeps its state across restarts.
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// Applies command-line flags (`--app-addr ADDR`, `--tenant-addr ADDR`, also written
    /// `--app-addr=ADDR`); they win over the environment. `--help` is reported as
    /// [`UsageError::HelpRequested`].
    pub fn with_args<I, S>(mut self, args: I) -> Result<Self, UsageError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            let slot = match flag.as_str() {
                "--help" | "-h" => return Err(UsageError::HelpRequested),
                "--app-addr" => &mut self.app_addr,
                "--tenant-addr" => &mut self.tenant_addr,
                _ => return Err(UsageError::UnknownArgument(arg)),
            };
            match inline.or_else(|| args.next()) {
                Some(value) if !value.trim().is_empty() => *slot = value,
                _ => return Err(UsageError::MissingValue(flag)),
            }
        }
        Ok(self)
    }

    /// Sets where the app listens (`IP:PORT`, loopback only; port 0 picks a free one).
    #[must_use]
    pub fn with_app_addr(mut self, addr: impl Into<String>) -> Self {
        self.app_addr = addr.into();
        self
    }

    /// Sets where the embedded tenant listens (`IP:PORT`, loopback only; port 0 picks a free one).
    #[must_use]
    pub fn with_tenant_addr(mut self, addr: impl Into<String>) -> Self {
        self.tenant_addr = addr.into();
        self
    }

    /// Sets a configuration variable, e.g. `AUTH0_SECRET` or `AUTH0_DOMAIN`.
    #[must_use]
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Where the app listens.
    pub fn app_addr(&self) -> &str {
        &self.app_addr
    }

    /// Where the embedded tenant listens.
    pub fn tenant_addr(&self) -> &str {
        &self.tenant_addr
    }

    /// A configuration variable, when set to something other than blanks (as
    /// [`tollgate::ConfigBuilder::from_vars`] reads them).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

impl fmt::Debug for DemoOptions {
    /// Shows the variables' names only: several of them are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoOptions")
            .field("app_addr", &self.app_addr)
            .field("tenant_addr", &self.tenant_addr)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

/// The default state directory: the workspace's `target/` under cargo (the demo's manifest is
/// `crates/tollgate-demo`), else the user's data directory.
fn default_state_dir(
    manifest: Option<&str>,
    data_home: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    const NAME: &str = "tollgate-demo";
    if let Some(workspace) = manifest.and_then(|m| Path::new(m).parent()?.parent()) {
        return Some(workspace.join("target").join("tollgate-demo-state"));
    }
    if let Some(data) = data_home {
        return Some(Path::new(data).join(NAME));
    }
    home.map(|h| Path::new(h).join(".local/share").join(NAME))
}

/// Why the command line was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// `--help` or `-h`: print [`USAGE`] and exit successfully.
    #[error("help requested")]
    HelpRequested,
    /// An argument the demo does not know.
    #[error("unknown argument {0:?}; run with --help to see the options")]
    UnknownArgument(String),
    /// A flag without its value.
    #[error("{0} needs a value such as 127.0.0.1:3000")]
    MissingValue(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_environment() {
        let options = DemoOptions::from_vars([("APP_ADDR", "127.0.0.1:3100")])
            .with_args(["--tenant-addr=127.0.0.1:4100"])
            .unwrap();
        assert_eq!(options.app_addr(), "127.0.0.1:3100");
        assert_eq!(options.tenant_addr(), "127.0.0.1:4100");
        let options = options.with_args(["--app-addr", "127.0.0.1:3200"]).unwrap();
        assert_eq!(options.app_addr(), "127.0.0.1:3200");
    }

    #[test]
    fn blank_addresses_in_the_environment_keep_the_defaults() {
        let options = DemoOptions::from_vars([("APP_ADDR", " "), ("TENANT_ADDR", "")]);
        assert_eq!(options.app_addr(), DEFAULT_APP_ADDR);
        assert_eq!(options.tenant_addr(), DEFAULT_TENANT_ADDR);
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        let new = DemoOptions::new;
        assert_eq!(
            new().with_args(["--app-addr"]).unwrap_err(),
            UsageError::MissingValue("--app-addr".into())
        );
        assert_eq!(
            new().with_args(["--app-addr="]).unwrap_err(),
            UsageError::MissingValue("--app-addr".into())
        );
        assert_eq!(
            new().with_args(["--port", "1"]).unwrap_err(),
            UsageError::UnknownArgument("--port".into())
        );
        assert_eq!(
            new().with_args(["-h"]).unwrap_err(),
            UsageError::HelpRequested
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let options = DemoOptions::new().with_var("AUTH0_CLIENT_SECRET", "s3cr3t-value");
        let shown = format!("{options:?}");
        assert!(shown.contains("AUTH0_CLIENT_SECRET"));
        assert!(!shown.contains("s3cr3t-value"));
    }

    #[test]
    fn the_state_directory_defaults_to_target_under_cargo_then_the_data_dir() {
        let from = |vars: &[(&str, &str)]| {
            DemoOptions::from_vars(vars.iter().copied())
                .state_dir()
                .map(Path::to_path_buf)
        };
        let all = [
            ("CARGO_MANIFEST_DIR", "/src/tollgate/crates/tollgate-demo"),
            ("XDG_DATA_HOME", "/data"),
            ("HOME", "/home/ada"),
        ];
        assert_eq!(
            from(&all),
            Some(PathBuf::from("/src/tollgate/target/tollgate-demo-state"))
        );
        assert_eq!(from(&all[1..]), Some(PathBuf::from("/data/tollgate-demo")));
        assert_eq!(
            from(&all[2..]),
            Some(PathBuf::from("/home/ada/.local/share/tollgate-demo"))
        );
        assert_eq!(
            from(&[("XDG_DATA_HOME", " ")]),
            None,
            "blank counts as unset"
        );
        assert_eq!(from(&[]), None);
        let chosen = [("TOLLGATE_DEMO_STATE_DIR", "/var/demo"), all[2]];
        assert_eq!(from(&chosen), Some(PathBuf::from("/var/demo")));
        for off in ["", "none", " none "] {
            assert_eq!(
                from(&[("TOLLGATE_DEMO_STATE_DIR", off), all[0]]),
                None,
                "{off:?}"
            );
        }
        assert_eq!(DemoOptions::new().state_dir(), None);
    }

    #[test]
    fn blank_variables_count_as_unset() {
        let options = DemoOptions::new().with_var("AUTH0_DOMAIN", "  ");
        assert_eq!(options.var("AUTH0_DOMAIN"), None);
    }
}

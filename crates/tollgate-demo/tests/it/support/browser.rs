//! Headless Debian Chromium driven through `chromedriver`, with guards that close the browser,
//! stop the driver and remove the profile even when a test panics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::webdriver::WebDriver;

/// Set to `1` to skip the browser tests (they then pass, saying so).
pub(crate) const SKIP_VAR: &str = "TOLLGATE_SKIP_BROWSER";

/// Debian's Chromium (package `chromium`); `TOLLGATE_CHROMIUM` overrides it.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Debian's driver (package `chromium-driver`); `TOLLGATE_CHROMEDRIVER` overrides it.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser's switches, besides `--user-data-dir`.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

/// How long chromedriver may take to answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(20);

/// One Chromium at a time in this test binary: the machine may have two cores, and each story is
/// timed by 30-second TOTP steps, not by a race with the others. Held by every [`Browser`], so a
/// test must not launch a second one while it holds the first.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where failure screenshots, page sources and the driver log go: `target/browser-artifacts/`.
pub(crate) fn artifacts_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("browser-artifacts")
}

/// Chromium under WebDriver control. Dereferences to the [`WebDriver`] session.
#[derive(Debug)]
pub(crate) struct Browser {
    // Dropped in this order, after `Drop::drop` has ended the session.
    driver: WebDriver,
    quit: bool,
    chromedriver: DriverProcess,
    _profile: ProfileDir,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

impl Deref for Browser {
    type Target = WebDriver;
    fn deref(&self) -> &WebDriver {
        &self.driver
    }
}

impl Browser {
    /// A fresh browser for `test`, or `None` when [`SKIP_VAR`] is `1` (the skip is printed).
    ///
    /// # Panics
    /// When Chromium or chromedriver is missing (the message says to run `scripts/test.sh`), or
    /// when they do not start.
    pub(crate) async fn launch(test: &str) -> Option<Self> {
        if std::env::var(SKIP_VAR).is_ok_and(|v| v.trim() == "1") {
            // Written to the real stderr: the test harness would swallow `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {SKIP_VAR}=1, the headless Chromium test did not run"
            );
            return None;
        }
        let chromium = tool("TOLLGATE_CHROMIUM", CHROMIUM);
        let chromedriver = tool("TOLLGATE_CHROMEDRIVER", CHROMEDRIVER);
        let missing: Vec<String> = [&chromium, &chromedriver]
            .into_iter()
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "{test} needs headless Chromium, but {} is missing. Run `scripts/test.sh` as root \
             (it installs Debian's chromium and chromium-driver), or set {SKIP_VAR}=1 to skip \
             the browser tests.",
            missing.join(" and "),
        );
        let one = ONE_BROWSER.lock().await;
        match Self::start(test, &chromium, &chromedriver, one).await {
            Ok(browser) => Some(browser),
            Err(e) => panic!("{test}: could not start headless Chromium: {e}"),
        }
    }

    async fn start(
        test: &str,
        chromium: &Path,
        chromedriver: &Path,
        one: tokio::sync::MutexGuard<'static, ()>,
    ) -> Result<Self, String> {
        let artifacts = artifacts_dir();
        std::fs::create_dir_all(&artifacts)
            .map_err(|e| format!("cannot create {}: {e}", artifacts.display()))?;
        let log = artifacts.join(format!("{test}.chromedriver.log"));
        let driver_process = DriverProcess::start(chromedriver, &log).await?;
        let profile = ProfileDir::create()?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.0.display()));
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": args,
            },
        });
        let driver = WebDriver::new_session(&driver_process.url, capabilities)
            .await
            .map_err(|e| format!("{e} (driver log: {})", log.display()))?;
        Ok(Self {
            driver,
            quit: false,
            chromedriver: driver_process,
            _profile: profile,
            _one: one,
        })
    }

    /// Closes the browser and stops the driver.
    pub(crate) async fn close(mut self) {
        if let Err(e) = self.driver.quit().await {
            eprintln!("closing the browser: {e}");
        }
        self.quit = true;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.quit {
            // Async is not available here (this may run while a panic unwinds): end the session
            // with a plain blocking HTTP request so chromedriver closes Chromium.
            delete_blocking(&self.chromedriver.addr, self.driver.session_url());
        }
    }
}

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// `DELETE` on `url` (of the driver at `addr`), waiting at most a few seconds; errors are ignored.
fn delete_blocking(addr: &str, url: &str) {
    let Some(path) = url.strip_prefix(&format!("http://{addr}")) else {
        return;
    };
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // Read the whole answer (the session is gone once it arrives), without relying on the
    // driver to close the connection.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer_complete(&answer) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Whether `answer` holds a complete HTTP response with a `Content-Length` body.
fn answer_complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok());
    // Without a length (chunked), the headers are enough: the driver has acted.
    length.is_none_or(|length| body.len() >= length)
}

/// A running chromedriver; killed when dropped.
#[derive(Debug)]
struct DriverProcess {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

impl DriverProcess {
    /// Starts chromedriver on a free loopback port and waits until it is ready. A port taken by
    /// someone else between choosing and binding it is retried with another one.
    async fn start(chromedriver: &Path, log: &Path) -> Result<Self, String> {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free loopback port: {e}"))?
                .port();
            let child = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", chromedriver.display()))?;
            let addr = format!("127.0.0.1:{port}");
            let mut process = Self {
                child,
                url: format!("http://{addr}"),
                addr,
            };
            match process.wait_ready().await {
                Ok(()) => return Ok(process),
                Err(e) => last_error = e,
            }
        }
        Err(format!("{last_error} (driver log: {})", log.display()))
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited at start with {status}"));
            }
            let ready = http
                .get(format!("{}/status", self.url))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(response) = ready
                && let Ok(status) = response.json::<serde_json::Value>().await
                && status["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "chromedriver did not become ready on {} within {DRIVER_START:?}",
                    self.url
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty Chromium profile directory; removed when dropped.
#[derive(Debug)]
struct ProfileDir(PathBuf);

impl ProfileDir {
    fn create() -> Result<Self, String> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "tollgate-chromium-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        ));
        // `create_dir` (not `_all`) fails if it exists: the profile is always fresh.
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot create the profile {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for ProfileDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

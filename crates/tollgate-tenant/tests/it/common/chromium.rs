//! Headless Chromium for the tenant's browser tests, driven over W3C WebDriver with reqwest
//! (the approach of the demo's browser tests, cut down to what these tests need): start
//! chromedriver on a free port, open a session with a fresh profile, and clean up on drop.
//!
//! Needs Debian's `chromium` and `chromium-driver`; `TOLLGATE_SKIP_BROWSER=1` skips the tests
//! (saying so), `TOLLGATE_CHROMIUM` / `TOLLGATE_CHROMEDRIVER` point elsewhere.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for a page state may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(15);
const ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

/// One Chromium at a time in this test binary (two cores are shared).
static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// A Chromium session; the browser, the driver and the profile go away on drop.
pub(crate) struct Chromium {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: PathBuf,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

impl Chromium {
    /// A fresh browser, or `None` when `TOLLGATE_SKIP_BROWSER=1`.
    pub(crate) async fn launch(test: &str) -> Option<Self> {
        if std::env::var("TOLLGATE_SKIP_BROWSER").is_ok_and(|v| v.trim() == "1") {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: TOLLGATE_SKIP_BROWSER=1, the headless Chromium test did not run"
            );
            return None;
        }
        let chromium = tool("TOLLGATE_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = tool("TOLLGATE_CHROMEDRIVER", "/usr/bin/chromedriver");
        assert!(
            chromium.is_file() && chromedriver.is_file(),
            "{test} needs Debian's chromium and chromium-driver (scripts/test.sh installs them), \
             or TOLLGATE_SKIP_BROWSER=1 to skip it"
        );
        let one = ONE.lock().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match http.get(format!("{base}/status")).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "tollgate-tenant-chromium-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut args: Vec<String> = ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium.display().to_string(), "args": args}}}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"));
        Some(Self {
            http,
            session: format!("{base}/session/{id}"),
            driver,
            profile,
            _one: one,
        })
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    /// Opens `url` (and waits for its load).
    pub(crate) async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Runs `script` (a function body) in the current browsing context; returns its value.
    pub(crate) async fn eval(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Makes the first element matching `selector` (an `<iframe>`) the current context.
    pub(crate) async fn enter_frame(&self, selector: &str) {
        let element = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await;
        let id = element[ELEMENT_KEY]
            .as_str()
            .expect("the frame element")
            .to_owned();
        self.command(
            reqwest::Method::POST,
            "/frame",
            Some(json!({"id": {ELEMENT_KEY: id}})),
        )
        .await;
    }

    /// Polls `script` until it returns `true`, for up to [`WAIT`]; the error names `what`.
    pub(crate) async fn wait_for(&self, what: &str, script: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                let page = self
                    .eval("return location.href + '\\n' + (document.body ? document.body.innerText : '')")
                    .await;
                panic!("timed out waiting for {what}; the page was {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // End the session so chromedriver closes Chromium, without async (this may run while a
        // panic unwinds): a blocking request on a thread of its own.
        let session = self.session.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let _ = reqwest::Client::new()
                        .delete(session)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                });
            }
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

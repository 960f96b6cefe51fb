//! A small W3C WebDriver client over `reqwest`: just the commands the browser tests use.
//! <https://www.w3.org/TR/webdriver2/>
//!
//! Why not a WebDriver crate (both tried in this workspace, December 2026):
//! - `fantoccini` 0.22.1 needs Mozilla's `webdriver` 0.53, which is MPL-2.0 (`deny.toml` allows
//!   permissive licences only) and brings 14 second versions that `multiple-versions = "deny"`
//!   refuses: http 0.2, cookie 0.16, thiserror 1, and ICU 1.x (`icu_segmenter`) beside url's
//!   ICU 2.x.
//! - `thirtyfour` (0.38.1, also 0.36 and 0.37) turns on serde_json's `preserve_order`. Cargo
//!   unifies features over a build, so every test build of the workspace would compile the SDK
//!   and the tenant with an `IndexMap`-backed `serde_json::Map` (JSON key order not the one
//!   that ships), and `cargo clippy --all-targets -D warnings` then fails in the tenant: its
//!   `OAuthError` grows past `result_large_err`'s limit (20 errors).
//!
//! This client needs only reqwest, serde_json and base64, which the tree has anyway.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long [`WebDriver::wait_until`] polls before giving up.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A WebDriver command that failed.
#[derive(Debug)]
pub(crate) enum WebDriverError {
    /// The driver could not be reached or did not answer.
    Http {
        /// The command, e.g. `POST /session/…/url`.
        command: String,
        /// What went wrong.
        source: reqwest::Error,
    },
    /// The driver answered with a WebDriver error (`no such element`, …).
    Driver {
        /// The command.
        command: String,
        /// The HTTP status.
        status: u16,
        /// The WebDriver error code.
        error: String,
        /// The driver's message.
        message: String,
    },
    /// The answer did not have the expected shape.
    Protocol {
        /// The command.
        command: String,
        /// What was wrong with the answer.
        detail: String,
    },
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http { command, source } => write!(f, "{command}: {source}"),
            Self::Driver {
                command,
                status,
                error,
                message,
            } => write!(f, "{command}: {status} {error}: {message}"),
            Self::Protocol { command, detail } => write!(f, "{command}: {detail}"),
        }
    }
}

impl std::error::Error for WebDriverError {}

/// A reference to an element of the current page.
#[derive(Debug, Clone)]
pub(crate) struct Element(String);

/// One WebDriver session.
#[derive(Debug)]
pub(crate) struct WebDriver {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    session_url: String,
}

impl WebDriver {
    /// Starts a browser session at the driver listening on `driver_url` with `capabilities`
    /// (the `alwaysMatch` object).
    pub(crate) async fn new_session(
        driver_url: &str,
        capabilities: Value,
    ) -> Result<Self, WebDriverError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| WebDriverError::Http {
                command: "build client".into(),
                source,
            })?;
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let value = send(
            &http,
            Method::POST,
            &format!("{driver_url}/session"),
            Some(body),
        )
        .await?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| WebDriverError::Protocol {
                command: "POST /session".into(),
                detail: format!("no sessionId in {value}"),
            })?;
        Ok(Self {
            http,
            session_url: format!("{driver_url}/session/{id}"),
        })
    }

    /// The session's URL at the driver (`…/session/ID`), for ending it without async.
    pub(crate) fn session_url(&self) -> &str {
        &self.session_url
    }

    async fn command(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let url = format!("{}{path}", self.session_url);
        send(&self.http, method, &url, body).await
    }

    /// Opens `url` and waits for the page to load.
    pub(crate) async fn goto(&self, url: &str) -> Result<(), WebDriverError> {
        self.command(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The URL of the current page.
    pub(crate) async fn current_url(&self) -> Result<String, WebDriverError> {
        let value = self.command(Method::GET, "/url", None).await?;
        string(value, "GET /url")
    }

    /// The first element matching the CSS `selector`.
    pub(crate) async fn find(&self, selector: &str) -> Result<Element, WebDriverError> {
        let body = json!({ "using": "css selector", "value": selector });
        let value = self.command(Method::POST, "/element", Some(body)).await?;
        value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .map(|id| Element(id.to_owned()))
            .ok_or_else(|| WebDriverError::Protocol {
                command: format!("find {selector:?}"),
                detail: format!("no element reference in {value}"),
            })
    }

    /// Types `text` into `element`.
    pub(crate) async fn send_keys(
        &self,
        element: &Element,
        text: &str,
    ) -> Result<(), WebDriverError> {
        let path = format!("/element/{}/value", element.0);
        self.command(Method::POST, &path, Some(json!({ "text": text })))
            .await
            .map(drop)
    }

    /// Clicks `element`.
    pub(crate) async fn click(&self, element: &Element) -> Result<(), WebDriverError> {
        let path = format!("/element/{}/click", element.0);
        self.command(Method::POST, &path, Some(json!({})))
            .await
            .map(drop)
    }

    /// The rendered text of `element`.
    pub(crate) async fn text(&self, element: &Element) -> Result<String, WebDriverError> {
        let path = format!("/element/{}/text", element.0);
        let value = self.command(Method::GET, &path, None).await?;
        string(value, "GET element text")
    }

    /// The value of `element`'s attribute `name`, or `None` without one.
    pub(crate) async fn attribute(
        &self,
        element: &Element,
        name: &str,
    ) -> Result<Option<String>, WebDriverError> {
        let path = format!("/element/{}/attribute/{name}", element.0);
        match self.command(Method::GET, &path, None).await? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(WebDriverError::Protocol {
                command: format!("GET attribute {name}"),
                detail: format!("expected a string or null, got {other}"),
            }),
        }
    }

    /// The rendered text of the page's `<body>`.
    pub(crate) async fn body_text(&self) -> Result<String, WebDriverError> {
        let body = self.find("body").await?;
        self.text(&body).await
    }

    /// The current page's source.
    pub(crate) async fn source(&self) -> Result<String, WebDriverError> {
        let value = self.command(Method::GET, "/source", None).await?;
        string(value, "GET /source")
    }

    /// A PNG screenshot of the viewport.
    pub(crate) async fn screenshot(&self) -> Result<Vec<u8>, WebDriverError> {
        let value = self.command(Method::GET, "/screenshot", None).await?;
        let encoded = string(value, "GET /screenshot")?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| WebDriverError::Protocol {
                command: "GET /screenshot".into(),
                detail: format!("not base64: {e}"),
            })
    }

    /// Polls the current URL and body text until `ready` accepts them, for up to [`WAIT`].
    /// The error says what was awaited and what the page showed last.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        ready: impl Fn(&str, &str) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        let mut last = (String::new(), String::new());
        loop {
            // A navigation in flight can make a single read fail; only the deadline counts.
            if let (Ok(url), Ok(text)) = (self.current_url().await, self.body_text().await) {
                if ready(&url, &text) {
                    return Ok(());
                }
                last = (url, text);
            }
            if Instant::now() >= deadline {
                let text: String = last.1.chars().take(600).collect();
                return Err(format!(
                    "timed out after {WAIT:?} waiting for {what}; last page {} showed:\n{text}",
                    last.0
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot and the page source as `dir/name.png` and `dir/name.html`; returns a
    /// sentence saying where they are (or why they are not).
    pub(crate) async fn save_artifacts(&self, dir: &Path, name: &str) -> String {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return format!("could not create {}: {e}", dir.display());
        }
        let mut saved = Vec::new();
        let png = dir.join(format!("{name}.png"));
        match self.screenshot().await {
            Ok(bytes) => match std::fs::write(&png, bytes) {
                Ok(()) => saved.push(format!("screenshot {}", png.display())),
                Err(e) => saved.push(format!("no screenshot ({}: {e})", png.display())),
            },
            Err(e) => saved.push(format!("no screenshot ({e})")),
        }
        let html = dir.join(format!("{name}.html"));
        let source = match (self.current_url().await, self.source().await) {
            (Ok(url), Ok(source)) => Ok(format!("<!-- {url} -->\n{source}")),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match source {
            Ok(source) => match std::fs::write(&html, source) {
                Ok(()) => saved.push(format!("page source {}", html.display())),
                Err(e) => saved.push(format!("no page source ({}: {e})", html.display())),
            },
            Err(e) => saved.push(format!("no page source ({e})")),
        }
        saved.join(", ")
    }

    /// Ends the session, which closes the browser.
    pub(crate) async fn quit(&self) -> Result<(), WebDriverError> {
        self.command(Method::DELETE, "", None).await.map(drop)
    }
}

/// Sends one command and unwraps WebDriver's `{"value": …}` envelope.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WebDriverError> {
    let command = format!("{method} {url}");
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .map_err(|source| WebDriverError::Http {
            command: command.clone(),
            source,
        })?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|source| WebDriverError::Http {
            command: command.clone(),
            source,
        })?;
    let mut envelope: Value =
        serde_json::from_str(&text).map_err(|e| WebDriverError::Protocol {
            command: command.clone(),
            detail: format!("not JSON ({e}): {text}"),
        })?;
    let value = envelope
        .get_mut("value")
        .map(Value::take)
        .unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Err(WebDriverError::Driver {
        command,
        status: status.as_u16(),
        error: field("error"),
        message: field("message"),
    })
}

fn string(value: Value, command: &str) -> Result<String, WebDriverError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(WebDriverError::Protocol {
            command: command.to_owned(),
            detail: format!("expected a string, got {other}"),
        }),
    }
}

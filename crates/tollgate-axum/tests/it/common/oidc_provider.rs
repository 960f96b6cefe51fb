//! A real OpenID Provider for the interop suite: panva's `oidc-provider`, pinned in
//! `interop/oidc-provider` and started by `node provider.mjs` on 127.0.0.1 (a free port) for one
//! test; and a Tollgate axum app that signs in with it. The browser walks the provider's own
//! development login and consent forms.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tollgate::{CookieJar, SessionData, Tollgate};
use tollgate_axum::{RequireMfa, Session, SessionLayer};
use url::Url;

use super::{HttpBrowser, Resp, SECRET};

/// How long the provider may take to start, or to report an event, before the test fails: long,
/// because a test machine may be busy (each test starts its own provider).
const DEADLINE: Duration = Duration::from_secs(120);

/// How long one start of the provider may stay silent before it is killed and started again.
const START_DEADLINE: Duration = Duration::from_secs(40);

/// The password typed into the provider's login form (it accepts any).
pub(crate) const PASSWORD: &str = "any-password";

/// Which of the provider's clients the app is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// `tollgate-basic`: `client_secret_basic`, with a secret holding `+`, `%` and `:`.
    Basic,
    /// `tollgate-post`: `client_secret_post`.
    Post,
    /// `tollgate-dpop`: `client_secret_post`, DPoP-bound tokens, a server nonce required at the
    /// token endpoint. The app uses DPoP with a key generated at start.
    Dpop,
    /// Like [`Dpop`](Self::Dpop), with the provider demanding nonces at `/userinfo` too.
    DpopNonceEverywhere,
}

/// A client registered at the provider.
#[derive(Clone, Debug)]
pub(crate) struct OpClient {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// The running `node provider.mjs`; killed when dropped.
pub(crate) struct Provider {
    /// The issuer identifier, exactly as the provider spells it (no trailing slash).
    pub(crate) issuer: String,
    pub(crate) basic: OpClient,
    pub(crate) post: OpClient,
    pub(crate) dpop: OpClient,
    stdout: Lines<BufReader<ChildStdout>>,
    // The provider exits when its stdin closes: it cannot outlive this process.
    _stdin: ChildStdin,
    _child: Child,
}

/// `interop/oidc-provider`, when its npm packages are installed; `None` (with a note) when
/// `TOLLGATE_SKIP_NODE=1` and they are not.
fn interop_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/oidc-provider");
    if dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        return Some(dir);
    }
    if std::env::var("TOLLGATE_SKIP_NODE").as_deref() == Ok("1") {
        eprintln!("skipped: TOLLGATE_SKIP_NODE=1 and interop/oidc-provider has no node_modules");
        return None;
    }
    panic!(
        "interop/oidc-provider/node_modules is missing: run scripts/test.sh (or `npm ci` in interop/oidc-provider)"
    );
}

fn client(ready: &Value, which: &str) -> OpClient {
    let c = &ready["clients"][which];
    OpClient {
        id: c["id"]
            .as_str()
            .expect("the ready line names the clients")
            .to_owned(),
        secret: c["secret"]
            .as_str()
            .expect("the ready line has the secrets")
            .to_owned(),
    }
}

impl Provider {
    /// Starts the provider for the relying party at `rp_base`; `None` when Node tests are skipped.
    /// `nonce_everywhere` demands DPoP nonces at `/userinfo` too.
    pub(crate) async fn start_with(rp_base: &Url, nonce_everywhere: bool) -> Option<Self> {
        let dir = interop_dir()?;
        // A Node start that prints nothing for a long time (seen once in CI: the process stayed
        // silent after its runtime warning) is killed and tried again, three times at most.
        let mut attempts = 0;
        let (ready, stdout, stdin, child) = loop {
            attempts += 1;
            let mut child = Command::new("node")
                .arg("provider.mjs")
                .current_dir(&dir)
                .env("RP_BASE", rp_base.as_str())
                .env(
                    "DPOP_REQUIRE_NONCE",
                    if nonce_everywhere { "1" } else { "0" },
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("`node` runs (install Node.js 20 or newer, or run scripts/test.sh)");
            let stdin = child.stdin.take().expect("stdin is piped");
            let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
            // The provider's log goes to the test's captured output (shown when a test fails).
            let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
            tokio::spawn(async move {
                while let Ok(Some(line)) = stderr.next_line().await {
                    eprintln!("[oidc-provider] {line}");
                }
            });
            match tokio::time::timeout(START_DEADLINE, next_json(&mut stdout)).await {
                Ok(ready) => {
                    let ready = ready.expect("oidc-provider printed its ready line before exiting");
                    break (ready, stdout, stdin, child);
                }
                Err(_) if attempts < 3 => {
                    eprintln!("[oidc-provider] silent for {START_DEADLINE:?}: starting it again");
                }
                Err(_) => panic!("oidc-provider did not print its ready line in {attempts} tries"),
            }
        };
        let issuer = ready["issuer"]
            .as_str()
            .expect("the ready line has the issuer")
            .to_owned();
        assert_eq!(
            Url::parse(&issuer).unwrap().host_str(),
            Some("127.0.0.1"),
            "loopback only"
        );
        Some(Self {
            issuer,
            basic: client(&ready, "basic"),
            post: client(&ready, "post"),
            dpop: client(&ready, "dpop"),
            stdout,
            _stdin: stdin,
            _child: child,
        })
    }

    /// An endpoint of the provider (`/token`, `/session/end`, …).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    /// Waits for the next event line the provider prints (a back-channel logout it delivered or
    /// failed to deliver).
    pub(crate) async fn next_event(&mut self) -> Value {
        tokio::time::timeout(DEADLINE, next_json(&mut self.stdout))
            .await
            .expect("oidc-provider reported an event in time")
            .expect("oidc-provider is still running")
    }
}

/// The next stdout line that is a JSON object (oidc-provider prints its own notices there too).
async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Option<Value> {
    while let Some(line) = lines.next_line().await.ok()? {
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&line) {
            return Some(v);
        }
        eprintln!("[oidc-provider] {line}");
    }
    None
}

/// The provider and a Tollgate app signed in with it.
pub(crate) struct OpApp {
    pub(crate) op: Provider,
    pub(crate) auth: Tollgate,
    pub(crate) base: Url,
    pub(crate) client: OpClient,
}

/// Starts the provider and an app that is its client `which`; `None` when Node tests are skipped.
///
/// The app serves `/` (says who is signed in), `/billing` (behind `RequireMfa`) and Tollgate's
/// routes, with cookie sessions.
pub(crate) async fn start(which: ClientAuth) -> Option<OpApp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let op = Provider::start_with(&base, which == ClientAuth::DpopNonceEverywhere).await?;
    let client = match which {
        ClientAuth::Basic => op.basic.clone(),
        ClientAuth::Post => op.post.clone(),
        ClientAuth::Dpop | ClientAuth::DpopNonceEverywhere => op.dpop.clone(),
    };
    let mut config = tollgate_testkit::local_config(
        &op.issuer,
        (&client.id, &client.secret),
        SECRET,
        base.as_str(),
    )
    // Generous, for a busy test machine (the default is 5 s).
    .http_timeout(Duration::from_secs(60));
    if which == ClientAuth::Basic {
        config = config.use_client_secret_basic();
    }
    if matches!(which, ClientAuth::Dpop | ClientAuth::DpopNonceEverywhere) {
        config = config.use_dpop(true);
    }
    let auth = Tollgate::new(config.build().unwrap());
    let app = Router::new()
        .route(
            "/billing",
            get(|s: Session| async move { format!("billing for {}", s.user.sub()) }),
        )
        .route_layer(RequireMfa::new())
        .route(
            "/",
            get(|s: Option<Session>| async move {
                match s {
                    Some(s) => format!("home: signed in as {}", s.user.sub()),
                    None => "home: anonymous".to_owned(),
                }
            }),
        )
        .merge(tollgate_axum::routes(auth.clone()))
        .layer(SessionLayer::new(auth.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Some(OpApp {
        op,
        auth,
        base,
        client,
    })
}

/// Which of the provider's pages the browser went through.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pages {
    pub(crate) login: usize,
    pub(crate) consent: usize,
}

impl OpApp {
    pub(crate) fn url(&self, path: &str) -> String {
        self.base.join(path).unwrap().to_string()
    }

    /// The session the browser's cookies open, read by the app's own Tollgate.
    pub(crate) async fn session(&self, b: &HttpBrowser) -> Option<SessionData> {
        let header = b
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        self.auth.session(&CookieJar::parse(&header)).await.unwrap()
    }

    /// Follows the provider from `url` (an authorization request) to its redirect back to the
    /// app, signing in as `login` on the login page and agreeing on the consent page. Returns the
    /// redirect (not followed) and the pages shown.
    pub(crate) async fn through_provider(
        &self,
        b: &mut HttpBrowser,
        url: &str,
        login: &str,
    ) -> (Resp, Pages) {
        let mut pages = Pages::default();
        let mut next = url.to_owned();
        for _ in 0..20 {
            let r = b.get(&next).await;
            if (300..400).contains(&r.status) {
                if !r.location().as_str().starts_with(&self.op.issuer) {
                    return (r, pages);
                }
                next = r.location().to_string();
                continue;
            }
            assert_eq!(r.status, 200, "a provider page: {r:?}");
            let action = attribute(&r.body, "<form", "action").expect("the page has a form");
            let action = r.url.join(&action).unwrap().to_string();
            let prompt = attribute(&r.body, "name=\"prompt\"", "value").expect("a prompt form");
            let posted = match prompt.as_str() {
                "login" => {
                    pages.login += 1;
                    b.post_form(
                        &action,
                        &[
                            ("prompt", "login"),
                            ("login", login),
                            ("password", PASSWORD),
                        ],
                    )
                    .await
                }
                "consent" => {
                    pages.consent += 1;
                    b.post_form(&action, &[("prompt", "consent")]).await
                }
                other => panic!("unexpected provider page {other}: {}", r.body),
            };
            assert_eq!(posted.status, 303, "the form was accepted: {posted:?}");
            next = posted.location().to_string();
        }
        panic!("the provider never sent the browser back to the app");
    }

    /// `/auth/login?{query}` at the app, through the provider as `login`, up to (not including)
    /// the app's callback; returns the redirect to the callback and the provider pages shown.
    pub(crate) async fn login_until_callback(
        &self,
        b: &mut HttpBrowser,
        query: &str,
        login: &str,
    ) -> (Resp, Pages) {
        let start = b.get(&self.url(&format!("/auth/login?{query}"))).await;
        assert_eq!(start.status, 302, "{start:?}");
        let authorize = start.location().to_string();
        assert!(
            authorize.starts_with(&self.op.url("/auth?")),
            "to the provider's authorization endpoint: {authorize}"
        );
        let (back, pages) = self.through_provider(b, &authorize, login).await;
        assert!(
            back.location()
                .as_str()
                .starts_with(&self.url("/auth/callback?")),
            "back at the app's callback: {back:?}"
        );
        (back, pages)
    }
}

/// The value of `name="…"` in the first tag found after `marker` in `html`, HTML-unescaped.
pub(crate) fn attribute(html: &str, marker: &str, name: &str) -> Option<String> {
    let start = html.find(marker)?;
    let tag = &html[start..];
    let tag = &tag[..tag.find('>')?];
    let key = format!("{name}=\"");
    let rest = &tag[tag.find(&key)? + key.len()..];
    let value = &rest[..rest.find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

//! Test harness: the local tenant and a Tollgate axum app on loopback ports, and a small browser
//! that keeps cookies the way a real one does for one host (shared across ports) and never follows
//! redirects, so every hop can be asserted.

use std::collections::BTreeMap;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::sync::Arc;
use tollgate::AccessTokenOptions;
use tollgate::store::SessionStore;
use tollgate::{Config, ConfigBuilder, Tollgate};
use tollgate_axum::{Auth, RequireMfa, Session, SessionLayer, User};

pub(crate) mod oidc_provider;

/// Parses a JSON answer, saying what came instead when it is not JSON.
pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

pub(crate) const PAYMENTS: &str = "https://payments.example.com";

/// An API handler that needs a token for the payments API.
async fn payments(auth: Auth) -> axum::response::Response {
    match auth
        .access_token(AccessTokenOptions::new().audience(PAYMENTS))
        .await
    {
        Ok(t) => axum::Json(serde_json::json!({"paid_with": t.audience, "len": t.token.len()}))
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::from_u16(e.status()).unwrap(),
            axum::Json(e.to_json()),
        )
            .into_response(),
    }
}
/// An API handler that needs the user's token at the Google connection (Token Vault).
async fn calendar(auth: Auth) -> axum::response::Response {
    let opts = tollgate::ConnectionTokenOptions::new("google-oauth2");
    match auth.access_token_for_connection(&opts).await {
        Some(Ok(t)) => axum::Json(serde_json::json!({
            "connection": t.connection,
            "token": t.access_token,
            "expires_at": t.expires_at,
        }))
        .into_response(),
        Some(Err(e)) => (
            axum::http::StatusCode::BAD_GATEWAY,
            axum::Json(serde_json::json!({"error": e.code(), "message": e.to_string()})),
        )
            .into_response(),
        None => axum::http::StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// Unlinks the user's Google accounts (`Auth::disconnect_connection`).
async fn disconnect_google(auth: Auth) -> axum::response::Response {
    match auth.disconnect_connection("google-oauth2").await {
        Ok(removed) => axum::Json(serde_json::json!({"removed": removed.len()})).into_response(),
        Err(e) => e.into_response().into_response(),
    }
}

use tollgate_tenant::{ApiConfig, ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};
use url::Url;

pub(crate) const CLIENT_ID: &str = "app-client";
pub(crate) const CLIENT_SECRET: &str = "app-client-secret";
pub(crate) const SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub(crate) const ALICE: (&str, &str) = ("alice@example.com", "alice-password-1");
pub(crate) const BOB: (&str, &str) = ("bob@example.com", "bob-password-1");
pub(crate) const CAROL: (&str, &str) = ("carol@example.com", "carol-password-1");

pub(crate) struct TestApp {
    pub(crate) tenant: RunningTenant,
    pub(crate) auth: Tollgate,
    pub(crate) base: Url,
    pub(crate) config: Config,
    pub(crate) store: Option<Arc<dyn SessionStore>>,
}

/// Starts the tenant (changed by `tenant`) and an app keeping sessions in `store`.
pub(crate) async fn start_store(
    store: Arc<dyn SessionStore>,
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", |c| c, Some(store), tenant, None).await
}

/// Starts the tenant (changed by `tenant`) and an app whose config `tweak` may change.
pub(crate) async fn start_tenant(
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", tweak, None, tenant, None).await
}

/// Starts the tenant (changed by `tenant`) and an app with config changes from `tweak` and
/// `hooks`.
pub(crate) async fn start_hooked(
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    hooks: tollgate::Hooks,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", tweak, None, tenant, Some(hooks)).await
}

/// Starts the tenant and an app with `hooks`.
pub(crate) async fn start_hooks(hooks: tollgate::Hooks) -> TestApp {
    start_inner(SECRET, "/auth/callback", |c| c, None, |t| t, Some(hooks)).await
}

pub(crate) async fn start() -> TestApp {
    start_with(|b| b).await
}

/// Starts the tenant and an app whose config `tweak` may change.
pub(crate) async fn start_with(tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> TestApp {
    start_full(SECRET, tweak).await
}

/// Starts the tenant and an app whose auth routes live at custom paths.
pub(crate) async fn start_routes(routes: tollgate::Routes) -> TestApp {
    let callback = routes.callback.clone();
    start_inner(SECRET, &callback, |c| c.routes(routes), None, |t| t, None).await
}

/// Starts the tenant and an app with cookie secret(s) `secret` and config changes from `tweak`.
pub(crate) async fn start_full(
    secret: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    start_inner(secret, "/auth/callback", tweak, None, |t| t, None).await
}

async fn start_inner(
    secret: &str,
    callback_path: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    store: Option<Arc<dyn SessionStore>>,
    tenant_tweak: impl FnOnce(TenantConfig) -> TenantConfig,
    hooks: Option<tollgate::Hooks>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let tenant = Tenant::start(
        tenant_tweak(
            TenantConfig::new()
                .with_client(
                    ClientConfig::new(CLIENT_ID, CLIENT_SECRET)
                        .with_callback(base.join(callback_path).unwrap().as_str())
                        .with_logout_url(base.as_str())
                        .with_logout_url(base.join("/goodbye").unwrap().as_str())
                        .with_backchannel_logout_url(
                            base.join("/auth/backchannel-logout").unwrap().as_str(),
                        ),
                )
                .with_user(
                    UserConfig::new(ALICE.0, ALICE.1)
                        .with_name("Alice Example")
                        .with_totp_secret("JBSWY3DPEHPK3PXP")
                        .with_phone("+15555550100")
                        .with_email_factor()
                        .with_recovery_code("ABCDEFGHJKLMNPQRSTUVWXYZ"),
                )
                .with_user(UserConfig::new(BOB.0, BOB.1).with_name("Bob Example"))
                .with_user(
                    UserConfig::new(CAROL.0, CAROL.1)
                        .with_name("Carol Example")
                        .with_push_device("Carol's phone"),
                )
                .with_api(
                    ApiConfig::new("https://payments.example.com").with_scopes(["read:payments"]),
                ),
        ),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let config = tweak(
        Config::builder()
            .domain(tenant.issuer())
            .insecure_allow_http_loopback_issuer()
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .secret(secret)
            .app_base_url(base.as_str()),
    )
    .build()
    .unwrap();
    let mut auth = match &store {
        Some(st) => Tollgate::with_store(config.clone(), st.clone()),
        None => Tollgate::new(config.clone()),
    };
    if let Some(h) = hooks {
        auth = auth.with_hooks(h);
    }
    serve(listener, auth.clone());
    TestApp {
        tenant,
        auth,
        base,
        config,
        store,
    }
}

/// Serves the test app for `auth` on `listener`.
pub(crate) fn serve(listener: tokio::net::TcpListener, auth: Tollgate) {
    let app = Router::new()
        .route(
            "/billing",
            get(|u: User| async move { format!("billing for {}", u.name().unwrap_or("?")) }),
        )
        .route("/api/billing", get(|| async { "{\"balance\":42}" }))
        .route_layer(RequireMfa::new())
        .route("/api/payments", get(payments))
        .route("/api/calendar", get(calendar))
        .route(
            "/api/disconnect-google",
            axum::routing::post(disconnect_google),
        )
        .route(
            "/",
            get(|s: Option<Session>| async move {
                match s {
                    Some(s) => format!("home: signed in as {}", s.user.sub()),
                    None => "home: anonymous".to_owned(),
                }
            }),
        )
        .route(
            "/profile",
            get(|u: User| async move { format!("profile of {}", u.name().unwrap_or("?")) }),
        )
        .merge(tollgate_axum::routes(auth.clone()))
        .layer(SessionLayer::new(auth));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        self.base.join(path).unwrap().to_string()
    }

    /// Another instance of the app (a second process, as far as Tollgate knows: its own SDK
    /// object, caches and single-flight), sharing the tenant and the store. Returns its base URL.
    pub(crate) async fn second_instance(&self) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let auth = match &self.store {
            Some(st) => Tollgate::with_store(self.config.clone(), st.clone()),
            None => Tollgate::new(self.config.clone()),
        };
        serve(listener, auth);
        base
    }
}

#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) url: Url,
    pub(crate) location: Option<Url>,
    pub(crate) set_cookies: Vec<String>,
    pub(crate) body: String,
}

impl Resp {
    /// Whether this answer sets the named cookie to a non-empty value.
    pub(crate) fn sets(&self, name: &str) -> bool {
        self.set_cookies
            .iter()
            .any(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
    }

    /// Whether this answer deletes the named cookie.
    pub(crate) fn deletes(&self, name: &str) -> bool {
        self.set_cookies
            .iter()
            .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
    }

    pub(crate) fn location(&self) -> &Url {
        self.location
            .as_ref()
            .unwrap_or_else(|| panic!("no Location in {self:?}"))
    }

    pub(crate) fn query(&self, name: &str) -> Option<String> {
        self.location()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Cookies for one host (browsers share them across ports), no redirects followed.
pub(crate) struct Browser {
    http: reqwest::Client,
    pub(crate) cookies: BTreeMap<String, String>,
    pub(crate) accept: &'static str,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            accept: "text/html,application/xhtml+xml",
        }
    }
}

impl Browser {
    /// A browser whose requests for each of `hosts` go to `addr` (as if DNS said so), so one app
    /// on a loopback port can be reached under several host names.
    pub(crate) fn resolving(hosts: &[&str], addr: std::net::SocketAddr) -> Self {
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        for h in hosts {
            http = http.resolve(h, addr);
        }
        Self {
            http: http.build().unwrap(),
            ..Self::default()
        }
    }

    /// A request with extra headers (e.g. `X-Forwarded-Host`).
    pub(crate) async fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, url).await
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Resp {
        let mut req = req.header("accept", self.accept);
        if !self.cookies.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        let resp = req.send().await.unwrap();
        let url = Url::parse(url).unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| url.join(l.to_str().unwrap()).unwrap());
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Resp {
            status,
            url,
            location,
            set_cookies,
            body,
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> Resp {
        let req = self.http.get(url);
        self.send(req, url).await
    }

    /// Any request, with extra headers and an optional body.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        self.send(req, url).await
    }

    pub(crate) async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Resp {
        let req = self.http.post(url).form(form);
        self.send(req, url).await
    }

    pub(crate) fn has_session(&self) -> bool {
        self.cookies
            .keys()
            .any(|k| k == "__session" || k.starts_with("__session__"))
    }

    pub(crate) fn txn_cookies(&self) -> Vec<String> {
        self.cookies
            .keys()
            .filter(|k| k.starts_with("__txn_"))
            .cloned()
            .collect()
    }

    /// `/auth/login` up to the provider's redirect back to the callback (not followed).
    pub(crate) async fn login_until_callback(
        &mut self,
        app: &TestApp,
        login_query: &str,
        user: (&str, &str),
    ) -> Resp {
        let start = self
            .get(&app.url(&format!(
                "{}?{login_query}",
                app.auth.config().routes().login
            )))
            .await;
        assert_eq!(start.status, 302, "{start:?}");
        assert!(
            start
                .location()
                .as_str()
                .starts_with(&format!("{}authorize", app.tenant.issuer()))
        );
        let mut hop = self.get(start.location().as_str()).await;
        if hop
            .location
            .as_ref()
            .is_some_and(|l| l.path() == "/u/login")
        {
            let page_url = hop.location().to_string();
            let page = self.get(&page_url).await;
            assert_eq!(page.status, 200, "{page:?}");
            let state = Url::parse(&page_url)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            hop = self
                .post_form(
                    &page_url,
                    &[
                        ("state", &state),
                        ("username", user.0),
                        ("password", user.1),
                    ],
                )
                .await;
        }
        assert_eq!(hop.status, 302, "{hop:?}");
        hop
    }

    /// Follows a step-up from the app's login URL `start` through the tenant's MFA page, typing
    /// `code` (computed when the page is reached); returns the tenant's answer to the code.
    pub(crate) async fn step_up_with(
        &mut self,
        app: &TestApp,
        start: &str,
        code: impl Fn(&TestApp) -> String,
    ) -> Resp {
        let login = self.get(start).await;
        assert_eq!(login.status, 302, "{login:?}");
        let mut hop = self.get(login.location().as_str()).await;
        if hop
            .location
            .as_ref()
            .is_some_and(|l| l.path() == "/u/login")
        {
            let page_url = hop.location().to_string();
            let state = Url::parse(&page_url)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .unwrap()
                .1
                .into_owned();
            hop = self
                .post_form(
                    &page_url,
                    &[
                        ("state", &state),
                        ("username", ALICE.0),
                        ("password", ALICE.1),
                    ],
                )
                .await;
        }
        assert_eq!(
            hop.location().path(),
            "/u/mfa",
            "the tenant asks for the second factor: {hop:?}"
        );
        let mfa_url = hop.location().to_string();
        let page = self.get(&mfa_url).await;
        assert!(
            page.body.contains("autocomplete=\"one-time-code\""),
            "{}",
            page.body
        );
        let state = Url::parse(&mfa_url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let post = app.tenant.base_url().join("/u/mfa").unwrap();
        self.post_form(
            post.as_str(),
            &[("state", &state), ("method", "otp"), ("code", &code(app))],
        )
        .await
    }

    /// A whole login; returns the callback's answer.
    pub(crate) async fn login(&mut self, app: &TestApp, login_query: &str) -> Resp {
        let back = self.login_until_callback(app, login_query, ALICE).await;
        assert!(
            back.location()
                .as_str()
                .starts_with(&app.url("/auth/callback")),
            "{back:?}"
        );
        self.get(back.location().as_str()).await
    }
}

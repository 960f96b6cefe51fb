//! The adapter's test app: the local tenant and a Tollgate axum app on loopback ports (a port the
//! OS picked for each), with users, an API and routes that the adapter's tests sign in to and call
//! with an [`HttpBrowser`](crate::HttpBrowser).

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use tollgate::AccessTokenOptions;
use tollgate::store::SessionStore;
use tollgate::{Config, ConfigBuilder, Tollgate};
use tollgate_axum::{Auth, RequireMfa, Session, SessionLayer, User};
use tollgate_tenant::{ApiConfig, ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};
use url::Url;

/// Parses a JSON answer, saying what came instead when it is not JSON.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The payments API registered at the test tenant (audience), with the scope `read:payments`;
/// `/api/payments` asks for a token for it.
pub const PAYMENTS: &str = "https://payments.example.com";

/// An API handler that needs a token for the payments API.
async fn payments(auth: Auth) -> Result<axum::response::Response, tollgate_axum::AuthError> {
    let t = auth
        .access_token(AccessTokenOptions::new().audience(PAYMENTS))
        .await?;
    Ok(
        axum::Json(serde_json::json!({"paid_with": t.audience, "len": t.token.len()}))
            .into_response(),
    )
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

/// The app's client id at the test tenant.
pub const CLIENT_ID: &str = "app-client";
/// The app's client secret at the test tenant.
pub const CLIENT_SECRET: &str = "app-client-secret";
/// The app's cookie secret (`AUTH0_SECRET`), unless a test starts it with others.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// A user (email, password) with a name, TOTP, SMS, e-mail and recovery-code factors.
pub const ALICE: (&str, &str) = ("alice@example.com", "alice-password-1");
/// A user (email, password) with a password only.
pub const BOB: (&str, &str) = ("bob@example.com", "bob-password-1");
/// A user (email, password) with a push device.
pub const CAROL: (&str, &str) = ("carol@example.com", "carol-password-1");

/// A running tenant and an app signed in to it, served on a loopback port until the test ends.
#[derive(Debug)]
pub struct TestApp {
    /// The local tenant (its users, clients and event log).
    pub tenant: RunningTenant,
    /// The app's SDK object (the one its routes use).
    pub auth: Tollgate,
    /// The app's base URL, `http://127.0.0.1:<port>/`.
    pub base: Url,
    /// The app's config.
    pub config: Config,
    /// The session store, when the test gave one (else sessions live in cookies).
    pub store: Option<Arc<dyn SessionStore>>,
}

/// Starts the tenant (changed by `tenant`) and an app keeping sessions in `store`.
pub async fn start_store(
    store: Arc<dyn SessionStore>,
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", |c| c, Some(store), tenant, None).await
}

/// [`start_store`] with config changes from `tweak` (a [`tollgate::ManualClock`], say).
pub async fn start_store_with(
    store: Arc<dyn SessionStore>,
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", tweak, Some(store), tenant, None).await
}

/// Starts the tenant (changed by `tenant`) and an app whose config `tweak` may change.
pub async fn start_tenant(
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", tweak, None, tenant, None).await
}

/// Starts the tenant (changed by `tenant`) and an app with config changes from `tweak` and
/// `hooks`.
pub async fn start_hooked(
    tenant: impl FnOnce(TenantConfig) -> TenantConfig,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    hooks: tollgate::Hooks,
) -> TestApp {
    start_inner(SECRET, "/auth/callback", tweak, None, tenant, Some(hooks)).await
}

/// Starts the tenant and an app with `hooks`.
pub async fn start_hooks(hooks: tollgate::Hooks) -> TestApp {
    start_inner(SECRET, "/auth/callback", |c| c, None, |t| t, Some(hooks)).await
}

/// Starts the tenant and an app with the default config.
pub async fn start() -> TestApp {
    start_with(|b| b).await
}

/// Starts the tenant and an app whose config `tweak` may change.
pub async fn start_with(tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> TestApp {
    start_full(SECRET, tweak).await
}

/// Starts the tenant and an app whose auth routes live at custom paths.
pub async fn start_routes(routes: tollgate::Routes) -> TestApp {
    let callback = routes.callback.clone();
    start_inner(SECRET, &callback, |c| c.routes(routes), None, |t| t, None).await
}

/// Starts the tenant and an app with cookie secret(s) `secret` and config changes from `tweak`.
pub async fn start_full(
    secret: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    start_inner(secret, "/auth/callback", tweak, None, |t| t, None).await
}

/// Starts the tenant over HTTPS, with a generated CA and the host-name issuer
/// `https://localhost:PORT/`, and an app (config changed by `tweak`) whose SDK trusts that CA
/// (`ConfigBuilder::extra_root_certificate_pem`). Browse it with
/// `HttpBrowser::trusting(app.tenant.ca_pem().unwrap())`.
pub async fn start_https(tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> TestApp {
    start_on(SECRET, "/auth/callback", tweak, None, |t| t, None, true).await
}

async fn start_inner(
    secret: &str,
    callback_path: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    store: Option<Arc<dyn SessionStore>>,
    tenant_tweak: impl FnOnce(TenantConfig) -> TenantConfig,
    hooks: Option<tollgate::Hooks>,
) -> TestApp {
    start_on(
        secret,
        callback_path,
        tweak,
        store,
        tenant_tweak,
        hooks,
        false,
    )
    .await
}

/// Starts an HTTPS tenant named `https://localhost:PORT/`. The issuer needs its port before
/// the tenant binds, so a free port is picked first; another process taking it in between
/// makes the start fail, and a new port is tried.
async fn start_https_tenant(config: TenantConfig) -> RunningTenant {
    let mut last = None;
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let config = config
            .clone()
            .with_tls(tollgate_tenant::TlsConfig::generated())
            .with_issuer(format!("https://localhost:{port}/"));
        match Tenant::start(config, &format!("127.0.0.1:{port}")).await {
            Ok(tenant) => return tenant,
            Err(e @ tollgate_tenant::TenantError::Bind { .. }) => last = Some(e),
            Err(e) => panic!("the HTTPS tenant does not start: {e}"),
        }
    }
    panic!("no free port for the HTTPS tenant: {last:?}")
}

#[allow(clippy::too_many_arguments)]
async fn start_on(
    secret: &str,
    callback_path: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    store: Option<Arc<dyn SessionStore>>,
    tenant_tweak: impl FnOnce(TenantConfig) -> TenantConfig,
    hooks: Option<tollgate::Hooks>,
    https: bool,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let tenant_config = tenant_tweak(
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
    );
    let tenant = if https {
        start_https_tenant(tenant_config).await
    } else {
        Tenant::start(tenant_config, "127.0.0.1:0").await.unwrap()
    };
    let mut local = crate::local_config(
        tenant.issuer(),
        (CLIENT_ID, CLIENT_SECRET),
        secret,
        base.as_str(),
    );
    if let Some(ca) = tenant.ca_pem() {
        local = local.extra_root_certificate_pem(ca);
    }
    let config = tweak(local).build().unwrap();
    let mut builder = Tollgate::builder(config.clone());
    if let Some(st) = &store {
        builder = builder.store(st.clone());
    }
    if let Some(h) = hooks {
        builder = builder.hooks(h);
    }
    let auth = builder.build();
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
pub fn serve(listener: tokio::net::TcpListener, auth: Tollgate) {
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
    /// The app's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        self.base.join(path).unwrap().to_string()
    }

    /// Another instance of the app (a second process, as far as Tollgate knows: its own SDK
    /// object, caches and single-flight), sharing the tenant and the store. Returns its base URL.
    pub async fn second_instance(&self) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let auth = match &self.store {
            Some(st) => Tollgate::builder(self.config.clone())
                .store(st.clone())
                .build(),
            None => Tollgate::new(self.config.clone()),
        };
        serve(listener, auth);
        base
    }
}

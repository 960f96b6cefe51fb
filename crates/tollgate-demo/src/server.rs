//! Starting and stopping the demo: the listener, the provider, and the axum server.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tollgate::Tollgate;
use tollgate_tenant::RunningTenant;
use url::Url;

use crate::provider::{self, ALICE, BOB};
use crate::{DemoError, DemoOptions};

/// How long [`RunningDemo::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Starts the demo on the current Tokio runtime: binds the app's address, starts the embedded
/// tenant (unless `AUTH0_DOMAIN` is set), builds the configuration and serves [`app`](crate::app).
///
/// Returns once both listen, so the URLs can be used at once.
pub async fn start(options: DemoOptions) -> Result<RunningDemo, DemoError> {
    let addr: SocketAddr =
        options
            .app_addr()
            .trim()
            .parse()
            .map_err(|_| DemoError::InvalidAddress {
                value: options.app_addr().to_owned(),
            })?;
    if !addr.ip().is_loopback() {
        return Err(DemoError::NotLoopback { addr });
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DemoError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| DemoError::Bind { addr, source })?;

    let store_choice =
        tollgate::store::StoreChoice::from_vars(|name| options.var(name).map(str::to_owned))?;
    let provider = provider::configure(&options, local_addr).await?;
    let mut builder = Tollgate::builder(provider.config);
    if let Some(store) = store_choice.open().await? {
        builder = builder.store(store);
    }
    let auth = builder.build();
    tracing::info!(store = ?store_choice, "session store");
    let app = crate::app(auth.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "demo server failed");
        }
    });
    tracing::info!(%local_addr, issuer = %auth.config().issuer(), "demo listening");
    Ok(RunningDemo {
        store: store_choice,
        app_url: auth.config().app_base_url().clone(),
        local_addr,
        auth,
        tenant: provider.tenant,
        development_secret: provider.development_secret,
        stop: Some(stop),
        server: Some(server),
    })
}

/// The running demo. Dropping it stops the app and the embedded tenant; [`shutdown`] also waits
/// for the app's server to finish.
///
/// [`shutdown`]: RunningDemo::shutdown
#[derive(Debug)]
pub struct RunningDemo {
    store: tollgate::store::StoreChoice,
    app_url: Url,
    local_addr: SocketAddr,
    auth: Tollgate,
    tenant: Option<RunningTenant>,
    development_secret: bool,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl RunningDemo {
    /// The app's URL: `APP_BASE_URL` when set, else `http://IP:PORT/` with the bound port.
    pub fn app_url(&self) -> &Url {
        &self.app_url
    }

    /// An absolute URL of the app for `path` (which starts with `/`).
    ///
    /// ```no_run
    /// # async fn f(demo: tollgate_demo::RunningDemo) {
    /// let profile = demo.url("/profile"); // "http://127.0.0.1:3000/profile"
    /// # }
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app_url.as_str().trim_end_matches('/'))
    }

    /// The address the app listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The session store `TOLLGATE_SESSION_STORE` chose (the cookie by default).
    pub fn store(&self) -> &tollgate::store::StoreChoice {
        &self.store
    }

    /// The SDK instance the app uses.
    pub fn auth(&self) -> &Tollgate {
        &self.auth
    }

    /// The embedded tenant's state directory, or `None` when its state is in memory only (or
    /// there is no embedded tenant).
    pub fn state_dir(&self) -> Option<&std::path::Path> {
        self.tenant.as_ref()?.state_dir()
    }

    /// The embedded tenant, or `None` when `AUTH0_DOMAIN` names another provider.
    pub fn tenant(&self) -> Option<&RunningTenant> {
        self.tenant.as_ref()
    }

    /// The provider's issuer (the embedded tenant's, or the one from `AUTH0_DOMAIN`).
    pub fn issuer(&self) -> &Url {
        self.auth.config().issuer()
    }

    /// Whether sessions are sealed with [`DEVELOPMENT_SECRET`](crate::DEVELOPMENT_SECRET)
    /// because `AUTH0_SECRET` is not set.
    pub fn uses_development_secret(&self) -> bool {
        self.development_secret
    }

    /// The start-up message: both URLs, the demo logins, where sessions live, a warning when
    /// the development secret is in use, and (with the embedded tenant) where its state lives.
    /// One line each.
    pub fn banner(&self) -> String {
        let app = self.app_url.as_str().trim_end_matches('/');
        let mut banner = match &self.tenant {
            Some(tenant) => format!(
                "Tollgate demo on {app} — local tenant on {issuer} — log in as {a} / {ap}{totp} or {b} / {bp}",
                issuer = tenant.issuer(),
                a = ALICE.email,
                ap = ALICE.password,
                totp = if ALICE.totp_enrolled {
                    " (TOTP enrolled)"
                } else {
                    ""
                },
                b = BOB.email,
                bp = BOB.password,
            ),
            None => format!(
                "Tollgate demo on {app} — signing in with {issuer} (AUTH0_DOMAIN); its callback URL must be {callback}",
                issuer = self.issuer(),
                callback = self.auth.config().redirect_uri(),
            ),
        };
        banner.push_str(&match &self.store {
            tollgate::store::StoreChoice::Redis { .. }
            | tollgate::store::StoreChoice::RedisCluster { .. } => {
                format!("\nSessions: in Redis ({:?}), shared by every demo that names it.", self.store)
            }
            tollgate::store::StoreChoice::Memory => {
                "\nSessions: in this process's memory (TOLLGATE_SESSION_STORE=memory).".to_owned()
            }
            _ => "\nSessions: sealed in the cookie (set TOLLGATE_SESSION_STORE=redis://… to share them between instances).".to_owned(),
        });
        if self.development_secret {
            banner.push_str(
                "\nNote: AUTH0_SECRET is not set, so sessions are sealed with the demo's fixed \
                 DEVELOPMENT secret, which anyone can use to forge them. Set AUTH0_SECRET (e.g. \
                 to the output of `openssl rand -hex 32`) for anything but local development.",
            );
        }
        if self.tenant.is_some() {
            banner.push_str(&match self.state_dir() {
                Some(dir) => format!(
                    "\nState: the local tenant keeps its keys, SSO sessions and refresh tokens in {} (a restart keeps you logged in; TOLLGATE_DEMO_STATE_DIR=none keeps them in memory).",
                    dir.display()
                ),
                None => "\nState: the local tenant's keys, SSO sessions and refresh tokens are in memory only; a restart logs everyone out (set TOLLGATE_DEMO_STATE_DIR to a directory to keep them).".to_owned(),
            });
        }
        banner
    }

    /// Stops the app (waiting up to five seconds for open connections) and the embedded tenant.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
        if let Some(tenant) = self.tenant.take() {
            tenant.shutdown().await;
        }
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

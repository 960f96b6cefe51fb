//! The stateless cookie store, the default, passes the shared store conformance suite.

use std::sync::Arc;

use tollgate::Config;
use tollgate::store::CookieStore;

async fn make() -> Arc<CookieStore> {
    let config = Config::builder()
        .domain("example.auth0.com")
        .client_id("c")
        .client_secret("s")
        .secret("cookie-store-suite-secret-0123456789ab")
        .app_base_url("https://app.example.com")
        .build()
        .unwrap();
    Arc::new(CookieStore::new(&config))
}

tollgate::store_conformance!(make());

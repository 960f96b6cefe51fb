//! A single-page application in real headless Chromium, calling the tenant the way
//! `@auth0/auth0-spa-js` 2.x does: `fetch` from its own origin with an `Auth0-Client` header
//! (so every call is preflighted), `client_id` only, PKCE. A page on an origin no client lists
//! cannot read the tenant's answers.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;
use tollgate_tenant::{ClientConfig, TenantConfig, UserConfig};

use crate::common::chromium::Chromium;
use crate::common::{EMAIL, PASSWORD, VERIFIER, authorize_params, start_with};

const SPA: &str = "browser-spa";

/// The SPA's callback page: exchanges the code, refreshes, calls `/userinfo`, meets an error
/// and revokes, all with `fetch`, then writes what it saw into `#out` as JSON.
fn callback_page(tenant: &str) -> String {
    format!(
        r#"<!DOCTYPE html><pre id="out"></pre><script>
const tenant = "{tenant}";
const out = document.getElementById("out");
const client = btoa(JSON.stringify({{name: "auth0-spa-js", version: "2.24.1"}}));
const headers = {{"Content-Type": "application/x-www-form-urlencoded", "Auth0-Client": client}};
async function post(path, fields) {{
  const r = await fetch(tenant + path, {{method: "POST", headers, body: new URLSearchParams(fields)}});
  const text = await r.text();
  return {{status: r.status, nonce: r.headers.get("DPoP-Nonce"), body: text ? JSON.parse(text) : null}};
}}
(async () => {{
  const seen = {{}};
  try {{
    const code = new URLSearchParams(location.search).get("code");
    const t = await post("oauth/token", {{grant_type: "authorization_code", client_id: "{SPA}",
      code, redirect_uri: location.origin + "/cb", code_verifier: "{VERIFIER}"}});
    seen.exchange = t.status;
    const r = await post("oauth/token", {{grant_type: "refresh_token", client_id: "{SPA}",
      refresh_token: t.body.refresh_token}});
    seen.refresh = r.status;
    seen.rotated = r.body.refresh_token !== t.body.refresh_token;
    const u = await fetch(tenant + "userinfo", {{headers: {{Authorization: "Bearer " + r.body.access_token, "Auth0-Client": client}}}});
    seen.userinfo = u.status;
    seen.email = (await u.json()).email;
    const bad = await post("oauth/token", {{grant_type: "refresh_token", client_id: "{SPA}", refresh_token: "not-a-token"}});
    seen.error = bad.status + " " + bad.body.error;
    const v = await post("oauth/revoke", {{client_id: "{SPA}", token: r.body.refresh_token}});
    seen.revoke = v.status;
  }} catch (e) {{
    seen.failed = String(e);
  }}
  out.textContent = JSON.stringify(seen);
  out.dataset.done = "1";
}})();
</script>"#
    )
}

/// A page on an origin no client lists: tries to read the discovery document (preflighted)
/// and the JWKS (a simple request).
fn foreign_page(tenant: &str) -> String {
    format!(
        r#"<!DOCTYPE html><pre id="out"></pre><script>
const tenant = "{tenant}";
const out = document.getElementById("out");
const read = (p) => p.then(r => "read " + r.status, e => "blocked");
Promise.all([
  read(fetch(tenant + ".well-known/openid-configuration", {{headers: {{"Auth0-Client": "x"}}}})),
  read(fetch(tenant + ".well-known/jwks.json")),
]).then(results => {{ out.textContent = JSON.stringify(results); out.dataset.done = "1"; }});
</script>"#
    )
}

async fn serve(listener: tokio::net::TcpListener, path: &'static str, page: String) {
    let app = Router::new().route(path, get(move || async move { Html(page) }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

async fn result(chromium: &Chromium) -> Value {
    chromium
        .wait_for(
            "the page's fetch calls",
            "const o = document.getElementById('out'); return !!o && o.dataset.done === '1';",
        )
        .await;
    let text = chromium
        .eval("return document.getElementById('out').textContent")
        .await;
    serde_json::from_str(text.as_str().unwrap_or_default()).expect("the page wrote JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spa_logs_in_refreshes_and_revokes_from_its_origin_in_chromium() {
    let Some(chromium) = Chromium::launch("spa_browser").await else {
        return;
    };
    let app = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_origin = format!("http://{}", app.local_addr().unwrap());
    let foreign = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let foreign_origin = format!("http://{}", foreign.local_addr().unwrap());
    let callback = format!("{app_origin}/cb");
    let tenant = start_with(
        TenantConfig::new()
            .with_client(
                ClientConfig::public(SPA)
                    .with_callback(&callback)
                    .with_web_origin(&app_origin),
            )
            .with_user(UserConfig::new(EMAIL, PASSWORD)),
    )
    .await;
    serve(app, "/cb", callback_page(tenant.issuer())).await;
    serve(foreign, "/", foreign_page(tenant.issuer())).await;

    let query: Vec<String> =
        authorize_params(&[("client_id", SPA), ("redirect_uri", callback.as_str())])
            .into_iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect();
    chromium
        .goto(&format!("{}authorize?{}", tenant.issuer(), query.join("&")))
        .await;
    chromium
        .wait_for(
            "the login page",
            "return location.pathname === '/u/login' && document.readyState === 'complete'",
        )
        .await;
    chromium
        .eval(&format!(
            "const u = document.querySelector('[name=username]'); u.value = '{EMAIL}';\
             document.querySelector('[name=password]').value = '{PASSWORD}';\
             u.form.submit(); return true"
        ))
        .await;
    let seen = result(&chromium).await;
    assert_eq!(seen["failed"], Value::Null, "{seen}");
    assert_eq!(seen["exchange"], 200, "{seen}");
    assert_eq!(seen["refresh"], 200, "{seen}");
    assert_eq!(seen["rotated"], true, "{seen}");
    assert_eq!(seen["userinfo"], 200, "{seen}");
    assert_eq!(seen["email"], EMAIL, "{seen}");
    assert_eq!(seen["error"], "403 invalid_grant", "{seen}");
    assert_eq!(seen["revoke"], 200, "{seen}");

    chromium.goto(&format!("{foreign_origin}/")).await;
    let seen = result(&chromium).await;
    assert_eq!(seen, serde_json::json!(["blocked", "blocked"]), "{seen}");
}

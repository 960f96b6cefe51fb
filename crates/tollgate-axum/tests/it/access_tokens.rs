//! Access tokens through the app: cached, refreshed (rotated refresh tokens persisted),
//! per-audience tokens, and the access-token route's errors.

use crate::common;

use crate::common::{HttpBrowser, PAYMENTS, start, start_with};
use tollgate::{CookieJar, SessionData};

async fn session_of(app: &common::TestApp, b: &HttpBrowser) -> SessionData {
    let header = b
        .cookies
        .iter()
        .filter(|(k, _)| k.starts_with("__session"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    app.auth
        .session(&CookieJar::parse(&header))
        .await
        .unwrap()
        .unwrap()
}

async fn refresh_status(app: &common::TestApp, rt: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}oauth/token", app.tenant.issuer()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", common::CLIENT_ID),
            ("client_secret", common::CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_login_token_is_served_from_the_session() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    b.accept = "application/json";
    let r = b.get(&app.url("/auth/access-token")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let s = session_of(&app, &b).await;
    assert_eq!(body["token"], s.token_set.access_token);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 80_000);
    assert_eq!(body["expires_at"], s.token_set.expires_at);
    assert!(r.set_cookies.is_empty(), "nothing changed, nothing written");
}

#[tokio::test]
async fn a_forced_refresh_persists_the_rotated_refresh_token() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let before = session_of(&app, &b).await;
    b.accept = "application/json";
    let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.sets("__session"), "the refreshed session is written");
    let after = session_of(&app, &b).await;
    let old_rt = before.token_set.refresh_token.unwrap();
    let new_rt = after.token_set.refresh_token.clone().unwrap();
    assert_ne!(
        old_rt, new_rt,
        "rotation gave a new refresh token and it was kept"
    );
    assert_ne!(before.token_set.access_token, after.token_set.access_token);
    assert_eq!(after.user.sub(), before.user.sub());
    assert!(after.token_set.id_token.is_some());
    // The cookie holds the live token: a second refresh through the app works.
    let again = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(again.status, 200, "{again:?}");
}

#[tokio::test]
async fn tokens_for_another_api_are_kept_per_audience() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    b.accept = "application/json";
    let first = b.get(&app.url("/api/payments")).await;
    assert_eq!(first.status, 200, "{first:?}");
    let body: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["paid_with"], PAYMENTS);
    assert!(
        first.sets("__session") || first.sets("__session__0"),
        "the new audience token is stored (whole or chunked)"
    );
    let s = session_of(&app, &b).await;
    assert_eq!(s.access_tokens.len(), 1);
    let entry = &s.access_tokens[0];
    assert_eq!(entry.audience, PAYMENTS);
    assert!(entry.requested_scope.as_deref().unwrap().contains("openid"));
    // The token is a JWT for that audience.
    let payload = entry.access_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&base64_url_decode(payload)).unwrap();
    assert!(claims["aud"].to_string().contains(PAYMENTS));
    // The second call is served from the session.
    let second = b.get(&app.url("/api/payments")).await;
    assert_eq!(second.status, 200);
    assert!(
        second.set_cookies.is_empty(),
        "cached: {:?}",
        second.set_cookies
    );
    // The default token is untouched.
    assert_eq!(
        s.token_set.access_token,
        session_of(&app, &b).await.token_set.access_token
    );
}

#[tokio::test]
async fn access_token_errors_are_json() {
    let app = start_with(|c| c.scope("openid profile email")).await;
    let mut b = HttpBrowser::default();
    b.accept = "application/json";
    let r = b.get(&app.url("/auth/access-token")).await;
    assert_eq!(r.status, 401);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["code"], "missing_session");
    b.accept = "text/html";
    b.login(&app, "").await;
    b.accept = "application/json";
    assert!(
        session_of(&app, &b).await.token_set.refresh_token.is_none(),
        "no offline_access, no refresh token"
    );
    let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(r.status, 401);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["code"], "missing_refresh_token");
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn a_hundred_concurrent_refreshes_never_end_the_session() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let before = session_of(&app, &b).await;
    let cookie = format!("__session={}", b.cookies["__session"]);
    let client = reqwest::Client::new();
    let url = app.url("/auth/access-token?refresh=true");
    let mut handles = Vec::new();
    for _ in 0..100 {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        handles.push(tokio::spawn(async move {
            let r = client
                .get(url)
                .header("cookie", cookie)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let set: Vec<String> = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body["token"].as_str().map(str::to_owned), set)
        }));
    }
    let mut tokens = std::collections::BTreeSet::new();
    let mut last_cookie = None;
    for h in handles {
        let (status, token, set) = h.await.unwrap();
        assert_eq!(status, 200, "every request gets a token");
        tokens.insert(token.unwrap());
        last_cookie = set.into_iter().find(|c| c.starts_with("__session="));
    }
    assert_eq!(tokens.len(), 1, "one token, shared by all");
    assert_eq!(
        app.tenant.events_of_type("sertft").len(),
        1,
        "exactly one refresh grant at the tenant"
    );
    assert!(
        app.tenant.events_of_type("fertft").is_empty(),
        "no failed refresh"
    );
    assert!(
        app.tenant.events_of_type("ferrt").is_empty(),
        "no reuse detected"
    );
    assert_ne!(tokens.first().unwrap(), &before.token_set.access_token);
    // The rotated refresh token is alive: the family was not revoked by reuse detection.
    let line = last_cookie.expect("the refreshed session is written");
    b.cookies.insert(
        "__session".into(),
        line.split(';').next().unwrap()[10..].to_owned(),
    );
    let after = session_of(&app, &b).await;
    assert_ne!(
        after.token_set.refresh_token,
        before.token_set.refresh_token
    );
    assert_eq!(
        refresh_status(&app, after.token_set.refresh_token.as_deref().unwrap()).await,
        200
    );
}

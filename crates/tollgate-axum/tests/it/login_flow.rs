//! The whole login → pages → logout story through real HTTP against the local tenant.

use crate::common;

use crate::common::{HttpBrowser, start};
use tollgate::CookieJar;

#[tokio::test]
async fn login_browse_and_logout() {
    let app = start().await;
    let mut b = HttpBrowser::default();

    // Anonymous: the home page works, /profile sends the browser to login with returnTo.
    assert_eq!(b.get(&app.url("/")).await.body, "home: anonymous");
    let guarded = b.get(&app.url("/profile?tab=1")).await;
    assert_eq!(guarded.status, 302);
    assert_eq!(guarded.location().path(), "/auth/login");
    assert_eq!(guarded.query("returnTo").as_deref(), Some("/profile?tab=1"));

    // Login: /authorize carries PKCE S256, state, nonce and the default scope.
    let start_login = b.get(guarded.location().as_str()).await;
    assert_eq!(start_login.status, 302);
    let authorize = start_login.location().clone();
    let q = |k: &str| {
        authorize
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("response_type").as_deref(), Some("code"));
    assert_eq!(q("client_id").as_deref(), Some(common::CLIENT_ID));
    assert_eq!(
        q("scope").as_deref(),
        Some("openid profile email offline_access")
    );
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(q("redirect_uri").unwrap(), app.url("/auth/callback"));
    assert!(q("nonce").unwrap().len() >= 32 && q("code_challenge").is_some());
    let state = q("state").unwrap();
    assert!(
        start_login.sets(&format!("__txn_{state}")),
        "transaction cookie named after the state"
    );
    let txn_line = start_login.set_cookies[0].clone();
    assert!(
        txn_line.contains("Max-Age=3600")
            && txn_line.contains("HttpOnly")
            && txn_line.contains("SameSite=Lax")
    );

    // Finish at the tenant and come back.
    let mut hop = b.get(authorize.as_str()).await;
    let page_url = hop.location().to_string();
    let page = b.get(&page_url).await;
    assert!(page.body.contains("autocomplete=\"current-password\""));
    let tenant_state = hop
        .location()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    hop = b
        .post_form(
            &page_url,
            &[
                ("state", &tenant_state),
                ("username", common::ALICE.0),
                ("password", common::ALICE.1),
            ],
        )
        .await;
    let callback = b.get(hop.location().as_str()).await;
    assert_eq!(callback.status, 302, "{callback:?}");
    assert_eq!(callback.location().as_str(), app.url("/profile?tab=1"));
    assert!(callback.sets("__session"));
    assert!(
        callback.deletes(&format!("__txn_{state}")),
        "the transaction is single use"
    );
    assert!(b.txn_cookies().is_empty());
    let session_line = callback
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__session="))
        .unwrap();
    assert!(
        session_line.contains("HttpOnly")
            && session_line.contains("Path=/")
            && session_line.contains("Max-Age=86400")
    );
    assert!(
        !session_line.contains("Secure"),
        "http base URL: no Secure attribute"
    );

    // Signed in: pages and the profile route.
    assert_eq!(
        b.get(&app.url("/profile?tab=1")).await.body,
        "profile of Alice Example"
    );
    let profile = b.get(&app.url("/auth/profile")).await;
    assert_eq!(profile.status, 200);
    let user: serde_json::Value = serde_json::from_str(&profile.body).unwrap();
    assert_eq!(user["email"], "alice@example.com");
    assert!(user["sub"].as_str().unwrap().starts_with("auth0|"));
    assert!(
        user.get("amr").is_none() && user.get("nonce").is_none(),
        "profile claims only"
    );

    // The session keeps the step-up claims and the tokens.
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let session = app.auth.session(&jar).await.unwrap().unwrap();
    let authn = session.authentication.clone().unwrap();
    assert_eq!(authn.amr, vec!["pwd".to_owned()]);
    assert!(authn.auth_time.is_some());
    assert!(!session.internal.sid.is_empty());
    let refresh_token = session
        .token_set
        .refresh_token
        .clone()
        .expect("offline_access gives a refresh token");
    assert!(session.token_set.id_token.is_some());

    // Logout: cookies gone, refresh token revoked, browser sent to OIDC logout with the hint.
    let logout = b.get(&app.url("/auth/logout")).await;
    assert_eq!(logout.status, 302);
    assert!(logout.deletes("__session"));
    assert!(!b.has_session());
    let end = logout.location().clone();
    assert_eq!(end.path(), "/oidc/logout");
    let eq = |k: &str| {
        end.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(eq("client_id").as_deref(), Some(common::CLIENT_ID));
    assert_eq!(eq("post_logout_redirect_uri").unwrap(), app.url("/"));
    assert_eq!(eq("id_token_hint"), session.token_set.id_token);
    assert_eq!(eq("logout_hint"), Some(session.internal.sid.clone()));
    let back = b.get(end.as_str()).await;
    assert_eq!(back.status, 302);
    assert_eq!(back.location().as_str(), app.url("/"));

    let refresh = reqwest::Client::new()
        .post(format!("{}oauth/token", app.tenant.issuer()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", common::CLIENT_ID),
            ("client_secret", common::CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refresh.status(),
        403,
        "the refresh token was revoked at logout"
    );

    // Logged out everywhere: the profile route says 401, the next login asks for the password.
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 401);
    let again = b.get(&app.url("/auth/login")).await;
    let at_tenant = b.get(again.location().as_str()).await;
    assert_eq!(
        at_tenant.location().path(),
        "/u/login",
        "the tenant's SSO session ended too"
    );
}

#[tokio::test]
async fn second_login_uses_the_tenant_sso_session() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    assert_eq!(b.login(&app, "").await.status, 302);
    b.cookies.retain(|k, _| !k.starts_with("__session"));
    let start = b.get(&app.url("/auth/login")).await;
    let hop = b.get(start.location().as_str()).await;
    assert_eq!(
        hop.location().path(),
        "/auth/callback",
        "no password the second time"
    );
    let done = b.get(hop.location().as_str()).await;
    assert!(done.sets("__session"));
}

#[tokio::test]
async fn several_logins_may_be_in_flight() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    let first = b.get(&app.url("/auth/login?returnTo=/one")).await;
    let second = b.get(&app.url("/auth/login?returnTo=/two")).await;
    assert_eq!(b.txn_cookies().len(), 2);
    // Finish the first one: its own transaction is used and only it is removed.
    let hop = b.get(first.location().as_str()).await;
    let page_url = hop.location().to_string();
    let st = hop
        .location()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let back = b
        .post_form(
            &page_url,
            &[
                ("state", &st),
                ("username", common::ALICE.0),
                ("password", common::ALICE.1),
            ],
        )
        .await;
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.location().path(), "/one");
    assert_eq!(b.txn_cookies().len(), 1);
    drop(second);
}

#[tokio::test]
async fn basic_client_authentication_and_v2_logout() {
    let app = common::start_with(|c| {
        c.use_client_secret_basic()
            .logout_strategy(tollgate::LogoutStrategy::V2)
    })
    .await;
    let mut b = HttpBrowser::default();
    let done = b.login(&app, "returnTo=/profile").await;
    assert_eq!(done.location().path(), "/profile");
    let logout = b
        .get(&app.url("/auth/logout?returnTo=/goodbye&federated"))
        .await;
    let url = logout.location().clone();
    assert_eq!(url.path(), "/v2/logout");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(pairs.contains(&("returnTo".into(), app.url("/goodbye"))));
    assert!(pairs.contains(&("client_id".into(), common::CLIENT_ID.into())));
    assert!(pairs.iter().any(|(k, _)| k == "federated"));
    let back = b.get(url.as_str()).await;
    assert_eq!(back.location().as_str(), app.url("/goodbye"));
}

#[tokio::test]
async fn api_requests_get_401_json_and_pages_a_redirect() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.accept = "application/json";
    let r = b.get(&app.url("/profile")).await;
    assert_eq!(r.status, 401);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"], "unauthorized");
    let r = b.get(&app.url("/auth/profile")).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn profile_can_answer_204_and_logout_can_omit_the_id_token_hint() {
    let app = common::start_with(|c| {
        c.profile_no_content_when_logged_out(true)
            .id_token_hint_on_logout(false)
    })
    .await;
    let mut b = HttpBrowser::default();
    assert_eq!(b.get(&app.url("/auth/profile")).await.status, 204);
    b.login(&app, "").await;
    let out = b.get(&app.url("/auth/logout?state=xyz")).await;
    let keys: Vec<String> = out
        .location()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert!(!keys.contains(&"id_token_hint".to_owned()), "{keys:?}");
    assert!(keys.contains(&"logout_hint".to_owned()));
    assert_eq!(out.query("state").as_deref(), Some("xyz"));
    let back = b.get(out.location().as_str()).await;
    assert_eq!(
        back.status, 302,
        "logout_hint alone is enough for the tenant: {back:?}"
    );
    assert_eq!(back.query("state").as_deref(), Some("xyz"));
}

#[tokio::test]
async fn custom_route_paths() {
    let mut routes = tollgate::Routes::default();
    routes.login = "/signin".into();
    routes.callback = "/oauth/back".into();
    routes.logout = "/signout".into();
    routes.profile = "/me".into();
    let app = common::start_routes(routes).await;
    let mut b = HttpBrowser::default();
    let guarded = b.get(&app.url("/profile")).await;
    assert_eq!(guarded.location().path(), "/signin");
    let start = b.get(guarded.location().as_str()).await;
    assert!(
        start
            .location()
            .query_pairs()
            .any(|(k, v)| k == "redirect_uri" && v == app.url("/oauth/back"))
    );
    let back = b.login_until_callback(&app, "", common::ALICE).await;
    assert_eq!(back.location().path(), "/oauth/back");
    let done = b.get(back.location().as_str()).await;
    assert!(done.sets("__session"));
    assert_eq!(b.get(&app.url("/me")).await.status, 200);
    assert_eq!(b.get(&app.url("/signout")).await.status, 302);
    assert!(!b.has_session());
}

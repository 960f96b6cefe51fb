//! Interop with a real, independent OpenID Provider: panva's `oidc-provider` 9.13.3 (pinned in
//! `interop/oidc-provider`, an OpenID-certified OP), started by each test on 127.0.0.1. A Tollgate
//! axum app signs users in through the provider's own login and consent forms, then refreshes,
//! calls userinfo, logs out both ways, steps up with `acr_values`, and uses DPoP-bound tokens with
//! server nonces at the token endpoint and at userinfo.
//!
//! Needs `npm ci` in `interop/oidc-provider` (scripts/test.sh does it); with
//! `TOLLGATE_SKIP_NODE=1` and no packages, each test says it is skipped.

use crate::common;

use crate::common::HttpBrowser;
use crate::common::oidc_provider::{ClientAuth, OpApp, start};
use serde_json::Value;
use tollgate::SessionData;
use tollgate_testkit::now;

const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
const SILVER: &str = "urn:mace:incommon:iap:silver";

fn amr(s: &SessionData) -> Vec<&str> {
    s.authentication
        .as_ref()
        .map(|a| a.amr.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn acr(s: &SessionData) -> Option<&str> {
    s.authentication.as_ref().and_then(|a| a.acr.as_deref())
}

/// Logs `login` in and checks the session the app made from the provider's ID token.
async fn signed_in(app: &OpApp, b: &mut HttpBrowser, login: &str) -> SessionData {
    let (back, pages) = app.login_until_callback(b, "", login).await;
    assert_eq!(
        (pages.login, pages.consent),
        (1, 1),
        "the provider's login and consent forms"
    );
    assert_eq!(
        back.query("iss").as_deref(),
        Some(app.op.issuer.as_str()),
        "RFC 9207 iss"
    );
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.status, 302, "{done:?}");
    assert_eq!(done.location().as_str(), app.url("/"));
    let s = app.session(b).await.expect("a session");
    assert_eq!(s.user.sub(), login);
    assert_eq!(acr(&s), Some(SILVER));
    assert_eq!(amr(&s), ["pwd"]);
    let auth_time = s.authentication.as_ref().unwrap().auth_time.unwrap();
    assert!(auth_time.abs_diff(now()) < 600, "auth_time {auth_time}");
    assert!(!s.internal.sid.is_empty());
    assert!(s.token_set.id_token.is_some());
    assert!(!s.token_set.access_token.is_empty());
    assert!(
        s.token_set.refresh_token.is_some(),
        "offline_access gave a refresh token"
    );
    assert_eq!(
        b.get(&app.url("/")).await.body,
        format!("home: signed in as {login}")
    );
    s
}

/// A direct call to the provider's token endpoint, the way an attacker or a buggy client would.
async fn token_request(
    app: &OpApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(app.op.url("/token")).form(form);
    if let Some((user, pass)) = basic {
        req = req.basic_auth(user, Some(pass));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn login_and_code_exchange_with_client_secret_basic_and_a_secret_that_needs_encoding() {
    let Some(app) = start(ClientAuth::Basic).await else {
        return;
    };
    let secret = &app.client.secret;
    assert!(
        secret.contains('+') && secret.contains('%') && secret.contains(':'),
        "{secret}"
    );
    // The provider decodes Basic credentials as RFC 6749 §2.3.1 says: the raw secret is refused
    // (its lone trailing '%' does not even decode), the form-urlencoded one accepted (the bogus
    // code is then what fails).
    let code = [("grant_type", "authorization_code"), ("code", "bogus")];
    let (status, body) = token_request(&app, &code, Some((&app.client.id, secret))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let (status, body) = token_request(&app, &code, Some((&app.client.id, &encoded))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let mut b = HttpBrowser::default();
    signed_in(&app, &mut b, "alice").await;
}

#[tokio::test]
async fn login_and_code_exchange_with_client_secret_post() {
    let Some(app) = start(ClientAuth::Post).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    signed_in(&app, &mut b, "bob").await;
    // A second login in the same browser is single sign-on: no login page, only consent again
    // (the provider asks for it whenever offline_access is requested).
    let (back, pages) = app.login_until_callback(&mut b, "", "ignored").await;
    assert_eq!((pages.login, pages.consent), (0, 1));
    assert_eq!(b.get(back.location().as_str()).await.status, 302);
    assert_eq!(app.session(&b).await.unwrap().user.sub(), "bob");
}

/// Refreshes twice through the app's access-token route (client authentication `which`), then
/// replays the first refresh token at the provider.
async fn refresh_rotates(which: ClientAuth, login: &str) {
    let Some(app) = start(which).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let first = signed_in(&app, &mut b, login).await;
    let mut refresh_tokens = vec![first.token_set.refresh_token.clone().unwrap()];
    let mut access_tokens = vec![first.token_set.access_token.clone()];
    b.accept = "application/json";
    // Twice: the second refresh only works if the first rotated token was saved in the session
    // (the provider revokes the whole grant when a used refresh token comes back).
    for _ in 0..2 {
        let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.sets("__session"), "the refreshed session is saved");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let s = app.session(&b).await.unwrap();
        assert_eq!(
            body["token"].as_str(),
            Some(s.token_set.access_token.as_str())
        );
        let rt = s.token_set.refresh_token.clone().unwrap();
        assert!(!refresh_tokens.contains(&rt), "rotated");
        assert!(!access_tokens.contains(&s.token_set.access_token));
        refresh_tokens.push(rt);
        access_tokens.push(s.token_set.access_token.clone());
        assert_eq!(s.user.sub(), login);
        assert_eq!(s.internal.sid, first.internal.sid);
        assert_eq!(
            s.authentication, first.authentication,
            "the refreshed ID token keeps acr, amr and auth_time"
        );
    }
    // The first refresh token is spent: replaying it at the provider is refused…
    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_tokens[0]),
            ("client_id", &app.client.id),
            ("client_secret", &app.client.secret),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // …and the replay revoked the grant, so the app's current token dies with it: the app says
    // the user must sign in again, and keeps the session it had.
    let saved = app.session(&b).await.unwrap();
    let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(r.status, 401, "{r:?}");
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["code"], "failed_to_refresh_token", "{body}");
    assert_eq!(
        app.session(&b).await.unwrap().token_set.refresh_token,
        saved.token_set.refresh_token
    );
}

#[tokio::test]
async fn refresh_with_client_secret_post_rotates_and_the_session_keeps_the_new_token() {
    refresh_rotates(ClientAuth::Post, "carol").await;
}

#[tokio::test]
async fn refresh_with_client_secret_basic_rotates_and_the_session_keeps_the_new_token() {
    refresh_rotates(ClientAuth::Basic, "carlos").await;
}

#[tokio::test]
async fn userinfo_answers_for_the_session_user() {
    let Some(app) = start(ClientAuth::Basic).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let s = signed_in(&app, &mut b, "dave").await;
    let claims = app.auth.userinfo(&s).await.unwrap();
    assert_eq!(claims["sub"], "dave");
    assert_eq!(claims["email"], "dave@example.test");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "User dave");

    let mut forged = s.clone();
    forged.token_set.access_token = "not-a-token-the-provider-issued".into();
    let err = app.auth.userinfo(&forged).await.unwrap_err();
    assert!(
        err.to_string().contains("invalid_token"),
        "the provider's refusal is reported: {err}"
    );
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_app_and_provider_sessions() {
    let Some(mut app) = start(ClientAuth::Post).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let s = signed_in(&app, &mut b, "erin").await;
    let out = b.get(&app.url("/auth/logout")).await;
    assert_eq!(out.status, 302, "{out:?}");
    assert!(out.deletes("__session"));
    assert!(
        out.location()
            .as_str()
            .starts_with(&app.op.url("/session/end?")),
        "{out:?}"
    );
    assert_eq!(out.query("id_token_hint"), s.token_set.id_token);
    assert_eq!(
        out.query("post_logout_redirect_uri").as_deref(),
        Some(app.url("/").as_str())
    );
    let confirm = b.get(out.location().as_str()).await;
    assert_eq!(
        confirm.status, 200,
        "the provider asks to confirm: {confirm:?}"
    );
    let action = common::oidc_provider::attribute(&confirm.body, "<form", "action").unwrap();
    let xsrf = common::oidc_provider::attribute(&confirm.body, "name=\"xsrf\"", "value").unwrap();
    let done = b
        .post_form(&action, &[("xsrf", &xsrf), ("logout", "yes")])
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.location().as_str(), app.url("/"), "back at the app");
    assert_eq!(b.get(&app.url("/")).await.body, "home: anonymous");
    // The provider also told the app over the back channel (for a session already gone).
    let event = app.op.next_event().await;
    assert_eq!(event["event"], "backchannel.success", "{event}");
    assert_eq!(event["sid"].as_str(), Some(s.internal.sid.as_str()));
    // The provider's session is over too: the next login asks for the password again.
    let (_, pages) = app.login_until_callback(&mut b, "", "erin").await;
    assert_eq!(pages.login, 1);
}

#[tokio::test]
async fn back_channel_logout_from_the_provider_ends_the_app_session() {
    let Some(mut app) = start(ClientAuth::Basic).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let s = signed_in(&app, &mut b, "frank").await;
    // The user signs out at the provider itself (or another of its applications): the app is
    // told only through the back channel.
    let confirm = b.get(&app.op.url("/session/end")).await;
    assert_eq!(confirm.status, 200, "{confirm:?}");
    let action = common::oidc_provider::attribute(&confirm.body, "<form", "action").unwrap();
    let xsrf = common::oidc_provider::attribute(&confirm.body, "name=\"xsrf\"", "value").unwrap();
    let done = b
        .post_form(&action, &[("xsrf", &xsrf), ("logout", "yes")])
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    let event = app.op.next_event().await;
    assert_eq!(
        event["event"], "backchannel.success",
        "the app accepted the logout token: {event}"
    );
    assert_eq!(event["client_id"].as_str(), Some(app.client.id.as_str()));
    assert_eq!(event["sid"].as_str(), Some(s.internal.sid.as_str()));

    assert!(
        b.cookies.contains_key("__session"),
        "the browser still has its cookie…"
    );
    b.accept = "application/json";
    assert_eq!(
        b.get(&app.url("/auth/profile")).await.status,
        401,
        "…but it opens no session"
    );
    assert!(app.session(&b).await.is_none());
    b.accept = "text/html";
    assert_eq!(b.get(&app.url("/")).await.body, "home: anonymous");
}

#[tokio::test]
async fn step_up_with_acr_values_gets_multi_factor_acr_and_amr() {
    let Some(app) = start(ClientAuth::Post).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let before = signed_in(&app, &mut b, "grace").await;
    let page = b.get(&app.url("/billing")).await;
    assert_eq!(page.status, 302, "{page:?}");
    assert_eq!(page.location().path(), "/auth/login");
    assert_eq!(page.query("acr_values").as_deref(), Some(MFA));
    let login = b.get(page.location().as_str()).await;
    assert_eq!(login.query("acr_values").as_deref(), Some(MFA), "{login:?}");
    let (back, pages) = app
        .through_provider(&mut b, login.location().as_str(), "grace")
        .await;
    assert_eq!(
        pages.login, 1,
        "the provider asks for the login again despite its session"
    );
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.status, 302, "{done:?}");
    assert_eq!(done.location().as_str(), app.url("/billing"));

    let after = app.session(&b).await.unwrap();
    assert_eq!(after.user.sub(), "grace");
    assert_eq!(acr(&after), Some(MFA));
    assert_eq!(amr(&after), ["pwd", "mfa"]);
    assert_ne!(
        after.token_set.refresh_token,
        before.token_set.refresh_token
    );
    let billing = b.get(&app.url("/billing")).await;
    assert_eq!(billing.status, 200, "{billing:?}");
    assert_eq!(billing.body, "billing for grace");
}

#[tokio::test]
async fn a_user_without_mfa_is_refused_at_step_up_and_keeps_the_session() {
    let Some(app) = start(ClientAuth::Basic).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let before = signed_in(&app, &mut b, "nomfa-heidi").await;
    let page = b.get(&app.url("/billing")).await;
    assert_eq!(page.query("acr_values").as_deref(), Some(MFA), "{page:?}");
    let login = b.get(page.location().as_str()).await;
    let (back, pages) = app
        .through_provider(&mut b, login.location().as_str(), "nomfa-heidi")
        .await;
    assert_eq!(pages.login, 1);
    let refused = b.get(back.location().as_str()).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(
        refused.body.contains("Verification needed"),
        "{}",
        refused.body
    );
    assert!(!refused.sets("__session"), "nothing unlocked");

    let after = app.session(&b).await.expect("the session is still there");
    assert_eq!(after.user, before.user);
    assert_eq!(after.token_set, before.token_set);
    assert_eq!(after.authentication, before.authentication);
    assert_eq!(
        b.get(&app.url("/billing")).await.status,
        302,
        "still locked"
    );
    assert_eq!(
        b.get(&app.url("/")).await.body,
        "home: signed in as nomfa-heidi"
    );
}

/// DPoP (RFC 9449) with the provider's `tollgate-dpop` client, which must present DPoP proofs and
/// a server nonce at the token endpoint: the code exchange meets the `use_dpop_nonce` demand with
/// one retry, the tokens are DPoP-bound (the provider refuses the access token as a bearer
/// token), userinfo is called with a proof, and refresh keeps the binding.
#[tokio::test]
async fn dpop_bound_tokens_and_the_token_endpoints_nonce() {
    let Some(app) = start(ClientAuth::Dpop).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let s = signed_in(&app, &mut b, "dora").await;
    assert_eq!(s.token_set.token_type.as_deref(), Some("DPoP"));

    let claims = app.auth.userinfo(&s).await.unwrap();
    assert_eq!(claims["sub"], "dora");
    let as_bearer = reqwest::Client::new()
        .get(app.op.url("/me"))
        .bearer_auth(&s.token_set.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_bearer.status(),
        401,
        "a DPoP-bound token is no bearer token"
    );

    b.accept = "application/json";
    let r = b.get(&app.url("/auth/access-token?refresh=true")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let refreshed = app.session(&b).await.unwrap();
    assert_ne!(refreshed.token_set.access_token, s.token_set.access_token);
    assert_ne!(refreshed.token_set.refresh_token, s.token_set.refresh_token);
    assert_eq!(refreshed.token_set.token_type.as_deref(), Some("DPoP"));
    assert_eq!(app.auth.userinfo(&refreshed).await.unwrap()["sub"], "dora");
}

/// With nonces demanded at the resource server too (`/userinfo` answers 401 `use_dpop_nonce`
/// with a `DPoP-Nonce` header), Tollgate retries once with the nonce and gets the claims.
#[tokio::test]
async fn dpop_nonce_demanded_by_the_resource_server_is_met_with_one_retry() {
    let Some(app) = start(ClientAuth::DpopNonceEverywhere).await else {
        return;
    };
    let mut b = HttpBrowser::default();
    let s = signed_in(&app, &mut b, "dmitri").await;
    assert_eq!(s.token_set.token_type.as_deref(), Some("DPoP"));
    let claims = app.auth.userinfo(&s).await.unwrap();
    assert_eq!(claims["sub"], "dmitri");
}

//! The story of seed 001 through real HTTP: log in with a password, browse freely, be asked for a
//! one-time code only when opening Billing, get in only with a correct code, not be asked again in
//! that session, and be asked again after logging out.

use crate::common;

use crate::common::{HttpBrowser, TestApp, start};
use tollgate::CookieJar;

const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

fn totp(app: &TestApp) -> String {
    app.tenant.totp_code(common::ALICE.0).unwrap()
}

#[tokio::test]
async fn billing_asks_for_a_code_once_per_session_and_again_after_logout() {
    let app = start().await;
    let mut b = HttpBrowser::default();

    // 1. Password login; 2. browse freely.
    b.login(&app, "").await;
    assert!(
        b.get(&app.url("/"))
            .await
            .body
            .starts_with("home: signed in")
    );
    assert_eq!(b.get(&app.url("/profile")).await.status, 200);

    // 3. Billing asks for the second factor.
    let billing = b.get(&app.url("/billing")).await;
    assert_eq!(billing.status, 302);
    let start = billing.location().to_string();
    assert!(start.contains("acr_values="));

    // 3.2 A wrong code: the tenant says so and nothing is unlocked.
    let wrong = b.step_up_with(&app, &start, |_| "000000".into()).await;
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert!(wrong.body.contains("The code is not valid"));
    assert_eq!(
        b.get(&app.url("/billing")).await.status,
        302,
        "still locked"
    );

    // 3.1 The right code: back on Billing.
    let back = b.step_up_with(&app, &start, totp).await;
    assert_eq!(back.status, 302, "{back:?}");
    assert_eq!(back.location().path(), "/auth/callback");
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.location().as_str(), app.url("/billing"));
    let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
    let s = app.auth.session(&jar).await.unwrap().unwrap();
    let authn = s.authentication.unwrap();
    assert!(authn.amr.contains(&"mfa".to_owned()), "{:?}", authn.amr);
    assert_eq!(authn.acr.as_deref(), Some(MFA));
    assert_eq!(
        b.get(&app.url("/billing")).await.body,
        "billing for Alice Example"
    );

    // 4-5. Browse on, come back: no prompt.
    assert_eq!(b.get(&app.url("/profile")).await.status, 200);
    for _ in 0..3 {
        assert_eq!(b.get(&app.url("/billing")).await.status, 200);
    }

    // 6. Logout; a new login is asked for the code again at Billing.
    let out = b.get(&app.url("/auth/logout")).await;
    b.get(out.location().as_str()).await;
    assert_eq!(b.get(&app.url("/billing")).await.status, 302);
    b.login(&app, "").await;
    assert_eq!(
        b.get(&app.url("/billing")).await.status,
        302,
        "a new session asks again"
    );
}

#[tokio::test]
async fn a_cancelled_challenge_returns_to_a_page_that_offers_to_try_again() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let start = b.get(&app.url("/billing")).await.location().to_string();
    let login = b.get(&start).await;
    let hop = b.get(login.location().as_str()).await;
    let state = hop
        .location()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cancel = b
        .get(
            app.tenant
                .base_url()
                .join(&format!("/u/mfa/cancel?state={state}"))
                .unwrap()
                .as_str(),
        )
        .await;
    assert_eq!(cancel.location().path(), "/auth/callback");
    let page = b.get(cancel.location().as_str()).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("Verification needed"), "{}", page.body);
    assert!(page.body.contains("Try again"));
    assert!(
        page.body.contains("acr_values="),
        "the retry link repeats the step-up"
    );
    assert!(b.has_session(), "the password session is untouched");
    assert_eq!(
        b.get(&app.url("/billing")).await.status,
        302,
        "nothing granted"
    );
    assert_eq!(b.get(&app.url("/profile")).await.status, 200);
}

#[tokio::test]
async fn a_step_up_replaces_the_session_with_a_fresh_one() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let first = app
        .auth
        .session(&CookieJar::parse(&format!(
            "__session={}",
            b.cookies["__session"]
        )))
        .await
        .unwrap()
        .unwrap();
    let back = b.step_up_with(&app, &app.url("/auth/login?returnTo=%2Fbilling&acr_values=http%3A%2F%2Fschemas.openid.net%2Fpape%2Fpolicies%2F2007%2F06%2Fmulti-factor&prompt=login"), totp).await;
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.status, 302);
    let second = app
        .auth
        .session(&CookieJar::parse(&format!(
            "__session={}",
            b.cookies["__session"]
        )))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.user.sub(), first.user.sub());
    assert!(second.has_mfa() && !first.has_mfa());
    assert!(second.internal.created_at >= first.internal.created_at);
}

/// The refresh token of the session a step-up replaces is revoked: it would otherwise live on
/// for the family's lifetime, outside any session, and survive the user's logout.
#[tokio::test]
async fn a_step_up_revokes_the_refresh_token_of_the_session_it_replaces() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let session = |b: &HttpBrowser| {
        let jar = CookieJar::parse(&format!("__session={}", b.cookies["__session"]));
        let auth = app.auth.clone();
        async move { auth.session(&jar).await.unwrap().unwrap() }
    };
    let old = session(&b).await.token_set.refresh_token.unwrap();
    let back = b.step_up_with(&app, &app.url("/auth/login?returnTo=%2Fbilling&acr_values=http%3A%2F%2Fschemas.openid.net%2Fpape%2Fpolicies%2F2007%2F06%2Fmulti-factor"), totp).await;
    assert_eq!(b.get(back.location().as_str()).await.status, 302);
    let new = session(&b).await.token_set.refresh_token.unwrap();
    assert_ne!(old, new);
    let refresh = |token: String| {
        let url = format!("{}oauth/token", app.tenant.issuer());
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", common::CLIENT_ID),
                    ("client_secret", common::CLIENT_SECRET),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(refresh(old).await, 403, "the replaced token was revoked");
    assert_eq!(refresh(new).await, 200, "the session's own token lives");
}

//! Connected Accounts over HTTP against the local tenant's My Account API: `/auth/connect` (off by
//! default), the ticket, the provider's consent page, the `connect_code` callback that completes
//! the link and shows it to `on_callback`, listing and unlinking, and every refusal on the way.

use crate::common;

use crate::common::{HttpBrowser, json};

#[tokio::test]
async fn the_connect_route_is_off_by_default() {
    let app = common::start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = b
        .get(&app.url("/auth/connect?connection=google-oauth2"))
        .await;
    assert_eq!(r.status, 404, "{r:?}");
}

#[tokio::test]
async fn bad_connect_requests_are_refused_before_any_call() {
    let app = common::start_with(|c| c.enable_connect_account_endpoint(true)).await;
    let mut b = HttpBrowser::default();

    // No session.
    let r = b
        .get(&app.url("/auth/connect?connection=google-oauth2"))
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(json(&r.body)["error"]["code"], "missing_session");

    b.login(&app, "").await;
    // No connection.
    let r = b.get(&app.url("/auth/connect?returnTo=%2F")).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        json(&r.body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection")
    );
    // A parameter the My Account API does not accept, and a bad prompt.
    for q in [
        "connection=google-oauth2&redirect_uri=https%3A%2F%2Fevil.example.com",
        "connection=google-oauth2&prompt=always",
        "connection=google-oauth2&max_age=soon",
    ] {
        let r = b.get(&app.url(&format!("/auth/connect?{q}"))).await;
        assert_eq!(r.status, 400, "{q}: {r:?}");
        assert_eq!(json(&r.body)["error"]["code"], "invalid_request", "{q}");
        assert!(b.txn_cookies().is_empty(), "{q}: no transaction started");
    }
}

type Seen = std::sync::Arc<std::sync::Mutex<Vec<Result<tollgate::ConnectedAccount, String>>>>;

/// An app with the connect route on, whose `on_callback` hook records what it is shown.
async fn start_recording() -> (common::TestApp, Seen) {
    let seen: Seen = Default::default();
    let record = seen.clone();
    let hooks = tollgate::Hooks::new().on_callback(move |result| {
        let entry = match result {
            Ok(done) => match &done.connected_account {
                Some(account) => Ok(account.clone()),
                None => return None, // a plain login
            },
            Err(e) => Err(e.code().to_owned()),
        };
        record.lock().unwrap().push(entry);
        None
    });
    let app = common::start_hooked(|t| t, |c| c.enable_connect_account_endpoint(true), hooks).await;
    (app, seen)
}

/// `/auth/connect?{query}` up to the provider's consent page; returns the page's ticket.
async fn connect_until_consent(b: &mut HttpBrowser, app: &common::TestApp, query: &str) -> String {
    let start = b.get(&app.url(&format!("/auth/connect?{query}"))).await;
    assert_eq!(start.status, 302, "{start:?}");
    let consent = start.location().clone();
    assert_eq!(
        consent.as_str().split('?').next().unwrap(),
        format!("{}connected-accounts/connect", app.tenant.issuer())
    );
    assert_eq!(
        b.txn_cookies().len(),
        1,
        "a transaction for the connect flow"
    );
    let page = b.get(consent.as_str()).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("Connect google-oauth2"), "{}", page.body);
    consent
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .unwrap()
        .1
        .into_owned()
}

async fn decide(
    b: &mut HttpBrowser,
    app: &common::TestApp,
    ticket: &str,
    decision: &str,
) -> common::Resp {
    let url = app
        .tenant
        .base_url()
        .join("/connected-accounts/connect")
        .unwrap();
    b.post_form(url.as_str(), &[("ticket", ticket), ("decision", decision)])
        .await
}

/// `/auth/connect?{query}`, the consent page and Allow; returns the redirect to the callback.
async fn link_until_callback(
    b: &mut HttpBrowser,
    app: &common::TestApp,
    query: &str,
) -> common::Resp {
    let ticket = connect_until_consent(b, app, query).await;
    let back = decide(b, app, &ticket, "allow").await;
    assert_eq!(back.status, 302, "{back:?}");
    back
}

#[tokio::test]
async fn a_user_links_an_account_and_on_callback_sees_it() {
    let (app, seen) = start_recording().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let refreshes_before = app.tenant.events_of_type("sertft").len();

    // Token Vault has nothing for Alice at Google yet.
    let before = b.get(&app.url("/api/calendar")).await;
    assert_eq!(before.status, 502, "{before:?}");

    let back = link_until_callback(
        &mut b,
        &app,
        "connection=google-oauth2&scopes=openid&scopes=calendar.readonly&prompt=consent&returnTo=%2Fprofile",
    )
    .await;
    assert!(
        back.location()
            .as_str()
            .starts_with(&app.url("/auth/callback"))
    );
    assert!(back.query("connect_code").is_some_and(|c| !c.is_empty()));

    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.status, 302, "{done:?}");
    assert_eq!(done.location().path(), "/profile");
    assert!(b.txn_cookies().is_empty(), "the transaction is spent");
    assert!(b.has_session(), "still signed in");

    let accounts = seen.lock().unwrap().clone();
    let account = accounts[0].as_ref().expect("a connected account");
    assert_eq!(account.connection, "google-oauth2");
    assert_eq!(account.access_type, "offline");
    assert_eq!(account.scopes, ["openid", "calendar.readonly"]);
    assert!(account.id.starts_with("cac_"), "{account:?}");
    // One My Account token (create:me:connected_accounts) served connect and complete.
    assert_eq!(
        app.tenant.events_of_type("sertft").len(),
        refreshes_before + 1
    );

    // The link is real: Token Vault now gives a Google token, and the API lists it.
    let calendar = b.get(&app.url("/api/calendar")).await;
    assert_eq!(calendar.status, 200, "{calendar:?}");
    let list = b
        .request(
            "GET",
            &app.url("/me/v1/connected-accounts/accounts"),
            &[("scope", "read:me:connected_accounts")],
            None,
        )
        .await;
    assert_eq!(list.status, 200, "{list:?}");
    let listed = json(&list.body);
    assert_eq!(listed["accounts"][0]["id"], account.id.as_str());

    // Replaying the callback finds no transaction and links nothing more.
    let replay = b.get(back.location().as_str()).await;
    assert_eq!(replay.status, 400, "{replay:?}");
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(seen.lock().unwrap()[1], Err("invalid_state".to_owned()));

    // Unlinking through the proxy.
    let origin = app.url("/").trim_end_matches('/').to_owned();
    let path = format!("/me/v1/connected-accounts/accounts/{}", account.id);
    let gone = b
        .request(
            "DELETE",
            &app.url(&path),
            &[
                ("scope", "delete:me:connected_accounts"),
                ("origin", &origin),
            ],
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{gone:?}");
    let again = b
        .request(
            "DELETE",
            &app.url(&path),
            &[("scope", "delete:me:connected_accounts")],
            None,
        )
        .await;
    assert_eq!(again.status, 404, "{again:?}");
}

#[tokio::test]
async fn a_denied_or_replayed_consent_links_nothing() {
    let (app, seen) = start_recording().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;

    let ticket = connect_until_consent(&mut b, &app, "connection=google-oauth2").await;
    let back = decide(&mut b, &app, &ticket, "deny").await;
    assert_eq!(back.status, 302, "{back:?}");
    assert_eq!(
        back.location()
            .query_pairs()
            .find(|(k, _)| k == "error")
            .unwrap()
            .1,
        "access_denied"
    );
    let page = b.get(back.location().as_str()).await;
    assert_eq!(page.status, 400, "{page:?}");
    assert!(page.body.contains("access_denied"), "{}", page.body);
    assert_eq!(
        seen.lock().unwrap()[0],
        Err("authorization_error".to_owned())
    );
    assert!(b.has_session(), "a refused link does not sign the user out");

    // The ticket was spent by the first answer.
    let reuse = decide(&mut b, &app, &ticket, "allow").await;
    assert_eq!(reuse.status, 400, "{reuse:?}");
    assert!(reuse.location.is_none());

    // A connect_code arriving in a browser without the transaction cookie links nothing.
    let ticket = connect_until_consent(&mut b, &app, "connection=google-oauth2").await;
    let back = decide(&mut b, &app, &ticket, "allow").await;
    let mut other = HttpBrowser::default();
    other.login(&app, "").await;
    let stolen = other.get(back.location().as_str()).await;
    assert_eq!(stolen.status, 400, "{stolen:?}");
    let cal = other.get(&app.url("/api/calendar")).await;
    assert_eq!(cal.status, 502, "nothing was linked: {cal:?}");
}

#[tokio::test]
async fn the_apis_refusal_of_a_connection_is_passed_on() {
    let app = common::start_with(|c| c.enable_connect_account_endpoint(true)).await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let r = b.get(&app.url("/auth/connect?connection=myspace")).await;
    assert_eq!(r.status, 400, "{r:?}");
    let body = json(&r.body);
    assert_eq!(body["error"]["code"], "failed_to_initiate", "{body}");
    assert_eq!(
        body["error"]["validation_errors"][0]["field"], "connection",
        "{body}"
    );
    assert!(b.txn_cookies().is_empty());
}

#[tokio::test]
async fn disconnecting_a_connection_unlinks_it_and_drops_its_cached_token() {
    let (app, _) = start_recording().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let back = link_until_callback(&mut b, &app, "connection=google-oauth2").await;
    assert_eq!(b.get(back.location().as_str()).await.status, 302);
    // Token Vault's token is now cached in the session.
    let cached = b.get(&app.url("/api/calendar")).await;
    assert_eq!(cached.status, 200, "{cached:?}");

    let gone = b
        .request("POST", &app.url("/api/disconnect-google"), &[], None)
        .await;
    assert_eq!(gone.status, 200, "{gone:?}");
    assert_eq!(json(&gone.body)["removed"], 1);
    assert!(
        gone.set_cookies.iter().any(|c| c.starts_with("__session")),
        "the session without the cached token is saved: {:?}",
        gone.set_cookies
    );
    // No cached token is served any more, and Token Vault has nothing either.
    let after = b.get(&app.url("/api/calendar")).await;
    assert_eq!(after.status, 502, "{after:?}");
    // Disconnecting again removes nothing and is not an error.
    let again = b
        .request("POST", &app.url("/api/disconnect-google"), &[], None)
        .await;
    assert_eq!(json(&again.body)["removed"], 0, "{again:?}");
}

//! Step-up in a popup: the callback answers a page that posts the result to the opener — only to
//! the application's origin — instead of redirecting; the session is written either way, and a
//! same-user step-up keeps the session's other tokens.

use crate::common;

use crate::common::{HttpBrowser, start};

#[tokio::test]
async fn a_popup_step_up_posts_its_result_to_the_app_origin() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    b.accept = "application/json";
    let payments = b.get(&app.url("/api/payments")).await;
    assert_eq!(
        payments.status, 200,
        "a token for another API is in the session: {payments:?}"
    );
    b.accept = "text/html";
    let start = app.url("/auth/login?challengeMode=popup&returnTo=%2Fbilling&acr_values=http%3A%2F%2Fschemas.openid.net%2Fpape%2Fpolicies%2F2007%2F06%2Fmulti-factor");
    let back = b
        .step_up_with(&app, &start, |a| {
            a.tenant.totp_code(common::ALICE.0).unwrap()
        })
        .await;
    let done = b.get(back.location().as_str()).await;
    assert_eq!(done.status, 200, "no redirect in a popup: {done:?}");
    assert!(
        done.sets("__session") || done.sets("__session__0"),
        "the stepped-up session is written (chunked: it carries the other API's token too)"
    );
    let origin = app.base.origin().ascii_serialization();
    assert!(
        done.body.contains("window.opener.postMessage"),
        "{}",
        done.body
    );
    assert!(
        done.body.contains(&format!("\"{origin}\"")),
        "posted to the app origin only"
    );
    assert!(
        done.body.contains("\"type\":\"auth_complete\"") && done.body.contains("\"success\":true")
    );
    assert!(done.body.contains("window.close()"));
    // The stepped-up session still has the token for the other API.
    assert_eq!(b.get(&app.url("/billing")).await.status, 200);
    b.accept = "application/json";
    let again = b.get(&app.url("/api/payments")).await;
    assert_eq!(again.status, 200);
    assert!(
        again.set_cookies.is_empty(),
        "found in the session, not refreshed again"
    );
}

#[tokio::test]
async fn a_cancelled_popup_reports_the_error_and_a_bad_mode_is_refused() {
    let app = start().await;
    let mut b = HttpBrowser::default();
    b.login(&app, "").await;
    let login = b
        .get(&app.url("/auth/login?challengeMode=popup&acr_values=http%3A%2F%2Fschemas.openid.net%2Fpape%2Fpolicies%2F2007%2F06%2Fmulti-factor"))
        .await;
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
    let page = b.get(cancel.location().as_str()).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("\"success\":false")
            && page.body.contains("\"code\":\"authorization_error\""),
        "{}",
        page.body
    );
    assert!(!page.sets("__session"), "nothing granted");
    let bad = b.get(&app.url("/auth/login?challengeMode=window")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("challengeMode"));
}

//! The store's expiry and bounds: what is due goes, what is live stays, and the work of a purge
//! is in proportion to what expires.

use std::time::Duration;

use super::*;
use crate::{Clock, ManualClock};

const HOUR: Duration = Duration::from_secs(3600);

fn store() -> (Store, ManualClock) {
    let clock = ManualClock::new(1_700_000_000);
    (Store::new(&SharedClock::new(clock.clone())), clock)
}

fn request(client_id: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: "http://127.0.0.1/cb".to_owned(),
        redirect_uri_sent: true,
        scope: vec!["openid".to_owned()],
        state: None,
        nonce: None,
        code_challenge: None,
        audience: None,
        max_age: None,
        acr_values: None,
        login_hint: None,
        dpop_jkt: None,
    }
}

fn grant(email: &str, client_id: &str) -> RefreshFamily {
    RefreshFamily {
        client_id: client_id.to_owned(),
        email: email.to_owned(),
        sid: "sid".to_owned(),
        scope: vec!["openid".to_owned(), "offline_access".to_owned()],
        audience: None,
        auth_time: 0,
        jkt: None,
        amr: Vec::new(),
    }
}

/// One login journey as the routes drive the store: a transaction, a session, a code, its
/// exchange with a refresh-token family, and an opaque access token.
fn journey(store: &mut Store, email: &str) -> (String, String) {
    let transaction = store.create_transaction(request("app"), 10 * 60 * Duration::from_secs(1));
    let finished = store
        .finish_transaction(&transaction)
        .expect("a live transaction");
    let (cookie, session) = store.create_session(email, 0, vec!["pwd".to_owned()], 7 * 24 * HOUR);
    let code = store.issue_code(
        finished.request,
        &session,
        None,
        None,
        Duration::from_secs(60),
    );
    assert!(matches!(store.use_code(&code, "app"), CodeUse::Fresh(_)));
    let (family, _) = store.refresh.issue(grant(email, "app"), 30 * 24 * HOUR);
    store.link_code_family(&code, &family);
    store.issue_opaque_token(email, vec!["openid".to_owned()], None, 24 * HOUR);
    (cookie, code)
}

#[test]
fn an_expired_item_is_forgotten_and_a_live_one_is_untouched() {
    let (mut store, clock) = store();
    let (old_cookie, _) = store.create_session("a@x", 1, vec![], HOUR);
    let old_tx = store.create_transaction(request("app"), HOUR);
    let old_token = store.issue_opaque_token("a@x", vec![], None, HOUR);
    clock.advance(1800);
    let (live_cookie, live) = store.create_session("a@x", 2, vec![], HOUR);
    let live_tx = store.create_transaction(request("app"), HOUR);
    let live_token = store.issue_opaque_token("a@x", vec![], None, HOUR);
    clock.advance(1800);
    assert_eq!(store.purge_expired(), 3);
    assert!(store.sessions.get(&old_cookie).is_none());
    assert!(store.transactions.get(&old_tx).is_none());
    assert!(store.opaque_tokens.get(&old_token).is_none());
    assert_eq!(
        store.session(&live_cookie).map(|s| s.sid.clone()),
        Some(live.sid.clone())
    );
    assert!(store.transaction(&live_tx).is_some());
    assert!(store.opaque_token(&live_token).is_some());
    assert_eq!(store.sessions.cookie_of_sid(&live.sid), Some(live_cookie));
    assert!(store.sessions.cookie_of_sid(&old_cookie).is_none());
    assert_eq!(
        store.end_sessions_of("A@X").len(),
        1,
        "the index holds the live one only"
    );
}

#[test]
fn a_used_code_is_remembered_an_hour_past_its_expiry_and_a_replay_revokes_its_family() {
    let (mut store, clock) = store();
    let (_, code) = journey(&mut store, "a@x");
    let family_token = store.refresh.sizes();
    assert_eq!(family_token.0, 1);
    clock.advance(60 + 3599);
    store.purge_expired();
    assert!(store.codes.contains_key(&code), "still remembered");
    assert!(matches!(store.use_code(&code, "app"), CodeUse::Invalid));
    assert_eq!(store.refresh.sizes().0, 0, "the replay revoked the family");
    clock.advance(1);
    store.purge_expired();
    assert!(
        !store.codes.contains_key(&code),
        "forgotten an hour after its expiry"
    );
}

#[test]
fn a_purge_does_work_in_proportion_to_what_expires() {
    let (mut store, clock) = store();
    for n in 0..20_000 {
        store.create_session(&format!("u{}@x", n % 100), 0, vec![], HOUR);
    }
    // A login step with 20,000 sessions held forgets nothing and so visits nothing.
    clock.advance(1800);
    assert_eq!(store.purge_expired(), 0);
    journey(&mut store, "a@x");
    assert_eq!(store.purge_expired(), 0);
    // Past their expiry, each goes exactly once.
    clock.advance(1800);
    assert_eq!(store.purge_expired(), 20_000, "the sessions, each once");
    assert_eq!(store.purge_expired(), 0);
    assert_eq!(store.sizes().sessions, 1, "the journey's week-long session");
    clock.advance(3600);
    assert_eq!(
        store.purge_expired(),
        1,
        "the journey's code, an hour after its expiry"
    );
}

#[test]
fn many_journeys_leave_nothing_once_everything_expired() {
    let (mut store, clock) = store();
    for n in 0..2_000 {
        journey(&mut store, &format!("u{}@x", n % 20));
    }
    let sizes = store.sizes();
    assert_eq!(sizes.sessions, 2_000);
    assert_eq!(sizes.refresh, (2_000, 2_000, 20));
    assert_eq!(sizes.transactions, 0);
    clock.advance(31 * 24 * 3600);
    store.purge_expired();
    assert_eq!(store.sizes().total(), 0, "{:?}", store.sizes());
}

#[test]
fn a_user_holds_at_most_the_session_cap_and_the_oldest_goes() {
    let (mut store, _clock) = store();
    let (first, _) = store.create_session("a@x", 0, vec![], HOUR);
    let (second, _) = store.create_session("A@x", 0, vec![], HOUR);
    for _ in 2..sessions::SESSIONS_PER_USER {
        store.create_session("a@x", 0, vec![], HOUR);
    }
    let (other, _) = store.create_session("b@x", 0, vec![], HOUR);
    assert!(store.session(&first).is_some());
    let (newest, _) = store.create_session("a@x", 0, vec![], HOUR);
    assert!(
        store.session(&first).is_none(),
        "the oldest session of a@x ended"
    );
    assert!(store.session(&second).is_some());
    assert!(store.session(&newest).is_some());
    assert!(
        store.session(&other).is_some(),
        "another user's session is untouched"
    );
    assert_eq!(store.sizes().sessions, sessions::SESSIONS_PER_USER + 1);
}

#[test]
fn issuing_a_code_adds_the_application_to_its_session_by_sid() {
    let (mut store, _clock) = store();
    let (cookie, session) = store.create_session("a@x", 0, vec![], HOUR);
    store.issue_code(request("one"), &session, None, None, HOUR);
    store.issue_code(request("two"), &session, None, None, HOUR);
    store.issue_code(request("one"), &session, None, None, HOUR);
    assert_eq!(
        store.session(&cookie).map(|s| s.clients.clone()),
        Some(vec!["one".to_owned(), "two".to_owned()])
    );
    assert_eq!(
        store.end_session_by_sid(&session.sid).map(|s| s.sid),
        Some(session.sid)
    );
    assert!(store.session(&cookie).is_none());
}

#[test]
fn assertion_ids_are_remembered_until_their_exp_and_refused_at_the_cap() {
    let (mut store, clock) = store();
    let now = clock.now();
    assert!(store.remember_assertion("c", "jti", now + 10));
    assert!(!store.remember_assertion("c", "jti", now + 10), "a replay");
    clock.advance(10);
    assert!(
        !store.remember_assertion("c", "jti", now + 10),
        "still at its exp second"
    );
    clock.advance(1);
    assert!(
        store.remember_assertion("c", "jti", now + 20),
        "forgotten after its exp"
    );
    for n in 1..MAX_ASSERTIONS {
        assert!(store.remember_assertion("c", &n.to_string(), now + 100));
    }
    assert!(
        !store.remember_assertion("c", "one-more", now + 100),
        "fails closed at the cap"
    );
    clock.advance(100);
    assert!(
        store.remember_assertion("c", "one-more", now + 200),
        "room again once they expired"
    );
    assert_eq!(store.sizes().assertions, 1);
}

//! OIDC Back-Channel Logout, as Auth0 sends it (`shared/reference/auth0-wire-contract.md` §7):
//! when an SSO session ends, every application the user logged in to through it that has a
//! `backchannel_logout_url` receives `POST {url}` with
//! `Content-Type: application/x-www-form-urlencoded` and `logout_token=<JWT>`.
//!
//! Deliveries run in the background (Auth0 queues them too): each waits at most 5 s for an
//! answer, follows no redirect, and records `sslo` (2xx) or `fslo` (anything else) in the event
//! log. `Backchannel::settled` waits until none is in flight.

use std::sync::Arc;

use serde_json::json;

pub(crate) mod sender;

pub(crate) use sender::TIMEOUT;

use crate::events::NewEvent;
use crate::state::TenantState;
use crate::store::Session;
use crate::{UserConfig, jwt, random};

/// `exp - iat` of a logout token: two minutes.
pub(crate) const TOKEN_LIFETIME: u64 = 120;
/// The event member of a logout token.
pub(crate) const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Why an SSO session ended, as Auth0 names back-channel logout initiators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Initiator {
    /// `/v2/logout` or `/oidc/logout`.
    RpLogout,
    /// [`crate::RunningTenant::end_user_sessions`] or `POST /dev/users/logout`.
    SessionRevoked,
}

impl Initiator {
    fn name(self) -> &'static str {
        match self {
            Self::RpLogout => "rp-logout",
            Self::SessionRevoked => "session-revoked",
        }
    }
}

/// Decrements the in-flight count when a delivery ends, however it ends.
struct InFlight(Arc<TenantState>);

impl InFlight {
    fn start(state: &Arc<TenantState>) -> Self {
        state.backchannel.in_flight.send_modify(|n| *n += 1);
        Self(Arc::clone(state))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .backchannel
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// One logout token on its way to one application.
#[derive(Debug, Clone)]
struct Delivery {
    client_id: String,
    url: String,
    user: UserConfig,
    sid: String,
    jti: String,
    initiator: Initiator,
    token: String,
}

/// Builds the logout token: header `{"alg":"RS256","typ":"JWT","kid":…}` and claims `iss`,
/// `sub`, `aud`, `iat`, `exp` (`iat + 120`), `jti`, `events`, `trace_id`, `sid`, in the order of
/// Auth0's documented example; no `nonce`.
fn logout_token(
    state: &TenantState,
    user: &UserConfig,
    client_id: &str,
    sid: &str,
) -> (String, String) {
    let key = state.current_key();
    let iat = state.now();
    let jti = random::uuid_v4();
    let header = jwt::ordered_object(&[
        ("alg", json!("RS256")),
        ("typ", json!("JWT")),
        ("kid", json!(key.kid())),
    ]);
    let payload = jwt::ordered_object(&[
        ("iss", json!(state.issuer)),
        ("sub", json!(user.sub())),
        ("aud", json!(client_id)),
        ("iat", json!(iat)),
        ("exp", json!(iat + TOKEN_LIFETIME)),
        ("jti", json!(jti)),
        ("events", json!({ EVENT: {} })),
        ("trace_id", json!(random::hex(8))),
        ("sid", json!(sid)),
    ]);
    (jwt::sign_rs256_raw(&key, &header, &payload), jti)
}

/// Sends a logout token to every application with a back-channel logout URL that the user
/// logged in to through one of `ended`. Returns how many deliveries started; they finish in
/// the background.
pub(crate) fn notify(state: &Arc<TenantState>, ended: &[Session], initiator: Initiator) -> usize {
    let mut started = 0;
    for session in ended {
        let Some(user) = state.config.user_by_email(&session.email) else {
            continue;
        };
        for client_id in &session.clients {
            let Some(url) = state
                .config
                .client(client_id)
                .and_then(|c| c.backchannel_logout_url())
            else {
                continue;
            };
            let (token, jti) = logout_token(state, user, client_id, &session.sid);
            let delivery = Delivery {
                client_id: client_id.clone(),
                url: url.to_owned(),
                user: user.clone(),
                sid: session.sid.clone(),
                jti,
                initiator,
                token,
            };
            spawn(state, delivery);
            started += 1;
        }
    }
    started
}

fn spawn(state: &Arc<TenantState>, delivery: Delivery) {
    let guard = InFlight::start(state);
    let Some(runtime) = state.backchannel.runtime.clone() else {
        record(
            state,
            &delivery,
            Err("no Tokio runtime to send it on".to_owned()),
        );
        return;
    };
    runtime.spawn(async move {
        let state = Arc::clone(&guard.0);
        let outcome = send(&state, &delivery).await;
        record(&state, &delivery, outcome);
        drop(guard);
    });
}

/// POSTs the token; `Ok(status)` for any HTTP answer.
async fn send(state: &TenantState, delivery: &Delivery) -> Result<u16, String> {
    let client = state.backchannel.client()?;
    let response = client
        .post(&delivery.url)
        .form(&[("logout_token", delivery.token.as_str())])
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", TIMEOUT.as_secs())
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else {
                format!("request failed: {e}")
            }
        })?;
    Ok(response.status().as_u16())
}

/// Records `sslo` for a 2xx answer, `fslo` otherwise.
fn record(state: &TenantState, delivery: &Delivery, outcome: Result<u16, String>) {
    let (kind, description, status, error) = match outcome {
        Ok(status) if (200..300).contains(&status) => (
            "sslo",
            "Back-channel logout delivered".to_owned(),
            Some(status),
            None,
        ),
        Ok(status) => (
            "fslo",
            format!("Back-channel logout failed: HTTP {status}"),
            Some(status),
            None,
        ),
        Err(error) => (
            "fslo",
            format!("Back-channel logout failed: {error}"),
            None,
            Some(error),
        ),
    };
    tracing::info!(client_id = %delivery.client_id, url = %delivery.url, ?status, kind, "back-channel logout");
    state.events.record(
        NewEvent::new(kind, description)
            .client(Some(&delivery.client_id))
            .user(&delivery.user)
            .detail("url", delivery.url.as_str())
            .detail("status", status)
            .detail("error", error)
            .detail("sid", delivery.sid.as_str())
            .detail("jti", delivery.jti.as_str())
            .detail("initiator", delivery.initiator.name()),
    );
}

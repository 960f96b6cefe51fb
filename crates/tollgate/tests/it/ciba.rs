//! Client-Initiated Backchannel Authentication against the local tenant: the request appears in
//! the development outbox with its binding message; approval gives validated tokens, denial and
//! expiry are typed errors, polling too fast slows down.

use crate::common;

use std::time::Duration;

use tollgate::{BackchannelAuthError, BackchannelAuthOptions, BackchannelPoll, ProviderError};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig, UserConfig};

async fn tenant() -> RunningTenant {
    Tenant::start(
        TenantConfig::new()
            .with_client(ClientConfig::new(common::CLIENT_ID, common::CLIENT_SECRET))
            .with_user(
                UserConfig::new(common::ALICE.0, common::ALICE.1).with_push_device("Alice's phone"),
            )
            .with_push_poll_interval(Duration::from_secs(1)),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

fn alice() -> String {
    UserConfig::new(common::ALICE.0, common::ALICE.1).sub()
}

/// The id of the newest outbox message, once the tenant has one.
fn outbox_id(tenant: &RunningTenant, message: &str) -> String {
    let m = tenant
        .outbox()
        .into_iter()
        .last()
        .expect("a login request in the outbox");
    assert_eq!(m.binding_message.as_deref(), Some(message));
    assert_eq!(m.to, "Alice's phone");
    m.id
}

#[tokio::test]
async fn an_approved_request_gives_validated_tokens() {
    let tenant = tenant().await;
    let auth = common::client(&tenant, |b| b);
    let opts =
        BackchannelAuthOptions::new(alice(), "Approve transfer 4471").scope("offline_access");
    let request = auth.ciba().start(&opts).await.unwrap();
    assert_eq!(request.interval, 1);
    assert_eq!(request.expires_in, 300);
    let id = outbox_id(&tenant, "Approve transfer 4471");

    let pending = auth.ciba().poll(&request).await.unwrap();
    assert!(
        matches!(pending, BackchannelPoll::Pending { interval: 1 }),
        "{pending:?}"
    );
    assert!(tenant.approve_push(&id));
    // The whole loop, from a fresh request approved while it polls.
    let waiting = {
        let auth = auth.clone();
        let opts = BackchannelAuthOptions::new(alice(), "Sign in to the kiosk");
        tokio::spawn(async move { auth.ciba().run(&opts).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let second = loop {
        if let Some(m) = tenant
            .outbox()
            .into_iter()
            .find(|m| m.binding_message.as_deref() == Some("Sign in to the kiosk"))
        {
            break m.id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request never reached the outbox"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(tenant.approve_push(&second));
    let tokens = waiting.await.unwrap().unwrap();
    assert_eq!(tokens.id_token_claims.as_ref().unwrap()["sub"], alice());
    assert!(tokens.refresh_token.is_none(), "no offline_access asked");

    // The first request, approved earlier and polled after its interval, gives its tokens once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let BackchannelPoll::Approved(first) = auth.ciba().poll(&request).await.unwrap() else {
        panic!("approved")
    };
    assert!(
        first.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
    let again = auth.ciba().poll(&request).await.unwrap_err();
    assert!(
        matches!(&again, BackchannelAuthError::PollFailed(ProviderError::OAuth { error, .. }) if error == "invalid_grant"),
        "{again:?}"
    );
}

#[tokio::test]
async fn denied_expired_and_bad_requests_are_typed() {
    let tenant = tenant().await;
    let auth = common::client(&tenant, |b| b);
    let request = auth
        .ciba()
        .start(&BackchannelAuthOptions::new(alice(), "Approve login"))
        .await
        .unwrap();
    assert!(tenant.deny_push(&outbox_id(&tenant, "Approve login")));
    assert_eq!(
        auth.ciba().poll(&request).await.unwrap_err(),
        BackchannelAuthError::Denied
    );

    let eager = auth
        .ciba()
        .start(&BackchannelAuthOptions::new(alice(), "Too eager"))
        .await
        .unwrap();
    assert!(matches!(
        auth.ciba().poll(&eager).await.unwrap(),
        BackchannelPoll::Pending { interval: 1 }
    ));
    // Polling again at once is too fast: the tenant says slow_down, the wait grows by 5 s.
    let slow = auth.ciba().poll(&eager).await.unwrap();
    assert!(
        matches!(slow, BackchannelPoll::Pending { interval: 6 }),
        "{slow:?}"
    );

    let short = auth
        .ciba()
        .start(&BackchannelAuthOptions::new(alice(), "Quick one").requested_expiry(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        auth.ciba().poll(&short).await.unwrap_err(),
        BackchannelAuthError::Denied,
        "expired"
    );

    let unknown = auth
        .ciba()
        .start(&BackchannelAuthOptions::new("auth0|nobody", "Hello"))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, BackchannelAuthError::StartFailed(ProviderError::OAuth { error, status: 400, .. }) if error == "unknown_user_id"),
        "{unknown:?}"
    );
    let before = tenant.outbox().len();
    let bad = auth
        .ciba()
        .start(&BackchannelAuthOptions::new(alice(), "<b>bold</b>"))
        .await
        .unwrap_err();
    assert!(matches!(bad, BackchannelAuthError::InvalidRequest(_)));
    assert_eq!(tenant.outbox().len(), before, "refused before any call");
}

//! Which algorithms an ID token may be signed with, against the hostile OP: by default the ones
//! its discovery document lists, within the safe list; a pinned set overrides discovery; `none`
//! and `HS*` are refused unless `HS*` is pinned.

use jsonwebtoken::Algorithm;
use serde_json::json;
use tollgate::{CallbackError, ConfigBuilder, Error, IdTokenError, Tollgate};

use crate::common::hostile_op::{HostileOp, Mutation, Signer, set, sets_session};

fn es256() -> Signer {
    Signer::Ec {
        kid: Some("ec-0".into()),
    }
}

fn ps256() -> Signer {
    Signer::Pss {
        key: 0,
        kid: Some("rsa-0".into()),
    }
}

/// A login with an OP whose discovery lists `listed` (absent when `None`) and signs with `signer`.
async fn login(
    listed: Option<serde_json::Value>,
    signer: Signer,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Result<(), IdTokenError> {
    let op = HostileOp::start().await;
    op.mutate(Mutation {
        discovery: match listed {
            Some(l) => set("id_token_signing_alg_values_supported", l),
            None => crate::common::hostile_op::edit(|d| {
                d.as_object_mut()
                    .unwrap()
                    .remove("id_token_signing_alg_values_supported");
            }),
        },
        ..Mutation::default()
    });
    op.set_signer(signer);
    let auth = Tollgate::new(tweak(op.config()).build().unwrap());
    let outcome = op.login(&auth).await;
    match outcome.result {
        Ok(_) => {
            assert!(sets_session(&outcome.cookies));
            Ok(())
        }
        Err(Error::Callback(CallbackError::IdToken(e))) => {
            assert!(!sets_session(&outcome.cookies), "{e}");
            Err(e)
        }
        Err(other) => panic!("expected an ID token outcome, got {other:?}"),
    }
}

fn disallowed(alg: &str) -> Result<(), IdTokenError> {
    Err(IdTokenError::DisallowedAlgorithm(alg.into()))
}

#[tokio::test]
async fn es256_and_ps256_are_accepted_when_discovery_lists_them() {
    let listed = json!(["ES256", "PS256", "RS256"]);
    assert_eq!(login(Some(listed.clone()), es256(), |b| b).await, Ok(()));
    assert_eq!(login(Some(listed), ps256(), |b| b).await, Ok(()));
}

#[tokio::test]
async fn an_algorithm_discovery_does_not_list_is_refused() {
    assert_eq!(
        login(Some(json!(["RS256"])), es256(), |b| b).await,
        disallowed("ES256")
    );
    assert_eq!(
        login(Some(json!(["RS256", "ES256"])), ps256(), |b| b).await,
        disallowed("PS256")
    );
}

#[tokio::test]
async fn without_the_field_only_rs256_is_accepted() {
    assert_eq!(login(None, Signer::default(), |b| b).await, Ok(()));
    assert_eq!(login(None, es256(), |b| b).await, disallowed("ES256"));
}

#[tokio::test]
async fn a_pinned_set_overrides_discovery() {
    let listed = json!(["ES256", "PS256", "RS256"]);
    let rs256_only = |b: ConfigBuilder| b.id_token_algorithms([Algorithm::RS256]);
    assert_eq!(
        login(Some(listed.clone()), es256(), rs256_only).await,
        disallowed("ES256")
    );
    assert_eq!(
        login(Some(listed), ps256(), rs256_only).await,
        disallowed("PS256")
    );
    // Pinned in, even though discovery does not list it.
    let es256_pinned = |b: ConfigBuilder| b.id_token_algorithms([Algorithm::ES256]);
    assert_eq!(
        login(Some(json!(["RS256"])), es256(), es256_pinned).await,
        Ok(())
    );
}

#[tokio::test]
async fn none_and_hs256_are_refused_even_when_discovery_lists_them() {
    let listed = json!(["none", "HS256", "RS256"]);
    assert_eq!(
        login(Some(listed.clone()), Signer::None, |b| b).await,
        disallowed("none")
    );
    let hs = Signer::Hs256(crate::common::hostile_op::CLIENT_SECRET.into());
    assert_eq!(
        login(Some(listed.clone()), hs.clone(), |b| b).await,
        disallowed("HS256")
    );
    // HS256 only when the application pins it (verified with the client secret).
    let pinned = |b: ConfigBuilder| b.id_token_algorithms([Algorithm::HS256]);
    assert_eq!(login(Some(listed), hs, pinned).await, Ok(()));
}

#[tokio::test]
async fn a_key_must_fit_the_algorithm() {
    // A PS256 token naming the P-256 key: the key's family does not fit, whatever is allowed.
    let wrong_key = Signer::Pss {
        key: 0,
        kid: Some("ec-0".into()),
    };
    let got = login(Some(json!(["PS256", "ES256"])), wrong_key, |b| b).await;
    assert!(
        matches!(got, Err(IdTokenError::NoMatchingKey { .. })),
        "{got:?}"
    );
}

#[test]
fn the_environment_variable_pins_or_fails_clearly() {
    let vars = |algs: &'static str| {
        move |n: &str| match n {
            "AUTH0_DOMAIN" => Some("example.auth0.com".to_owned()),
            "AUTH0_CLIENT_ID" => Some("id".to_owned()),
            "AUTH0_CLIENT_SECRET" => Some("secret".to_owned()),
            "AUTH0_SECRET" => Some("0123456789abcdef0123456789abcdef".to_owned()),
            "APP_BASE_URL" => Some("https://app.example.com".to_owned()),
            "AUTH0_ID_TOKEN_SIGNING_ALGS" => Some(algs.to_owned()),
            _ => None,
        }
    };
    assert!(
        ConfigBuilder::from_vars(vars("ES256,RS256"))
            .unwrap()
            .build()
            .is_ok()
    );
    for bad in ["none", "ES256,none", "ES512", "HS1"] {
        let err = ConfigBuilder::from_vars(vars(bad)).unwrap_err();
        assert!(
            err.to_string().contains("AUTH0_ID_TOKEN_SIGNING_ALGS"),
            "{bad}: {err}"
        );
    }
}

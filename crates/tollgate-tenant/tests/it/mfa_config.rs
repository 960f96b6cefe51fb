//! The MFA settings in code and TOML: users' factors, policies, lifetimes, validation and the
//! built-in example.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::mfa::*;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_tenant::{
    ConfigError, GrantKind, MfaPolicy, Tenant, TenantConfig, TenantError, UserConfig,
};

#[test]
fn mfa_settings_parse_from_toml() {
    let config = TenantConfig::from_toml_str(
        r#"
        tenant_name = "acme-dev"
        mfa_token_lifetime = 120
        oob_code_lifetime = 60
        push_poll_interval = 1

        [[users]]
        email = "dana@example.com"
        password = "pw"
        totp_secret = "JBSWY3DPEHPK3PXP"
        phone = "+15555550123"
        email_factor = true
        push_device = "Dana's phone"
        recovery_code = "ABCDEFGHJKLMNPQRSTUVWXY2"

        [[mfa_policies]]
        audience = "https://payments.example.com"
        factors = ["otp", "recovery-code"]
        every_time = true

        [[mfa_policies]]

        [[mfa_policies]]
        grants = ["login"]
        remember_browser_days = 30
        new_devices_only = true
        "#,
    )
    .expect("valid TOML");
    assert_eq!(config.tenant_name(), "acme-dev");
    assert_eq!(config.mfa_token_lifetime(), Duration::from_secs(120));
    assert_eq!(config.oob_code_lifetime(), Duration::from_secs(60));
    assert_eq!(config.push_poll_interval(), Duration::from_secs(1));
    let user = &config.users()[0];
    assert_eq!(user.phone(), Some("+15555550123"));
    assert!(user.email_factor());
    assert_eq!(user.push_device(), Some("Dana's phone"));
    assert_eq!(user.recovery_code(), Some("ABCDEFGHJKLMNPQRSTUVWXY2"));
    let debug = format!("{user:?}");
    assert!(
        !debug.contains("ABCDEFGHJKLMNPQRSTUVWXY2"),
        "recovery code redacted: {debug}"
    );
    assert!(
        !debug.contains("JBSWY3DPEHPK3PXP"),
        "TOTP secret redacted: {debug}"
    );

    let [strict, default, adaptive] = config.mfa_policies() else {
        panic!("three policies");
    };
    assert_eq!(adaptive.remembered_days(), Some(30));
    assert!(adaptive.is_new_devices_only());
    assert_eq!(default.remembered_days(), None);
    assert!(!default.is_new_devices_only());
    assert_eq!(strict.audience(), Some("https://payments.example.com"));
    // A policy for an API covers every grant that issues tokens for it.
    assert_eq!(strict.grants(), GrantKind::ALL);
    assert_eq!(strict.factors(), ["otp", "recovery-code"]);
    assert!(strict.is_every_time());
    assert_eq!(default.audience(), None);
    assert_eq!(default.grants(), [GrantKind::RefreshToken]);
    assert_eq!(
        default.factors(),
        [
            "otp",
            "push-notification",
            "phone",
            "email",
            "recovery-code"
        ]
    );
    assert!(!default.is_every_time());
}

#[test]
fn mfa_defaults_follow_auth0() {
    let config = TenantConfig::new();
    assert_eq!(config.mfa_token_lifetime(), Duration::from_secs(600));
    assert_eq!(config.oob_code_lifetime(), Duration::from_secs(300));
    assert_eq!(config.push_poll_interval(), Duration::from_secs(5));
    assert_eq!(config.tenant_name(), "tollgate");
    assert!(config.mfa_policies().is_empty());
    let user = UserConfig::new("x@example.com", "pw");
    assert_eq!(
        (
            user.phone(),
            user.email_factor(),
            user.push_device(),
            user.recovery_code()
        ),
        (None, false, None, None)
    );
}

#[test]
fn bad_mfa_settings_are_typed_errors() {
    type Check = fn(&ConfigError) -> bool;
    let cases: Vec<(&str, Check)> = vec![
        (
            "[[users]]\nemail = \"a@x.com\"\npassword = \"p\"\ntotp_secret = \"not base32!\"",
            |e| matches!(e, ConfigError::InvalidTotpSecret { email } if email == "a@x.com"),
        ),
        (
            "[[users]]\nemail = \"a@x.com\"\npassword = \"p\"\nphone = \"555-0100\"",
            |e| matches!(e, ConfigError::InvalidPhoneNumber { phone, .. } if phone == "555-0100"),
        ),
        (
            "[[users]]\nemail = \"a@x.com\"\npassword = \"p\"\nrecovery_code = \"short\"",
            |e| matches!(e, ConfigError::InvalidRecoveryCode { .. }),
        ),
        (
            "[[users]]\nemail = \"a@x.com\"\npassword = \"p\"\nrecovery_code = \"abcdefghjklmnpqrstuvwxyz\"",
            |e| matches!(e, ConfigError::InvalidRecoveryCode { .. }),
        ),
        (
            "[[users]]\nemail = \"a@x.com\"\npassword = \"p\"\npush_device = \" \"",
            |e| matches!(e, ConfigError::EmptyPushDevice { .. }),
        ),
        (
            "[[mfa_policies]]\nfactors = [\"sms\"]",
            |e| matches!(e, ConfigError::UnknownMfaFactor { factor } if factor == "sms"),
        ),
        ("[[mfa_policies]]\nfactors = []", |e| {
            matches!(e, ConfigError::EmptyMfaPolicy)
        }),
        ("[[mfa_policies]]\ngrants = []", |e| {
            matches!(e, ConfigError::EmptyMfaPolicy)
        }),
        ("[[mfa_policies]]\ngrants = [\"password\"]", |e| {
            matches!(e, ConfigError::Parse(_))
        }),
        ("[[mfa_policies]]\nevery_tme = true", |e| {
            matches!(e, ConfigError::Parse(_))
        }),
        (
            "[[mfa_policies]]\nmfa_requirements = \"sometimes\"",
            |e| matches!(e, ConfigError::Parse(m) if m.to_string().contains("sometimes")),
        ),
        ("mfa_token_lifetime = \"10m\"", |e| {
            matches!(e, ConfigError::Parse(_))
        }),
    ];
    for (toml, expected) in cases {
        let error = TenantConfig::from_toml_str(toml).expect_err(toml);
        assert!(expected(&error), "{toml}: {error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[tokio::test]
async fn builder_errors_stop_the_start() {
    let config = TenantConfig::new().with_mfa_policy(MfaPolicy::new().with_factors(["fax"]));
    let error = Tenant::start(config, "127.0.0.1:0").await.unwrap_err();
    assert!(
        matches!(
            error,
            TenantError::Config(ConfigError::UnknownMfaFactor { .. })
        ),
        "{error:?}"
    );
    let config = TenantConfig::new().with_user(UserConfig::new("a@x.com", "p").with_phone("0800"));
    assert!(Tenant::start(config, "127.0.0.1:0").await.is_err());
}

/// A policy for an API that would leave one of the grants issuing tokens for it without MFA
/// (the old `grants = ["refresh_token"]` example, which let a password login with
/// `audience=payments` through) is refused, in TOML and in code, with the reason.
#[tokio::test]
async fn an_audience_policy_that_leaves_a_grant_open_is_refused() {
    let narrowed = [
        (r#"["refresh_token"]"#, GrantKind::Login),
        (r#"["login"]"#, GrantKind::RefreshToken),
        (
            r#"["login", "refresh_token", "ciba"]"#,
            GrantKind::TokenExchange,
        ),
        (
            r#"["login", "refresh_token", "token_exchange"]"#,
            GrantKind::Ciba,
        ),
    ];
    for (grants, open) in narrowed {
        let toml = format!(
            "[[apis]]\nidentifier = \"{API}\"\n[[mfa_policies]]\naudience = \"{API}\"\ngrants = {grants}"
        );
        let error = TenantConfig::from_toml_str(&toml).expect_err(&toml);
        assert!(
            matches!(&error, ConfigError::MfaPolicyLeavesGrantOpen { audience, grant }
                if audience == API && *grant == open),
            "{toml}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(open.name()) && message.contains("without a second factor"),
            "{message}"
        );
    }
    let all = format!(
        "[[mfa_policies]]\naudience = \"{API}\"\ngrants = [\"ciba\", \"token_exchange\", \"refresh_token\", \"login\"]"
    );
    assert!(TenantConfig::from_toml_str(&all).is_ok());
    // Without an audience a policy may be narrowed, as before.
    let session_rule = "[[mfa_policies]]\ngrants = [\"login\"]";
    assert!(TenantConfig::from_toml_str(session_rule).is_ok());

    let config = config().with_mfa_policy(
        MfaPolicy::new()
            .for_audience(API)
            .on_grants([GrantKind::RefreshToken]),
    );
    let error = Tenant::start(config, "127.0.0.1:0").await.unwrap_err();
    assert!(
        matches!(
            error,
            TenantError::Config(ConfigError::MfaPolicyLeavesGrantOpen {
                grant: GrantKind::Login,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn the_example_has_alices_factors_and_the_payments_policy() {
    let example = TenantConfig::example();
    let alice = &example.users()[0];
    assert_eq!(alice.totp_secret(), Some(ALICE_SECRET));
    assert_eq!(alice.recovery_code(), Some(ALICE_RECOVERY));
    let bob = &example.users()[1];
    assert_eq!(
        (
            bob.totp_secret(),
            bob.phone(),
            bob.push_device(),
            bob.recovery_code()
        ),
        (None, None, None, None)
    );
    let [policy] = example.mfa_policies() else {
        panic!("one policy");
    };
    assert_eq!(policy.audience(), Some(API));
    // The login with audience=payments passes MFA too, not only the refresh for it.
    assert_eq!(policy.grants(), GrantKind::ALL);

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tenant.example.toml");
    let file = TenantConfig::from_file(&path).expect("the example parses");
    assert_eq!(file.users()[0].recovery_code(), Some(ALICE_RECOVERY));
    let [file_policy] = file.mfa_policies() else {
        panic!("one policy in the file");
    };
    assert_eq!(file_policy.audience(), policy.audience());
    assert_eq!(file_policy.grants(), policy.grants());
    assert_eq!(file_policy.factors(), policy.factors());
    assert_eq!(file.mfa_token_lifetime(), example.mfa_token_lifetime());
    assert_eq!(file.tenant_name(), example.tenant_name());
}

#[tokio::test]
async fn tenant_name_labels_the_otpauth_uri() {
    let tenant = start_with(mfa_config().with_tenant_name("Acme Dev")).await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    let response = associate(&tenant, &mfa_token, json!({"authenticator_types": ["otp"]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let uri = body["barcode_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Acme%20Dev:bob@example.com?secret="),
        "{uri}"
    );
    assert!(uri.ends_with("&issuer=Acme%20Dev&algorithm=SHA1&digits=6&period=30"));
}

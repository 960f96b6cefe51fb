//! Configuration: TOML parsing (good and bad), the example file, signing key files and the
//! listen address checks.

use crate::common;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::*;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use tollgate_tenant::{ConfigError, Tenant, TenantConfig, TenantError, UserConfig};

#[test]
fn full_toml_parses() {
    let config = TenantConfig::from_toml_str(
        r#"
        id_token_lifetime = 600
        access_token_lifetime = 1200
        refresh_token_lifetime = 3600
        code_lifetime = 30
        end_session_endpoint_discovery = false

        [[clients]]
        client_id = "a"
        client_secret = "s"
        callbacks = ["http://127.0.0.1:3000/cb"]
        logout_urls = ["http://127.0.0.1:3000/"]
        refresh_token_rotation = false
        rotation_leeway = 30

        [[users]]
        email = "carol@example.com"
        password = "pw"
        name = "Carol"
        nickname = "cc"
        picture = "https://example.com/c.png"
        email_verified = false
        totp_secret = "JBSWY3DPEHPK3PXP"

        [[apis]]
        identifier = "https://api.example.com"
        scopes = ["read:x"]
        "#,
    )
    .expect("valid TOML");
    assert_eq!(config.id_token_lifetime(), Duration::from_secs(600));
    assert_eq!(config.access_token_lifetime(), Duration::from_secs(1200));
    assert_eq!(config.refresh_token_lifetime(), Duration::from_secs(3600));
    assert_eq!(config.code_lifetime(), Duration::from_secs(30));
    assert!(!config.end_session_endpoint_discovery());
    let client = &config.clients()[0];
    assert_eq!(client.client_id(), "a");
    assert_eq!(client.callbacks(), ["http://127.0.0.1:3000/cb"]);
    assert!(!client.refresh_token_rotation());
    assert_eq!(client.rotation_leeway(), Duration::from_secs(30));
    let user = &config.users()[0];
    assert_eq!(
        (user.name(), user.nickname(), user.picture()),
        ("Carol", "cc", "https://example.com/c.png")
    );
    assert!(!user.email_verified());
    assert_eq!(user.totp_secret(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(config.apis()[0].scopes(), ["read:x"]);
}

#[test]
fn defaults_follow_auth0() {
    let config = TenantConfig::from_toml_str("").unwrap();
    assert_eq!(config.id_token_lifetime(), Duration::from_secs(36_000));
    assert_eq!(config.access_token_lifetime(), Duration::from_secs(86_400));
    assert_eq!(
        config.refresh_token_lifetime(),
        Duration::from_secs(30 * 86_400)
    );
    assert_eq!(config.code_lifetime(), Duration::from_secs(60));
    assert!(config.end_session_endpoint_discovery());
    assert!(config.signing_key_files().is_empty());

    let config = TenantConfig::from_toml_str(
        "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\n[[users]]\nemail = \"dave@example.com\"\npassword = \"p\"",
    )
    .unwrap();
    assert!(config.clients()[0].refresh_token_rotation());
    assert_eq!(config.clients()[0].rotation_leeway(), Duration::ZERO);
    let user = &config.users()[0];
    assert_eq!(user.nickname(), "dave");
    assert_eq!(user.name(), "dave@example.com");
    assert!(user.email_verified());
    assert!(user.picture().starts_with("https://"));
    assert_eq!(user.totp_secret(), None);
}

#[test]
fn bad_toml_is_a_typed_error() {
    let cases = [
        ("id_token_lifetime = \"ten\"", "parse"),
        ("unknown_field = 1", "parse"),
        ("[[clients]]\nclient_id = \"a\"", "no-secret"),
        (
            "[[users]]\nemail = \"a@b.c\"\npassword = \"p\"\nshoe_size = 9",
            "parse",
        ),
        (
            "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\n[[clients]]\nclient_id = \"a\"\nclient_secret = \"t\"",
            "dup-client",
        ),
        (
            "[[users]]\nemail = \"a@b.c\"\npassword = \"p\"\n[[users]]\nemail = \"A@B.C\"\npassword = \"q\"",
            "dup-user",
        ),
        (
            "[[apis]]\nidentifier = \"x\"\n[[apis]]\nidentifier = \"x\"",
            "dup-api",
        ),
        (
            "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\ncallbacks = [\"/relative\"]",
            "url",
        ),
        (
            "[[clients]]\nclient_id = \"\"\nclient_secret = \"s\"",
            "empty",
        ),
    ];
    for (toml, kind) in cases {
        let error = TenantConfig::from_toml_str(toml).expect_err(toml);
        let matched = match kind {
            "parse" => matches!(error, ConfigError::Parse(_)),
            "dup-client" => {
                matches!(&error, ConfigError::DuplicateClient { client_id } if client_id == "a")
            }
            "dup-user" => matches!(error, ConfigError::DuplicateUser { .. }),
            "dup-api" => matches!(error, ConfigError::DuplicateApi { .. }),
            "url" => matches!(&error, ConfigError::InvalidUrl { url } if url == "/relative"),
            "empty" => matches!(error, ConfigError::EmptyClientId),
            "no-secret" => matches!(
                error,
                ConfigError::InvalidClient {
                    field: "client_secret",
                    ..
                }
            ),
            _ => unreachable!(),
        };
        assert!(matched, "{toml}: {error:?}");
        assert!(!error.to_string().is_empty());
    }
    let missing = TenantConfig::from_file("/nonexistent/tenant.toml").unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing:?}");
}

#[test]
fn example_file_parses_and_matches_the_built_in_example() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tenant.example.toml");
    let file = TenantConfig::from_file(&path).expect("the example parses");
    let built_in = TenantConfig::example();
    assert_eq!(
        file.clients()[0].client_id(),
        built_in.clients()[0].client_id()
    );
    assert_eq!(file.clients()[0].client_secret(), "demo-secret");
    assert_eq!(
        file.clients()[0].callbacks(),
        built_in.clients()[0].callbacks()
    );
    let emails: Vec<&str> = file.users().iter().map(UserConfig::email).collect();
    assert_eq!(emails, ["alice@example.com", "bob@example.com"]);
    assert_eq!(file.users()[0].totp_secret(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(file.apis()[0].identifier(), "https://payments.example.com");
}

#[test]
fn sub_is_stable_and_derived_from_the_email() {
    let a = UserConfig::new("alice@example.com", "x").sub();
    assert_eq!(a, UserConfig::new("Alice@Example.com", "y").sub());
    assert_ne!(a, UserConfig::new("bob@example.com", "x").sub());
    let hex = a.strip_prefix("auth0|").unwrap();
    assert_eq!(hex.len(), 24);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[tokio::test]
async fn signing_keys_from_pem_files_give_stable_kids() {
    let folder = std::env::temp_dir().join(format!("tollgate-tenant-keys-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let mut rng = rsa::rand_core::OsRng;
    let current = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let previous = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    std::fs::write(
        folder.join("current.pem"),
        current.to_pkcs1_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(
        folder.join("previous.pem"),
        previous.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(folder.join("garbage.pem"), "not a key").unwrap();
    std::fs::write(
        folder.join("tenant.toml"),
        "signing_keys = [\"current.pem\", \"previous.pem\"]\n",
    )
    .unwrap();

    let config = TenantConfig::from_file(folder.join("tenant.toml")).unwrap();
    assert_eq!(config.signing_key_files()[0], folder.join("current.pem"));
    let first = start_with(config.clone()).await;
    let kids = |set: jsonwebtoken::jwk::JwkSet| -> Vec<String> {
        set.keys
            .iter()
            .map(|k| k.common.key_id.clone().unwrap())
            .collect()
    };
    let first_kids = kids(jwks(&browser(), &first).await);
    assert_eq!(first_kids.len(), 2);
    first.shutdown().await;
    let second = start_with(config).await;
    assert_eq!(
        kids(jwks(&browser(), &second).await),
        first_kids,
        "same files, same kids"
    );

    second.shutdown().await;

    // Tokens are signed by the first key.
    let with_users = start_with(
        common::config()
            .with_signing_key_file(folder.join("current.pem"))
            .with_signing_key_file(folder.join("previous.pem")),
    )
    .await;
    let http = browser();
    let tokens = exchange(&http, &with_users, &login_code(&http, &with_users).await).await;
    let kid = jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(kid, first_kids[0]);

    let bad = Tenant::start(
        TenantConfig::new().with_signing_key_file(folder.join("garbage.pem")),
        "127.0.0.1:0",
    )
    .await;
    assert!(
        matches!(bad, Err(TenantError::InvalidKey { .. })),
        "{bad:?}"
    );
    let missing = Tenant::start(
        TenantConfig::new().with_signing_key_file(folder.join("missing.pem")),
        "127.0.0.1:0",
    )
    .await;
    assert!(
        matches!(missing, Err(TenantError::ReadKey { .. })),
        "{missing:?}"
    );
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn listen_address_must_be_loopback() {
    let not_loopback = Tenant::start(TenantConfig::new(), "0.0.0.0:0").await;
    assert!(
        matches!(not_loopback, Err(TenantError::NotLoopback { .. })),
        "{not_loopback:?}"
    );
    let invalid = Tenant::start(TenantConfig::new(), "localhost").await;
    assert!(
        matches!(invalid, Err(TenantError::InvalidListenAddress { .. })),
        "{invalid:?}"
    );
    let duplicate = Tenant::start(
        TenantConfig::new()
            .with_client(app_client())
            .with_client(app_client()),
        "127.0.0.1:0",
    )
    .await;
    assert!(
        matches!(
            duplicate,
            Err(TenantError::Config(ConfigError::DuplicateClient { .. }))
        ),
        "{duplicate:?}"
    );

    let tenant = start().await;
    let taken = Tenant::start(TenantConfig::new(), &tenant.local_addr().to_string()).await;
    assert!(matches!(taken, Err(TenantError::Bind { .. })), "{taken:?}");
}

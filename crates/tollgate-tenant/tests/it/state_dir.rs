//! The state directory (`TenantConfig::with_state_dir`, `--state-dir`): a tenant restarted on
//! the same directory and port keeps its signing keys, SSO sessions, refresh-token families
//! (rotation and reuse detection) and pending authorization codes; a corrupt or newer state
//! file stops the start with an error naming the file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use reqwest::cookie::Jar;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tollgate_tenant::{ConfigError, RunningTenant, Tenant, TenantConfig, TenantError};

/// A browser-like client on `jar`, without pooled connections (the server it talked to may be
/// gone by its next request).
fn browser_on(jar: &Arc<Jar>) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(Arc::clone(jar))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn start_in(dir: &Path, listen: &str) -> RunningTenant {
    Tenant::start(config().with_state_dir(dir), listen)
        .await
        .expect("the tenant starts on its state directory")
}

fn refresh_token(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

async fn refreshed(tenant: &RunningTenant, token: &str) -> Value {
    let response = refresh_as(tenant, CLIENT_ID, CLIENT_SECRET, token, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `/authorize` with `prompt=none`: the code when the SSO session is alive, else `None`.
async fn silent_code(http: &Client, tenant: &RunningTenant) -> Option<String> {
    let response = authorize(http, tenant, &authorize_params(&[("prompt", "none")])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    query(&location(&response)).get("code").cloned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_restart_keeps_keys_sso_sessions_refresh_families_and_pending_codes() {
    let dir = TempDir::new("state-restart");
    let first = start_in(dir.path(), "127.0.0.1:0").await;
    assert_eq!(first.state_dir(), Some(dir.path()));
    let listen = first.local_addr().to_string();
    let issuer = first.issuer().to_owned();
    let jar = Arc::new(Jar::default());
    let http = browser_on(&jar);

    let tokens = exchange(&http, &first, &login_code(&http, &first).await).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let kid = header_json(&id_token)["kid"].as_str().unwrap().to_owned();
    let rt0 = refresh_token(&tokens);
    let rt1 = refresh_token(&refreshed(&first, &rt0).await);
    assert_ne!(rt0, rt1, "the client rotates");
    // A callback the app has not reached yet when the tenant stops.
    let pending = silent_code(&http, &first).await.expect("SSO gives a code");
    first.shutdown().await;

    #[cfg(unix)]
    {
        assert_eq!(mode(dir.path()), 0o700, "the directory it created");
        assert_eq!(mode(&dir.path().join("state.json")), 0o600);
        assert_eq!(mode(&dir.path().join("signing-keys.pem")), 0o600);
    }
    let saved: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
    assert_eq!(saved["format"], 1);
    assert_eq!(saved["issuer"], issuer.as_str());
    assert_eq!(saved["kids"][0], kid.as_str());

    let second = start_in(dir.path(), &listen).await;
    assert_eq!(second.issuer(), issuer);
    let http = browser_on(&jar);

    // The same key signs and is published: tokens from before still verify.
    let set = jwks(&http, &second).await;
    assert_eq!(set.keys[0].common.key_id.as_deref(), Some(kid.as_str()));
    verify(&http, &second, &id_token, CLIENT_ID).await;
    let after = exchange(&http, &second, &pending).await;
    assert!(
        after["id_token"].is_string(),
        "the pending code is still good"
    );

    // Rotation continues; the token retired before the restart is still caught as a reuse.
    let rt2 = refresh_token(&refreshed(&second, &rt1).await);
    assert_error(
        refresh_as(&second, CLIENT_ID, CLIENT_SECRET, &rt0, &[]).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        None,
    )
    .await;
    assert_eq!(second.events_of_type("ferrt").len(), 1, "logged as a reuse");
    let revoked = refresh_as(&second, CLIENT_ID, CLIENT_SECRET, &rt2, &[]).await;
    assert_eq!(
        revoked.status(),
        StatusCode::FORBIDDEN,
        "the reuse revoked the whole family"
    );

    // The SSO session skips the password, and logout ends it.
    assert!(silent_code(&http, &second).await.is_some());
    let logout = http
        .get(url(&second, "v2/logout"))
        .query(&[("client_id", CLIENT_ID), ("returnTo", LOGOUT_URL)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(location(&logout).as_str(), LOGOUT_URL);
    assert_eq!(silent_code(&http, &second).await, None, "logged out");
    second.shutdown().await;

    // And the logout itself survives the next restart.
    let third = start_in(dir.path(), &listen).await;
    assert_eq!(silent_code(&browser_on(&jar), &third).await, None);
    third.shutdown().await;
}

#[tokio::test]
async fn a_rotated_key_and_its_predecessor_are_kept() {
    let dir = TempDir::new("state-rotate");
    let first = start_in(dir.path(), "127.0.0.1:0").await;
    let before = jwks(&browser(), &first).await.keys[0].common.key_id.clone();
    first.rotate_signing_key();
    let rotated = jwks(&browser(), &first).await;
    first.shutdown().await;
    let kids = |set: &jsonwebtoken::jwk::JwkSet| -> Vec<Option<String>> {
        set.keys.iter().map(|k| k.common.key_id.clone()).collect()
    };
    assert_eq!(kids(&rotated).len(), 2);
    assert_eq!(kids(&rotated)[1], before);

    let second = start_in(dir.path(), "127.0.0.1:0").await;
    assert_eq!(kids(&jwks(&browser(), &second).await), kids(&rotated));
    second.shutdown().await;
}

#[tokio::test]
async fn what_expired_while_the_tenant_was_down_is_forgotten() {
    let dir = TempDir::new("state-expiry");
    let clock = tollgate_tenant::ManualClock::starting_now();
    let config = || {
        config()
            .with_state_dir(dir.path())
            .with_clock(clock.clone())
            .with_session_lifetime(Duration::from_secs(3600))
    };
    let first = Tenant::start(config(), "127.0.0.1:0").await.unwrap();
    let listen = first.local_addr().to_string();
    let jar = Arc::new(Jar::default());
    login_code(&browser_on(&jar), &first).await;
    first.shutdown().await;

    let second = Tenant::start(config(), &listen).await.unwrap();
    assert!(
        silent_code(&browser_on(&jar), &second).await.is_some(),
        "alive before its expiry"
    );
    second.shutdown().await;
    let saved = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    clock.advance(3601);
    let third = Tenant::start(config(), &listen).await.unwrap();
    assert_eq!(silent_code(&browser_on(&jar), &third).await, None);
    third.shutdown().await;
    let resaved = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    let sessions = |text: &str| -> usize {
        let value: Value = serde_json::from_str(text).unwrap();
        value["store"]["sessions"]["by_cookie"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(sessions(&saved), 1);
    assert_eq!(sessions(&resaved), 0, "dropped at load, not written again");
}

#[tokio::test]
async fn a_corrupt_state_file_stops_the_start_with_its_name() {
    let dir = TempDir::new("state-corrupt");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("state.json");
    let truncated = r#"{"format": 1, "issuer": "http://127.0.0.1:1/", "sto"#;
    std::fs::write(&file, truncated).unwrap();
    let error = Tenant::start(config().with_state_dir(dir.path()), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TenantError::CorruptState { path, .. } if *path == file),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("move it away"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        truncated,
        "the file is left as it was"
    );
}

#[tokio::test]
async fn a_state_file_of_a_newer_format_is_refused() {
    let dir = TempDir::new("state-newer");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("state.json");
    std::fs::write(&file, r#"{"format": 2, "something": "new"}"#).unwrap();
    let error = Tenant::start(config().with_state_dir(dir.path()), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            TenantError::StateVersion { path, found: 2, supported: 1 } if *path == file
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("newer"), "{error}");
}

#[tokio::test]
async fn a_bad_state_directory_or_key_file_is_refused_with_its_name() {
    let dir = TempDir::new("state-bad");
    std::fs::create_dir_all(dir.path()).unwrap();
    let not_a_dir = dir.path().join("a-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let error = Tenant::start(config().with_state_dir(&not_a_dir), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TenantError::StateDir { path, .. } if *path == not_a_dir),
        "{error:?}"
    );
    assert!(error.to_string().contains("not a directory"), "{error}");

    let keys = dir.path().join("signing-keys.pem");
    std::fs::write(
        &keys,
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let error = Tenant::start(config().with_state_dir(dir.path()), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TenantError::InvalidKey { path } if *path == keys),
        "{error:?}"
    );

    let error = Tenant::start(config().with_state_dir(""), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(error, TenantError::Config(ConfigError::EmptyStateDir)),
        "{error:?}"
    );
    let error = TenantConfig::from_toml_str("state_dir = \"\"\n").unwrap_err();
    assert!(error.to_string().contains("state_dir is empty"), "{error}");
}

#[test]
fn a_relative_state_dir_in_a_file_is_taken_from_the_files_folder() {
    let dir = TempDir::new("state-toml");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, "state_dir = \"state\"\n").unwrap();
    let config = TenantConfig::from_file(&file).unwrap();
    assert_eq!(config.state_dir(), Some(dir.path().join("state").as_path()));
}

/// The binary's `--state-dir`: refused without a value, and announced in the start-up lines.
#[test]
fn the_binary_announces_where_state_lives() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    const BIN: &str = env!("CARGO_BIN_EXE_tollgate-tenant");
    let missing = Command::new(BIN).arg("--state-dir").output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--state-dir needs a value"),
        "{missing:?}"
    );

    let dir = TempDir::new("state-binary");
    for (args, expected) in [
        (vec![], "State: in memory only"),
        (
            vec!["--state-dir".to_owned(), dir.path().display().to_string()],
            "State: kept in ",
        ),
    ] {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let issuer = lines.next().unwrap().unwrap();
        let state = lines.next().unwrap().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
        assert!(state.starts_with(expected), "{state}");
        if !args.is_empty() {
            assert!(state.contains(&dir.path().display().to_string()), "{state}");
        }
    }
    assert!(dir.path().join("signing-keys.pem").exists());
}

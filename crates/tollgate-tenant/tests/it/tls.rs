//! The issuer and HTTPS (`with_issuer` / `--issuer`, `with_tls` / `--tls`): a host-name issuer
//! names discovery, tokens and pages; the HTTPS listener serves a certificate from its own CA
//! that a client trusting `ca.pem` accepts and others refuse; a state directory keeps the CA
//! across restarts; every refusal has its typed error.

use crate::common::*;
use reqwest::Client;
use serde_json::Value;
use tollgate_tenant::{ConfigError, RunningTenant, Tenant, TenantConfig, TenantError, TlsConfig};

/// A port that was free a moment ago (for an issuer that must name its port before binding).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Starts `config` with `issuer(port)` on a free port, trying another if it was taken meanwhile.
async fn start_named(config: TenantConfig, issuer: impl Fn(u16) -> String) -> RunningTenant {
    for _ in 0..5 {
        let port = free_port();
        match Tenant::start(
            config.clone().with_issuer(issuer(port)),
            &format!("127.0.0.1:{port}"),
        )
        .await
        {
            Ok(tenant) => return tenant,
            Err(TenantError::Bind { .. }) => continue,
            Err(e) => panic!("the tenant does not start: {e}"),
        }
    }
    panic!("no free port")
}

/// A browser-like client (cookies, no redirects) that trusts `ca_pem`.
fn trusting(ca_pem: &str) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

async fn discovery(http: &Client, tenant: &RunningTenant) -> Value {
    http.get(url(tenant, ".well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery answers")
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_host_name_issuer_names_discovery_tokens_and_pages() {
    let tenant = start_named(config(), |port| format!("http://localhost:{port}")).await;
    let issuer = tenant.issuer().to_owned();
    assert!(
        issuer.starts_with("http://localhost:") && issuer.ends_with('/'),
        "{issuer}"
    );
    assert_eq!(tenant.base_url().as_str(), issuer);
    assert!(tenant.ca_pem_path().is_none() && tenant.ca_pem().is_none());

    let http = browser();
    let doc = discovery(&http, &tenant).await;
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}authorize"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}.well-known/jwks.json"));

    // The login page's form and the redirect to it stay under the issuer; tokens name it.
    let code = login_code(&http, &tenant).await;
    let tokens = exchange(&http, &tenant, &code).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], issuer.as_str());

    // The listener's own address is still an accepted Host (a loopback alias).
    let by_ip = format!(
        "http://127.0.0.1:{}/.well-known/openid-configuration",
        tenant.local_addr().port()
    );
    let doc: Value = http.get(by_ip).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        doc["issuer"],
        issuer.as_str(),
        "the issuer does not follow the Host"
    );
    tenant.shutdown().await;
}

#[tokio::test]
async fn https_serves_a_certificate_from_the_generated_ca() {
    let tenant = Tenant::start(config().with_tls(TlsConfig::generated()), "127.0.0.1:0")
        .await
        .unwrap();
    let port = tenant.local_addr().port();
    assert_eq!(tenant.issuer(), format!("https://127.0.0.1:{port}/"));
    let ca = tenant.ca_pem().unwrap().to_owned();
    let path = tenant.ca_pem_path().unwrap().to_path_buf();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ca);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let spki = tenant.spki_sha256().unwrap();
    assert_eq!(spki.len(), 44, "base64 of 32 bytes: {spki}");

    // Trusting the CA: discovery, a login and a code exchange over TLS, also as localhost.
    let http = trusting(&ca);
    assert_eq!(discovery(&http, &tenant).await["issuer"], tenant.issuer());
    let code = login_code(&http, &tenant).await;
    let tokens = exchange(&http, &tenant, &code).await;
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["iss"],
        tenant.issuer()
    );
    let as_localhost = http
        .get(format!("https://localhost:{port}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_localhost.status(),
        200,
        "the certificate covers localhost"
    );

    // Not trusting it: the handshake fails.
    let error = Client::new()
        .get(url(&tenant, ".well-known/openid-configuration"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = Client::new()
        .get(format!(
            "http://127.0.0.1:{port}/.well-known/openid-configuration"
        ))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // Still serving after those failed handshakes; the temporary CA folder goes at shutdown.
    assert_eq!(discovery(&http, &tenant).await["issuer"], tenant.issuer());
    tenant.shutdown().await;
    assert!(!path.exists(), "{} removed", path.display());
}

#[tokio::test]
async fn a_state_dir_keeps_the_ca_and_the_key_across_restarts() {
    let dir = TempDir::new("tls-restart");
    let tls = || {
        config()
            .with_tls(TlsConfig::generated())
            .with_state_dir(dir.path())
    };
    let first = start_named(tls(), |port| format!("https://localhost:{port}/")).await;
    let ca = first.ca_pem().unwrap().to_owned();
    let spki = first.spki_sha256().unwrap().to_owned();
    assert_eq!(first.ca_pem_path().unwrap(), dir.path().join("ca.pem"));
    first.shutdown().await;
    #[cfg(unix)]
    for key in ["ca-key.pem", "cert-key.pem"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }

    let second = start_named(tls(), |port| format!("https://localhost:{port}/")).await;
    assert_eq!(second.ca_pem().unwrap(), ca, "the same CA after a restart");
    assert_eq!(second.spki_sha256().unwrap(), spki, "the same server key");
    assert_eq!(
        discovery(&trusting(&ca), &second).await["issuer"],
        second.issuer()
    );
    second.shutdown().await;

    // The kept certificate and key serve as configured PEM files too.
    let files =
        TlsConfig::from_pem_files(dir.path().join("cert.pem"), dir.path().join("cert-key.pem"));
    let from_files = Tenant::start(config().with_tls(files), "127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(
        from_files.ca_pem_path().unwrap(),
        dir.path().join("cert.pem")
    );
    assert_eq!(from_files.spki_sha256().unwrap(), spki);
    assert_eq!(
        discovery(&trusting(&ca), &from_files).await["issuer"],
        from_files.issuer()
    );
    from_files.shutdown().await;
}

#[tokio::test]
async fn node_trusts_the_ca_through_node_extra_ca_certs() {
    let Ok(version) = std::process::Command::new("node").arg("--version").output() else {
        eprintln!("node is not installed: skipped");
        return;
    };
    assert!(version.status.success());
    let tenant = start_named(config().with_tls(TlsConfig::generated()), |port| {
        format!("https://localhost:{port}/")
    })
    .await;
    let script = format!(
        "fetch('{}.well-known/openid-configuration').then(r => r.json()).then(d => console.log(d.issuer))",
        tenant.issuer()
    );
    let issuer = tenant.issuer().to_owned();
    let ca = tenant.ca_pem_path().unwrap().to_path_buf();
    let run = move |trust: bool| {
        let mut node = std::process::Command::new("node");
        node.arg("-e")
            .arg(&script)
            .env_remove("NODE_EXTRA_CA_CERTS");
        if trust {
            node.env("NODE_EXTRA_CA_CERTS", &ca);
        }
        node.output().unwrap()
    };
    let (trusted, untrusted) = tokio::task::spawn_blocking(move || (run(true), run(false)))
        .await
        .unwrap();
    assert!(trusted.status.success(), "{trusted:?}");
    assert_eq!(String::from_utf8_lossy(&trusted.stdout).trim(), issuer);
    assert!(!untrusted.status.success(), "without the CA Node refuses");
    tenant.shutdown().await;
}

#[tokio::test]
async fn issuer_refusals_are_typed() {
    let refused =
        |issuer: &str| TenantConfig::from_toml_str(&format!("issuer = {issuer:?}\n")).unwrap_err();
    assert!(matches!(
        refused("not a url"),
        ConfigError::IssuerNotUrl { .. }
    ));
    assert!(matches!(
        refused("ftp://localhost:4000/"),
        ConfigError::IssuerScheme { .. }
    ));
    let remote = refused("http://10.1.2.3:4000/");
    assert!(
        matches!(remote, ConfigError::IssuerNotLoopback { .. }),
        "{remote}"
    );
    assert!(remote.to_string().contains("loopback"), "{remote}");
    assert!(matches!(
        refused("http://[2001:db8::1]:4000/"),
        ConfigError::IssuerNotLoopback { .. }
    ));
    for bad in [
        "http://localhost:4000/tenant/",
        "http://localhost:4000/?a=b",
        "http://localhost:4000/#x",
        "http://user@localhost:4000/",
    ] {
        assert!(
            matches!(refused(bad), ConfigError::IssuerPath { .. }),
            "{bad}"
        );
    }
    let mixed =
        TenantConfig::from_toml_str("issuer = \"http://localhost:4000/\"\n[tls]\n").unwrap_err();
    assert!(
        matches!(mixed, ConfigError::HttpIssuerWithTls { .. }),
        "{mixed}"
    );
    // Accepted: a trailing slash is added.
    let ok = TenantConfig::from_toml_str("issuer = \"https://localhost:4443\"\n[tls]\n").unwrap();
    assert_eq!(ok.issuer(), Some("https://localhost:4443"));

    // At start: the same checks, an issuer without a port on port 0, a non-loopback name.
    let error = Tenant::start(config().with_issuer("ftp://localhost/"), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(error, TenantError::Config(ConfigError::IssuerScheme { .. })),
        "{error}"
    );
    let error = Tenant::start(config().with_issuer("http://localhost/"), "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(error, TenantError::IssuerNeedsPort { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("port 0"), "{error}");
    let error = Tenant::start(
        config().with_issuer("http://tenant.invalid:4000/"),
        "127.0.0.1:0",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, TenantError::IssuerHostNotLoopback { .. }),
        "{error}"
    );

    // Another port than the listener's (a proxy in front) is accepted.
    let proxied = Tenant::start(config().with_issuer("http://localhost:8443"), "127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(proxied.issuer(), "http://localhost:8443/");
    proxied.shutdown().await;
}

#[tokio::test]
async fn tls_refusals_are_typed() {
    let half = TenantConfig::from_toml_str("[tls]\ncert = \"cert.pem\"\n").unwrap_err();
    assert!(matches!(half, ConfigError::TlsFilesIncomplete), "{half}");
    let unknown = TenantConfig::from_toml_str("[tls]\ncertificate = \"cert.pem\"\n").unwrap_err();
    assert!(matches!(unknown, ConfigError::Parse(_)), "{unknown}");
    let empty = Tenant::start(
        config().with_tls(TlsConfig::from_pem_files("", "key.pem")),
        "127.0.0.1:0",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(empty, TenantError::Config(ConfigError::TlsFilesIncomplete)),
        "{empty}"
    );

    let dir = TempDir::new("tls-files");
    std::fs::create_dir_all(dir.path()).unwrap();
    let missing = dir.path().join("missing.pem");
    let error = Tenant::start(
        config().with_tls(TlsConfig::from_pem_files(&missing, &missing)),
        "127.0.0.1:0",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, TenantError::TlsFile { path, .. } if *path == missing),
        "{error}"
    );
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM").unwrap();
    let error = Tenant::start(
        config().with_tls(TlsConfig::from_pem_files(&garbage, &garbage)),
        "127.0.0.1:0",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, TenantError::TlsFile { .. }), "{error}");
    assert!(error.to_string().contains("--tls-cert"), "{error}");
}

#[tokio::test]
async fn toml_tls_paths_are_relative_to_the_file() {
    let dir = TempDir::new("tls-toml");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("tenant.toml");
    std::fs::write(
        &file,
        "issuer = \"https://localhost:4443/\"\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n",
    )
    .unwrap();
    let config = TenantConfig::from_file(&file).unwrap();
    let error = Tenant::start(config, "127.0.0.1:0").await.unwrap_err();
    assert!(
        matches!(&error, TenantError::TlsFile { path, .. } if *path == dir.path().join("c.pem")),
        "{error}"
    );
}

#[test]
fn the_binary_takes_issuer_and_tls_flags_and_prints_what_to_trust() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    const BIN: &str = env!("CARGO_BIN_EXE_tollgate-tenant");
    let stderr = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text) = stderr(&["--issuer"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("--issuer needs a value"), "{text}");
    let (code, text) = stderr(&["--tls-cert", "cert.pem"]);
    assert_eq!(code, Some(2));
    assert!(
        text.contains("both --tls-cert FILE and --tls-key FILE"),
        "{text}"
    );
    let (code, text) = stderr(&["--tls", "--tls-key", "key.pem"]);
    assert_eq!(code, Some(2), "{text}");
    let (code, text) = stderr(&["--listen", "127.0.0.1:0", "--issuer", "http://localhost/"]);
    assert_eq!(code, Some(1));
    assert!(text.contains("has no port"), "{text}");
    let (code, text) = stderr(&[
        "--listen",
        "127.0.0.1:0",
        "--issuer",
        "http://192.0.2.1:4000/",
    ]);
    assert_eq!(code, Some(1));
    assert!(text.contains("non-loopback"), "{text}");

    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--tls"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = lines.next().unwrap().unwrap();
    let trust = lines.next().unwrap().unwrap();
    let spki = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(issuer.starts_with("https://127.0.0.1:"), "{issuer}");
    assert!(
        trust.starts_with("TLS: trust ") && trust.contains("ca.pem"),
        "{trust}"
    );
    assert!(
        spki.starts_with("TLS: Chromium --ignore-certificate-errors-spki-list="),
        "{spki}"
    );
}

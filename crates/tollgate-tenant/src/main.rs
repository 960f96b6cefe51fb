//! `tollgate-tenant [--config tenant.toml] [--listen 127.0.0.1:4000] [--allowed-host HOST]…
//! [--no-dev-pages] [--state-dir DIR] [--issuer URL] [--tls | --tls-cert FILE --tls-key FILE]`:
//! serves a local tenant until interrupted (Ctrl-C or
//! SIGTERM, after which the state is written a last time). Without `--config`, serves the
//! built-in example tenant; without `--state-dir` (or `state_dir` in the file), its state is
//! in memory only.

use std::process::ExitCode;

use tollgate_tenant::{Tenant, TenantConfig, TlsConfig};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: tollgate-tenant [--config FILE.toml] [--listen 127.0.0.1:4000] \
                     [--allowed-host HOST[:PORT]]... [--no-dev-pages] [--state-dir DIR] [--issuer URL] \
                     [--tls | --tls-cert FILE --tls-key FILE]";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let mut config_path = None;
    let mut listen = "127.0.0.1:4000".to_owned();
    let mut allowed_hosts = Vec::new();
    let mut dev_pages = true;
    let mut state_dir = None;
    let mut issuer = None;
    let mut tls = false;
    let mut tls_cert = None;
    let mut tls_key = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--no-dev-pages" => dev_pages = false,
            "--tls" => tls = true,
            "--config" | "--listen" | "--allowed-host" | "--state-dir" | "--issuer"
            | "--tls-cert" | "--tls-key" => {
                let Some(value) = args.next().filter(|v| !v.trim().is_empty()) else {
                    eprintln!("{arg} needs a value\n{USAGE}");
                    return ExitCode::from(2);
                };
                match arg.as_str() {
                    "--config" => config_path = Some(value),
                    "--listen" => listen = value,
                    "--state-dir" => state_dir = Some(value),
                    "--issuer" => issuer = Some(value),
                    "--tls-cert" => tls_cert = Some(value),
                    "--tls-key" => tls_key = Some(value),
                    _ => allowed_hosts.push(value),
                }
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let config = match config_path {
        Some(path) => match TenantConfig::from_file(&path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        },
        None => TenantConfig::example(),
    };
    let mut config = config;
    for host in allowed_hosts {
        config = config.with_allowed_host(host);
    }
    if !dev_pages {
        config = config.with_dev_pages(false);
    }
    if let Some(dir) = state_dir {
        config = config.with_state_dir(dir);
    }
    if let Some(issuer) = issuer {
        config = config.with_issuer(issuer);
    }
    match (tls, tls_cert, tls_key) {
        (false, None, None) => {}
        (true, None, None) => config = config.with_tls(TlsConfig::generated()),
        (false, Some(cert), Some(key)) => {
            config = config.with_tls(TlsConfig::from_pem_files(cert, key))
        }
        _ => {
            eprintln!(
                "error: use --tls (a generated certificate) or both --tls-cert FILE and --tls-key FILE\n{USAGE}"
            );
            return ExitCode::from(2);
        }
    }
    let tenant = match Tenant::start(config, &listen).await {
        Ok(tenant) => tenant,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", tenant.issuer());
    if let Some(path) = tenant.ca_pem_path() {
        println!(
            "TLS: trust {} (e.g. NODE_EXTRA_CA_CERTS={})",
            path.display(),
            path.display()
        );
    }
    if let Some(spki) = tenant.spki_sha256() {
        println!("TLS: Chromium --ignore-certificate-errors-spki-list={spki}");
    }
    match tenant.state_dir() {
        Some(dir) => println!(
            "State: kept in {} (keys, sessions, refresh tokens, enrolments)",
            dir.display()
        ),
        None => println!(
            "State: in memory only; a restart forgets sessions, refresh tokens and keys (use --state-dir DIR to keep them)"
        ),
    }
    stop_requested().await;
    tenant.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C or, on Unix, SIGTERM.
async fn stop_requested() {
    #[cfg(unix)]
    if let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        return;
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C ({error}); stopping");
    }
}

//! `tollgate-tenant [--config tenant.toml] [--listen 127.0.0.1:4000] [--allowed-host HOST]…
//! [--no-dev-pages]`: serves a local tenant until interrupted. Without `--config`, serves the
//! built-in example tenant.

use std::process::ExitCode;

use tollgate_tenant::{Tenant, TenantConfig};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: tollgate-tenant [--config FILE.toml] [--listen 127.0.0.1:4000] \
                     [--allowed-host HOST[:PORT]]... [--no-dev-pages]";

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
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--no-dev-pages" => dev_pages = false,
            "--config" | "--listen" | "--allowed-host" => {
                let Some(value) = args.next() else {
                    eprintln!("{arg} needs a value\n{USAGE}");
                    return ExitCode::from(2);
                };
                match arg.as_str() {
                    "--config" => config_path = Some(value),
                    "--listen" => listen = value,
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
    let tenant = match Tenant::start(config, &listen).await {
        Ok(tenant) => tenant,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", tenant.issuer());
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

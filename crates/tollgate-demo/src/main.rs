//! `tollgate-demo [--app-addr ADDR] [--tenant-addr ADDR]`: runs the demo until interrupted.
//! See the library documentation for the settings.

use std::process::ExitCode;

use tollgate_demo::{DemoOptions, USAGE, UsageError};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let options = match DemoOptions::from_env().with_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(UsageError::HelpRequested) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let demo = match tollgate_demo::start(options).await {
        Ok(demo) => demo,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", demo.banner());
    stop_requested().await;
    demo.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C or, on Unix, SIGTERM (as sent by `kill` or a container runtime).
async fn stop_requested() {
    #[cfg(unix)]
    if let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            result = tokio::signal::ctrl_c() => report(result),
            _ = terminate.recv() => {}
        }
        return;
    }
    report(tokio::signal::ctrl_c().await);
}

fn report(result: std::io::Result<()>) {
    if let Err(error) = result {
        eprintln!("error: cannot wait for Ctrl-C ({error}); stopping");
    }
}

//! The `tollgate-demo` binary: flags, the start-up message on stdout, and usage errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate-demo");

/// Kills the demo when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo_command() -> Command {
    let mut command = Command::new(BIN);
    // A clean environment: no AUTH0_* from the caller may switch the provider.
    command
        .env_clear()
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

#[test]
fn prints_both_urls_and_the_demo_logins_on_start_up() {
    let mut running = Running(
        demo_command()
            .args(["--app-addr", "127.0.0.1:0", "--tenant-addr=127.0.0.1:0"])
            .spawn()
            .expect("the demo binary runs"),
    );
    let stdout = running.0.stdout.take().expect("stdout is piped");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let first = received
        .recv_timeout(Duration::from_secs(60))
        .expect("a start-up line within a minute");
    let sessions = received
        .recv_timeout(Duration::from_secs(5))
        .expect("a second line about where sessions live");
    assert!(
        sessions.starts_with("Sessions: sealed in the cookie")
            && sessions.contains("TOLLGATE_SESSION_STORE=redis://"),
        "{sessions}"
    );
    let second = received
        .recv_timeout(Duration::from_secs(5))
        .expect("a third line about the development secret");

    let rest = first
        .strip_prefix("Tollgate demo on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected start-up line: {first}"));
    assert!(
        rest.contains(" — local tenant on http://127.0.0.1:"),
        "{first}"
    );
    assert!(
        first.ends_with(
            " — log in as alice@example.com / alice-password-1 (TOTP enrolled) or bob@example.com / bob-password-1"
        ),
        "{first}"
    );
    assert!(second.contains("AUTH0_SECRET is not set"), "{second}");

    // The printed URL serves the home page.
    let app = first
        .split_whitespace()
        .nth(3)
        .expect("the app URL is the fourth word");
    let port: u16 = app
        .trim_start_matches("http://127.0.0.1:")
        .parse()
        .expect("a port");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the app listens");
    use std::io::{Read, Write};
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Log in"));
}

#[test]
fn help_and_usage_errors() {
    let help = demo_command().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--tenant-addr"));

    let wrong = demo_command()
        .arg("--port")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("unknown argument \"--port\""));
}

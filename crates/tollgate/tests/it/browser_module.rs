//! The served browser module, run in Node.js with a stubbed `fetch`: every function sends the
//! request the SDK's routes expect and raises the typed error for each failure.

use std::process::Command;

#[test]
fn the_browser_module_behaves_as_documented() {
    let mut routes = tollgate::Routes::default();
    routes.profile = "/auth/profile".into();
    let js = tollgate::browser_module(&routes);
    let dir = std::env::temp_dir().join(format!("tollgate-js-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let module = dir.join("client.mjs");
    std::fs::write(&module, js).unwrap();
    let test = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/client.test.mjs");
    let out = match Command::new("node").arg(test).arg(&module).output() {
        Ok(o) => o,
        Err(e) if std::env::var("TOLLGATE_SKIP_NODE").as_deref() == Ok("1") => {
            eprintln!("skipped: TOLLGATE_SKIP_NODE=1 ({e})");
            return;
        }
        Err(e) => panic!("node could not run ({e}): run scripts/test.sh, which installs it"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "client.js test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("all assertions passed"));
}

//! The entry point of the tenant's cargo-fuzz target (feature `fuzzing`; not a stable API).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;

use crate::TenantConfig;
use crate::keys::{KeyRing, SigningKey};
use crate::state::TenantState;

/// How the body of a fuzzed request is labelled.
#[derive(Debug, Clone, Copy)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json`.
    Json,
    /// No `Content-Type` header.
    Unlabelled,
}

struct Harness {
    router: Router,
    rt: tokio::runtime::Runtime,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let key = SigningKey::process_default().expect("invariant: key generation works");
        let state = TenantState::new(
            TenantConfig::example(),
            "http://127.0.0.1:9/".to_owned(),
            KeyRing::new(key, Vec::new()),
        );
        Harness {
            router: crate::routes::router(Arc::new(state)),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("invariant: a current-thread runtime builds"),
        }
    })
}

/// Sends one `POST /oauth/token` with the given `Authorization` header (if any) and body through
/// the tenant's real router, and returns the status. The token endpoint must answer every request
/// with a JSON body: 200 for a grant, 4xx with an OAuth error otherwise, never 5xx.
pub fn token_request(authorization: Option<&[u8]>, kind: BodyKind, body: &[u8]) -> u16 {
    let h = harness();
    // The tenant answers only for its issuer's host.
    let mut req = Request::post("/oauth/token").header(header::HOST, "127.0.0.1:9");
    match kind {
        BodyKind::Form => {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        BodyKind::Json => req = req.header(header::CONTENT_TYPE, "application/json"),
        BodyKind::Unlabelled => {}
    }
    if let Some(value) = authorization.and_then(|a| axum::http::HeaderValue::from_bytes(a).ok()) {
        req = req.header(header::AUTHORIZATION, value);
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else {
        return 400;
    };
    let response =
        h.rt.block_on(h.router.clone().oneshot(req))
            .unwrap_or_else(|never| match never {});
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "the token endpoint answered {status}"
    );
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type:?}"
    );
    status.as_u16()
}

/// The tenant's clock for [`dpop_proof`]: proofs dated at this second are on time.
pub const DPOP_NOW: u64 = 1_800_000_000;

/// Checks a `DPoP` header value as the token endpoint of a tenant at `http://127.0.0.1:9/` does
/// (`POST`, `htu` = its token endpoint, a tenant nonce when `require_nonce`), at [`DPOP_NOW`],
/// with one replay cache for the whole run. Returns whether the proof was accepted. It must
/// never panic, whatever the bytes.
pub fn dpop_proof(proof: &[u8], require_nonce: bool) -> bool {
    static STATE: OnceLock<crate::dpop::DpopState> = OnceLock::new();
    let state = STATE.get_or_init(Default::default);
    let Ok(proof) = std::str::from_utf8(proof) else {
        return false;
    };
    let expected = crate::dpop::Expected {
        htm: "POST",
        htu: "http://127.0.0.1:9/oauth/token",
        access_token: None,
        require_nonce,
    };
    crate::dpop::verify(state, proof, &expected, DPOP_NOW).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_seeds_run_and_only_the_valid_ones_pass_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/tenant_dpop_proof");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let (flag, proof) = data.split_first().unwrap();
            // `valid*` seeds are good proofs (ath is not checked at the token endpoint).
            let valid = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("valid"));
            assert_eq!(dpop_proof(proof, flag & 1 == 1), valid, "{path:?}");
            if valid {
                assert!(!dpop_proof(proof, false), "a replay is refused");
            }
            count += 1;
        }
        assert!(count >= 5);
    }

    /// Decodes a seed the way the fuzz target does.
    fn run(data: &[u8]) -> u16 {
        let (kind, rest) = data.split_first().expect("a seed is not empty");
        let kind = match kind % 3 {
            0 => BodyKind::Form,
            1 => BodyKind::Json,
            _ => BodyKind::Unlabelled,
        };
        let (authorization, body) = match rest.split_first() {
            Some((b'A', rest)) => match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
                None => (Some(rest), &[][..]),
            },
            _ => (None, rest),
        };
        token_request(authorization, kind, body)
    }

    #[test]
    fn every_seed_gets_an_oauth_error_and_never_a_5xx() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/tenant_token_form");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            // None of the seeds holds a valid code, token or secret of the example tenant.
            let status = run(&data);
            assert!((400..500).contains(&status), "{status}");
            count += 1;
        }
        assert!(count >= 5);
        assert_eq!(run(b"\x01-[1,2]"), 400, "a JSON body that is not an object");
        assert_eq!(run(b"\x00-\xff\xfe"), 400, "a form body that is not UTF-8");
    }
}

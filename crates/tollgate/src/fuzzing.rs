//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`; not a stable API).
//!
//! Each function takes untrusted input exactly as it crosses a trust boundary, runs the SDK's real
//! code on it, and checks the invariants that must hold for any input. A panic is a finding.
//! The fixed secret is the nextjs-auth0 interop secret, so the seed corpus (cookies made by
//! nextjs-auth0) decrypts and mutations explore the paths past the header.

use std::sync::OnceLock;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use url::Url;

use crate::config::Config;
use crate::oidc::backchannel::check_logout_claims;
use crate::oidc::id_token::{self, Expectations};
use crate::oidc::provider::jwks::{VerificationKey, parse_key_set};
use crate::session::SessionData;
use crate::session::codec::CookieSessionCodec;
use crate::session::cookies::CookieJar;
use crate::session::secret::{KeyPurpose, Keyring, Secret};
use crate::step_up::mfa::MfaContext;
use crate::web::Tollgate;

/// The secret the fuzz harness seals and unseals with (the nextjs-auth0 interop vectors' secret).
pub const SECRET: &str = "5f2b8c3e9a7d4e1f0b6c2a8d7e3f9a1b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f";
/// The issuer the harness expects in tokens.
pub const ISSUER: &str = "https://tenant.example.com/";
/// The client the harness expects as audience.
pub const CLIENT_ID: &str = "fuzz-client";
/// The time the harness runs at (2026-01-01T00:00:00Z), so seeds stay valid forever.
pub const NOW: u64 = 1_767_225_600;

/// An RSA and a P-256 public key, as a provider would publish them.
const JWKS: &str = r#"[
  {"kty":"RSA","kid":"rsa-1","use":"sig","alg":"RS256","e":"AQAB","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"},
  {"kty":"EC","kid":"ec-1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
  {"kty":"OKP","kid":"ed-1","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
]"#;

struct Fixture {
    keys: Vec<VerificationKey>,
    codec: CookieSessionCodec,
    mfa_keys: Keyring,
    session: SessionData,
    client_secret: Secret,
    base: Url,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let raw: Vec<Value> = serde_json::from_str(JWKS).expect("invariant: the JWKS parses");
        let session: SessionData = serde_json::from_value(json!({
            "user": {"sub": "auth0|fuzz"},
            "tokenSet": {"accessToken": "at", "expiresAt": NOW + 3600},
            "internal": {"sid": "fuzz-sid", "createdAt": NOW},
        }))
        .expect("invariant: the fixture session parses");
        Fixture {
            keys: parse_key_set(&raw),
            codec: CookieSessionCodec::new(&config()),
            mfa_keys: Keyring::derive(&[Secret::new(SECRET)], KeyPurpose::MfaToken)
                .expect("invariant: the secret is long enough"),
            session,
            client_secret: Secret::new("fuzz-client-secret-fuzz-client-secret"),
            base: Url::parse("https://app.example.com/").expect("invariant: a valid URL"),
        }
    })
}

fn config() -> Config {
    // The issuer is a closed loopback port: nothing the harness does may reach a provider.
    Config::builder()
        .domain("http://127.0.0.1:9")
        .insecure_allow_http_loopback_issuer()
        .client_id(CLIENT_ID)
        .client_secret("fuzz-client-secret-fuzz-client-secret")
        .secret(SECRET)
        .app_base_url("https://app.example.com")
        .build()
        .expect("invariant: the harness configuration is valid")
}

/// The session cookie reader: a `Cookie` header is parsed, the `__session` chunks assembled and
/// the result unsealed, as on every request. Also reads the store-id form of the cookie.
pub fn session_cookie(cookie_header: &str) {
    let f = fixture();
    let jar = CookieJar::parse(cookie_header);
    let _ = f.codec.read_id(&jar, NOW);
    if let Some((session, exp)) = f.codec.read(&jar, NOW) {
        assert!(exp > NOW, "an opened session is not expired");
        if f.codec.remaining(&session, NOW) == 0 {
            return;
        }
        // Whatever opens, and may live on, seals again into cookies that open to the same session.
        let lines = f.codec.write(&CookieJar::default(), &session, NOW);
        let header = lines
            .iter()
            .filter_map(|l| l.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let (again, _) = f
            .codec
            .read(&CookieJar::parse(&header), NOW)
            .expect("a session that opened must open again after sealing");
        assert_eq!(again.user, session.user);
    }
}

/// The JWS parser, the signature check against published keys (and HS256 with the client
/// secret), and the ID-token claim checks with and without a nonce and `max_age`.
pub fn jws(token: &str) {
    let f = fixture();
    let Ok(parsed) = id_token::parse_jws(token) else {
        return;
    };
    for alg in [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        let _ = id_token::verify_with_keys(&parsed, alg, &f.keys, &f.client_secret);
    }
    let Some(claims) = id_token::decode_object(parsed.payload_b64) else {
        return;
    };
    for (nonce, max_age) in [(Some("n-0S6_WzA2Mj"), Some(300)), (None, None)] {
        let exp = Expectations {
            issuer: ISSUER,
            client_id: CLIENT_ID,
            nonce,
            max_age,
            now: NOW,
            tolerance: 60,
            algorithms: &[Algorithm::RS256],
            client_secret: &f.client_secret,
        };
        if id_token::check_claims(&claims, &exp).is_ok() {
            // Accepted claims always carry the issuer, a subject and this client as audience.
            assert_eq!(claims.get("iss").and_then(Value::as_str), Some(ISSUER));
            assert!(
                claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            );
            if let Some(n) = nonce {
                assert_eq!(claims.get("nonce").and_then(Value::as_str), Some(n));
            }
        }
    }
}

/// The logout-token validator: JWS parsing, signature check and every claim check.
pub fn logout_token(token: &str) {
    let f = fixture();
    let Ok(parsed) = id_token::parse_jws(token) else {
        return;
    };
    let _ = id_token::verify_with_keys(&parsed, Algorithm::RS256, &f.keys, &f.client_secret);
    let Some(claims) = id_token::decode_object(parsed.payload_b64) else {
        return;
    };
    if let Ok(checked) =
        check_logout_claims(&claims, parsed.typ.as_deref(), ISSUER, CLIENT_ID, NOW, 60)
    {
        assert!(
            !claims.contains_key("nonce"),
            "a logout token with a nonce was accepted"
        );
        assert!(!checked.jti.is_empty());
        assert!(checked.until >= NOW.min(checked.until));
    }
}

/// The `returnTo` sanitiser: anything it lets through is a path on the application's origin.
pub fn return_to(value: &str) {
    let f = fixture();
    if let Some(path) = crate::session::return_to::sanitize_return_to(value, &f.base) {
        assert!(path.starts_with('/') && !path.starts_with("//"), "{path:?}");
        assert!(!path.contains('\\'), "{path:?}");
        assert!(!path.chars().any(char::is_control), "{path:?}");
        let joined = f.base.join(&path).expect("a sanitised path joins the base");
        assert_eq!(
            joined.origin(),
            f.base.origin(),
            "{path:?} leaves the origin"
        );
    }
}

/// The callback route: a query string and a `Cookie` header, as a browser (or an attacker) sends
/// them. No input reaches the provider: without a transaction cookie sealed with the secret the
/// callback stops before any call, and the outcome never carries a session.
pub fn callback(query: &str, cookie_header: &str) {
    static CLIENT: OnceLock<(Tollgate, tokio::runtime::Runtime)> = OnceLock::new();
    let (auth, rt) = CLIENT.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("invariant: a current-thread runtime builds");
        (Tollgate::new(config()), rt)
    });
    let outcome = rt.block_on(
        auth.handle_callback(
            &crate::AuthRequest::new()
                .with_query(query)
                .with_cookies(CookieJar::parse(cookie_header)),
        ),
    );
    assert!(
        outcome.result.is_err(),
        "a forged callback created a session"
    );
    assert!(
        !outcome.cookies.names().any(|name| name == "__session"),
        "{:?}",
        outcome.cookies
    );
}

/// The sealed `mfa_token` reader: it opens only what this secret sealed for this session.
pub fn mfa_token(sealed: &str) {
    let f = fixture();
    if let Ok(ctx) = MfaContext::open(&f.mfa_keys, sealed, &f.session, NOW) {
        assert!(ctx.exp > NOW);
    }
}

/// A fixed P-256 key for the resource-server DPoP target (test material, not a secret).
const DPOP_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoJIKRoxGaCWKX7EX
NVMrc/5nQXQLF1Bouhpbl9x8bzihRANCAASyI3NrVcOvpujYdOLs8mstu6xdoORb
bm4zH8HzCAv6uQYSixCVBtG9B59Ktuvp8sPGUqmILDgotunLkxDvWyHK
-----END PRIVATE KEY-----";
/// The URL the fuzzed proofs are checked against.
pub const DPOP_HTU: &str = "https://api.example.com/orders";
/// The access token the fuzzed proofs are checked against.
pub const DPOP_ACCESS_TOKEN: &str = "fuzz-access-token";

fn dpop_key() -> &'static crate::DpopKey {
    static KEY: OnceLock<crate::DpopKey> = OnceLock::new();
    KEY.get_or_init(|| {
        crate::DpopKey::from_private_pem(DPOP_TEST_KEY).expect("invariant: the test key parses")
    })
}

/// A resource server's check of a `DPoP` proof (RFC 9449 §7) for a token bound to the fixture
/// key: a proof it accepts is signed by that key and names this request and token.
pub fn api_dpop_proof(proof: &str) {
    static REPLAY: OnceLock<crate::resource_server::dpop::ReplayCache> = OnceLock::new();
    let replay = REPLAY.get_or_init(Default::default);
    let expected = crate::resource_server::dpop::Expected {
        htm: "GET",
        htu: DPOP_HTU,
        access_token: DPOP_ACCESS_TOKEN,
        jkt: dpop_key().thumbprint(),
        now: NOW,
        window: 60,
    };
    if crate::resource_server::dpop::check_proof(proof, &expected, replay).is_ok() {
        // Accepted proofs are never accepted twice.
        assert!(crate::resource_server::dpop::check_proof(proof, &expected, replay).is_err());
    }
}

/// A proof the resource-server target accepts (to build seeds).
pub fn valid_api_dpop_proof() -> String {
    dpop_key().proof_at("GET", DPOP_HTU, None, Some(DPOP_ACCESS_TOKEN), NOW)
}

/// Seals an `mfa_token` for the fixture session (to build seeds).
pub fn seal_mfa_token(audience: &str, exp: u64) -> String {
    let f = fixture();
    MfaContext {
        mfa_token: "raw-provider-mfa-token".to_owned(),
        audience: audience.to_owned(),
        scope: "openid".to_owned(),
        mfa_requirements: None,
        sid: f.session.internal.sid.clone(),
        sub: f.session.user.sub().to_owned(),
        created_at: NOW,
        exp,
    }
    .seal(&f.mfa_keys)
}

/// The My Account / My Organization proxy's request check: a first line `METHOD PATH`, then
/// `name: value` header lines, as a browser (or an attacker) sends them. Whatever passes goes
/// only to the API's own base URL, with no dot segment, none of the application's credentials,
/// and no cross-origin write.
pub fn proxy_request(input: &str) {
    use crate::my_account::MyApi;
    static CLIENT: OnceLock<Tollgate> = OnceLock::new();
    let auth = CLIENT.get_or_init(|| Tollgate::new(config()));
    let mut lines = input.split('\n');
    let Some((method, path)) = lines.next().and_then(|l| l.split_once(' ')) else {
        return;
    };
    let mut builder = http::Request::builder().method(method).uri(path);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = builder.body(Vec::new()) else {
        return;
    };
    let api = if path.starts_with("/my-org") {
        MyApi::Organization
    } else {
        MyApi::Account
    };
    let origin = request.headers().get(http::header::ORIGIN).cloned();
    let unsafe_method = !matches!(method, "GET" | "HEAD" | "OPTIONS");
    let Ok(prepared) = auth.my_account().prepare_proxy(api, request) else {
        return;
    };
    let issuer = auth.config().issuer();
    let base = api.base_url(issuer);
    let upstream = prepared.request.uri().to_string();
    assert!(
        upstream.starts_with(&base),
        "{upstream:?} is not under {base:?}"
    );
    let rest = &upstream[base.len()..];
    assert!(
        rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'),
        "{upstream:?}"
    );
    let parsed = Url::parse(&upstream).expect("the upstream URL parses");
    assert_eq!(
        parsed.origin(),
        issuer.origin(),
        "{upstream:?} leaves the provider"
    );
    assert!(
        parsed
            .path()
            .starts_with(&Url::parse(&base).expect("base").path().to_owned()),
        "{upstream:?} climbs out of {base:?}"
    );
    for forbidden in ["cookie", "authorization", "dpop", "host", "scope"] {
        assert!(
            !prepared.request.headers().contains_key(forbidden),
            "{forbidden} was forwarded"
        );
    }
    assert_eq!(
        prepared.token_options.audience_value(),
        Some(api.audience(issuer).as_str())
    );
    if unsafe_method && let Some(o) = origin {
        assert_eq!(
            o.as_bytes(),
            b"https://app.example.com",
            "a cross-origin write passed"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn seeds(target: &str) -> Vec<(PathBuf, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds")
            .join(target);
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .map(|p| {
                let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
                (p, text)
            })
            .collect();
        out.sort();
        assert!(!out.is_empty(), "no seeds in {}", dir.display());
        out
    }

    #[test]
    fn every_seed_runs_through_its_target() {
        for (_, s) in seeds("session_cookie") {
            session_cookie(&s);
        }
        for (_, s) in seeds("jws") {
            jws(&s);
        }
        for (_, s) in seeds("logout_token") {
            logout_token(&s);
        }
        for (_, s) in seeds("return_to") {
            return_to(&s);
        }
        for (_, s) in seeds("callback_query") {
            let (q, c) = s.split_once('\n').unwrap_or((&s, ""));
            callback(q, c);
        }
        for (_, s) in seeds("mfa_token") {
            mfa_token(&s);
        }
        for (_, s) in seeds("api_dpop_proof") {
            api_dpop_proof(&s);
        }
        for (_, s) in seeds("proxy_request") {
            proxy_request(&s);
        }
    }

    #[test]
    fn the_dpop_seed_is_accepted_once_and_a_fresh_proof_too() {
        let replay = crate::resource_server::dpop::ReplayCache::default();
        let expected = |jkt| crate::resource_server::dpop::Expected {
            htm: "GET",
            htu: DPOP_HTU,
            access_token: DPOP_ACCESS_TOKEN,
            jkt,
            now: NOW,
            window: 60,
        };
        let fresh = valid_api_dpop_proof();
        let jkt = dpop_key().thumbprint();
        assert_eq!(
            crate::resource_server::dpop::check_proof(&fresh, &expected(jkt), &replay),
            Ok(())
        );
        assert!(
            crate::resource_server::dpop::check_proof(&fresh, &expected(jkt), &replay).is_err()
        );
        let (_, seed) = seeds("api_dpop_proof")
            .into_iter()
            .find(|(p, _)| p.ends_with("valid"))
            .unwrap();
        assert_eq!(
            crate::resource_server::dpop::check_proof(seed.trim(), &expected(jkt), &replay),
            Ok(()),
            "fuzz/seeds/api_dpop_proof/valid no longer passes: replace it with {}",
            valid_api_dpop_proof()
        );
    }

    #[test]
    fn the_seeds_reach_the_checks_past_parsing() {
        let f = fixture();
        // The nextjs-auth0 session cookie opens with the harness secret.
        let (_, cookie) = seeds("session_cookie")
            .into_iter()
            .find(|(p, _)| p.ends_with("session"))
            .unwrap();
        let (session, _) = f.codec.read(&CookieJar::parse(&cookie), NOW).unwrap();
        assert!(!session.user.sub().is_empty());
        // The ID-token seed passes every claim check, so mutations explore each of them.
        let (_, token) = seeds("jws")
            .into_iter()
            .find(|(p, _)| p.ends_with("rs256"))
            .unwrap();
        let parsed = id_token::parse_jws(&token).unwrap();
        let claims = id_token::decode_object(parsed.payload_b64).unwrap();
        let exp = Expectations {
            issuer: ISSUER,
            client_id: CLIENT_ID,
            nonce: Some("n-0S6_WzA2Mj"),
            max_age: Some(300),
            now: NOW,
            tolerance: 60,
            algorithms: &[Algorithm::RS256],
            client_secret: &f.client_secret,
        };
        id_token::check_claims(&claims, &exp).unwrap();
        // Its placeholder signature is refused by the published key it names.
        assert_eq!(
            id_token::verify_with_keys(&parsed, Algorithm::RS256, &f.keys, &f.client_secret),
            Ok(false)
        );
        // The logout-token seed passes every claim check too.
        let (_, token) = seeds("logout_token")
            .into_iter()
            .find(|(p, _)| p.ends_with("good"))
            .unwrap();
        let parsed = id_token::parse_jws(&token).unwrap();
        let claims = id_token::decode_object(parsed.payload_b64).unwrap();
        check_logout_claims(&claims, parsed.typ.as_deref(), ISSUER, CLIENT_ID, NOW, 60).unwrap();
    }

    #[test]
    fn mfa_token_seed_is_current() {
        let f = fixture();
        let (_, sealed) = seeds("mfa_token").into_iter().next().unwrap();
        let fresh = seal_mfa_token("https://api.example.com", NOW + 300);
        assert!(
            MfaContext::open(&f.mfa_keys, &sealed, &f.session, NOW).is_ok(),
            "fuzz/seeds/mfa_token/sealed no longer opens: replace it with {fresh}"
        );
        assert!(MfaContext::open(&f.mfa_keys, &fresh, &f.session, NOW + 300).is_err());
    }
}

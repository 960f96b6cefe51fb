use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::*;

fn part(jwt: &str, i: usize) -> Value {
    let raw = jwt.split('.').nth(i).expect("three parts");
    serde_json::from_slice(&B64.decode(raw).expect("base64url")).expect("JSON")
}

/// Verifies an ES256 JWS with the key in its own `jwk` header, independently of the signer.
fn verify_with_header_jwk(jwt: &str) -> bool {
    let header = part(jwt, 0);
    let x = B64.decode(header["jwk"]["x"].as_str().unwrap()).unwrap();
    let y = B64.decode(header["jwk"]["y"].as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let (message, sig) = jwt.rsplit_once('.').unwrap();
    let sig = Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
    key.verify(message.as_bytes(), &sig).is_ok()
}

#[test]
fn thumbprint_matches_the_rfc_9449_example() {
    // RFC 7638's own example is an RSA key; RFC 9449 §4.3 / §6.1 give an EC P-256 key and the
    // `jkt` of its thumbprint.
    assert_eq!(
        key::jwk_thumbprint(
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
        ),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
}

#[test]
fn thumbprint_is_sha256_of_the_canonical_jwk() {
    let key = DpopKey::generate();
    let jwk = key.public_jwk();
    assert!(jwk.get("d").is_none(), "the JWK is public only");
    // Independently: the required members, sorted by name (BTreeMap), no whitespace.
    let members: BTreeMap<&str, &Value> = ["crv", "kty", "x", "y"]
        .into_iter()
        .map(|m| (m, &jwk[m]))
        .collect();
    let canonical = serde_json::to_string(&members).unwrap();
    assert!(canonical.starts_with(r#"{"crv":"P-256","kty":"EC","x":""#));
    let expected = B64.encode(Sha256::digest(canonical.as_bytes()));
    assert_eq!(key.thumbprint(), expected);
    assert_eq!(B64.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(B64.decode(jwk["y"].as_str().unwrap()).unwrap().len(), 32);
}

#[test]
fn proof_verifies_and_carries_the_request() {
    let key = DpopKey::generate();
    let at = "an-access-token";
    let proof = key.proof_at(
        "POST",
        "https://tenant.example.com/oauth/token?foo=bar#frag",
        Some("server-nonce"),
        Some(at),
        1_700_000_000,
    );
    assert!(verify_with_header_jwk(&proof));
    let header = part(&proof, 0);
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["jwk"], key.public_jwk());
    let claims = part(&proof, 1);
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], "https://tenant.example.com/oauth/token");
    assert_eq!(claims["iat"], 1_700_000_000);
    assert_eq!(claims["nonce"], "server-nonce");
    assert_eq!(
        claims["ath"],
        B64.encode(Sha256::digest(at.as_bytes())),
        "ath = base64url(sha256(access token))"
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));

    // Without nonce and token, neither claim appears; each proof has its own jti.
    let plain = key.proof("GET", "https://api.example.com/x", None, None);
    let plain_claims = part(&plain, 1);
    assert!(plain_claims.get("nonce").is_none());
    assert!(plain_claims.get("ath").is_none());
    assert_ne!(plain_claims["jti"], claims["jti"]);
    let now = crate::time::system_now();
    assert!(plain_claims["iat"].as_u64().unwrap().abs_diff(now) <= 2);

    // A tampered proof does not verify.
    let (message, sig) = proof.rsplit_once('.').unwrap();
    let tampered = format!("{message}x.{sig}");
    assert!(!verify_with_header_jwk(&tampered));
    // Another key's signature does not verify under this header.
    let other = DpopKey::generate();
    let foreign = format!("{message}.{}", B64.encode(other.sign(message.as_bytes())));
    assert!(!verify_with_header_jwk(&foreign));
}

#[test]
fn pem_round_trip_and_typed_errors() {
    let key = DpopKey::generate();
    let private = key.private_key_pem();
    let public = key.public_key_pem();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    let back = DpopKey::from_pem(&private, &public).unwrap();
    assert_eq!(back.thumbprint(), key.thumbprint());
    // Environment values often carry surrounding whitespace.
    let padded = DpopKey::from_pem(&format!("\n{}\n", &*private), &format!("  {public}")).unwrap();
    assert_eq!(padded.thumbprint(), key.thumbprint());
    // The same key signs the same way: a proof of one verifies with the other's JWK.
    let proof = back.proof("POST", "https://x.example/t", None, None);
    assert_eq!(part(&proof, 0)["jwk"], key.public_jwk());
    assert!(verify_with_header_jwk(&proof));

    let other = DpopKey::generate();
    assert_eq!(
        DpopKey::from_pem(&private, &other.public_key_pem()).unwrap_err(),
        DpopKeyError::KeyMismatch
    );
    assert_eq!(
        DpopKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            &public
        )
        .unwrap_err(),
        DpopKeyError::InvalidPrivateKey
    );
    assert_eq!(
        DpopKey::from_pem(&public, &public).unwrap_err(),
        DpopKeyError::InvalidPrivateKey,
        "a public key is not a private key"
    );
    assert_eq!(
        DpopKey::from_pem(&private, "garbage").unwrap_err(),
        DpopKeyError::InvalidPublicKey
    );
    assert_eq!(
        DpopKey::from_pem(&private, &private).unwrap_err(),
        DpopKeyError::InvalidPublicKey
    );
    // Error messages never echo key material.
    let body: String = private.lines().nth(1).unwrap().to_owned();
    for e in [
        DpopKeyError::InvalidPrivateKey,
        DpopKeyError::InvalidPublicKey,
        DpopKeyError::KeyMismatch,
    ] {
        assert!(!e.to_string().contains(&body));
    }
}

#[test]
fn debug_redacts_the_private_key() {
    let key = DpopKey::generate();
    let shown = format!("{key:?}");
    assert!(shown.contains("[redacted]"));
    assert!(shown.contains(key.thumbprint()));
    let private = key.private_key_pem();
    for line in private.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!shown.contains(line));
    }
}

#[test]
fn nonces_are_kept_per_origin_and_bounded() {
    let cache = NonceCache::default();
    cache.put("https://a.example", "n1");
    cache.put("https://b.example", "n2");
    cache.put("https://a.example", "n3");
    assert_eq!(cache.get("https://a.example").as_deref(), Some("n3"));
    assert_eq!(cache.get("https://b.example").as_deref(), Some("n2"));
    assert_eq!(cache.get("https://c.example"), None);
    // Not a nonce: ignored, the previous one stays.
    cache.put("https://a.example", "bad nonce with spaces");
    cache.put("https://a.example", "");
    cache.put("https://a.example", &"n".repeat(5000));
    assert_eq!(cache.get("https://a.example").as_deref(), Some("n3"));
    for i in 0..(nonce::MAX_ORIGINS + 10) {
        cache.put(&format!("https://{i}.example"), "n");
    }
    assert_eq!(cache.len(), nonce::MAX_ORIGINS);
    assert_eq!(
        cache.get("https://a.example"),
        None,
        "the oldest is forgotten"
    );
    assert_eq!(
        origin_of("https://A.example:443/oauth/token?x").as_deref(),
        Some("https://a.example")
    );
    assert_eq!(
        origin_of("http://127.0.0.1:8080/x").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(origin_of("not a url"), None);
}

#[test]
fn proofs_use_the_origins_nonce_and_the_clock_skew() {
    let dpop = Dpop::new(
        DpopKey::generate(),
        DpopOptions::new().clock_skew(-120),
        std::sync::Arc::new(crate::time::SystemClock),
    );
    let url = "https://tenant.example.com/oauth/token";
    let first = part(&dpop.proof_for("POST", url, None), 1);
    assert!(first.get("nonce").is_none());
    let expected_iat = crate::time::system_now() - 120;
    assert!(first["iat"].as_u64().unwrap().abs_diff(expected_iat) <= 2);
    dpop.learn_nonce("https://tenant.example.com/anything", "N-1");
    let second = part(&dpop.proof_for("POST", url, None), 1);
    assert_eq!(second["nonce"], "N-1");
    let elsewhere = part(&dpop.proof_for("GET", "https://api.example.com/", None), 1);
    assert!(
        elsewhere.get("nonce").is_none(),
        "nonces stay with their origin"
    );
}

#[test]
fn retry_delay_jitter_stays_within_half_and_full() {
    let opts = DpopOptions::new().retry_delay(Duration::from_millis(100));
    for _ in 0..200 {
        let d = opts.delay();
        assert!(
            d >= Duration::from_millis(50) && d <= Duration::from_millis(100),
            "{d:?}"
        );
    }
    let fixed = opts.retry_jitter(false);
    assert_eq!(fixed.delay(), Duration::from_millis(100));
}

//! DPoP (RFC 9449) at the token endpoint and `/userinfo`: bound tokens (`cnf.jkt`,
//! `token_type: DPoP`), codes bound with `dpop_jkt`, refresh-token binding, nonces, and refused
//! proofs. Proofs are built here with p256 directly, independently of the SDK.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tollgate_tenant::{ApiConfig, ClientConfig, RunningTenant};

const NONCE_CLIENT: &str = "nonce-client";
const NONCE_SECRET: &str = "nonce-secret";
const BEARER_API: &str = "https://bearer-only.example.com";
/// A machine-to-machine client with client grants for [`BEARER_API`] and [`API`].
const M2M_CLIENT: &str = "m2m-client";
const M2M_SECRET: &str = "m2m-secret";

/// A P-256 key with its public JWK and RFC 7638 thumbprint.
struct Key {
    signing: SigningKey,
    jwk: Value,
    jkt: String,
}

impl Key {
    fn new(seed: u8) -> Self {
        let signing = SigningKey::from_slice(&[seed; 32]).expect("a valid scalar");
        let point = signing.verifying_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x().unwrap());
        let y = URL_SAFE_NO_PAD.encode(point.y().unwrap());
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let jkt = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self {
            signing,
            jwk: json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            jkt,
        }
    }

    /// Signs exactly this header and these claims.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.signing.sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk})
    }

    fn claims(htm: &str, htu: &str) -> Value {
        json!({"jti": unique(), "htm": htm, "htu": htu, "iat": now()})
    }

    /// A good proof for `htm htu`, with a nonce and an access token hash when given.
    fn proof(
        &self,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        let mut claims = Self::claims(htm, htu);
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(at) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(at.as_bytes())));
        }
        self.sign(&self.header(), &claims)
    }
}

fn unique() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

async fn tenant() -> RunningTenant {
    start_with(
        config()
            .with_client(
                ClientConfig::new(NONCE_CLIENT, NONCE_SECRET)
                    .with_callback(CALLBACK)
                    .with_dpop_nonce_required(true),
            )
            .with_client(
                ClientConfig::new(M2M_CLIENT, M2M_SECRET)
                    .with_client_grant(BEARER_API, Vec::<String>::new())
                    .with_client_grant(API, ["read:payments"]),
            )
            .with_api(ApiConfig::new(BEARER_API).with_dpop_bound_tokens(false)),
    )
    .await
}

fn token_url(tenant: &RunningTenant) -> String {
    url(tenant, "oauth/token").to_string()
}

/// `/oauth/token` as `client_id` with an optional `DPoP` header.
async fn token_with(
    tenant: &RunningTenant,
    client: (&str, &str),
    proof: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    let mut request = browser()
        .post(url(tenant, "oauth/token"))
        .basic_auth(client.0, Some(client.1))
        .form(form);
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    request.send().await.expect("token endpoint answers")
}

async fn code_for(tenant: &RunningTenant, client_id: &str, extra: &[(&str, &str)]) -> String {
    let http = browser();
    let mut params = vec![("client_id", client_id)];
    params.extend_from_slice(extra);
    let callback = login_with(&http, tenant, &params).await;
    query(&callback)["code"].clone()
}

fn code_form(code: &str) -> [(&'static str, &str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ]
}

async fn json_ok(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_code_bound_with_dpop_jkt_yields_a_dpop_bound_token() {
    let tenant = tenant().await;
    let key = Key::new(7);
    let code = code_for(
        &tenant,
        CLIENT_ID,
        &[("audience", API), ("dpop_jkt", &key.jkt)],
    )
    .await;
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let body = json_ok(
        token_with(
            &tenant,
            (CLIENT_ID, CLIENT_SECRET),
            Some(&proof),
            &code_form(&code),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap();
    let claims = verify(&browser(), &tenant, at, API).await;
    assert_eq!(claims["cnf"]["jkt"], key.jkt.as_str());
    // The ID token is not bound; it stays a plain ID token.
    assert!(
        claims_of(body["id_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
}

fn claims_of(token: &str) -> serde_json::Map<String, Value> {
    claims(token)
}

#[tokio::test]
async fn a_code_bound_to_one_key_is_refused_with_another_or_without_proof() {
    let tenant = tenant().await;
    let key = Key::new(7);
    let other = Key::new(8);
    let code = code_for(&tenant, CLIENT_ID, &[("dpop_jkt", &key.jkt)]).await;
    let proof = other.proof("POST", &token_url(&tenant), None, None);
    let response = token_with(
        &tenant,
        (CLIENT_ID, CLIENT_SECRET),
        Some(&proof),
        &code_form(&code),
    )
    .await;
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("The DPoP proof key does not match the key this grant is bound to"),
    )
    .await;

    let code = code_for(&tenant, CLIENT_ID, &[("dpop_jkt", &key.jkt)]).await;
    let response = token_with(&tenant, (CLIENT_ID, CLIENT_SECRET), None, &code_form(&code)).await;
    assert_error(response, StatusCode::FORBIDDEN, "invalid_grant", None).await;
}

#[tokio::test]
async fn a_client_that_must_use_nonces_is_told_one_and_succeeds_with_it() {
    let tenant = tenant().await;
    let key = Key::new(9);
    let code = code_for(&tenant, NONCE_CLIENT, &[("audience", API)]).await;
    let first = token_with(
        &tenant,
        (NONCE_CLIENT, NONCE_SECRET),
        Some(&key.proof("POST", &token_url(&tenant), None, None)),
        &code_form(&code),
    )
    .await;
    assert_eq!(first.status(), StatusCode::BAD_REQUEST);
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert!(nonce.len() >= 16);
    let body: Value = first.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof"})
    );
    // A made-up nonce is no better.
    let made_up = token_with(
        &tenant,
        (NONCE_CLIENT, NONCE_SECRET),
        Some(&key.proof("POST", &token_url(&tenant), Some("made-up"), None)),
        &code_form(&code),
    )
    .await;
    assert_eq!(made_up.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        made_up.json::<Value>().await.unwrap()["error"],
        "use_dpop_nonce"
    );

    // The code was not spent by the refused attempts.
    let ok = token_with(
        &tenant,
        (NONCE_CLIENT, NONCE_SECRET),
        Some(&key.proof("POST", &token_url(&tenant), Some(&nonce), None)),
        &code_form(&code),
    )
    .await;
    assert!(
        ok.headers().contains_key("dpop-nonce"),
        "the next nonce comes along"
    );
    let body = json_ok(ok).await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt.as_str()
    );

    // Without a proof at all, the client is not asked for a nonce: Bearer as before.
    let code = code_for(&tenant, NONCE_CLIENT, &[("audience", API)]).await;
    let plain = json_ok(
        token_with(
            &tenant,
            (NONCE_CLIENT, NONCE_SECRET),
            None,
            &code_form(&code),
        )
        .await,
    )
    .await;
    assert_eq!(plain["token_type"], "Bearer");
}

#[tokio::test]
async fn refresh_keeps_the_binding_and_needs_the_same_key() {
    let tenant = tenant().await;
    let key = Key::new(10);
    let other = Key::new(11);
    let code = code_for(&tenant, CLIENT_ID, &[("audience", API)]).await;
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let first = json_ok(
        token_with(
            &tenant,
            (CLIENT_ID, CLIENT_SECRET),
            Some(&proof),
            &code_form(&code),
        )
        .await,
    )
    .await;
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];

    for proof in [
        None,
        Some(other.proof("POST", &token_url(&tenant), None, None)),
    ] {
        let refused =
            token_with(&tenant, (CLIENT_ID, CLIENT_SECRET), proof.as_deref(), &form).await;
        assert_error(
            refused,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("The DPoP proof key does not match the key this grant is bound to"),
        )
        .await;
    }
    // The refused attempts did not rotate the token away.
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let second =
        json_ok(token_with(&tenant, (CLIENT_ID, CLIENT_SECRET), Some(&proof), &form).await).await;
    assert_eq!(second["token_type"], "DPoP");
    assert_eq!(
        claims(second["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt.as_str()
    );
    assert_ne!(second["refresh_token"].as_str().unwrap(), rt);
}

#[tokio::test]
async fn an_api_that_takes_bearer_tokens_only_gets_bearer_tokens() {
    let tenant = tenant().await;
    let key = Key::new(12);
    let form = [
        ("grant_type", "client_credentials"),
        ("audience", BEARER_API),
    ];
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let body =
        json_ok(token_with(&tenant, (M2M_CLIENT, M2M_SECRET), Some(&proof), &form).await).await;
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        claims(body["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
    // The same client, another API: bound.
    let form = [("grant_type", "client_credentials"), ("audience", API)];
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let body =
        json_ok(token_with(&tenant, (M2M_CLIENT, M2M_SECRET), Some(&proof), &form).await).await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt.as_str()
    );
}

#[tokio::test]
async fn replayed_and_malformed_proofs_are_refused() {
    let tenant = tenant().await;
    let key = Key::new(13);
    let other = Key::new(14);
    let htu = token_url(&tenant);
    let form = [("grant_type", "client_credentials"), ("audience", API)];
    let proof = key.proof("POST", &htu, None, None);
    json_ok(token_with(&tenant, (CLIENT_ID, CLIENT_SECRET), Some(&proof), &form).await).await;

    let mut private_jwk = key.header();
    private_jwk["jwk"]["d"] = json!("AAAA");
    let mut rsa_header = key.header();
    rsa_header["alg"] = json!("RS256");
    let mut jwt_typ = key.header();
    jwt_typ["typ"] = json!("JWT");
    let mut no_jwk = key.header();
    no_jwk.as_object_mut().unwrap().remove("jwk");
    let mut no_jti = Key::claims("POST", &htu);
    no_jti.as_object_mut().unwrap().remove("jti");
    let mut old = Key::claims("POST", &htu);
    old["iat"] = json!(now() - 600);
    let mut future = Key::claims("POST", &htu);
    future["iat"] = json!(now() + 600);
    let with_query = format!("{htu}?x=1");
    let foreign_signature = {
        let good = key.proof("POST", &htu, None, None);
        let by_other = other.sign(&key.header(), &Key::claims("POST", &htu));
        let (message, _) = good.rsplit_once('.').unwrap();
        let (_, signature) = by_other.rsplit_once('.').unwrap();
        format!("{message}.{signature}")
    };
    let cases: Vec<(&str, String)> = vec![
        ("replayed", proof),
        (
            "private key in jwk",
            key.sign(&private_jwk, &Key::claims("POST", &htu)),
        ),
        ("RS256", key.sign(&rsa_header, &Key::claims("POST", &htu))),
        ("typ JWT", key.sign(&jwt_typ, &Key::claims("POST", &htu))),
        ("no jwk", key.sign(&no_jwk, &Key::claims("POST", &htu))),
        (
            "wrong htm",
            key.sign(&key.header(), &Key::claims("GET", &htu)),
        ),
        (
            "wrong htu",
            key.sign(
                &key.header(),
                &Key::claims("POST", "http://127.0.0.1:1/oauth/token"),
            ),
        ),
        ("no jti", key.sign(&key.header(), &no_jti)),
        ("old iat", key.sign(&key.header(), &old)),
        ("future iat", key.sign(&key.header(), &future)),
        ("signed by another key", foreign_signature),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (what, proof) in cases {
        let response = token_with(&tenant, (CLIENT_ID, CLIENT_SECRET), Some(&proof), &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof", "{what}: {body}");
    }
    // htu is compared without the query: a proof for the URL with a query is fine.
    let proof = key.sign(&key.header(), &Key::claims("POST", &with_query));
    json_ok(token_with(&tenant, (CLIENT_ID, CLIENT_SECRET), Some(&proof), &form).await).await;
}

#[tokio::test]
async fn userinfo_takes_a_bound_token_only_with_a_proof_of_its_key() {
    let tenant = tenant().await;
    let key = Key::new(15);
    let other = Key::new(16);
    // No audience: an opaque token for /userinfo, bound to the key.
    let code = code_for(&tenant, CLIENT_ID, &[("dpop_jkt", &key.jkt)]).await;
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let body = json_ok(
        token_with(
            &tenant,
            (CLIENT_ID, CLIENT_SECRET),
            Some(&proof),
            &code_form(&code),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap().to_owned();
    let userinfo = url(&tenant, "userinfo").to_string();
    let call = |scheme: &'static str, proof: Option<String>| {
        let mut request = browser()
            .get(&userinfo)
            .header("authorization", format!("{scheme} {at}"));
        if let Some(p) = proof {
            request = request.header("DPoP", p);
        }
        request.send()
    };

    let ok = call("DPoP", Some(key.proof("GET", &userinfo, None, Some(&at))))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.json::<Value>().await.unwrap()["email"], EMAIL);

    let bearer = call("Bearer", None).await.unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bearer.json::<Value>().await.unwrap()["error"],
        "invalid_token"
    );

    let refusals = [
        ("no proof", None),
        ("no ath", Some(key.proof("GET", &userinfo, None, None))),
        (
            "ath of another token",
            Some(key.proof("GET", &userinfo, None, Some("other"))),
        ),
        (
            "another key",
            Some(other.proof("GET", &userinfo, None, Some(&at))),
        ),
        (
            "wrong method",
            Some(key.proof("POST", &userinfo, None, Some(&at))),
        ),
    ];
    for (what, proof) in refusals {
        let response = call("DPoP", proof).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{what}: {challenge}"
        );
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_dpop_proof"
        );
    }

    // An unbound token is refused under the DPoP scheme.
    let plain = tokens_for(&tenant, CLIENT_ID, CLIENT_SECRET, &[]).await;
    let plain_at = plain["access_token"].as_str().unwrap();
    let response = browser()
        .get(&userinfo)
        .header("authorization", format!("DPoP {plain_at}"))
        .header("DPoP", key.proof("GET", &userinfo, None, Some(plain_at)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn dpop_settings_read_from_toml() {
    let config = tollgate_tenant::TenantConfig::from_toml_str(
        r#"
        require_dpop_nonce_at_userinfo = true

        [[clients]]
        client_id = "spa"
        client_secret = "spa-secret"
        require_dpop_nonce = true

        [[apis]]
        identifier = "https://legacy.example.com"
        dpop_bound_tokens = false

        [[apis]]
        identifier = "https://payments.example.com"
        "#,
    )
    .unwrap();
    assert!(config.clients()[0].dpop_nonce_required());
    assert!(config.dpop_nonce_required_at_userinfo());
    assert!(!config.apis()[0].dpop_bound_tokens());
    assert!(config.apis()[1].dpop_bound_tokens(), "bound by default");
}

#[tokio::test]
async fn userinfo_can_demand_a_nonce() {
    let tenant = start_with(config().with_dpop_nonce_required_at_userinfo(true)).await;
    let key = Key::new(17);
    let code = code_for(&tenant, CLIENT_ID, &[]).await;
    let proof = key.proof("POST", &token_url(&tenant), None, None);
    let body = json_ok(
        token_with(
            &tenant,
            (CLIENT_ID, CLIENT_SECRET),
            Some(&proof),
            &code_form(&code),
        )
        .await,
    )
    .await;
    let at = body["access_token"].as_str().unwrap().to_owned();
    let userinfo = url(&tenant, "userinfo").to_string();
    let call = |proof: String| {
        browser()
            .get(&userinfo)
            .header("authorization", format!("DPoP {at}"))
            .header("DPoP", proof)
            .send()
    };
    let first = call(key.proof("GET", &userinfo, None, Some(&at)))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let challenge = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(
        first.json::<Value>().await.unwrap()["error"],
        "use_dpop_nonce"
    );
    let second = call(key.proof("GET", &userinfo, Some(&nonce), Some(&at)))
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.json::<Value>().await.unwrap()["email"], EMAIL);
}

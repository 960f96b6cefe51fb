//! A minimal OpenID provider for tests that need to sign arbitrary tokens: discovery and a JWKS
//! with one RSA key, served on loopback, plus a signer for any header and claims.

use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

pub(crate) const KID: &str = "fake-op-key-1";

struct Key {
    der: Vec<u8>,
    n: String,
    e: String,
}

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        Key {
            der: private.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            n: B64.encode(private.n().to_bytes_be()),
            e: B64.encode(private.e().to_bytes_be()),
        }
    })
}

pub(crate) struct FakeOp {
    pub(crate) issuer: String,
}

impl FakeOp {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/", listener.local_addr().unwrap());
        let i = issuer.clone();
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let i = i.clone();
                    async move {
                        Json(json!({
                            "issuer": i,
                            "authorization_endpoint": format!("{i}authorize"),
                            "token_endpoint": format!("{i}oauth/token"),
                            "jwks_uri": format!("{i}.well-known/jwks.json"),
                        }))
                    }
                }),
            )
            .route(
                "/.well-known/jwks.json",
                get(|| async {
                    let k = key();
                    Json(json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": k.n, "e": k.e}]}))
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { issuer }
    }

    /// Signs `claims` RS256 with the published key, with `typ` in the header when given.
    pub(crate) fn sign(&self, claims: &Value, typ: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&key().der)).unwrap()
    }

    /// An unsigned token with `{"alg":"none"}`.
    pub(crate) fn unsigned(&self, claims: &Value) -> String {
        format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none"}"#),
            B64.encode(claims.to_string())
        )
    }

    /// A token whose header claims `alg` but whose signature is junk.
    pub(crate) fn with_alg(&self, alg: &str, claims: &Value) -> String {
        let header = json!({"alg": alg, "kid": KID});
        format!(
            "{}.{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string()),
            B64.encode([7u8; 64])
        )
    }
}

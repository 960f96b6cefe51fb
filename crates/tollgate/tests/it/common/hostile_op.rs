//! A hostile OpenID provider for the conformance, pitfall and fault tests: discovery, a JWKS with
//! every key type the certification suite publishes, `/authorize` (answers at once with a redirect,
//! no UI), the token endpoint (client authentication, PKCE and `redirect_uri` checked), UserInfo
//! and `end_session`, all on `127.0.0.1`.
//!
//! Every answer can be changed through one shared [`Mutation`], and every request is recorded, so
//! a test can assert that after a bad answer the relying party made no further call.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tollgate::{CallbackOutcome, ConfigBuilder, CookieJar, Error, LoginOptions, Tollgate};
use tollgate_testkit::now;

pub(crate) const CLIENT_ID: &str = "hostile-client";
/// With characters that `client_secret_basic` must form-encode (RFC 6749 §2.3.1).
pub(crate) const CLIENT_SECRET: &str = "hostile secret/with:special+chars%";
pub(crate) const APP: &str = "http://127.0.0.1:3998";
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:3998/auth/callback";
/// The registered `post_logout_redirect_uri`.
pub(crate) const POST_LOGOUT: &str = "http://127.0.0.1:3998/";
pub(crate) const SUB: &str = "hostile|user-1";
pub(crate) const SID: &str = "hostile-op-session-1";
pub(crate) const SECRET: &str = "hostile-op-test-secret-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Keys

struct RsaKey {
    der: Vec<u8>,
    n: String,
    e: String,
}

/// RSA keys 0..3, generated once per test binary (0 and 1 are published; 2 is the rotation key).
fn rsa_key(i: usize) -> &'static RsaKey {
    static POOL: [OnceLock<RsaKey>; 3] = [const { OnceLock::new() }; 3];
    POOL[i].get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        RsaKey {
            der: private.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            n: B64.encode(private.n().to_bytes_be()),
            e: B64.encode(private.e().to_bytes_be()),
        }
    })
}

/// A P-256 test key (generated for this file with `openssl genpkey`); its public point is
/// `EC_PUBLIC[0]`.
const EC_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHPBtRXIrXi8mx8Y/
N4mmpO4XA6aerW9NNeLKc/UqqP6hRANCAAR2ejwABy6VJ0DnCim75cGkGmy6uVFs
W7UzoFTGLjoCzQrjy18Z1k4bkMFeM3mNyqGnYg/9ndQaA7w/nUP5HmO+
-----END PRIVATE KEY-----";

/// Uncompressed P-256 public points (`04 || x || y`).
const EC_PUBLIC: [&str; 3] = [
    "04767a3c00072e952740e70a29bbe5c1a41a6cbab9516c5bb533a054c62e3a02cd0ae3cb5f19d64e1b90c15e33798dcaa1a7620ffd9dd41a03bc3f9d43f91e63be",
    "046aa390a6dd6af25042a33120683cd67cb12070c369cd72adce884a029dfc7418632491f73156361103406cf40cf4b919709039641af44670c18625675bbad0c3",
    "045405ae992cf5e266a4cecb4dacc6398071d0f1ca00ee1e5fec458e9ac3cf1c0b3563b5d9fe3e39e12041c1a856a96ebf4f5250e133d68be21e62f65bf2ce4e72",
];
/// A secp256k1 public point: a key type the RP must skip.
const K1_PUBLIC: &str = "042f2baaca3e78bf7d594379d83498aee25496a719f3409b25b3d7920f183012b2f78979923f5d585dc1ba627236f7ddf8a28b2e31a114382e56acd13b52859e7a";
/// Ed25519 public keys.
const ED_PUBLIC: [&str; 3] = [
    "a16cd8bd177cb95dc5b86b6e1aef36623e7c15e1e4104c4da91561df7a6c2bc0",
    "1252d13123f1aea9c46ba582d4c6592cc16dfb2bada5e848669aa0de1906dab7",
    "4f91247c8762762a60249728b789a7b8fd06d627ca0b3a39faaf85f185342ec3",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn with_kid(mut jwk: Value, kid: Option<&str>) -> Value {
    if let Some(k) = kid {
        jwk["kid"] = json!(k);
    }
    jwk
}

pub(crate) fn rsa_jwk(i: usize, kid: Option<&str>) -> Value {
    let k = rsa_key(i);
    with_kid(json!({"kty": "RSA", "use": "sig", "n": k.n, "e": k.e}), kid)
}

fn point(pubhex: &str) -> (String, String) {
    let p = hex(pubhex);
    (B64.encode(&p[1..33]), B64.encode(&p[33..65]))
}

pub(crate) fn ec_jwk(i: usize, kid: Option<&str>) -> Value {
    let (x, y) = point(EC_PUBLIC[i]);
    with_kid(
        json!({"kty": "EC", "crv": "P-256", "use": "sig", "x": x, "y": y}),
        kid,
    )
}

pub(crate) fn k1_jwk(kid: Option<&str>) -> Value {
    let (x, y) = point(K1_PUBLIC);
    with_kid(
        json!({"kty": "EC", "crv": "secp256k1", "use": "sig", "x": x, "y": y}),
        kid,
    )
}

pub(crate) fn ed_jwk(i: usize, kid: Option<&str>) -> Value {
    with_kid(
        json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "x": B64.encode(hex(ED_PUBLIC[i]))}),
        kid,
    )
}

/// The two encryption keys of the suite's JWKS (they keep a `kid` and an `alg`).
pub(crate) fn enc_jwks() -> [Value; 2] {
    let mut rsa = rsa_jwk(0, Some("enc-rsa"));
    rsa["use"] = json!("enc");
    rsa["alg"] = json!("RSA-OAEP");
    let mut ec = ec_jwk(2, Some("enc-ec"));
    ec["use"] = json!("enc");
    ec["alg"] = json!("ECDH-ES");
    [rsa, ec]
}

/// The suite's default server JWKS: 2 RSA, 2 P-256, 1 secp256k1 and 1 Ed25519 signing key, none
/// with `alg`, and 2 encryption keys.
pub(crate) fn default_jwks() -> Value {
    let mut keys = vec![
        rsa_jwk(0, Some("rsa-0")),
        rsa_jwk(1, Some("rsa-1")),
        ec_jwk(0, Some("ec-0")),
        ec_jwk(1, Some("ec-1")),
        k1_jwk(Some("k1-0")),
        ed_jwk(0, Some("ed-0")),
    ];
    keys.extend(enc_jwks());
    json!({ "keys": keys })
}

/// `-kid-absent-single-jwks`: one key of each type, no `kid`, plus the encryption keys.
pub(crate) fn kid_absent_single_jwks() -> Value {
    let mut keys = vec![
        rsa_jwk(0, None),
        ec_jwk(0, None),
        k1_jwk(None),
        ed_jwk(0, None),
    ];
    keys.extend(enc_jwks());
    json!({ "keys": keys })
}

/// `-kid-absent-multiple-jwks`: three keys of each type, no `kid`.
pub(crate) fn kid_absent_multiple_jwks() -> Value {
    let mut keys = Vec::new();
    for i in 0..3 {
        keys.extend([
            rsa_jwk(i, None),
            ec_jwk(i, None),
            k1_jwk(None),
            ed_jwk(i, None),
        ]);
    }
    keys.extend(enc_jwks());
    json!({ "keys": keys })
}

/// How the OP signs.
#[derive(Clone, Debug)]
pub(crate) enum Signer {
    /// RS256 with RSA key `key`, header `kid` when given.
    Rsa { key: usize, kid: Option<String> },
    /// ES256 with the P-256 key published as `ec-0`.
    Ec { kid: Option<String> },
    /// PS256 (RSASSA-PSS) with RSA key `key`, header `kid` when given.
    Pss { key: usize, kid: Option<String> },
    /// HS256 with this secret.
    Hs256(String),
    /// `{"alg":"none"}` and an empty signature.
    None,
}

impl Default for Signer {
    fn default() -> Self {
        Self::Rsa {
            key: 0,
            kid: Some("rsa-0".into()),
        }
    }
}

impl Signer {
    fn header(&self) -> Value {
        let (alg, kid) = match self {
            Self::Rsa { kid, .. } => ("RS256", kid.clone()),
            Self::Ec { kid } => ("ES256", kid.clone()),
            Self::Pss { kid, .. } => ("PS256", kid.clone()),
            Self::Hs256(_) => ("HS256", None),
            Self::None => ("none", None),
        };
        let mut h = json!({ "alg": alg });
        if let Some(k) = kid {
            h["kid"] = json!(k);
        }
        h
    }

    fn sign(&self, input: &str) -> String {
        let (key, alg) = match self {
            Self::Rsa { key, .. } => (
                EncodingKey::from_rsa_der(&rsa_key(*key).der),
                Algorithm::RS256,
            ),
            Self::Ec { .. } => (
                EncodingKey::from_ec_pem(EC_PEM.as_bytes()).unwrap(),
                Algorithm::ES256,
            ),
            Self::Pss { key, .. } => (
                EncodingKey::from_rsa_der(&rsa_key(*key).der),
                Algorithm::PS256,
            ),
            Self::Hs256(secret) => (
                EncodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ),
            Self::None => return String::new(),
        };
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap()
    }
}

/// Signs `claims` with `signer`; `header` may change the JOSE header first. Any header, claims and
/// algorithm: the point is to build tokens a correct RP must refuse.
pub(crate) fn sign_jws(signer: &Signer, header: Option<&Edit>, claims: &Value) -> String {
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let mut h = signer.header();
    if let Some(edit) = header {
        edit(&mut h);
    }
    let input = format!(
        "{}.{}",
        B64.encode(h.to_string()),
        B64.encode(claims.to_string())
    );
    format!("{input}.{}", signer.sign(&input))
}

/// Every signature byte XOR `0x5A`, as the suite's invalid-signature tests do.
pub(crate) fn xor_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let bytes: Vec<u8> = B64.decode(sig).unwrap().iter().map(|b| b ^ 0x5A).collect();
    format!("{input}.{}", B64.encode(bytes))
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// An edit of a JSON document the OP is about to send.
pub(crate) type Edit = Arc<dyn Fn(&mut Value) + Send + Sync>;

pub(crate) fn edit(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Option<Edit> {
    Some(Arc::new(f))
}

/// Sets (or, for `Value::Null`, removes) one member.
pub(crate) fn set(key: &'static str, value: Value) -> Option<Edit> {
    edit(move |v| {
        if value.is_null() {
            v.as_object_mut().unwrap().remove(key);
        } else {
            v[key] = value.clone();
        }
    })
}

/// Which endpoint a [`Fault`] hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Discovery,
    Jwks,
    Authorize,
    Token,
    Userinfo,
    EndSession,
}

/// A transport-level misbehaviour.
#[derive(Clone, Debug)]
pub(crate) enum Fault {
    /// This status, a plain-text body.
    Status(u16),
    /// This body and content type, status 200.
    Body {
        content_type: &'static str,
        body: String,
    },
    /// Answers normally after this delay.
    Delay(Duration),
    /// `302` to this URL.
    Redirect(String),
}

/// What the OP does differently from an honest one. The default is honest.
#[derive(Clone, Default)]
pub(crate) struct Mutation {
    pub(crate) discovery: Option<Edit>,
    pub(crate) jwks: Option<Edit>,
    /// The ID token's JOSE header (code grant).
    pub(crate) id_token_header: Option<Edit>,
    /// The ID token's claims (code grant).
    pub(crate) id_token_claims: Option<Edit>,
    /// The ID token's claims in a refresh response.
    pub(crate) refresh_id_token_claims: Option<Edit>,
    /// XOR every signature byte of ID tokens.
    pub(crate) xor_signature: bool,
    pub(crate) token_response: Option<Edit>,
    pub(crate) userinfo: Option<Edit>,
    /// Rotate the signing key when the n-th (1-based) authorization request arrives.
    pub(crate) rotate_on_authorize: Option<usize>,
    /// Rotate the signing key right before signing the next ID token.
    pub(crate) rotate_before_signing: bool,
    pub(crate) fault: Option<(Endpoint, Fault)>,
}

// ---------------------------------------------------------------------------------------------
// The server

struct Grant {
    nonce: Option<String>,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
}

struct OpState {
    mutation: Mutation,
    jwks: Value,
    signer: Signer,
    calls: Vec<String>,
    codes: HashMap<String, Grant>,
    refresh_tokens: Vec<String>,
    access_tokens: Vec<String>,
    userinfo_bearers: Vec<String>,
    id_tokens: Vec<String>,
    end_session_queries: Vec<String>,
    authorize_count: usize,
    counter: u64,
    expect_basic: bool,
}

struct Inner {
    issuer: String,
    jwks_path: String,
    state: Mutex<OpState>,
}

/// The running hostile OP. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HostileOp {
    pub(crate) issuer: String,
    inner: Arc<Inner>,
}

impl HostileOp {
    pub(crate) async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on `addr` (a port that was free: the "provider comes back" of the fault tests).
    pub(crate) async fn start_on(addr: SocketAddr) -> Self {
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        // Generate every RSA key of the pool now: generating one inside a request would take
        // longer than the short timeouts the fault tests set, on a loaded machine.
        tokio::task::spawn_blocking(|| {
            for i in 0..3 {
                rsa_key(i);
            }
        })
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let issuer = format!("http://{}/", listener.local_addr().unwrap());
        let jwks_path = format!("/keys/{}", random_suffix());
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            jwks_path,
            state: Mutex::new(OpState {
                mutation: Mutation::default(),
                jwks: default_jwks(),
                signer: Signer::default(),
                calls: Vec::new(),
                codes: HashMap::new(),
                refresh_tokens: Vec::new(),
                access_tokens: Vec::new(),
                userinfo_bearers: Vec::new(),
                id_tokens: Vec::new(),
                end_session_queries: Vec::new(),
                authorize_count: 0,
                counter: 0,
                expect_basic: false,
            }),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { issuer, inner }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, OpState> {
        self.inner.state.lock().unwrap()
    }

    /// Replaces the mutation (the default is an honest OP).
    pub(crate) fn mutate(&self, m: Mutation) {
        self.state().mutation = m;
    }

    pub(crate) fn honest(&self) {
        self.mutate(Mutation::default());
    }

    pub(crate) fn set_jwks(&self, jwks: Value) {
        self.state().jwks = jwks;
    }

    pub(crate) fn set_signer(&self, s: Signer) {
        self.state().signer = s;
    }

    /// Require `client_secret_basic` at the token endpoint (else `client_secret_post`).
    pub(crate) fn expect_basic(&self, on: bool) {
        self.state().expect_basic = on;
    }

    /// Publishes a new key set (RSA key 2, kid `rot-2`) and signs with it from now on.
    pub(crate) fn rotate(&self) {
        rotate(&mut self.state());
    }

    pub(crate) fn jwks_path(&self) -> String {
        self.inner.jwks_path.clone()
    }

    /// Every request so far, as `"METHOD /path"`.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    pub(crate) fn count(&self, what: &str) -> usize {
        self.calls().iter().filter(|c| c.as_str() == what).count()
    }

    pub(crate) fn jwks_call(&self) -> String {
        format!("GET {}", self.inner.jwks_path)
    }

    /// The calls made after the last one equal to `what`.
    pub(crate) fn calls_after_last(&self, what: &str) -> Vec<String> {
        let calls = self.calls();
        let at = calls
            .iter()
            .rposition(|c| c == what)
            .unwrap_or_else(|| panic!("no {what} in {calls:?}"));
        calls[at + 1..].to_vec()
    }

    /// After the token endpoint's (bad) answer the RP fetched at most the keys it needed to
    /// check it: no further token request, no UserInfo request, no new authorization request.
    pub(crate) fn assert_silent_after_token(&self) {
        let jwks = self.jwks_call();
        let after = self.calls_after_last("POST /oauth/token");
        assert!(
            after.iter().all(|c| *c == jwks),
            "the RP kept going after the bad answer: {after:?}"
        );
    }

    pub(crate) fn userinfo_bearers(&self) -> Vec<String> {
        self.state().userinfo_bearers.clone()
    }

    pub(crate) fn id_tokens(&self) -> Vec<String> {
        self.state().id_tokens.clone()
    }

    #[expect(
        dead_code,
        reason = "the request log records every endpoint; no test reads this one yet"
    )]
    pub(crate) fn end_session_queries(&self) -> Vec<String> {
        self.state().end_session_queries.clone()
    }

    /// Tollgate configured as this OP's registered client (`client_secret_post`).
    pub(crate) fn config(&self) -> ConfigBuilder {
        tollgate_testkit::local_config(&self.issuer, (CLIENT_ID, CLIENT_SECRET), SECRET, APP)
    }

    pub(crate) fn client(&self) -> Tollgate {
        Tollgate::new(self.config().build().unwrap())
    }

    /// The browser's trip: the login route, `/authorize`, and back to the callback. Returns the
    /// callback's query and the cookies the browser sends with it.
    pub(crate) async fn authorize(
        &self,
        auth: &Tollgate,
        opts: LoginOptions,
    ) -> (String, CookieJar) {
        let login = auth
            .start_login(&tollgate::RequestOrigin::default(), opts)
            .await
            .unwrap();
        let jar = jar_after(&login.cookies);
        let resp = browser().get(login.url.as_str()).send().await.unwrap();
        assert_eq!(resp.status(), 302, "{:?}", resp.text().await);
        let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(location.as_str().split('?').next(), Some(REDIRECT_URI));
        (location.query().unwrap_or("").to_owned(), jar)
    }

    /// A whole login up to the callback's outcome.
    pub(crate) async fn login(&self, auth: &Tollgate) -> CallbackOutcome {
        let (query, jar) = self.authorize(auth, LoginOptions::new()).await;
        auth.handle_callback(&super::callback_request(&query, jar.clone()))
            .await
    }

    /// What a relying-party application does: log in, and only when that succeeded, call
    /// UserInfo. Returns the outcome, and the UserInfo answer when it was asked for.
    pub(crate) async fn rp_run(&self, auth: &Tollgate) -> RpRun {
        let outcome = self.login(auth).await;
        let userinfo = match &outcome.result {
            Ok(ok) => Some(auth.userinfo(&ok.session).await),
            Err(_) => None,
        };
        RpRun { outcome, userinfo }
    }
}

pub(crate) struct RpRun {
    pub(crate) outcome: CallbackOutcome,
    pub(crate) userinfo: Option<Result<Map<String, Value>, Error>>,
}

/// A client like a browser: no redirects followed.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The cookies a browser would hold after these `Set-Cookie` lines (deletions dropped).
pub(crate) fn jar_after(set_cookies: &tollgate::SetCookies) -> CookieJar {
    let pairs: Vec<&str> = set_cookies
        .lines()
        .filter_map(|l| l.split(';').next())
        .filter(|p| p.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .collect();
    CookieJar::parse(&pairs.join("; "))
}

/// Whether the lines set a session cookie.
pub(crate) fn sets_session(set_cookies: &tollgate::SetCookies) -> bool {
    set_cookies
        .lines()
        .filter_map(|l| l.split(';').next())
        .any(|p| p.starts_with("__session") && !p.ends_with('='))
}

fn random_suffix() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).unwrap();
    B64.encode(b)
}

fn rotate(s: &mut OpState) {
    let mut keys = vec![rsa_jwk(2, Some("rot-2")), ec_jwk(1, Some("ec-1"))];
    keys.extend(enc_jwks());
    s.jwks = json!({ "keys": keys });
    s.signer = Signer::Rsa {
        key: 2,
        kid: Some("rot-2".into()),
    };
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    json_response(status, &json!({"error": error}))
}

async fn handle(
    State(op): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let endpoint = match path.as_str() {
        "/.well-known/openid-configuration" => Endpoint::Discovery,
        "/authorize" => Endpoint::Authorize,
        "/oauth/token" => Endpoint::Token,
        "/userinfo" => Endpoint::Userinfo,
        "/end_session" => Endpoint::EndSession,
        p if p == op.jwks_path => Endpoint::Jwks,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let fault = {
        let mut s = op.state.lock().unwrap();
        s.calls.push(format!("{method} {path}"));
        s.mutation
            .fault
            .clone()
            .filter(|(e, _)| *e == endpoint)
            .map(|(_, f)| f)
    };
    match fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Status(code)) => {
            return (StatusCode::from_u16(code).unwrap(), "the provider failed").into_response();
        }
        Some(Fault::Body { content_type, body }) => {
            return ([(header::CONTENT_TYPE, content_type)], body).into_response();
        }
        Some(Fault::Redirect(to)) => {
            return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
        }
        None => {}
    }
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut s = op.state.lock().unwrap();
    match endpoint {
        Endpoint::Discovery => {
            let i = &op.issuer;
            let mut doc = json!({
                "issuer": i,
                "authorization_endpoint": format!("{i}authorize"),
                "token_endpoint": format!("{i}oauth/token"),
                "jwks_uri": format!("{}{}", i.trim_end_matches('/'), op.jwks_path),
                "userinfo_endpoint": format!("{i}userinfo"),
                "end_session_endpoint": format!("{i}end_session"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256"],
                "token_endpoint_auth_methods_supported":
                    [if s.expect_basic { "client_secret_basic" } else { "client_secret_post" }],
                "authorization_response_iss_parameter_supported": true,
            });
            if let Some(e) = &s.mutation.discovery {
                e(&mut doc);
            }
            json_response(StatusCode::OK, &doc)
        }
        Endpoint::Jwks => {
            let mut doc = s.jwks.clone();
            if let Some(e) = &s.mutation.jwks {
                e(&mut doc);
            }
            json_response(StatusCode::OK, &doc)
        }
        Endpoint::Authorize => authorize(&op, &mut s, &query),
        Endpoint::Token => token(&op, &mut s, &headers, &form(&body)),
        Endpoint::Userinfo => {
            let bearer = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("")
                .to_owned();
            if !s.access_tokens.contains(&bearer) {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
                )
                    .into_response();
            }
            s.userinfo_bearers.push(bearer);
            let mut doc =
                json!({"sub": SUB, "name": "Hostile User", "email": "user@hostile.example"});
            if let Some(e) = &s.mutation.userinfo {
                e(&mut doc);
            }
            json_response(StatusCode::OK, &doc)
        }
        Endpoint::EndSession => {
            s.end_session_queries
                .push(uri.query().unwrap_or("").to_owned());
            let hint_ok = query
                .get("id_token_hint")
                .is_some_and(|h| s.id_tokens.contains(h));
            let target = query.get("post_logout_redirect_uri");
            if !hint_ok || target.map(String::as_str) != Some(POST_LOGOUT) {
                return (StatusCode::BAD_REQUEST, "bad end_session request").into_response();
            }
            let mut to = url::Url::parse(POST_LOGOUT).unwrap();
            if let Some(st) = query.get("state") {
                to.query_pairs_mut().append_pair("state", st);
            }
            (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
        }
    }
}

fn authorize(op: &Inner, s: &mut OpState, q: &HashMap<String, String>) -> Response {
    s.authorize_count += 1;
    if s.mutation.rotate_on_authorize == Some(s.authorize_count) {
        rotate(s);
    }
    let ok = q.get("response_type").map(String::as_str) == Some("code")
        && q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && q.get("redirect_uri").map(String::as_str) == Some(REDIRECT_URI)
        && q.get("scope")
            .is_some_and(|sc| sc.split(' ').any(|x| x == "openid"));
    if !ok {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    if q.contains_key("code_challenge")
        && q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (StatusCode::BAD_REQUEST, "PKCE must use S256").into_response();
    }
    s.counter += 1;
    let code = format!("code-{}-{}", s.counter, random_suffix());
    s.codes.insert(
        code.clone(),
        Grant {
            nonce: q.get("nonce").cloned(),
            redirect_uri: q["redirect_uri"].clone(),
            challenge: q.get("code_challenge").cloned(),
            scope: q["scope"].clone(),
        },
    );
    let mut to = url::Url::parse(REDIRECT_URI).unwrap();
    {
        let mut p = to.query_pairs_mut();
        p.append_pair("code", &code);
        if let Some(st) = q.get("state") {
            p.append_pair("state", st);
        }
        p.append_pair("iss", &op.issuer);
    }
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn client_authenticated(s: &OpState, headers: &HeaderMap, f: &HashMap<String, String>) -> bool {
    if s.expect_basic {
        let Some(basic) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let Some(decoded) = STANDARD
            .decode(basic)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            return false;
        };
        let Some((id, secret)) = decoded.split_once(':') else {
            return false;
        };
        !f.contains_key("client_secret")
            && form_decode(id) == CLIENT_ID
            && form_decode(secret) == CLIENT_SECRET
    } else {
        !headers.contains_key(header::AUTHORIZATION)
            && f.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && f.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
    }
}

fn token(
    op: &Inner,
    s: &mut OpState,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Response {
    if !client_authenticated(s, headers, f) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let now = now();
    let (nonce, scope, edit) = match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(grant) = f.get("code").and_then(|c| s.codes.remove(c)) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            if f.get("redirect_uri") != Some(&grant.redirect_uri) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            if let Some(challenge) = &grant.challenge {
                let verifier = f.get("code_verifier").map(String::as_str).unwrap_or("");
                if B64.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                }
            }
            (grant.nonce, grant.scope, s.mutation.id_token_claims.clone())
        }
        Some("refresh_token") => {
            let rt = f.get("refresh_token").cloned().unwrap_or_default();
            let Some(at) = s.refresh_tokens.iter().position(|t| *t == rt) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            s.refresh_tokens.remove(at);
            (
                None,
                "openid profile email offline_access".to_owned(),
                s.mutation.refresh_id_token_claims.clone(),
            )
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    if s.mutation.rotate_before_signing {
        rotate(s);
    }
    let mut claims = json!({
        "iss": op.issuer, "sub": SUB, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
        "auth_time": now, "sid": SID, "name": "Hostile User",
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(e) = edit {
        e(&mut claims);
    }
    let mut id_token = sign_jws(&s.signer, s.mutation.id_token_header.as_ref(), &claims);
    if s.mutation.xor_signature {
        id_token = xor_signature(&id_token);
    }
    s.counter += 1;
    let access_token = format!("at-{}-{}", s.counter, random_suffix());
    let refresh_token = format!("rt-{}-{}", s.counter, random_suffix());
    s.access_tokens.push(access_token.clone());
    s.refresh_tokens.push(refresh_token.clone());
    s.id_tokens.push(id_token.clone());
    let mut doc = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": refresh_token, "id_token": id_token, "scope": scope,
    });
    if let Some(e) = &s.mutation.token_response {
        e(&mut doc);
    }
    json_response(StatusCode::OK, &doc)
}

//! `RequireToken` and `ApiToken`: an API that receives the local tenant's access tokens, checked
//! through real HTTP: the happy path, RFC 6750 refusals for every defect, scopes, a required claim,
//! key rotation and an unreachable provider.

use axum::Router;
use axum::routing::get;
use serde_json::{Map, Value, json};
use tollgate::DpopKey;
use tollgate::api::{ApiConfig, ApiValidator, DpopMode};
use tollgate_axum::{ApiToken, RequireToken};
use tollgate_tenant::{ApiConfig as TenantApi, ClientConfig, RunningTenant, Tenant, TenantConfig};

const API: &str = "https://payments.example.com";
const MFA_CLAIM: &str = "https://tollgate.example/mfa";
const AMR_CLAIM: &str = "https://tollgate.example/amr";

struct Fixture {
    tenant: RunningTenant,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Fixture {
    let tenant = Tenant::start(
        TenantConfig::new()
            .with_client(
                ClientConfig::new("m2m", "m2m-secret")
                    .with_client_grant(API, ["read:payments", "write:payments"]),
            )
            .with_api(TenantApi::new(API).with_scopes(["read:payments", "write:payments"])),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let base = serve(tenant.issuer()).await;
    Fixture {
        tenant,
        base,
        http: reqwest::Client::new(),
    }
}

/// An API with three routes: any valid token, a scope, and a scope plus the MFA claim.
async fn serve(issuer: &str) -> String {
    let validator = ApiValidator::new(
        ApiConfig::new(issuer, API)
            .insecure_allow_http_loopback_issuer()
            .realm("payments")
            .build()
            .unwrap(),
    );
    let who = |t: ApiToken| async move { format!("{} {}", t.sub(), t.client_id().unwrap_or("-")) };
    let app = Router::new()
        .route("/any", get(who))
        .route_layer(RequireToken::new(validator.clone()))
        .merge(
            Router::new()
                .route("/write", get(who))
                .route_layer(RequireToken::new(validator.clone()).scopes(["write:payments"])),
        )
        .merge(
            Router::new().route("/mfa", get(who)).route_layer(
                RequireToken::new(validator.clone())
                    .scopes(["read:payments"])
                    .claim(MFA_CLAIM, json!(true)),
            ),
        )
        .merge(
            Router::new()
                .route("/users", get(who))
                .route_layer(RequireToken::new(validator.clone()).users_only()),
        )
        .merge(
            Router::new().route("/step-up", get(who)).route_layer(
                RequireToken::new(validator.clone())
                    .mfa()
                    .scopes(["read:payments"]),
            ),
        )
        .merge(
            Router::new()
                .route("/step-up-namespaced", get(who))
                .route_layer(RequireToken::new(validator).mfa_claim(AMR_CLAIM)),
        )
        .merge(
            Router::new()
                .route("/dpop-only", get(who))
                .route_layer(RequireToken::new(ApiValidator::new(
                    ApiConfig::new(issuer, API)
                        .insecure_allow_http_loopback_issuer()
                        .realm("payments")
                        .dpop(DpopMode::Required)
                        .build()
                        .unwrap(),
                ))),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

impl Fixture {
    /// A real machine-to-machine token from the tenant's token endpoint.
    async fn m2m_token(&self, scope: &str) -> String {
        let resp: Value = self
            .http
            .post(format!("{}oauth/token", self.tenant.issuer()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "m2m"),
                ("client_secret", "m2m-secret"),
                ("audience", API),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        resp["access_token"].as_str().unwrap().to_owned()
    }

    /// A token signed with the tenant's key, with `claims` over good defaults (`null` removes one).
    fn signed(&self, header: Value, claims: Value) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut base = json!({"iss": self.tenant.issuer(), "sub": "auth0|alice", "aud": [API],
            "iat": now, "exp": now + 300, "azp": "web", "scope": "read:payments"});
        for (k, v) in claims.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        self.tenant.sign_jwt(object(header), object(base))
    }

    async fn call(&self, path: &str, authorization: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        req.send().await.unwrap()
    }
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Asserts an RFC 6750 refusal: status, error code in the challenge and the JSON body.
async fn refused(resp: reqwest::Response, status: u16, code: Option<&str>) -> String {
    assert_eq!(resp.status(), status);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(r#"Bearer realm="payments""#),
        "{challenge}"
    );
    match code {
        Some(c) => assert!(
            challenge.contains(&format!(r#"error="{c}""#)),
            "{challenge}"
        ),
        None => assert!(!challenge.contains("error="), "{challenge}"),
    }
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], code.unwrap_or("unauthorized"));
    challenge
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let f = start().await;
    let token = f.m2m_token("read:payments write:payments").await;
    let resp = f.call("/any", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "m2m@clients m2m");
    let resp = f.call("/write", Some(&format!("bearer {token}"))).await;
    assert_eq!(resp.status(), 200, "the scheme is case-insensitive");
}

#[tokio::test]
async fn missing_malformed_and_invalid_tokens_get_401_challenges() {
    let f = start().await;
    refused(f.call("/any", None).await, 401, None).await;
    refused(f.call("/any", Some("Basic dXNlcjpwdw==")).await, 401, None).await;
    refused(
        f.call("/any", Some("Bearer a b")).await,
        400,
        Some("invalid_request"),
    )
    .await;
    refused(
        f.call("/any", Some("Bearer not-a-jwt")).await,
        401,
        Some("invalid_token"),
    )
    .await;

    let cases = [
        ("expired", json!({}), json!({"exp": 1_000_000})),
        ("not yet valid", json!({}), json!({"nbf": 4_102_444_800u64})),
        (
            "other audience",
            json!({}),
            json!({"aud": "https://other.example.com"}),
        ),
        (
            "other issuer",
            json!({}),
            json!({"iss": "https://evil.example.com/"}),
        ),
        ("no expiry", json!({}), json!({"exp": null})),
        ("string expiry", json!({}), json!({"exp": "4102444800"})),
        ("ID token type", json!({"typ": "id_token+jwt"}), json!({})),
        ("unknown kid", json!({"kid": "not-published"}), json!({})),
        (
            "DPoP-bound as Bearer",
            json!({}),
            json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
        ),
    ];
    for (what, header, claims) in cases {
        let token = f.signed(header, claims);
        let resp = f.call("/any", Some(&format!("Bearer {token}"))).await;
        assert_eq!(resp.status(), 401, "{what}");
        refused(resp, 401, Some("invalid_token")).await;
    }
    // A token with a forged signature, and HS256 "signed" with the public key's kid.
    let good = f.signed(json!({}), json!({}));
    let (head, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "A".repeat(342));
    refused(
        f.call("/any", Some(&format!("Bearer {forged}"))).await,
        401,
        Some("invalid_token"),
    )
    .await;
    let hs = f.signed(json!({"alg": "HS256"}), json!({}));
    refused(
        f.call("/any", Some(&format!("Bearer {hs}"))).await,
        401,
        Some("invalid_token"),
    )
    .await;
}

#[tokio::test]
async fn scopes_and_claims_are_required_per_route() {
    let f = start().await;
    let read_only = f.m2m_token("read:payments").await;
    let challenge = refused(
        f.call("/write", Some(&format!("Bearer {read_only}"))).await,
        403,
        Some("insufficient_scope"),
    )
    .await;
    assert!(
        challenge.ends_with(r#"scope="write:payments", DPoP algs="ES256""#),
        "{challenge}"
    );

    // The MFA claim an Action would add: absent, false, then true.
    let without = f.signed(json!({}), json!({}));
    refused(
        f.call("/mfa", Some(&format!("Bearer {without}"))).await,
        403,
        Some("insufficient_scope"),
    )
    .await;
    let no = f.signed(json!({}), json!({MFA_CLAIM: false}));
    refused(
        f.call("/mfa", Some(&format!("Bearer {no}"))).await,
        403,
        Some("insufficient_scope"),
    )
    .await;
    let yes = f.signed(json!({}), json!({MFA_CLAIM: true}));
    let resp = f.call("/mfa", Some(&format!("Bearer {yes}"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "auth0|alice web");
    // RBAC permissions count as scopes.
    let rbac = f.signed(
        json!({}),
        json!({"scope": "", "permissions": ["write:payments"]}),
    );
    assert_eq!(
        f.call("/write", Some(&format!("Bearer {rbac}")))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_and_an_unreachable_provider_is_503() {
    let f = start().await;
    let before = f.m2m_token("read:payments").await;
    assert_eq!(
        f.call("/any", Some(&format!("Bearer {before}")))
            .await
            .status(),
        200
    );
    f.tenant.rotate_signing_key();
    let after = f.m2m_token("read:payments").await;
    assert_eq!(
        f.call("/any", Some(&format!("Bearer {after}")))
            .await
            .status(),
        200
    );
    assert_eq!(
        f.call("/any", Some(&format!("Bearer {before}")))
            .await
            .status(),
        200,
        "old key still published"
    );

    // An API whose provider cannot be reached answers 503, without a challenge.
    // The port stays held by a listener that hangs up on every connection, so no other test's
    // server can take it over (a freed port could be reused by a parallel test).
    let hang_up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", hang_up.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((conn, _)) = hang_up.accept().await {
            drop(conn);
        }
    });
    let base = serve(&issuer).await;
    let resp = reqwest::get(format!("{base}/any")).await.unwrap();
    assert_eq!(
        resp.status(),
        401,
        "no token is refused without calling the provider"
    );
    let resp = reqwest::Client::new()
        .get(format!("{base}/any"))
        .header("authorization", format!("Bearer {after}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("www-authenticate").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn dpop_bound_tokens_need_a_proof_of_their_key_for_this_request() {
    let f = start().await;
    let key = DpopKey::generate();
    let token = f.signed(json!({}), json!({"cnf": {"jkt": key.thumbprint()}}));
    let url = format!("{}/any", f.base);
    let call = |proof: Option<String>, scheme: &'static str| {
        let mut req = f
            .http
            .get(&url)
            .header("authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        req.send()
    };
    let proof = key.proof("GET", &url, None, Some(&token));
    let ok = call(Some(proof.clone()), "DPoP").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "auth0|alice web");

    // The same proof again is a replay.
    let replay = call(Some(proof), "DPoP").await.unwrap();
    let challenge = refused_dpop(replay, 400, "invalid_dpop_proof").await;
    assert!(challenge.contains("already used"), "{challenge}");
    // No proof, a proof for another URL, a proof without the token's hash, another key.
    refused_dpop(call(None, "DPoP").await.unwrap(), 400, "invalid_dpop_proof").await;
    let elsewhere = key.proof("GET", &format!("{}/write", f.base), None, Some(&token));
    refused_dpop(
        call(Some(elsewhere), "DPoP").await.unwrap(),
        400,
        "invalid_dpop_proof",
    )
    .await;
    let no_ath = key.proof("GET", &url, None, None);
    refused_dpop(
        call(Some(no_ath), "DPoP").await.unwrap(),
        400,
        "invalid_dpop_proof",
    )
    .await;
    let thief = DpopKey::generate().proof("GET", &url, None, Some(&token));
    let resp = call(Some(thief), "DPoP").await.unwrap();
    assert_eq!(resp.status(), 401, "another key: the token is not theirs");
    // An unbound token cannot be presented as DPoP.
    let unbound = f.signed(json!({}), json!({}));
    let proof = key.proof("GET", &url, None, Some(&unbound));
    let resp = f
        .http
        .get(&url)
        .header("authorization", format!("DPoP {unbound}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // An API that requires DPoP refuses bearer tokens, and says so in a DPoP challenge.
    let bearer = f
        .call("/dpop-only", Some(&format!("Bearer {unbound}")))
        .await;
    assert_eq!(bearer.status(), 401);
    let challenge = bearer.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(r#"DPoP realm="payments", error="invalid_token""#),
        "{challenge}"
    );
    let dpop_url = format!("{}/dpop-only", f.base);
    let proof = key.proof("GET", &dpop_url, None, Some(&token));
    let ok = f
        .http
        .get(&dpop_url)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

/// Asserts a DPoP proof refusal; returns the challenge.
async fn refused_dpop(resp: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(resp.status(), status);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(&format!(
            r#"Bearer realm="payments", DPoP realm="payments", error="{code}""#
        )),
        "{challenge}"
    );
    assert!(challenge.ends_with(r#"algs="ES256""#), "{challenge}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], code);
    challenge
}

#[tokio::test]
async fn users_only_refuses_machine_to_machine_tokens() {
    let f = start().await;
    let m2m = f.m2m_token("read:payments").await;
    let body = refused(
        f.call("/users", Some(&format!("Bearer {m2m}"))).await,
        403,
        Some("insufficient_scope"),
    )
    .await;
    assert!(body.contains("only tokens issued to a user"), "{body}");
    let forged_gty = f.signed(json!({}), json!({"gty": "client-credentials"}));
    refused(
        f.call("/users", Some(&format!("Bearer {forged_gty}")))
            .await,
        403,
        Some("insufficient_scope"),
    )
    .await;
    let user = f.signed(json!({}), json!({}));
    let ok = f.call("/users", Some(&format!("Bearer {user}"))).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn an_mfa_route_wants_mfa_in_the_token_not_only_the_scope() {
    let f = start().await;
    for (claims, why) in [
        (json!({"amr": ["pwd"]}), "a password-only token"),
        (json!({}), "a token that says nothing"),
        (json!({"amr": "mfa"}), "amr that is not an array"),
        (
            json!({AMR_CLAIM: ["mfa"]}),
            "the namespaced claim on an amr route",
        ),
    ] {
        let t = f.signed(json!({}), claims);
        let resp = f.call("/step-up", Some(&format!("Bearer {t}"))).await;
        assert_eq!(resp.status(), 401, "{why}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains(r#"error="insufficient_user_authentication""#)
                && challenge.contains(
                    r#"acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor""#
                ),
            "{why}: {challenge}"
        );
    }
    let m2m = f.m2m_token("read:payments").await;
    refused(
        f.call("/step-up", Some(&format!("Bearer {m2m}"))).await,
        403,
        Some("insufficient_scope"),
    )
    .await;
    let mfa = f.signed(json!({}), json!({"amr": ["pwd", "mfa"]}));
    assert_eq!(
        f.call("/step-up", Some(&format!("Bearer {mfa}")))
            .await
            .status(),
        200
    );
    let namespaced = f.signed(json!({}), json!({AMR_CLAIM: ["pwd", "mfa"]}));
    assert_eq!(
        f.call("/step-up-namespaced", Some(&format!("Bearer {namespaced}")))
            .await
            .status(),
        200
    );
    let no_scope = f.signed(json!({}), json!({"amr": ["mfa"], "scope": "openid"}));
    refused(
        f.call("/step-up", Some(&format!("Bearer {no_scope}")))
            .await,
        403,
        Some("insufficient_scope"),
    )
    .await;
}

//! The demo over plain HTTP (no browser): pages, the login redirect, a whole login through the
//! tenant's form, logout, step-up MFA for Billing and the payments API, and the start-up
//! settings.

use crate::support::totp;
use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE,
};
use serde_json::{Value, json};
use tollgate_demo::{ALICE, BOB, DemoError, DemoLogin, DemoOptions, RunningDemo};
use url::Url;

/// The `acr_values` that asks the tenant for multi-factor authentication.
const MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// Keeps cookies per host like a browser (shared across ports), follows no redirects.
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) cookies: Vec<(String, String)>,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    location: Option<Url>,
    pub(crate) body: String,
    cache_control: Option<String>,
    content_type: Option<String>,
    headers: HeaderMap,
}

impl Client {
    pub(crate) fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder, url: &str) -> Answer {
        self.send_accepting(request, url, "text/html,application/xhtml+xml")
            .await
    }

    pub(crate) async fn send_accepting(
        &mut self,
        request: reqwest::RequestBuilder,
        url: &str,
        accept: &str,
    ) -> Answer {
        let mut request = request.header("accept", accept);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(COOKIE, header.join("; "));
        }
        let response = request.send().await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let location = header(LOCATION).map(|l| Url::parse(url).unwrap().join(&l).unwrap());
        let (cache_control, content_type) = (header(CACHE_CONTROL), header(CONTENT_TYPE));
        for line in response.headers().get_all(SET_COOKIE) {
            let line = line.to_str().unwrap();
            let (name, value) = line.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !line.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        Answer {
            status: response.status(),
            location,
            cache_control,
            content_type,
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> Answer {
        let request = self.http.get(url);
        self.send(request, url).await
    }

    /// A `GET` as `fetch` from a script sends it: accepting JSON.
    pub(crate) async fn get_json(&mut self, url: &str) -> Answer {
        let request = self.http.get(url);
        self.send_accepting(request, url, "application/json").await
    }

    pub(crate) async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let request = self.http.post(url).form(form);
        self.send(request, url).await
    }

    /// Follows redirects from `url` by hand; returns the last URL and answer.
    pub(crate) async fn follow(&mut self, url: &str) -> (String, Answer) {
        let mut url = url.to_owned();
        for _ in 0..10 {
            let answer = self.get(&url).await;
            match &answer.location {
                Some(next) if answer.status.is_redirection() => url = next.to_string(),
                _ => return (url, answer),
            }
        }
        panic!("more than 10 redirects from {url}");
    }
}

impl Answer {
    pub(crate) fn location(&self) -> &Url {
        self.location.as_ref().expect("a Location header")
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The value of query parameter `name` of `url`.
pub(crate) fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Opens `path`, which needs a login, and signs in as `who` on the tenant's password page.
/// Returns the URL and the answer where the redirects after the password end.
pub(crate) async fn log_in(
    client: &mut Client,
    demo: &RunningDemo,
    who: DemoLogin,
    path: &str,
) -> (String, Answer) {
    let (page_url, page) = client.follow(&demo.url(path)).await;
    assert!(
        page_url.starts_with(&format!("{}u/login", demo.issuer())),
        "{page_url}: {}",
        page.body
    );
    let state = param(&Url::parse(&page_url).unwrap(), "state").unwrap();
    let done = client
        .post(
            &page_url,
            &[
                ("state", &state),
                ("username", who.email),
                ("password", who.password),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    client.follow(done.location().as_str()).await
}

async fn demo() -> RunningDemo {
    tollgate_demo::start(DemoOptions::ephemeral())
        .await
        .expect("the demo starts on free ports")
}

#[tokio::test]
async fn home_offers_the_login_and_profile_redirects_to_it() {
    let demo = demo().await;
    let mut client = Client::new();

    let home = client.get(&demo.url("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.content_type
            .as_deref()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(home.cache_control.as_deref(), Some("no-store"));
    assert!(
        home.body.contains("<a href=\"/auth/login\">Log in</a>"),
        "{}",
        home.body
    );
    assert!(home.body.contains("<a href=\"/profile\">"));
    assert!(!home.body.contains("Log out"));

    let profile = client.get(&demo.url("/profile")).await;
    assert_eq!(profile.status, StatusCode::FOUND);
    let login = profile.location();
    assert_eq!(login.as_str(), demo.url("/auth/login?returnTo=/profile"));

    // The login goes to the embedded tenant with the demo client and the app's callback.
    let start = client.get(login.as_str()).await;
    assert_eq!(start.status, StatusCode::FOUND);
    let authorize = start.location();
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}authorize", demo.issuer()))
    );
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("client_id").as_deref(), Some("demo-client"));
    assert_eq!(param("redirect_uri"), Some(demo.url("/auth/callback")));

    let missing = client.get(&demo.url("/nowhere")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Not found"));
    demo.shutdown().await;
}

#[tokio::test]
async fn an_api_client_gets_401_instead_of_a_redirect() {
    let demo = demo().await;
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(demo.url("/profile"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    demo.shutdown().await;
}

/// The whole story over HTTP: what the browser test does, hop by hop.
#[tokio::test]
async fn login_profile_and_logout_through_the_tenant_form() {
    let demo = demo().await;
    let mut client = Client::new();

    let (page_url, page) = client.follow(&demo.url("/profile")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page_url.starts_with(&format!("{}u/login", demo.issuer())),
        "{page_url}"
    );
    assert!(page.body.contains("autocomplete=\"current-password\""));
    let state = Url::parse(&page_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    let wrong = client
        .post(
            &page_url,
            &[
                ("state", &state),
                ("username", BOB.email),
                ("password", "nope"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let done = client
        .post(
            &page_url,
            &[
                ("state", &state),
                ("username", BOB.email),
                ("password", BOB.password),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND);
    let (url, profile) = client.follow(done.location().as_str()).await;
    assert_eq!(url, demo.url("/profile"));
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(profile.cache_control.as_deref(), Some("no-store"));
    assert!(
        profile
            .body
            .contains(&format!("<dt>Name</dt><dd>{}</dd>", BOB.name)),
        "{}",
        profile.body
    );
    assert!(
        profile
            .body
            .contains(&format!("<dt>Email</dt><dd>{}</dd>", BOB.email))
    );
    assert!(profile.body.contains("<code>sub</code></th><td>auth0|"));

    let home = client.get(&demo.url("/")).await;
    assert!(
        home.body
            .contains(&format!("Signed in as <strong>{}</strong>", BOB.name))
    );
    assert!(home.body.contains(
        "<form method=\"post\" action=\"/auth/logout\"><button type=\"submit\">Log out</button></form>"
    ));
    let csp = home.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.ends_with(&format!(
            "; form-action 'self' {}",
            demo.issuer().origin().ascii_serialization()
        )),
        "the logout form may post here and redirect through the provider: {csp}"
    );

    // The button posts from the app's own page, as a browser sends it.
    let origin = demo.url("");
    let request = client
        .http
        .post(demo.url("/auth/logout"))
        .header("origin", origin.trim_end_matches('/'));
    let posted = client.send(request, &demo.url("/auth/logout")).await;
    assert_eq!(posted.status, StatusCode::FOUND);
    let (url, home) = client.follow(posted.location().as_str()).await;
    assert_eq!(url, demo.url("/"));
    assert!(home.body.contains("Log in"));

    // Both sessions ended: the profile leads to the password page again.
    let (page_url, _) = client.follow(&demo.url("/profile")).await;
    assert!(
        page_url.starts_with(&format!("{}u/login", demo.issuer())),
        "{page_url}"
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn the_development_secret_is_announced_and_replaced_by_auth0_secret() {
    let demo = demo().await;
    assert!(demo.uses_development_secret());
    let banner = demo.banner();
    let first = banner.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "Tollgate demo on {} — local tenant on {} — log in as {} / {} (TOTP enrolled) or {} / {}",
            demo.url(""),
            demo.issuer(),
            ALICE.email,
            ALICE.password,
            BOB.email,
            BOB.password
        )
    );
    assert!(banner.contains("AUTH0_SECRET is not set"), "{banner}");
    demo.shutdown().await;

    let demo = tollgate_demo::start(
        DemoOptions::ephemeral()
            .with_var("AUTH0_SECRET", "an-operator-chosen-secret-0123456789abcdef"),
    )
    .await
    .unwrap();
    assert!(!demo.uses_development_secret());
    assert!(!demo.banner().contains("AUTH0_SECRET"));
    demo.shutdown().await;
}

#[tokio::test]
async fn environment_variables_override_the_embedded_settings() {
    let demo = tollgate_demo::start(
        DemoOptions::ephemeral()
            .with_var("AUTH0_CLIENT_ID", "my-client")
            .with_var("AUTH0_CLIENT_SECRET", "my-client-secret")
            .with_var("AUTH0_COOKIE_NAME", "demo_session"),
    )
    .await
    .unwrap();
    let tenant = demo.tenant().unwrap();
    let client = &tenant.config().clients()[0];
    assert_eq!(client.client_id(), "my-client");
    assert_eq!(client.callbacks(), [demo.url("/auth/callback")]);
    assert_eq!(client.logout_urls(), [demo.app_url().to_string()]);
    assert_eq!(demo.auth().config().session().cookie_name, "demo_session");
    demo.shutdown().await;
}

#[tokio::test]
async fn auth0_domain_selects_another_provider_and_starts_no_tenant() {
    let external = DemoOptions::ephemeral()
        .with_var("AUTH0_DOMAIN", "https://tenant.example.com")
        .with_var("AUTH0_CLIENT_ID", "external-client");
    let error = tollgate_demo::start(external.clone()).await.unwrap_err();
    assert!(
        matches!(&error, DemoError::Config(_)) && error.to_string().contains("AUTH0_CLIENT_SECRET"),
        "{error}"
    );

    let demo = tollgate_demo::start(external.with_var("AUTH0_CLIENT_SECRET", "external-secret"))
        .await
        .unwrap();
    assert!(demo.tenant().is_none());
    assert_eq!(demo.issuer().as_str(), "https://tenant.example.com/");
    assert_eq!(demo.auth().config().client_id(), "external-client");
    assert!(
        demo.banner()
            .contains("signing in with https://tenant.example.com/")
    );
    // The pages work without contacting the provider.
    let home = reqwest::get(demo.url("/")).await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    demo.shutdown().await;
}

#[tokio::test]
async fn bad_addresses_are_refused_with_the_setting_to_change() {
    let error = tollgate_demo::start(DemoOptions::ephemeral().with_app_addr("localhost"))
        .await
        .unwrap_err();
    assert!(matches!(error, DemoError::InvalidAddress { .. }), "{error}");
    assert!(error.to_string().contains("APP_ADDR"));

    let error = tollgate_demo::start(DemoOptions::ephemeral().with_app_addr("0.0.0.0:0"))
        .await
        .unwrap_err();
    assert!(matches!(error, DemoError::NotLoopback { .. }), "{error}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let error = tollgate_demo::start(DemoOptions::ephemeral().with_tenant_addr(&addr))
        .await
        .unwrap_err();
    assert!(matches!(error, DemoError::TenantAddress(_)), "{error}");
    assert!(error.to_string().contains("TENANT_ADDR"));
    let error = tollgate_demo::start(DemoOptions::ephemeral().with_app_addr(&addr))
        .await
        .unwrap_err();
    assert!(matches!(error, DemoError::Bind { .. }), "{error}");
}

#[tokio::test]
async fn billing_sends_pages_to_a_step_up_login_and_apis_get_403() {
    let demo = demo().await;
    let mut client = Client::new();

    // Signed out: the login asks for the password and the second factor at once.
    let billing = client.get(&demo.url("/billing")).await;
    assert_eq!(billing.status, StatusCode::FOUND);
    let login = billing.location();
    assert_eq!(login.path(), "/auth/login");
    assert_eq!(param(login, "returnTo").as_deref(), Some("/billing"));
    assert_eq!(param(login, "acr_values").as_deref(), Some(MFA_ACR));

    // Signed in with a password only: still a step-up, never the page.
    let (url, _) = log_in(&mut client, &demo, BOB, "/profile").await;
    assert_eq!(url, demo.url("/profile"));
    let billing = client.get(&demo.url("/billing")).await;
    assert_eq!(billing.status, StatusCode::FOUND);
    assert_eq!(billing.cache_control.as_deref(), Some("no-store"));
    let login = billing.location();
    assert_eq!(login.path(), "/auth/login");
    assert_eq!(param(login, "returnTo").as_deref(), Some("/billing"));
    assert_eq!(param(login, "acr_values").as_deref(), Some(MFA_ACR));
    assert!(!billing.body.contains("INV-"), "nothing of the page leaks");

    // A script asking for the page gets 403 JSON that says where to verify.
    let api = client.get_json(&demo.url("/billing")).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    let body = api.json();
    assert_eq!(body["error"], "mfa_required");
    assert!(
        body["step_up_url"]
            .as_str()
            .unwrap()
            .starts_with("/auth/login?returnTo=%2Fbilling&acr_values="),
        "{body}"
    );
    demo.shutdown().await;
}

/// Seed 001 over HTTP: password, then a code only at Billing (a wrong one first), and no
/// second prompt in the same session.
#[tokio::test]
async fn billing_opens_after_a_one_time_code_and_stays_open() {
    let demo = demo().await;
    let tenant = demo.tenant().unwrap();
    let mut client = Client::new();
    let (url, home) = log_in(&mut client, &demo, ALICE, "/auth/login").await;
    assert_eq!(url, demo.url("/"), "the password alone signs in");
    assert!(home.body.contains("<a href=\"/billing\">"));

    // Billing goes to the tenant's MFA page, without the password page.
    let (mfa_url, mfa) = client.follow(&demo.url("/billing")).await;
    assert!(
        mfa_url.starts_with(&format!("{}u/mfa?", demo.issuer())),
        "{mfa_url}"
    );
    assert!(mfa.body.contains("Verify your identity"), "{}", mfa.body);
    assert!(!mfa.body.contains("current-password"));
    let state = param(&Url::parse(&mfa_url).unwrap(), "state").unwrap();

    let wrong = totp::wrong_code(|t| tenant.totp_code_at(ALICE.email, t).unwrap());
    let refused = client
        .post(
            &mfa_url,
            &[("state", &state), ("method", "otp"), ("code", &wrong)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("<p role=\"alert\" id=\"code-error\">The code is not valid. Try again.</p>"),
        "{}",
        refused.body
    );
    assert_eq!(
        client.get(&demo.url("/billing")).await.status,
        StatusCode::FOUND,
        "a wrong code unlocks nothing"
    );

    let code = tenant.totp_code(ALICE.email).unwrap();
    let accepted = client
        .post(
            &mfa_url,
            &[("state", &state), ("method", "otp"), ("code", &code)],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::FOUND, "{}", accepted.body);
    let (url, billing) = client.follow(accepted.location().as_str()).await;
    assert_eq!(url, demo.url("/billing"));
    assert_eq!(billing.status, StatusCode::OK);
    assert_eq!(billing.cache_control.as_deref(), Some("no-store"));
    assert!(billing.body.contains("<h1>Billing</h1>"));
    assert!(
        billing
            .body
            .contains(&format!("Invoices of <strong>{}</strong>", ALICE.name))
    );
    assert!(billing.body.contains("INV-2024-0041"));

    // Later visits in the same session pass at once.
    for _ in 0..2 {
        assert_eq!(
            client.get(&demo.url("/profile")).await.status,
            StatusCode::OK
        );
        let again = client.get(&demo.url("/billing")).await;
        assert_eq!(again.status, StatusCode::OK);
        assert!(again.body.contains("<h1>Billing</h1>"));
    }
    demo.shutdown().await;
}

#[tokio::test]
async fn the_payments_api_answers_the_mfa_required_json() {
    let demo = demo().await;
    let mut client = Client::new();

    // Without a session: 401 JSON, no redirect.
    let anonymous = client.get_json(&demo.url("/api/payments")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["error"]["code"], "missing_session");

    log_in(&mut client, &demo, ALICE, "/profile").await;
    let answer = client.get_json(&demo.url("/api/payments")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
    let body = answer.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "error",
            "error_description",
            "mfa_requirements",
            "mfa_token"
        ]
    );
    assert_eq!(body["error"], "mfa_required");
    assert_eq!(
        body["error_description"],
        "Multifactor authentication required"
    );
    assert_eq!(
        body["mfa_requirements"],
        json!({"challenge": [{"type": "otp"}, {"type": "recovery-code"}]})
    );
    let token = body["mfa_token"].as_str().unwrap();
    assert!(
        !token.is_empty() && !token.starts_with("Fe26"),
        "sealed by Tollgate: {token}"
    );

    // Asked again, the API asks again: nothing was granted.
    let again = client.get_json(&demo.url("/api/payments")).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    demo.shutdown().await;
}

#[tokio::test]
async fn the_payments_page_runs_its_own_script_only() {
    let demo = demo().await;
    let mut client = Client::new();

    let signed_out = client.get(&demo.url("/payments")).await;
    assert_eq!(signed_out.status, StatusCode::FOUND);
    assert_eq!(
        signed_out.location().as_str(),
        demo.url("/auth/login?returnTo=/payments")
    );

    let (url, page) = log_in(&mut client, &demo, ALICE, "/payments").await;
    assert_eq!(url, demo.url("/payments"));
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert!(
        page.body
            .contains("<script type=\"module\" src=\"/payments.js\"></script>")
    );
    assert!(page.body.contains("data-client-js=\"/auth/client.js\""));
    assert!(page.body.contains("<label for=\"payments-code\">"));
    assert!(page.body.contains("autocomplete=\"one-time-code\""));

    let script = client.get(&demo.url("/payments.js")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.content_type.as_deref(),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.contains("mfa.getAuthenticators("));
    assert!(!script.body.contains("innerHTML"));

    // The module it imports is Tollgate's.
    let module = client.get(&demo.url("/auth/client.js")).await;
    assert_eq!(module.status, StatusCode::OK);
    assert!(module.body.contains("export const mfa"));
    demo.shutdown().await;
}

/// The payments API is a resource server: it trusts a bearer token for its audience with
/// `read:payments`, never the session cookie; `/api/payments` calls it with alice's token once
/// she has verified a code.
#[tokio::test]
async fn the_payments_api_accepts_only_a_valid_bearer_token() {
    let demo = demo().await;
    let tenant = demo.tenant().unwrap();
    let mut client = Client::new();
    log_in(&mut client, &demo, ALICE, "/profile").await;

    // The session cookie alone is not a token; neither is a made-up one.
    let api = demo.url("/payments-api/payments");
    let without = client.get_json(&api).await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        without.headers["www-authenticate"],
        r#"Bearer realm="payments", DPoP algs="ES256""#
    );
    let forged = client
        .send_accepting(
            client
                .http
                .get(&api)
                .bearer_auth("eyJhbGciOiJub25lIn0.e30."),
            &api,
            "application/json",
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(
        forged.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    // Verify a code for the payments token, as the /payments page does.
    let required = client.get_json(&demo.url("/api/payments")).await.json();
    let mfa_token = required["mfa_token"].as_str().unwrap().to_owned();
    let cookies: Vec<String> = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let verified = client
        .http
        .post(demo.url("/auth/mfa/verify"))
        .header(COOKIE, cookies.join("; "))
        .header(CONTENT_TYPE, "application/json")
        .bearer_auth(&mfa_token)
        .body(json!({"otp": tenant.totp_code(ALICE.email).unwrap()}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    for line in verified.headers().get_all(SET_COOKIE) {
        let (name, value) = line
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap();
        client.cookies.retain(|(n, _)| n != name);
        client.cookies.push((name.to_owned(), value.to_owned()));
    }

    // Now the app reads the payments from the API, which saw alice's token.
    let answer = client.get_json(&demo.url("/api/payments")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["payments"].as_array().unwrap().len(), 3);
    assert_eq!(body["token_audience"], "https://payments.example.com");
    let profile = client.get_json(&demo.url("/auth/profile")).await.json();
    assert_eq!(body["caller"], profile["sub"]);
    demo.shutdown().await;
}

/// The payments API trusts the token's proof of MFA, not its scope: a token for its audience
/// with `read:payments` but a password-only `amr`, or issued machine to machine, is refused, so
/// a provider policy that misses one grant cannot open it with a password.
#[tokio::test]
async fn the_payments_api_refuses_tokens_without_mfa_or_without_a_user() {
    let demo = demo().await;
    let tenant = demo.tenant().unwrap();
    let api = demo.url("/payments-api/payments");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = |extra: serde_json::Value| {
        let mut claims = json!({
            "iss": tenant.issuer(),
            "aud": ["https://payments.example.com", format!("{}userinfo", tenant.issuer())],
            "sub": "auth0|alice",
            "iat": now,
            "exp": now + 600,
            "scope": "openid read:payments",
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let header = serde_json::Map::from_iter([("typ".to_owned(), json!("at+jwt"))]);
        tenant.sign_jwt(header, claims.as_object().unwrap().clone())
    };
    let http = reqwest::Client::new();
    let call = |t: String| {
        let req = http.get(&api).bearer_auth(t);
        async move { req.send().await.unwrap() }
    };

    let amr = tollgate_tenant::AMR_CLAIM;
    let password = call(token(json!({amr: ["pwd"], "amr": ["mfa"]}))).await;
    assert_eq!(password.status(), StatusCode::UNAUTHORIZED);
    let challenge = password.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#)
            && challenge.contains("acr_values="),
        "{challenge}"
    );
    let no_amr = call(token(json!({}))).await;
    assert_eq!(no_amr.status(), StatusCode::UNAUTHORIZED);

    for machine in [
        json!({"sub": "demo-client@clients", "gty": "client-credentials", amr: ["mfa"]}),
        json!({"sub": "demo-client@clients", amr: ["mfa"]}),
    ] {
        let r = call(token(machine.clone())).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{machine}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains(r#"error="insufficient_scope""#)
        );
    }

    let mfa = call(token(json!({amr: ["pwd", "mfa"]}))).await;
    assert_eq!(mfa.status(), StatusCode::OK);
    demo.shutdown().await;
}

/// Issue 12's High, replayed as the attacker did it: a login URL that names the payments API and
/// its scope. The app refuses the parameters before anything reaches the tenant, so the password
/// form never issues a payments token.
#[tokio::test]
async fn a_login_url_cannot_pick_the_payments_api() {
    let demo = demo().await;
    let mut client = Client::new();
    let attack = demo.url(
        "/auth/login?audience=https://payments.example.com\
         &scope=openid%20profile%20email%20offline_access%20read:payments",
    );
    let refused = client.get(&attack).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("`audience`"), "{}", refused.body);
    // A password login that is allowed gives no payments token: the API asks for a code.
    log_in(&mut client, &demo, ALICE, "/profile").await;
    let payments = client.get_json(&demo.url("/api/payments")).await;
    assert_eq!(payments.status, StatusCode::FORBIDDEN, "{}", payments.body);
    assert_eq!(payments.json()["error"], "mfa_required");
    demo.shutdown().await;
}

/// The README's recipe "two app instances behind one Redis": instance A embeds the tenant,
/// instance B signs in with A's tenant (`AUTH0_DOMAIN`), both share `AUTH0_SECRET`, the public
/// base URL and `TOLLGATE_SESSION_STORE`. A login on A is a session on B; B's refresh and MFA
/// step store their tokens where A reads them; a logout on B ends the session on A.
#[tokio::test]
async fn two_instances_behind_one_redis_share_sessions_refreshes_and_logouts() {
    let redis = tollgate_testkit::RedisServer::start();
    let secret = "two-instances-share-this-secret-0123456789";
    let a = tollgate_demo::start(
        DemoOptions::ephemeral()
            .with_var("AUTH0_SECRET", secret)
            .with_var("TOLLGATE_SESSION_STORE", redis.url()),
    )
    .await
    .unwrap();
    assert!(a.store().is_server_side());
    assert!(a.banner().contains("Sessions: in Redis"), "{}", a.banner());
    let tenant = a.tenant().unwrap();
    let b = tollgate_demo::start(
        DemoOptions::ephemeral()
            .with_var("AUTH0_DOMAIN", tenant.issuer())
            .with_var("AUTH0_CLIENT_ID", "demo-client")
            .with_var("AUTH0_CLIENT_SECRET", "demo-secret")
            .with_var("AUTH0_SECRET", secret)
            .with_var("APP_BASE_URL", a.app_url().as_str())
            .with_var("TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER", "true")
            .with_var("TOLLGATE_SESSION_STORE", redis.url()),
    )
    .await
    .unwrap();
    // Both answer for the same public URL, as behind a load balancer.
    let on_b = |path: &str| format!("http://{}{path}", b.local_addr());

    let mut client = Client::new();
    log_in(&mut client, &a, ALICE, "/profile").await;
    assert!(
        client
            .cookies
            .iter()
            .any(|(n, v)| n == "__session" && v.len() < 400),
        "the cookie holds only the session's id: {:?}",
        client.cookies
    );
    let profile = client.get(&on_b("/profile")).await;
    assert_eq!(profile.status, StatusCode::OK, "B sees A's session");
    assert!(
        profile.body.contains("alice@example.com"),
        "{}",
        profile.body
    );

    // B refreshes with the session's refresh token: the payments API's policy asks for MFA.
    let required = client.get_json(&on_b("/api/payments")).await;
    assert_eq!(required.status, StatusCode::FORBIDDEN, "{}", required.body);
    let mfa_token = required.json()["mfa_token"].as_str().unwrap().to_owned();
    let cookies: Vec<String> = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let verified = client
        .http
        .post(on_b("/auth/mfa/verify"))
        .header(COOKIE, cookies.join("; "))
        .header(CONTENT_TYPE, "application/json")
        .bearer_auth(&mfa_token)
        .body(json!({"otp": tenant.totp_code(ALICE.email).unwrap()}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    // The token B stored in the shared session serves A.
    let paid = client.get_json(&a.url("/api/payments")).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);

    // A logout on B ends the session everywhere, this cookie included.
    let logout = client.get(&on_b("/auth/logout")).await;
    assert_eq!(logout.status, StatusCode::FOUND);
    let cookie = cookies.join("; ");
    let replayed = client
        .http
        .get(a.url("/profile"))
        .header(COOKIE, cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        StatusCode::FOUND,
        "A no longer knows the session"
    );
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_bad_or_unreachable_session_store_stops_the_demo_with_the_variable_named() {
    let bad = tollgate_demo::start(
        DemoOptions::ephemeral().with_var("TOLLGATE_SESSION_STORE", "postgres://db"),
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("TOLLGATE_SESSION_STORE"), "{bad}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = tollgate_demo::start(DemoOptions::ephemeral().with_var(
        "TOLLGATE_SESSION_STORE",
        format!("redis://:hunter2@127.0.0.1:{port}/0"),
    ))
    .await
    .unwrap_err();
    let message = down.to_string();
    assert!(message.contains("TOLLGATE_SESSION_STORE"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

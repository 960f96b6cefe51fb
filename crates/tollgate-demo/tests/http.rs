//! The demo over plain HTTP (no browser): pages, the login redirect, a whole login through the
//! tenant's form, logout, and the start-up settings.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use tollgate_demo::{ALICE, BOB, DemoError, DemoOptions, RunningDemo};
use url::Url;

/// Keeps cookies per host like a browser (shared across ports), follows no redirects.
struct Client {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Answer {
    status: StatusCode,
    location: Option<Url>,
    body: String,
    cache_control: Option<String>,
    content_type: Option<String>,
}

impl Client {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder, url: &str) -> Answer {
        let mut request = request.header("accept", "text/html,application/xhtml+xml");
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
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let request = self.http.get(url);
        self.send(request, url).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let request = self.http.post(url).form(form);
        self.send(request, url).await
    }

    /// Follows redirects from `url` by hand; returns the last URL and answer.
    async fn follow(&mut self, url: &str) -> (String, Answer) {
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
    fn location(&self) -> &Url {
        self.location.as_ref().expect("a Location header")
    }
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
    assert!(home.body.contains("<a href=\"/auth/logout\">Log out</a>"));

    let (url, home) = client.follow(&demo.url("/auth/logout")).await;
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

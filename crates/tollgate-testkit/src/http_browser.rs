//! A small HTTP browser for the adapter's tests: it keeps cookies the way a real browser does for
//! one host (shared across ports) and never follows redirects, so every hop can be asserted. Not
//! the demo's WebDriver browser: this one speaks HTTP only and runs no JavaScript.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

use crate::app::{ALICE, TestApp};

/// One answer, as the browser saw it.
#[derive(Debug)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The URL that was requested.
    pub url: Url,
    /// The `Location` header, resolved against [`url`](Self::url).
    pub location: Option<Url>,
    /// Every `Set-Cookie` header, in order.
    pub set_cookies: Vec<String>,
    /// The body, as text.
    pub body: String,
}

impl Resp {
    /// Whether this answer sets the named cookie to a non-empty value.
    pub fn sets(&self, name: &str) -> bool {
        self.set_cookies
            .iter()
            .any(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
    }

    /// Whether this answer deletes the named cookie.
    pub fn deletes(&self, name: &str) -> bool {
        self.set_cookies
            .iter()
            .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
    }

    /// The `Location` header; panics (showing the answer) when there is none.
    pub fn location(&self) -> &Url {
        self.location
            .as_ref()
            .unwrap_or_else(|| panic!("no Location in {self:?}"))
    }

    /// The query parameter `name` of the `Location` header.
    pub fn query(&self, name: &str) -> Option<String> {
        self.location()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Cookies for one host (browsers share them across ports), no redirects followed.
#[derive(Debug)]
pub struct HttpBrowser {
    http: reqwest::Client,
    /// The cookies it holds, by name.
    pub cookies: BTreeMap<String, String>,
    /// The `Accept` header of every request (a browser's, for pages, by default).
    pub accept: &'static str,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            accept: "text/html,application/xhtml+xml",
        }
    }
}

impl HttpBrowser {
    /// A browser whose requests for each of `hosts` go to `addr` (as if DNS said so), so one app
    /// on a loopback port can be reached under several host names.
    pub fn resolving(hosts: &[&str], addr: std::net::SocketAddr) -> Self {
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        for h in hosts {
            http = http.resolve(h, addr);
        }
        Self {
            http: http.build().unwrap(),
            ..Self::default()
        }
    }

    /// A browser that trusts the certificates in `ca_pem` (a local tenant's CA, say) besides the
    /// built-in roots.
    pub fn trusting(ca_pem: &str) -> Self {
        let roots = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).unwrap();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .tls_certs_merge(roots)
                .build()
                .unwrap(),
            ..Self::default()
        }
    }

    /// A request with extra headers (e.g. `X-Forwarded-Host`).
    pub async fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, url).await
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Resp {
        let mut req = req.header("accept", self.accept);
        if !self.cookies.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        let resp = req.send().await.unwrap();
        let url = Url::parse(url).unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| url.join(l.to_str().unwrap()).unwrap());
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Resp {
            status,
            url,
            location,
            set_cookies,
            body,
        }
    }

    /// A `GET`.
    pub async fn get(&mut self, url: &str) -> Resp {
        let req = self.http.get(url);
        self.send(req, url).await
    }

    /// Any request, with extra headers and an optional body.
    pub async fn request(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        self.send(req, url).await
    }

    /// A `POST` of an HTML form.
    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Resp {
        let req = self.http.post(url).form(form);
        self.send(req, url).await
    }

    /// Whether it holds a session cookie (whole or chunked).
    pub fn has_session(&self) -> bool {
        self.cookies
            .keys()
            .any(|k| k == "__session" || k.starts_with("__session__"))
    }

    /// The names of the login transaction cookies it holds.
    pub fn txn_cookies(&self) -> Vec<String> {
        self.cookies
            .keys()
            .filter(|k| k.starts_with("__txn_"))
            .cloned()
            .collect()
    }

    /// `/auth/login` up to the provider's redirect back to the callback (not followed).
    pub async fn login_until_callback(
        &mut self,
        app: &TestApp,
        login_query: &str,
        user: (&str, &str),
    ) -> Resp {
        let start = self
            .get(&app.url(&format!(
                "{}?{login_query}",
                app.auth.config().routes().login
            )))
            .await;
        assert_eq!(start.status, 302, "{start:?}");
        assert!(
            start
                .location()
                .as_str()
                .starts_with(&format!("{}authorize", app.tenant.issuer()))
        );
        let mut hop = self.get(start.location().as_str()).await;
        if hop
            .location
            .as_ref()
            .is_some_and(|l| l.path() == "/u/login")
        {
            let page_url = hop.location().to_string();
            let page = self.get(&page_url).await;
            assert_eq!(page.status, 200, "{page:?}");
            let state = Url::parse(&page_url)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            hop = self
                .post_form(
                    &page_url,
                    &[
                        ("state", &state),
                        ("username", user.0),
                        ("password", user.1),
                    ],
                )
                .await;
        }
        assert_eq!(hop.status, 302, "{hop:?}");
        hop
    }

    /// Follows a step-up from the app's login URL `start` through the tenant's MFA page, typing
    /// `code` (computed when the page is reached); returns the tenant's answer to the code.
    pub async fn step_up_with(
        &mut self,
        app: &TestApp,
        start: &str,
        code: impl Fn(&TestApp) -> String,
    ) -> Resp {
        let login = self.get(start).await;
        assert_eq!(login.status, 302, "{login:?}");
        let mut hop = self.get(login.location().as_str()).await;
        if hop
            .location
            .as_ref()
            .is_some_and(|l| l.path() == "/u/login")
        {
            let page_url = hop.location().to_string();
            let state = Url::parse(&page_url)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .unwrap()
                .1
                .into_owned();
            hop = self
                .post_form(
                    &page_url,
                    &[
                        ("state", &state),
                        ("username", ALICE.0),
                        ("password", ALICE.1),
                    ],
                )
                .await;
        }
        assert_eq!(
            hop.location().path(),
            "/u/mfa",
            "the tenant asks for the second factor: {hop:?}"
        );
        let mfa_url = hop.location().to_string();
        let page = self.get(&mfa_url).await;
        assert!(
            page.body.contains("autocomplete=\"one-time-code\""),
            "{}",
            page.body
        );
        let state = Url::parse(&mfa_url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let post = app.tenant.base_url().join("/u/mfa").unwrap();
        self.post_form(
            post.as_str(),
            &[("state", &state), ("method", "otp"), ("code", &code(app))],
        )
        .await
    }

    /// A whole login; returns the callback's answer.
    pub async fn login(&mut self, app: &TestApp, login_query: &str) -> Resp {
        let back = self.login_until_callback(app, login_query, ALICE).await;
        assert!(
            back.location()
                .as_str()
                .starts_with(&app.url("/auth/callback")),
            "{back:?}"
        );
        self.get(back.location().as_str()).await
    }
}

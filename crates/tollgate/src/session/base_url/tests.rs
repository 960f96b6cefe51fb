use super::*;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

fn list(entries: &[&str]) -> Vec<AllowedBaseUrl> {
    entries
        .iter()
        .map(|e| AllowedBaseUrl::parse(e).unwrap())
        .collect()
}

fn preview() -> Vec<AllowedBaseUrl> {
    list(&[
        "https://app.example.com",
        "https://*.preview.example.com",
        "https://admin.example.com:8443",
        "http://localhost:3000",
    ])
}

/// The base URL for a request with these headers.
fn resolve_headers(
    allowed: &[AllowedBaseUrl],
    pairs: &[(&'static str, &str)],
) -> Result<String, BaseUrlError> {
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        headers.append(*k, HeaderValue::from_str(v).unwrap());
    }
    resolve(allowed, &RequestOrigin::from_headers(&headers)).map(|u| u.to_string())
}

fn host(h: &str) -> Result<String, BaseUrlError> {
    resolve(&preview(), &RequestOrigin::new(h)).map(|u| u.to_string())
}

fn not_allowed(r: Result<String, BaseUrlError>) -> bool {
    matches!(r, Err(BaseUrlError::NotAllowed { .. }))
}

fn malformed(r: Result<String, BaseUrlError>) -> bool {
    matches!(r, Err(BaseUrlError::MalformedHost { .. }))
}

#[test]
fn exact_origins_match_with_their_port_and_scheme() {
    assert_eq!(host("app.example.com").unwrap(), "https://app.example.com/");
    assert_eq!(
        host("app.example.com:443").unwrap(),
        "https://app.example.com/",
        "the default port is the same origin"
    );
    assert!(not_allowed(host("app.example.com:8443")));
    assert_eq!(
        host("admin.example.com:8443").unwrap(),
        "https://admin.example.com:8443/"
    );
    assert!(
        not_allowed(host("admin.example.com")),
        "the port is part of the origin"
    );
    assert_eq!(host("localhost:3000").unwrap(), "http://localhost:3000/");
    assert!(not_allowed(host("localhost:3001")));
    assert!(not_allowed(host("localhost")));
    assert!(not_allowed(host("example.com")));
    assert!(not_allowed(host("evil.example")));
    assert!(not_allowed(host("app.example.com.evil.example")));
    assert!(not_allowed(host("evilapp.example.com")));
}

#[test]
fn host_names_are_case_insensitive() {
    assert_eq!(host("APP.Example.COM").unwrap(), "https://app.example.com/");
    assert_eq!(
        host("PR-1.Preview.Example.com").unwrap(),
        "https://pr-1.preview.example.com/"
    );
    let upper = list(&["HTTPS://APP.EXAMPLE.COM"]);
    assert_eq!(
        resolve(&upper, &RequestOrigin::new("app.example.com"))
            .unwrap()
            .as_str(),
        "https://app.example.com/"
    );
}

#[test]
fn a_wildcard_stands_for_exactly_one_label() {
    assert_eq!(
        host("pr-42.preview.example.com").unwrap(),
        "https://pr-42.preview.example.com/"
    );
    assert!(
        not_allowed(host("preview.example.com")),
        "never the bare parent"
    );
    assert!(
        not_allowed(host("a.b.preview.example.com")),
        "never two labels"
    );
    assert!(not_allowed(host("pr-42preview.example.com")));
    assert!(not_allowed(host("pr-42.preview.example.com.evil.example")));
    assert!(
        not_allowed(host("pr-42.preview.example.com:8443")),
        "the port counts"
    );
    assert!(malformed(host(".preview.example.com")), "an empty label");
}

#[test]
fn forwarded_headers_win_and_only_their_first_value_counts() {
    let allowed = preview();
    assert_eq!(
        resolve_headers(
            &allowed,
            &[
                ("host", "internal:8080"),
                (
                    "x-forwarded-host",
                    "pr-1.preview.example.com, internal:8080"
                ),
                ("x-forwarded-proto", "https, http"),
            ]
        )
        .unwrap(),
        "https://pr-1.preview.example.com/"
    );
    assert!(
        not_allowed(resolve_headers(
            &allowed,
            &[
                ("host", "app.example.com"),
                ("x-forwarded-host", "evil.example, app.example.com"),
            ]
        )),
        "a forwarded host is checked like Host, and does not fall back"
    );
    assert_eq!(
        resolve_headers(
            &allowed,
            &[("host", "app.example.com"), ("x-forwarded-host", " , evil")]
        )
        .unwrap(),
        "https://app.example.com/",
        "an empty first value is no value"
    );
    assert_eq!(
        resolve_headers(&allowed, &[("host", "app.example.com, evil.example")]).unwrap(),
        "https://app.example.com/"
    );
    assert!(matches!(
        resolve_headers(&allowed, &[]),
        Err(BaseUrlError::MissingHost)
    ));
}

#[test]
fn the_scheme_comes_from_the_forwarded_proto_or_the_matching_entry() {
    let allowed = preview();
    assert!(
        not_allowed(resolve_headers(
            &allowed,
            &[("host", "app.example.com"), ("x-forwarded-proto", "http")]
        )),
        "http://app.example.com is not https://app.example.com"
    );
    assert_eq!(
        resolve_headers(
            &allowed,
            &[("host", "app.example.com"), ("x-forwarded-proto", "HTTPS")]
        )
        .unwrap(),
        "https://app.example.com/"
    );
    assert!(matches!(
        resolve_headers(
            &allowed,
            &[
                ("host", "app.example.com"),
                ("x-forwarded-proto", "javascript")
            ]
        ),
        Err(BaseUrlError::MalformedProto { .. })
    ));
    // No forwarded proto: the connection's scheme, when given, decides.
    let o = RequestOrigin::new("localhost:3000").with_scheme("https");
    assert!(matches!(
        resolve(&allowed, &o),
        Err(BaseUrlError::NotAllowed { .. })
    ));
    // Unknown: https first, then http.
    let both = list(&["https://localhost:3000", "http://localhost:3000"]);
    assert_eq!(
        resolve(&both, &RequestOrigin::new("localhost:3000"))
            .unwrap()
            .as_str(),
        "https://localhost:3000/"
    );
}

#[test]
fn malformed_hosts_are_refused_before_any_matching() {
    for bad in [
        "",
        "app.example.com@evil.example",
        "user@app.example.com",
        "app.example.com/evil",
        "app.example.com\\evil",
        "app.example.com?x",
        "app.example.com#x",
        "app example.com",
        " app.example.com x",
        "app.example.com.",
        "app..example.com",
        "app.example.com:",
        "app.example.com:0",
        "app.example.com:65536",
        "app.example.com:443:443",
        "app.example.com:+443",
        "app.example.com:abc",
        "*.preview.example.com",
        "app_1.example.com",
        "app.exämple.com",
        "[::1",
        "[not-v6]:3000",
        "%61pp.example.com",
    ] {
        let r = resolve(&preview(), &RequestOrigin::new(bad)).map(|u| u.to_string());
        assert!(malformed(r.clone()), "{bad:?} gave {r:?}");
    }
    let long = format!("{}.example.com", "a".repeat(300));
    assert!(malformed(host(&long)));
    // A non-UTF-8 header is no host.
    let mut headers = HeaderMap::new();
    headers.insert(
        "host",
        HeaderValue::from_bytes(b"app.example.com\xff").unwrap(),
    );
    assert!(matches!(
        resolve(&preview(), &RequestOrigin::from_headers(&headers)),
        Err(BaseUrlError::MalformedHost { .. })
    ));
    // The message shows at most 64 characters of what the client sent.
    let Err(BaseUrlError::MalformedHost { host }) = resolve(
        &preview(),
        &RequestOrigin::new(format!("{}@x", "a".repeat(200))),
    ) else {
        panic!("refused")
    };
    assert_eq!(host.len(), 64);
}

#[test]
fn ip_hosts_match_exactly_and_loopback_may_be_http() {
    let allowed = list(&["http://127.0.0.1:3000", "http://[::1]:3000"]);
    let r = |h: &str| resolve(&allowed, &RequestOrigin::new(h)).map(|u| u.to_string());
    assert_eq!(r("127.0.0.1:3000").unwrap(), "http://127.0.0.1:3000/");
    assert_eq!(r("[::1]:3000").unwrap(), "http://[::1]:3000/");
    assert_eq!(r("[0:0:0:0:0:0:0:1]:3000").unwrap(), "http://[::1]:3000/");
    assert!(matches!(
        r("127.0.0.2:3000"),
        Err(BaseUrlError::NotAllowed { .. })
    ));
    assert!(matches!(
        r("localhost:3000"),
        Err(BaseUrlError::NotAllowed { .. })
    ));
}

#[test]
fn request_origin_reads_the_uri_when_there_is_no_host_header() {
    let uri: http::Uri = "https://user@App.Example.com:443/auth/login"
        .parse()
        .unwrap();
    let o = RequestOrigin::from_parts(&HeaderMap::new(), &uri);
    assert_eq!(o.proto(), Some("https"));
    assert_eq!(
        resolve(&preview(), &o).unwrap().as_str(),
        "https://app.example.com/",
        "user info is ignored"
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("evil.example"));
    let o = RequestOrigin::from_parts(&headers, &uri);
    assert_eq!(
        o.host(),
        Some("evil.example"),
        "a Host header wins over the URI"
    );
}

#[test]
fn entries_are_origins_and_bad_ones_say_why() {
    for (bad, why) in [
        ("app.example.com", "no scheme"),
        ("ftp://app.example.com", "scheme"),
        ("https://app.example.com/app", "remove the path"),
        ("https://app.example.com/?x=1", "remove the path"),
        ("https://app.example.com#top", "remove the path"),
        ("https://user:pw@app.example.com", "user info"),
        ("https://*.com", "two labels"),
        ("https://*", "leftmost label"),
        ("https://*.*.example.com", "leftmost label"),
        ("https://app.*.example.com", "leftmost label"),
        ("https://a*.example.com", "leftmost label"),
        ("https://*.127.0.0.1", "IP address"),
        ("http://app.example.com", "must be https"),
        ("http://*.preview.example.com", "must be https"),
        ("http://10.0.0.1:3000", "must be https"),
        ("https://app.example.com:0", "not a valid host"),
        ("https://app.example.com:99999", "not a valid host"),
        ("https://", "not a valid host"),
        ("https://app example.com", "not a valid host"),
    ] {
        let err = AllowedBaseUrl::parse(bad).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidUrl {
                    name: "APP_BASE_URL",
                    ..
                }
            ),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    for good in [
        "https://app.example.com",
        "https://app.example.com/",
        "  https://app.example.com  ",
        "https://*.preview.example.com",
        "http://localhost:3000",
        "http://*.app.localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "https://10.0.0.1",
    ] {
        assert!(AllowedBaseUrl::parse(good).is_ok(), "{good}");
    }
    assert_eq!(
        AllowedBaseUrl::parse("HTTPS://App.Example.com:443/")
            .unwrap()
            .to_string(),
        "https://app.example.com"
    );
    assert_eq!(
        AllowedBaseUrl::parse("http://localhost:3000")
            .unwrap()
            .to_string(),
        "http://localhost:3000"
    );
}

proptest! {
    /// Whatever the client sends, an accepted origin is one the allow-list names, with a root path.
    #[test]
    fn only_allowed_origins_come_out(h in "[a-zA-Z0-9.:@/\\[\\]*%-]{0,40}", proto in "(https?|HTTP|x|)") {
        let mut o = RequestOrigin::new(h);
        if !proto.is_empty() {
            o = o.with_scheme(proto);
        }
        if let Ok(url) = resolve(&preview(), &o) {
            prop_assert_eq!(url.path(), "/");
            prop_assert!(url.username().is_empty() && url.password().is_none());
            let host = url.host().unwrap();
            let port = url.port_or_known_default().unwrap();
            let scheme = Scheme::parse(url.scheme()).unwrap();
            prop_assert!(preview().iter().any(|e| e.allows(scheme, &host, port)));
        }
    }

    #[test]
    fn wildcard_labels_match_one_label_only(label in "[a-z0-9-]{1,20}", deeper in "[a-z0-9-]{1,10}") {
        let one = format!("{label}.preview.example.com");
        prop_assert!(host(&one).is_ok());
        let two = format!("{deeper}.{label}.preview.example.com");
        prop_assert!(not_allowed(host(&two)));
    }
}

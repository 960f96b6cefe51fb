//! The tenant's front door: only its own host names are answered (DNS rebinding), the
//! development endpoints take same-origin posts only, and they can be turned off.

use crate::common::*;
use reqwest::{Client, StatusCode, header};
use tollgate_tenant::{RunningTenant, TenantConfig};

async fn get_as_host(tenant: &RunningTenant, path: &str, host: &str) -> reqwest::Response {
    Client::new()
        .get(url(tenant, path))
        .header(header::HOST, host)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rebinding_host_name_gets_421_and_reads_no_logs() {
    let tenant = start().await;
    let port = tenant.local_addr().port();
    for path in [
        "dev/logs.json",
        "dev/outbox.json",
        "authorize",
        ".well-known/jwks.json",
    ] {
        // What a page at http://attacker.example:PORT sends after its name rebinds to 127.0.0.1.
        let response = get_as_host(&tenant, path, &format!("attacker.example:{port}")).await;
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .starts_with("Misdirected Request")
        );
    }
    // Another port of this machine is another origin; a missing port is port 80.
    for host in [
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_owned(),
    ] {
        let response = get_as_host(&tenant, "dev/logs.json", &host).await;
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    // The loopback names of this machine on the same port cannot be rebound: accepted.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
    ] {
        let response = get_as_host(&tenant, "dev/logs.json", &host).await;
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn configured_aliases_are_answered() {
    let tenant = start_with(config().with_allowed_host("tenant.test")).await;
    let port = tenant.local_addr().port();
    let ok = get_as_host(&tenant, "dev/logs.json", &format!("tenant.test:{port}")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let other = get_as_host(&tenant, "dev/logs.json", &format!("other.test:{port}")).await;
    assert_eq!(other.status(), StatusCode::MISDIRECTED_REQUEST);
    // An alias is also an accepted Origin for the page posts.
    let response = Client::new()
        .post(url(&tenant, "dev/users/logout"))
        .header("origin", format!("http://tenant.test:{port}"))
        .form(&[("email", EMAIL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn dev_posts_must_prove_they_are_same_origin() {
    let tenant = start().await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = Client::new()
            .post(url(&tenant, "dev/users/logout"))
            .form(&[("email", EMAIL)]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        // A cross-site form: browsers send Origin (and Sec-Fetch-Site) with every POST.
        &[("origin", "http://attacker.example")][..],
        &[("sec-fetch-site", "cross-site")],
        // `null` is no proof of anything.
        &[("origin", "null")],
        // Neither header: not provably same-origin (curl must say so, see the README).
        &[],
    ] {
        let response = post(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(response.text().await.unwrap().contains("Request refused"));
    }
    let response = post(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = Client::new()
        .post(url(&tenant, "dev/users/logout"))
        .header("origin", origin(&tenant))
        .form(&[("email", EMAIL)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The push buttons too.
    let response = Client::new()
        .post(url(&tenant, "dev/outbox/push/msg_1/approve"))
        .header("origin", "http://attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_dev_pages_can_be_turned_off() {
    let tenant = start_with(config().with_dev_pages(false)).await;
    assert!(!tenant.config().dev_pages());
    let http = Client::new();
    for path in [
        "dev/logs",
        "dev/logs.json",
        "dev/outbox",
        "dev/outbox.json",
        "dev",
    ] {
        let response = http.get(url(&tenant, path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["dev/users/logout", "dev/outbox/push/msg_1/approve"] {
        let response = http
            .post(url(&tenant, path))
            .header("origin", origin(&tenant))
            .form(&[("email", EMAIL)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The rest of the tenant works as before.
    let http = browser();
    login_code(&http, &tenant).await;
}

#[test]
fn toml_sets_aliases_and_the_dev_pages_switch() {
    let config = TenantConfig::from_toml_str(
        "allowed_hosts = [\"tenant.test\", \"tenant.test:8443\"]\ndev_pages = false\n",
    )
    .unwrap();
    assert_eq!(config.allowed_hosts(), ["tenant.test", "tenant.test:8443"]);
    assert!(!config.dev_pages());
    assert!(TenantConfig::new().dev_pages(), "on by default");
    for bad in ["http://tenant.test", "tenant.test/path", "", "a b"] {
        let error = TenantConfig::from_toml_str(&format!("allowed_hosts = [{bad:?}]")).unwrap_err();
        assert!(error.to_string().contains("allowed host"), "{bad}: {error}");
    }
}

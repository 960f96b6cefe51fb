//! Application types in the configuration: Auth0's Management API field names, the older
//! `logout_urls` name, and the refusals (bad values, contradictory types and methods, origins
//! that are not origins), each naming the client and the field.

use crate::common::*;
use tollgate_tenant::{
    AppType, ClientConfig, ConfigError, Tenant, TenantConfig, TenantError, TokenEndpointAuthMethod,
};

fn client_toml(fields: &str) -> String {
    format!("[[clients]]\nclient_id = \"spa\"\n{fields}\n")
}

#[test]
fn management_api_field_names_parse() {
    let config = TenantConfig::from_toml_str(
        r#"
        [[clients]]
        client_id = "spa"
        app_type = "spa"
        token_endpoint_auth_method = "none"
        callbacks = ["http://127.0.0.1:5173/callback"]
        allowed_logout_urls = ["http://127.0.0.1:5173/"]
        web_origins = ["http://127.0.0.1:5173"]
        allowed_origins = ["https://app.example.com", "http://[::1]:8080"]

        [[clients]]
        client_id = "native"
        app_type = "native"

        [[clients]]
        client_id = "web"
        client_secret = "s"
        token_endpoint_auth_method = "client_secret_basic"
        logout_urls = ["http://127.0.0.1:3000/"]

        [[clients]]
        client_id = "m2m"
        app_type = "non_interactive"
        client_secret = "s"
        "#,
    )
    .expect("valid TOML");
    let spa = &config.clients()[0];
    assert_eq!(spa.app_type(), AppType::Spa);
    assert_eq!(
        spa.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::None
    );
    assert!(spa.is_public());
    assert_eq!(spa.client_secret(), "");
    assert_eq!(spa.logout_urls(), ["http://127.0.0.1:5173/"]);
    assert_eq!(spa.web_origins(), ["http://127.0.0.1:5173"]);
    assert!(spa.allows_origin("http://[::1]:8080"));
    assert!(spa.allows_origin("http://127.0.0.1:5173"));
    assert!(!spa.allows_origin("http://127.0.0.1:5174"));
    // A native app is public by default.
    let native = &config.clients()[1];
    assert!(native.is_public());
    assert_eq!(native.app_type().as_str(), "native");
    // The older field name still reads; the method defaults per type.
    let web = &config.clients()[2];
    assert_eq!(web.logout_urls(), ["http://127.0.0.1:3000/"]);
    assert_eq!(
        web.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::ClientSecretBasic
    );
    assert_eq!(
        config.clients()[3].token_endpoint_auth_method(),
        TokenEndpointAuthMethod::ClientSecretPost
    );
}

#[test]
fn unknown_values_and_doubled_names_are_refused() {
    let cases = [
        ("app_type = \"spa_app\"", "unknown variant `spa_app`"),
        (
            "token_endpoint_auth_method = \"client_secret_jwt\"",
            "unknown variant `client_secret_jwt`",
        ),
        (
            "client_secret = \"s\"\nlogout_urls = [\"http://a/\"]\nallowed_logout_urls = [\"http://b/\"]",
            "duplicate field `allowed_logout_urls`",
        ),
        ("web_origins = \"http://a\"", "invalid type"),
    ];
    for (fields, expected) in cases {
        let toml = client_toml(fields);
        let error = TenantConfig::from_toml_str(&toml).expect_err(&toml);
        assert!(matches!(error, ConfigError::Parse(_)), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(expected), "{toml}: {message}");
    }
    // The valid names are listed in the message.
    let error = TenantConfig::from_toml_str(&client_toml("app_type = \"web\"")).unwrap_err();
    let message = error.to_string();
    for name in ["regular_web", "spa", "native", "non_interactive"] {
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn contradictory_types_methods_and_secrets_are_refused() {
    let cases = [
        (
            "app_type = \"spa\"\nclient_secret = \"s\"\ntoken_endpoint_auth_method = \"client_secret_basic\"",
            "token_endpoint_auth_method",
            "a spa application is a public client",
        ),
        (
            "app_type = \"native\"\ntoken_endpoint_auth_method = \"private_key_jwt\"",
            "token_endpoint_auth_method",
            "a native application is a public client",
        ),
        (
            "app_type = \"spa\"\nclient_secret = \"s\"",
            "client_secret",
            "is set, but token_endpoint_auth_method is \"none\"",
        ),
        (
            "client_secret = \"s\"\ntoken_endpoint_auth_method = \"none\"",
            "client_secret",
            "remove the secret",
        ),
        (
            "",
            "client_secret",
            "is missing, but token_endpoint_auth_method is \"client_secret_post\"",
        ),
        (
            "token_endpoint_auth_method = \"client_secret_basic\"",
            "client_secret",
            "is missing",
        ),
        (
            "token_endpoint_auth_method = \"private_key_jwt\"",
            "client_assertion_public_key",
            "is missing",
        ),
        (
            "app_type = \"non_interactive\"\ntoken_endpoint_auth_method = \"none\"",
            "token_endpoint_auth_method",
            "must authenticate",
        ),
        (
            "app_type = \"spa\"\nrefresh_token_rotation = false",
            "refresh_token_rotation",
            "must rotate",
        ),
    ];
    for (fields, field_name, reason) in cases {
        let toml = client_toml(fields);
        let error = TenantConfig::from_toml_str(&toml).expect_err(&toml);
        match &error {
            ConfigError::InvalidClient {
                client_id, field, ..
            } => {
                assert_eq!(client_id, "spa");
                assert_eq!(*field, field_name, "{toml}");
            }
            other => panic!("{toml}: {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("client \"spa\": {field_name} ")),
            "{message}"
        );
        assert!(message.contains(reason), "{toml}: {message}");
    }
}

#[test]
fn origins_must_be_bare_origins() {
    for field in ["web_origins", "allowed_origins"] {
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/path",
            "app.example.com",
            "https://*.example.com",
            "https://App.example.com",
            "https://app.example.com:443",
            "ftp://app.example.com",
            "null",
            "",
        ] {
            let toml = client_toml(&format!("app_type = \"spa\"\n{field} = [\"{bad}\"]"));
            let error = TenantConfig::from_toml_str(&toml).expect_err(&toml);
            assert!(
                matches!(
                    &error,
                    ConfigError::InvalidOrigin { client_id, field: f, origin }
                        if client_id == "spa" && f == &field && origin == bad
                ),
                "{toml}: {error:?}"
            );
            let message = error.to_string();
            assert!(message.contains(field), "{message}");
            assert!(message.contains("scheme://host[:port]"), "{message}");
        }
    }
}

#[tokio::test]
async fn the_builder_is_validated_when_the_tenant_starts() {
    let started = Tenant::start(
        TenantConfig::new()
            .with_client(ClientConfig::public("spa").with_web_origin("http://127.0.0.1:5173/app")),
        "127.0.0.1:0",
    )
    .await;
    assert!(
        matches!(
            &started,
            Err(TenantError::Config(ConfigError::InvalidOrigin { origin, .. }))
                if origin == "http://127.0.0.1:5173/app"
        ),
        "{started:?}"
    );
    let started = Tenant::start(
        TenantConfig::new().with_client(
            ClientConfig::new("web", "secret")
                .with_token_endpoint_auth_method(TokenEndpointAuthMethod::None),
        ),
        "127.0.0.1:0",
    )
    .await;
    assert!(
        matches!(
            &started,
            Err(TenantError::Config(ConfigError::InvalidClient {
                field: "client_secret",
                ..
            }))
        ),
        "{started:?}"
    );
    // A valid public client starts.
    let tenant = start_with(
        TenantConfig::new().with_client(ClientConfig::public("spa").with_callback(CALLBACK)),
    )
    .await;
    assert!(
        tenant
            .config()
            .clients()
            .iter()
            .all(ClientConfig::is_public)
    );
}

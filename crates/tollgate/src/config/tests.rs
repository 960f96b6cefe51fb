use super::*;
use crate::session::base_url::RequestOrigin;

fn vars(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    ConfigBuilder::from_vars(|n| {
        pairs
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| (*v).to_owned())
    })?
    .build()
}

const GOOD: &[(&str, &str)] = &[
    ("AUTH0_DOMAIN", "example.eu.auth0.com"),
    ("AUTH0_CLIENT_ID", "client"),
    ("AUTH0_CLIENT_SECRET", "client-secret"),
    (
        "AUTH0_SECRET",
        "0123456789abcdef0123456789abcdef0123456789abcdef",
    ),
    ("APP_BASE_URL", "https://app.example.com"),
];

fn with(overrides: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = GOOD
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .copied()
        .collect();
    v.extend(overrides.iter().filter(|(_, val)| !val.is_empty()).copied());
    v
}

#[test]
fn good_config_has_secure_defaults() {
    let c = vars(GOOD).unwrap();
    assert_eq!(c.issuer().as_str(), "https://example.eu.auth0.com/");
    assert_eq!(c.scope, DEFAULT_SCOPE);
    assert!(
        c.session.cookie.secure,
        "https base URL makes cookies Secure"
    );
    assert_eq!(c.session.cookie.same_site, SameSite::Lax);
    assert!(c.session.rolling);
    assert_eq!(c.session.inactivity_duration.as_secs(), 86_400);
    assert_eq!(c.session.absolute_duration.as_secs(), 259_200);
    assert_eq!(c.transaction.max_age.as_secs(), 3600);
    assert_eq!(
        c.redirect_uri().as_str(),
        "https://app.example.com/auth/callback"
    );
    assert_eq!(
        c.id_token_algorithms,
        crate::oidc::id_token::algorithms::AlgorithmPolicy::Discovery
    );
}

#[test]
fn each_missing_variable_is_named() {
    for name in [
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "AUTH0_SECRET",
        "APP_BASE_URL",
    ] {
        let v: Vec<_> = GOOD.iter().filter(|(k, _)| *k != name).copied().collect();
        let err = vars(&v).unwrap_err();
        assert!(
            matches!(err, ConfigError::Missing { name: n, .. } if n == name),
            "{err}"
        );
        assert!(err.to_string().starts_with(name), "{err}");
    }
}

#[test]
fn short_secret_is_refused_with_the_fix() {
    let err = vars(&with(&[("AUTH0_SECRET", "too-short")])).unwrap_err();
    assert_eq!(err, ConfigError::SecretTooShort { index: 0, len: 9 });
    assert!(err.to_string().contains("openssl rand -hex 32"));
    let err = vars(&with(&[(
        "AUTH0_SECRET",
        "0123456789abcdef0123456789abcdef,short",
    )]))
    .unwrap_err();
    assert_eq!(err, ConfigError::SecretTooShort { index: 1, len: 5 });
}

#[test]
fn several_secrets_are_kept_in_order() {
    let c = vars(&with(&[(
        "AUTH0_SECRET",
        "new-new-new-new-new-new-new-new-new, old-old-old-old-old-old-old-old-old",
    )]))
    .unwrap();
    assert_eq!(c.secrets.len(), 2);
    assert!(c.secrets[0].expose().starts_with("new"));
}

#[test]
fn base_url_needs_a_scheme() {
    let err = vars(&with(&[("APP_BASE_URL", "app.example.com")])).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidUrl {
            name: "APP_BASE_URL",
            ..
        }
    ));
    assert!(err.to_string().contains("no scheme"), "{err}");
    assert!(vars(&with(&[("APP_BASE_URL", "ftp://app.example.com")])).is_err());
}

#[test]
fn plain_http_provider_needs_the_insecure_switch_and_loopback() {
    let err = vars(&with(&[("AUTH0_DOMAIN", "http://127.0.0.1:4000")])).unwrap_err();
    assert!(matches!(err, ConfigError::InsecureIssuer { .. }));
    let ok = vars(&with(&[
        ("AUTH0_DOMAIN", "http://127.0.0.1:4000"),
        ("TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER", "true"),
    ]))
    .unwrap();
    assert_eq!(ok.issuer().as_str(), "http://127.0.0.1:4000/");
    let err = vars(&with(&[
        ("AUTH0_DOMAIN", "http://auth.example.com"),
        ("TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER", "true"),
    ]))
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::InsecureRemoteIssuer { .. }),
        "only loopback may be http"
    );
    assert!(
        !err.to_string().contains("turn on"),
        "the switch is already on, so the fix is https: {err}"
    );
}

#[test]
fn a_configuration_error_debugs_as_its_sentence() {
    let err = vars(&with(&[("AUTH0_DOMAIN", "http://127.0.0.1:4000")])).unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(format!("{err:?}").contains("TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER=true"));
}

#[test]
fn cookie_settings_are_validated() {
    let err = vars(&with(&[("AUTH0_COOKIE_SECURE", "false")])).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidValue {
            name: "AUTH0_COOKIE_SECURE",
            ..
        }
    ));
    let err = vars(&with(&[("AUTH0_COOKIE_SAME_SITE", "sometimes")])).unwrap_err();
    assert!(err.to_string().contains("AUTH0_COOKIE_SAME_SITE"));
    let err = vars(&with(&[
        ("APP_BASE_URL", "http://127.0.0.1:3000"),
        ("AUTH0_COOKIE_SAME_SITE", "none"),
    ]))
    .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidValue {
            name: "AUTH0_COOKIE_SAME_SITE",
            ..
        }
    ));
    let c = vars(&with(&[
        ("AUTH0_COOKIE_SAME_SITE", "strict"),
        ("AUTH0_COOKIE_PATH", "/app"),
        ("AUTH0_COOKIE_DOMAIN", "example.com"),
        ("AUTH0_COOKIE_TRANSIENT", "true"),
        ("AUTH0_SESSION_INACTIVITY_DURATION", "600"),
        ("AUTH0_SESSION_ROLLING", "false"),
    ]))
    .unwrap();
    assert_eq!(c.session.cookie.same_site, SameSite::Strict);
    assert_eq!(c.session.cookie.path, "/app");
    assert_eq!(c.session.cookie.domain.as_deref(), Some("example.com"));
    assert!(c.session.transient);
    assert!(!c.session.rolling);
    assert_eq!(c.session.inactivity_duration.as_secs(), 600);
    let err = vars(&with(&[("AUTH0_SESSION_ABSOLUTE_DURATION", "-5")])).unwrap_err();
    assert!(err.to_string().contains("AUTH0_SESSION_ABSOLUTE_DURATION"));
}

#[test]
fn openid_is_always_in_the_scope_and_protected_params_are_refused() {
    let c = vars(&with(&[("AUTH0_SCOPE", "profile email")])).unwrap();
    assert_eq!(c.scope, "openid profile email");
    let err = Config::builder()
        .domain("example.auth0.com")
        .client_id("c")
        .client_secret("s")
        .secret("0123456789abcdef0123456789abcdef")
        .app_base_url("https://app.example.com")
        .authorization_param("redirect_uri", "https://evil.example")
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidValue {
            name: "authorization_param",
            ..
        }
    ));
}

#[test]
fn dpop_keys_and_options_come_from_the_environment() {
    let key = crate::DpopKey::generate();
    let private = key.private_key_pem().to_string();
    let public = key.public_key_pem();
    let owned = |extra: Vec<(&'static str, String)>| -> Result<Config, ConfigError> {
        let mut pairs: Vec<(String, String)> = GOOD
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        pairs.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        ConfigBuilder::from_vars(|n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))?
            .build()
    };
    assert!(
        vars(GOOD).unwrap().dpop_key().is_none(),
        "DPoP is off by default"
    );
    let c = owned(vec![
        ("AUTH0_DPOP_PRIVATE_KEY", private.clone()),
        ("AUTH0_DPOP_PUBLIC_KEY", public.clone()),
        ("AUTH0_DPOP_CLOCK_SKEW", "-30".into()),
        ("AUTH0_DPOP_CLOCK_TOLERANCE", "90".into()),
        ("AUTH0_RETRY_DELAY", "250".into()),
        ("AUTH0_RETRY_JITTER", "false".into()),
    ])
    .unwrap();
    assert_eq!(c.dpop_key().unwrap().thumbprint(), key.thumbprint());
    let (_, opts) = c.dpop.as_ref().unwrap();
    assert_eq!(opts.clock_skew, -30);
    assert_eq!(opts.retry_delay, Duration::from_millis(250));
    assert!(!opts.retry_jitter);
    assert_eq!(c.clock_tolerance, Duration::from_secs(90));

    let err = owned(vec![("AUTH0_DPOP_PRIVATE_KEY", private.clone())]).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                name: "AUTH0_DPOP_PUBLIC_KEY",
                ..
            }
        ),
        "{err}"
    );
    let err = owned(vec![("AUTH0_DPOP_PUBLIC_KEY", public.clone())]).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                name: "AUTH0_DPOP_PRIVATE_KEY",
                ..
            }
        ),
        "{err}"
    );
    let other = crate::DpopKey::generate().public_key_pem();
    let err = owned(vec![
        ("AUTH0_DPOP_PRIVATE_KEY", private.clone()),
        ("AUTH0_DPOP_PUBLIC_KEY", other),
    ])
    .unwrap_err();
    assert_eq!(err, ConfigError::DpopKey(crate::DpopKeyError::KeyMismatch));
    assert!(!err.to_string().contains(private.lines().nth(1).unwrap()));
    let err = owned(vec![
        (
            "AUTH0_DPOP_PRIVATE_KEY",
            "-----BEGIN PRIVATE KEY-----\nxx".into(),
        ),
        ("AUTH0_DPOP_PUBLIC_KEY", public),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::DpopKey(crate::DpopKeyError::InvalidPrivateKey)
    );
    let err = owned(vec![("AUTH0_DPOP_CLOCK_TOLERANCE", "301".into())]).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidValue {
                name: "AUTH0_DPOP_CLOCK_TOLERANCE",
                ..
            }
        ),
        "{err}"
    );
    let err = owned(vec![("AUTH0_DPOP_CLOCK_SKEW", "soon".into())]).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidValue {
            name: "AUTH0_DPOP_CLOCK_SKEW",
            ..
        }
    ));

    // In code: use_dpop generates a key when none is given.
    let generated = ConfigBuilder::from_vars(|n| {
        GOOD.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
    .use_dpop(true)
    .build()
    .unwrap();
    assert!(generated.dpop_key().is_some());
}

fn builder() -> ConfigBuilder {
    Config::builder()
        .domain("example.auth0.com")
        .client_id("c")
        .client_secret("s")
        .secret("0123456789abcdef0123456789abcdef")
}

#[test]
fn a_comma_separated_app_base_url_is_an_allow_list() {
    let c = vars(&with(&[(
        "APP_BASE_URL",
        " https://app.example.com , https://*.preview.example.com,,http://localhost:3000 ",
    )]))
    .unwrap();
    assert!(c.has_dynamic_base_url());
    let shown: Vec<String> = c
        .allowed_base_urls()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "https://app.example.com",
            "https://*.preview.example.com",
            "http://localhost:3000"
        ]
    );
    assert!(
        c.session.cookie.secure,
        "an https entry makes cookies Secure"
    );
    let here = RequestOrigin::new("pr-9.preview.example.com");
    assert_eq!(
        c.redirect_uri_for(&here).unwrap().as_str(),
        "https://pr-9.preview.example.com/auth/callback"
    );
    assert_eq!(
        c.base_url_for(&RequestOrigin::default()),
        Err(BaseUrlError::MissingHost),
        "no host, no base URL"
    );
    // A single wildcard is a list of one.
    let c = vars(&with(&[("APP_BASE_URL", "https://*.preview.example.com")])).unwrap();
    assert!(c.has_dynamic_base_url());
    // A single URL stays static, whatever the request says.
    let c = vars(GOOD).unwrap();
    assert!(!c.has_dynamic_base_url());
    assert_eq!(
        c.resolve_app_base_url(&RequestOrigin::new("evil.example"))
            .unwrap()
            .as_str(),
        "https://app.example.com/"
    );
    assert_eq!(
        c.base_url_for(&RequestOrigin::default()).unwrap().as_str(),
        "https://app.example.com/"
    );
}

#[test]
fn a_bad_allow_list_entry_is_named() {
    for (value, why) in [
        ("https://app.example.com,app.example.com", "no scheme"),
        (
            "https://app.example.com,https://b.example.com/app",
            "remove the path",
        ),
        (
            "https://app.example.com,http://b.example.com",
            "must be https",
        ),
        ("https://*.com,https://app.example.com", "two labels"),
    ] {
        let pairs = with(&[("APP_BASE_URL", value)]);
        let err = vars(&pairs).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidUrl {
                    name: "APP_BASE_URL",
                    ..
                }
            ),
            "{value}: {err}"
        );
        assert!(err.to_string().contains(why), "{value}: {err}");
    }
    let err = builder()
        .app_base_urls(Vec::<String>::new())
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Missing {
            name: "APP_BASE_URL",
            ..
        }
    ));
}

#[test]
fn an_https_allow_list_cannot_turn_secure_cookies_off() {
    let err = vars(&with(&[
        (
            "APP_BASE_URL",
            "https://a.example.com,https://b.example.com",
        ),
        ("AUTH0_COOKIE_SECURE", "false"),
    ]))
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidValue {
                name: "AUTH0_COOKIE_SECURE",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("must be Secure"), "{err}");
    let err = builder()
        .app_base_urls(["http://localhost:3000", "https://app.example.com"])
        .cookie_secure(false)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidValue {
            name: "AUTH0_COOKIE_SECURE",
            ..
        }
    ));
    // Loopback-only development lists may use plain http and non-Secure cookies.
    let dev = builder()
        .app_base_urls(["http://localhost:3000", "http://127.0.0.1:3000"])
        .build()
        .unwrap();
    assert!(!dev.session.cookie.secure);
    let dev = builder()
        .app_base_urls(["http://localhost:3000"])
        .cookie_secure(false)
        .build()
        .unwrap();
    assert!(!dev.session.cookie.secure);
}

#[test]
fn the_last_base_url_setter_wins() {
    let c = builder()
        .app_base_urls(["https://a.example.com", "https://b.example.com"])
        .app_base_url("https://app.example.com")
        .build()
        .unwrap();
    assert!(!c.has_dynamic_base_url());
    assert_eq!(c.app_base_url().as_str(), "https://app.example.com/");
    let c = builder()
        .app_base_url("https://app.example.com")
        .app_base_urls(["https://a.example.com", "https://b.example.com"])
        .build()
        .unwrap();
    assert!(c.has_dynamic_base_url());
    assert_eq!(c.app_base_url().as_str(), "https://a.example.com/");
}

#[test]
fn the_login_query_allow_list_has_no_audience_or_scope_by_default() {
    let c = vars(GOOD).unwrap();
    assert_eq!(c.login_query_params(), crate::DEFAULT_LOGIN_QUERY_PARAMS);
    assert!(
        !c.login_query_params()
            .iter()
            .any(|p| p == "audience" || p == "scope")
    );
    let listed = vars(&with(&[(
        "TOLLGATE_LOGIN_QUERY_PARAMS",
        " audience, scope ,,prompt",
    )]))
    .unwrap();
    assert_eq!(listed.login_query_params(), ["audience", "scope", "prompt"]);
    let none = vars(&with(&[("TOLLGATE_LOGIN_QUERY_PARAMS", ",")])).unwrap();
    assert!(none.login_query_params().is_empty());
}

#[test]
fn the_login_query_allow_list_cannot_name_what_the_sdk_sets() {
    for bad in ["state", "redirect_uri", "client_id", "nonce", "request_uri"] {
        let list = format!("prompt,{bad}");
        let err = ConfigBuilder::from_vars(|n| {
            with(&[])
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| (n == "TOLLGATE_LOGIN_QUERY_PARAMS").then(|| list.clone()))
        })
        .unwrap()
        .build()
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidValue { value, .. } if value == bad),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("TOLLGATE_LOGIN_QUERY_PARAMS"));
    }
}

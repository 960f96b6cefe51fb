//! Reading the configuration from environment variables with Auth0's names.

use std::time::Duration;

use super::ConfigBuilder;
use crate::error::ConfigError;
use crate::session::cookies::SameSite;

impl ConfigBuilder {
    /// A builder pre-filled from the environment, so code can override single values.
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `AUTH0_DOMAIN` | tenant domain or issuer URL |
    /// | `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET` | the application's credentials |
    /// | `AUTH0_SECRET` | cookie secret(s), comma-separated: the first seals, all unseal |
    /// | `APP_BASE_URL` | the application's URL, or a comma-separated allow-list of them (see [`app_base_urls`](Self::app_base_urls)) |
    /// | `AUTH0_SCOPE`, `AUTH0_AUDIENCE` | login scope and API audience |
    /// | `TOLLGATE_SESSION_STORE`, `TOLLGATE_SESSION_STORE_PREFIX` | not read here: the session store, read by [`StoreChoice::from_env`](crate::store::StoreChoice::from_env) (`cookie`, `memory`, `redis://…`) |
    /// | `TOLLGATE_LOGIN_QUERY_PARAMS` | comma-separated parameters the login route takes from its URL (default `acr_values,max_age,prompt,login_hint,screen_hint,ui_locales`; empty: none) |
    /// | `AUTH0_COOKIE_NAME`, `AUTH0_COOKIE_PATH`, `AUTH0_COOKIE_DOMAIN` | cookie name and attributes |
    /// | `AUTH0_COOKIE_SECURE`, `AUTH0_COOKIE_TRANSIENT` | `true` / `false` |
    /// | `AUTH0_COOKIE_SAME_SITE` | `lax`, `strict` or `none` |
    /// | `AUTH0_SESSION_ROLLING` | `true` / `false` |
    /// | `AUTH0_SESSION_INACTIVITY_DURATION`, `AUTH0_SESSION_ABSOLUTE_DURATION` | seconds |
    /// | `AUTH0_MFA_TOKEN_TTL` | lifetime of the sealed `mfa_token`, seconds (default 300) |
    /// | `AUTH0_TOKEN_REFRESH_BUFFER` | refresh access tokens this many seconds early (default 0) |
    /// | `AUTH0_TOKEN_ENDPOINT_AUTH_METHOD` | `client_secret_post` (default) or `client_secret_basic` |
    /// | `AUTH0_PUSHED_AUTHORIZATION_REQUESTS` | `true` sends logins through PAR (RFC 9126) |
    /// | `AUTH0_CLIENT_ASSERTION_SIGNING_KEY` | P-256 private key PEM: `private_key_jwt` instead of a client secret |
    /// | `AUTH0_CLIENT_ASSERTION_SIGNING_ALG` | `ES256` (the only one: no RSA private-key operations) |
    /// | `AUTH0_LOGOUT_STRATEGY` | `auto`, `oidc` or `v2` |
    /// | `AUTH0_INCLUDE_ID_TOKEN_HINT` | `true` / `false` |
    /// | `AUTH0_LOGOUT_VIA_GET` | `false` makes `GET /auth/logout` answer 405 (sign out with a same-origin `POST`) |
    /// | `AUTH0_ID_TOKEN_SIGNING_ALGS` | comma-separated ID token algorithms to pin, e.g. `ES256,RS256` (default: discovery's, within a safe list) |
    /// | `TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER` | `true` allows an `http://127.0.0.1…` issuer |
    /// | `AUTH0_DPOP_PRIVATE_KEY`, `AUTH0_DPOP_PUBLIC_KEY` | DPoP key pair, PEM (PKCS#8 and SPKI); both or neither. Setting them turns DPoP on |
    /// | `AUTH0_DPOP_CLOCK_SKEW` | seconds added to a proof's `iat` (may be negative; default 0) |
    /// | `AUTH0_DPOP_CLOCK_TOLERANCE` | seconds, at most 300 (see [`DpopOptions::clock_tolerance`](crate::DpopOptions::clock_tolerance)) |
    /// | `AUTH0_RETRY_DELAY`, `AUTH0_RETRY_JITTER` | wait before the DPoP nonce retry, milliseconds (default 100), and its jitter (`true`) |
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get` (handy in tests).
    ///
    /// ```
    /// let vars = [("AUTH0_DOMAIN", "example.auth0.com"), ("AUTH0_COOKIE_SECURE", "maybe")];
    /// let err = tollgate::ConfigBuilder::from_vars(|n| {
    ///     vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    /// })
    /// .unwrap_err();
    /// assert!(err.to_string().contains("AUTH0_COOKIE_SECURE"));
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut b = Self::default();
        if let Some(v) = get("AUTH0_DOMAIN") {
            b = b.domain(v);
        }
        if let Some(v) = get("AUTH0_CLIENT_ID") {
            b = b.client_id(v);
        }
        if let Some(v) = get("AUTH0_CLIENT_SECRET") {
            b = b.client_secret(v);
        }
        if let Some(v) = get("AUTH0_SECRET") {
            b = b.secret(v);
        }
        if let Some(v) = get("APP_BASE_URL") {
            // A comma or a wildcard makes it an allow-list (see `app_base_urls`).
            if v.contains([',', '*']) {
                b = b.app_base_urls(v.split(',').map(str::trim).filter(|e| !e.is_empty()));
            } else {
                b = b.app_base_url(v);
            }
        }
        if let Some(v) = get("AUTH0_SCOPE") {
            b = b.scope(v);
        }
        if let Some(v) = get("AUTH0_AUDIENCE") {
            b = b.audience(v);
        }
        if let Some(v) = get("TOLLGATE_LOGIN_QUERY_PARAMS") {
            b = b.login_query_params(
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
        if let Some(v) = get("AUTH0_COOKIE_NAME") {
            b = b.cookie_name(v);
        }
        if let Some(v) = get("AUTH0_COOKIE_PATH") {
            b = b.cookie_path(v);
        }
        if let Some(v) = get("AUTH0_COOKIE_DOMAIN") {
            b = b.cookie_domain(v);
        }
        if let Some(v) = get("AUTH0_COOKIE_SECURE") {
            b = b.cookie_secure(bool_var("AUTH0_COOKIE_SECURE", &v)?);
        }
        if let Some(v) = get("AUTH0_COOKIE_TRANSIENT") {
            b = b.transient_cookie(bool_var("AUTH0_COOKIE_TRANSIENT", &v)?);
        }
        if let Some(v) = get("AUTH0_COOKIE_SAME_SITE") {
            let s = SameSite::parse(v.trim()).ok_or(ConfigError::InvalidValue {
                name: "AUTH0_COOKIE_SAME_SITE",
                value: v.clone(),
                expected: "lax, strict or none",
            })?;
            b = b.cookie_same_site(s);
        }
        if let Some(v) = get("AUTH0_SESSION_ROLLING") {
            b = b.rolling_sessions(bool_var("AUTH0_SESSION_ROLLING", &v)?);
        }
        if let Some(v) = get("AUTH0_SESSION_INACTIVITY_DURATION") {
            b = b.inactivity_duration(seconds_var("AUTH0_SESSION_INACTIVITY_DURATION", &v)?);
        }
        if let Some(v) = get("AUTH0_SESSION_ABSOLUTE_DURATION") {
            b = b.absolute_duration(seconds_var("AUTH0_SESSION_ABSOLUTE_DURATION", &v)?);
        }
        if let Some(v) = get("AUTH0_MFA_TOKEN_TTL") {
            b = b.mfa_token_ttl(seconds_var("AUTH0_MFA_TOKEN_TTL", &v)?);
        }
        if let Some(v) = get("AUTH0_TOKEN_REFRESH_BUFFER") {
            let secs = v
                .trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::InvalidValue {
                    name: "AUTH0_TOKEN_REFRESH_BUFFER",
                    value: v.clone(),
                    expected: "a whole number of seconds",
                })?;
            b = b.token_refresh_buffer(Duration::from_secs(secs));
        }
        if let Some(alg) = get("AUTH0_CLIENT_ASSERTION_SIGNING_ALG")
            && alg.trim() != "ES256"
        {
            return Err(ConfigError::InvalidValue {
                name: "AUTH0_CLIENT_ASSERTION_SIGNING_ALG",
                value: alg,
                expected: "ES256 (Tollgate signs client assertions with P-256 keys only)",
            });
        }
        if let Some(pem) = get("AUTH0_CLIENT_ASSERTION_SIGNING_KEY") {
            let key = crate::ClientAssertionKey::from_pem(&pem).map_err(|_| {
                ConfigError::InvalidValue {
                    name: "AUTH0_CLIENT_ASSERTION_SIGNING_KEY",
                    value: "[redacted]".into(),
                    expected: "a P-256 private key in PEM (PKCS#8 or SEC1)",
                }
            })?;
            b = b.client_assertion_key(key);
        }
        if let Some(v) = get("AUTH0_PUSHED_AUTHORIZATION_REQUESTS") {
            b = b.pushed_authorization_requests(bool_var(
                "AUTH0_PUSHED_AUTHORIZATION_REQUESTS",
                &v,
            )?);
        }
        if let Some(v) = get("AUTH0_TOKEN_ENDPOINT_AUTH_METHOD") {
            match v.trim() {
                "client_secret_post" => {}
                "client_secret_basic" => b = b.use_client_secret_basic(),
                _ => {
                    return Err(ConfigError::InvalidValue {
                        name: "AUTH0_TOKEN_ENDPOINT_AUTH_METHOD",
                        value: v,
                        expected: "client_secret_post or client_secret_basic",
                    });
                }
            }
        }
        if let Some(v) = get("AUTH0_LOGOUT_STRATEGY") {
            let s = match v.trim() {
                "auto" => super::LogoutStrategy::Auto,
                "oidc" => super::LogoutStrategy::Oidc,
                "v2" => super::LogoutStrategy::V2,
                _ => {
                    return Err(ConfigError::InvalidValue {
                        name: "AUTH0_LOGOUT_STRATEGY",
                        value: v,
                        expected: "auto, oidc or v2",
                    });
                }
            };
            b = b.logout_strategy(s);
        }
        if let Some(v) = get("AUTH0_INCLUDE_ID_TOKEN_HINT") {
            b = b.id_token_hint_on_logout(bool_var("AUTH0_INCLUDE_ID_TOKEN_HINT", &v)?);
        }
        b = dpop_vars(b, &get)?;
        b = hardening_vars(b, &get)?;
        let insecure = "TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER";
        if get(insecure).map(|v| bool_var(insecure, &v)).transpose()? == Some(true) {
            b = b.insecure_allow_http_loopback_issuer();
        }
        Ok(b)
    }
}

/// The DPoP key pair and options.
fn dpop_vars(
    mut b: ConfigBuilder,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ConfigBuilder, ConfigError> {
    match (get("AUTH0_DPOP_PRIVATE_KEY"), get("AUTH0_DPOP_PUBLIC_KEY")) {
        (Some(private), Some(public)) => {
            let key = crate::oidc::dpop::DpopKey::from_pem(&private, &public)
                .map_err(ConfigError::DpopKey)?;
            b = b.dpop(key);
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(ConfigError::Missing {
                name: "AUTH0_DPOP_PUBLIC_KEY",
                hint: "AUTH0_DPOP_PRIVATE_KEY is set; set its public half too (`openssl pkey -pubout`)",
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Missing {
                name: "AUTH0_DPOP_PRIVATE_KEY",
                hint: "AUTH0_DPOP_PUBLIC_KEY is set; set the private key it belongs to",
            });
        }
    }
    let mut options = b.dpop_options;
    if let Some(v) = get("AUTH0_DPOP_CLOCK_SKEW") {
        options = options.clock_skew(v.trim().parse::<i64>().map_err(|_| {
            ConfigError::InvalidValue {
                name: "AUTH0_DPOP_CLOCK_SKEW",
                value: v.clone(),
                expected: "a whole number of seconds (negative when this server's clock is ahead)",
            }
        })?);
    }
    if let Some(v) = get("AUTH0_DPOP_CLOCK_TOLERANCE") {
        let secs = v
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::InvalidValue {
                name: "AUTH0_DPOP_CLOCK_TOLERANCE",
                value: v.clone(),
                expected: "a whole number of seconds, at most 300",
            })?;
        options = options.clock_tolerance(Duration::from_secs(secs));
    }
    if let Some(v) = get("AUTH0_RETRY_DELAY") {
        let ms = v
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::InvalidValue {
                name: "AUTH0_RETRY_DELAY",
                value: v.clone(),
                expected: "a whole number of milliseconds",
            })?;
        options = options.retry_delay(Duration::from_millis(ms));
    }
    if let Some(v) = get("AUTH0_RETRY_JITTER") {
        options = options.retry_jitter(bool_var("AUTH0_RETRY_JITTER", &v)?);
    }
    Ok(b.dpop_options(options))
}

/// The ID token algorithms and whether `GET` logs out.
fn hardening_vars(
    mut b: ConfigBuilder,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ConfigBuilder, ConfigError> {
    let algs = "AUTH0_ID_TOKEN_SIGNING_ALGS";
    if let Some(v) = get(algs) {
        b = b.id_token_algorithms(crate::oidc::id_token::algorithms::parse_list(algs, &v)?);
    }
    if let Some(v) = get("AUTH0_LOGOUT_VIA_GET") {
        b = b.logout_via_get(bool_var("AUTH0_LOGOUT_VIA_GET", &v)?);
    }
    Ok(b)
}

fn bool_var(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::InvalidValue {
            name,
            value: value.to_owned(),
            expected: "true or false",
        }),
    }
}

fn seconds_var(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or(ConfigError::InvalidValue {
            name,
            value: value.to_owned(),
            expected: "a positive whole number of seconds",
        })
}

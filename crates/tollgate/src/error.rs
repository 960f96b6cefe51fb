//! Typed errors. One enum per stage, all `#[non_exhaustive]` and matchable; each message says what
//! happened and what to do.

use thiserror::Error;

/// A configuration value is missing or wrong. Raised at start-up by [`ConfigBuilder::build`].
///
/// `Debug` prints the same sentence as `Display`, so `fn main() -> Result<(), Box<dyn Error>>`
/// (which prints `Debug`) tells the operator what to fix:
///
/// ```
/// let err = tollgate::Config::builder()
///     .domain("tenant.example.com")
///     .client_id("app")
///     .client_secret("s")
///     .secret("too-short")
///     .app_base_url("https://app.example.com")
///     .build()
///     .unwrap_err();
/// assert_eq!(format!("{err:?}"), err.to_string());
/// assert!(err.to_string().starts_with("AUTH0_SECRET entry 0 is 9 bytes long"));
/// ```
///
/// [`ConfigBuilder::build`]: crate::ConfigBuilder::build
#[derive(Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("{name} is missing: {hint}.")]
    Missing {
        /// The environment variable (or setting) name.
        name: &'static str,
        /// How to fix it.
        hint: &'static str,
    },
    /// A cookie secret is shorter than 32 bytes.
    #[error(
        "AUTH0_SECRET entry {index} is {len} bytes long: use at least 32 random bytes, e.g. the output of `openssl rand -hex 32`."
    )]
    SecretTooShort {
        /// Position in the comma-separated list (0 = the sealing secret).
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A URL setting does not parse or has the wrong shape.
    #[error("{name} is not a valid URL ({value:?}): {reason}.")]
    InvalidUrl {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The provider is on plain http.
    #[error(
        "AUTH0_DOMAIN {issuer} uses plain http: use https, or for a local tenant on 127.0.0.1 turn on insecure_allow_http_loopback_issuer (TOLLGATE_INSECURE_ALLOW_HTTP_LOOPBACK_ISSUER=true)."
    )]
    InsecureIssuer {
        /// The issuer URL.
        issuer: String,
    },
    /// The provider is on plain http on a host that is not loopback, with the loopback switch on:
    /// the switch allows http only for `127.0.0.1`, `::1` and `localhost`.
    #[error(
        "AUTH0_DOMAIN {issuer} uses plain http on a host that is not loopback: insecure_allow_http_loopback_issuer allows http only for 127.0.0.1, [::1] and localhost; use https for any other host."
    )]
    InsecureRemoteIssuer {
        /// The issuer URL.
        issuer: String,
    },
    /// A setting has a value outside its domain.
    #[error("{name} has the value {value:?}: expected {expected}.")]
    InvalidValue {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// The DPoP key pair (`AUTH0_DPOP_PRIVATE_KEY` / `AUTH0_DPOP_PUBLIC_KEY`) cannot be used.
    #[error("AUTH0_DPOP_PRIVATE_KEY / AUTH0_DPOP_PUBLIC_KEY: {0}.")]
    DpopKey(#[source] crate::oidc::dpop::DpopKeyError),
    /// A PEM given to `ConfigBuilder::extra_root_certificate_pem` holds no usable certificate.
    #[error("extra root certificate {index}: {reason}; pass PEM text with CERTIFICATE blocks.")]
    InvalidRootCertificate {
        /// Which call (0 for the first).
        index: usize,
        /// What was wrong.
        reason: String,
    },
}

impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A call to the provider failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider could not be reached, or did not answer in time.
    #[error("the provider's {endpoint} could not be reached{}: check AUTH0_DOMAIN and the network.", if *.timeout { " in time" } else { "" })]
    Unreachable {
        /// Which endpoint.
        endpoint: &'static str,
        /// Whether the request timed out.
        timeout: bool,
    },
    /// The provider answered with an OAuth error body (`{"error", "error_description"}`).
    #[error("the provider's {endpoint} answered {status} {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        /// Which endpoint.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_grant`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// The provider answered something that is not what the protocol prescribes.
    #[error("the provider's {endpoint} gave an invalid answer: {reason}.")]
    InvalidResponse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Discovery returned another issuer than the configured one (mix-up defence).
    #[error(
        "discovery says the issuer is {found:?} but AUTH0_DOMAIN gives {expected:?}: fix AUTH0_DOMAIN."
    )]
    IssuerMismatch {
        /// Configured.
        expected: String,
        /// Found in discovery.
        found: String,
    },
    /// Discovery lacks an endpoint Tollgate needs.
    #[error("the provider does not advertise a {0}: this operation is not available with it.")]
    MissingEndpoint(&'static str),
}

/// An ID token failed validation. No session is created from it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a well-formed JWS/JWT.
    #[error("the ID token is malformed: {0}")]
    Malformed(&'static str),
    /// Its `alg` is not on the allow-list (this includes `none`).
    #[error("the ID token is signed with {0:?}, which is not allowed")]
    DisallowedAlgorithm(String),
    /// No published key matches its `kid` and algorithm, even after fetching the keys again.
    #[error("no key of the provider matches the ID token ({})", kid.as_deref().map_or_else(|| "it has no kid".to_owned(), |k| format!("kid {k:?}")))]
    NoMatchingKey {
        /// The token's `kid`.
        kid: Option<String>,
    },
    /// The signature does not verify.
    #[error("the ID token signature is invalid")]
    InvalidSignature,
    /// `iss` is not the provider's issuer.
    #[error("the ID token issuer {found:?} is not {expected:?}")]
    IssuerMismatch {
        /// Expected issuer.
        expected: String,
        /// Found.
        found: String,
    },
    /// `aud` does not contain this client.
    #[error("the ID token is not for this client (aud)")]
    AudienceMismatch,
    /// Several audiences and `azp` is not this client.
    #[error("the ID token has several audiences and its azp is not this client")]
    AuthorizedPartyMismatch,
    /// `exp` has passed.
    #[error("the ID token has expired")]
    Expired,
    /// `iat` is in the future beyond the clock tolerance.
    #[error("the ID token was issued in the future: check the server clock")]
    IssuedInFuture,
    /// `nbf` is later than now, beyond the clock tolerance.
    #[error("the ID token is not valid yet (nbf): check the server clock")]
    NotYetValid,
    /// A required claim is missing or has the wrong type.
    #[error("the ID token claim {0} is missing or has the wrong type")]
    InvalidClaim(&'static str),
    /// `nonce` differs from the one sent.
    #[error("the ID token nonce does not match the login transaction")]
    NonceMismatch,
    /// A refreshed ID token names another user than the session's.
    #[error("the refreshed ID token is for another user (sub)")]
    SubjectMismatch,
    /// `auth_time` is older than the `max_age` that was requested.
    #[error(
        "the ID token auth_time is older than the requested max_age: the user must authenticate again"
    )]
    AuthTimeTooOld,
}

/// The login callback could not complete. No session was created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The callback URL has no `state`.
    #[error(
        "the callback has no state parameter: a login must start at the login route (e.g. /auth/login), which sends state to the provider and expects it back."
    )]
    MissingState,
    /// There is no transaction cookie for this `state`.
    #[error(
        "no login transaction matches this state: its cookie is missing, expired or was already used. Start the login again at the login route (e.g. /auth/login), in this browser, and finish it within the transaction lifetime."
    )]
    MissingTransaction,
    /// The provider redirected back with an error (`access_denied`, `login_required`, …).
    #[error("the provider refused the login: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Authorization {
        /// The OAuth/OIDC error code.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// Neither `code` nor `error` is present.
    #[error("the callback has no authorization code")]
    MissingCode,
    /// The authorization response names another issuer (RFC 9207).
    #[error("the callback's iss parameter names another issuer")]
    IssuerMismatch,
    /// The provider says it sends `iss` in authorization responses
    /// (`authorization_response_iss_parameter_supported`, RFC 9207) and this callback has none.
    #[error(
        "the callback has no iss parameter although the provider says it always sends one (RFC 9207): the response may come from another provider, so it is refused."
    )]
    MissingIssuer,
    /// A step-up was requested (`acr_values`) but the signed ID token does not show it was done.
    #[error(
        "the extra verification that was asked for was not completed (requested acr_values {requested:?}; the ID token shows acr {acr:?} and amr {amr:?})"
    )]
    StepUpNotSatisfied {
        /// The `acr_values` sent.
        requested: String,
        /// The ID token's `acr`.
        acr: Option<String>,
        /// The ID token's `amr`.
        amr: Vec<String>,
    },
    /// The code exchange failed.
    #[error("the code exchange failed: {0}")]
    TokenExchange(#[source] ProviderError),
    /// The provider refused this application's own credentials at the code exchange
    /// (`invalid_client`, `unauthorized_client`): a configuration error, not the user's.
    #[error(
        "the provider refused this application's credentials at the code exchange ({error}): check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or the client assertion key) against the application's settings at the provider."
    )]
    ClientRejected {
        /// The provider's error code.
        error: String,
    },
    /// The ID token is invalid.
    #[error("the login was refused: {0}")]
    IdToken(#[source] IdTokenError),
    /// With an allow-list of base URLs: the callback arrived at another allowed base URL than the
    /// one the login started at (the code was issued for the other `redirect_uri`).
    #[error(
        "this login started at {expected} but came back to {found}: finish it on the host where it started, or start it again here."
    )]
    BaseUrlMismatch {
        /// The base URL the login started at.
        expected: String,
        /// The base URL of the callback request.
        found: String,
    },
}

/// With an allow-list of application base URLs, the request's host could not be used as one.
/// Nothing was done for the request, and nothing redirects to its host.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// The request names no host (no `X-Forwarded-Host`, `Host` or URI authority).
    #[error(
        "the request names no host (no Host header, or no RequestOrigin was given), so the application base URL cannot be chosen from the allow-list in APP_BASE_URL."
    )]
    MissingHost,
    /// The host is not a plain host name or IP address with an optional port.
    #[error(
        "the request's host {host:?} is not a valid host name: it cannot be an application base URL."
    )]
    MalformedHost {
        /// The value given (at most 64 characters).
        host: String,
    },
    /// `X-Forwarded-Proto` is neither `http` nor `https`.
    #[error("the request's X-Forwarded-Proto {proto:?} is neither http nor https.")]
    MalformedProto {
        /// The value given (at most 64 characters).
        proto: String,
    },
    /// No entry of the allow-list matches the request's origin.
    #[error(
        "this host ({origin}) is not an allowed application base URL: if it serves this application, add it to APP_BASE_URL."
    )]
    NotAllowed {
        /// The origin the request named (at most 64 characters).
        origin: String,
    },
}

/// Any Tollgate error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Talking to the provider.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The login callback.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The request's host is not an allowed application base URL.
    #[error(transparent)]
    BaseUrl(#[from] BaseUrlError),
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] crate::session::store::StoreError),
    /// A Connected Accounts flow failed at the callback.
    #[error("connecting the account failed: {0}")]
    ConnectAccount(#[from] crate::my_account::ConnectAccountError),
    /// A request parameter is invalid.
    #[error("the parameter {name} is invalid: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The login route was asked to take an authorization parameter from its URL that the app
    /// does not allow ([`ConfigBuilder::login_query_params`](crate::ConfigBuilder::login_query_params)),
    /// or one the SDK sets itself (`state`, `redirect_uri`, …).
    #[error(
        "the login route does not take the parameter `{name}` from its URL; an app that lets users choose it lists it in login_query_params (TOLLGATE_LOGIN_QUERY_PARAMS)"
    )]
    LoginParameterNotAllowed {
        /// The parameter's name (at most 64 characters).
        name: String,
    },
}

impl Error {
    /// The HTTP status an application should answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Config(_) | Self::Callback(CallbackError::ClientRejected { .. }) => {
                http::StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::BaseUrl(_) => http::StatusCode::BAD_REQUEST,
            Self::Provider(_) => http::StatusCode::BAD_GATEWAY,
            Self::Store(crate::session::store::StoreError::Conflict) => http::StatusCode::CONFLICT,
            Self::Store(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::Callback(CallbackError::TokenExchange(ProviderError::OAuth { .. })) => {
                http::StatusCode::BAD_REQUEST
            }
            Self::Callback(CallbackError::TokenExchange(_)) => http::StatusCode::BAD_GATEWAY,
            Self::Callback(_)
            | Self::InvalidParameter { .. }
            | Self::LoginParameterNotAllowed { .. } => http::StatusCode::BAD_REQUEST,
            Self::ConnectAccount(e) => e.status(),
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "configuration_error",
            Self::Provider(_) => "provider_error",
            Self::Store(_) => "session_store_unavailable",
            Self::Callback(c) => match c {
                CallbackError::MissingState => "missing_state",
                CallbackError::MissingTransaction => "invalid_state",
                CallbackError::Authorization { .. } => "authorization_error",
                CallbackError::MissingCode => "missing_code",
                CallbackError::IssuerMismatch => "issuer_mismatch",
                CallbackError::MissingIssuer => "missing_iss",
                CallbackError::TokenExchange(_) => "token_exchange_error",
                CallbackError::ClientRejected { .. } => "client_rejected",
                CallbackError::IdToken(_) => "invalid_id_token",
                CallbackError::StepUpNotSatisfied { .. } => "step_up_not_satisfied",
                CallbackError::BaseUrlMismatch { .. } => "base_url_mismatch",
            },
            Self::BaseUrl(_) => "invalid_host",
            Self::InvalidParameter { .. } | Self::LoginParameterNotAllowed { .. } => {
                "invalid_request"
            }
            Self::ConnectAccount(e) => e.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_named_by_its_value() {
        let e = IdTokenError::NoMatchingKey {
            kid: Some("key-2024".into()),
        };
        assert_eq!(
            e.to_string(),
            "no key of the provider matches the ID token (kid \"key-2024\")"
        );
        let e = IdTokenError::NoMatchingKey { kid: None };
        assert!(e.to_string().ends_with("(it has no kid)"), "{e}");
        assert!(!e.to_string().contains("Some("));
    }
}

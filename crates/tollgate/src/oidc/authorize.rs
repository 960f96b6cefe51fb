//! Building the `/authorize` redirect: PKCE S256, state, nonce, scope, audience and pass-through
//! parameters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use url::Url;

/// Parameters the SDK sets itself; a caller can never override them.
const PROTECTED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "state",
    "nonce",
    "response_mode",
    "request",
    "request_uri",
    "dpop_jkt",
];

/// Whether `name` is set by the SDK and may not be passed through.
pub(crate) fn is_protected_param(name: &str) -> bool {
    PROTECTED.contains(&name)
}

/// The authorization parameters the login route takes from its query string unless the app
/// configures another list ([`ConfigBuilder::login_query_params`](crate::ConfigBuilder::login_query_params)).
///
/// Each can only make a login stricter or change how it looks: `acr_values`, `max_age` and
/// `prompt` (step-up and re-authentication; the result is read from the signed ID token, so a
/// user who edits them upgrades nothing), `login_hint`, `screen_hint` and `ui_locales`. Not on
/// it, because they change what the session's tokens may do: `audience` and `scope` (a user who
/// adds `audience=<an API>` would otherwise get that API's token with only the grants the login
/// went through), and `organization`, `invitation` and `connection`. An app that wants users (or
/// the browser module's `challengeWithPopup({audience})`) to choose them lists them.
pub const DEFAULT_LOGIN_QUERY_PARAMS: &[&str] = &[
    "acr_values",
    "max_age",
    "prompt",
    "login_hint",
    "screen_hint",
    "ui_locales",
];

/// The longest parameter name an error message repeats.
const MAX_NAME_IN_ERROR: usize = 64;

/// The PKCE S256 challenge of a verifier.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// Options of one login.
///
/// ```
/// let opts = tollgate::LoginOptions::new()
///     .return_to("/billing")
///     .param("acr_values", "http://schemas.openid.net/pape/policies/2007/06/multi-factor");
/// assert_eq!(opts.return_to_value(), Some("/billing"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    pub(crate) return_to: Option<String>,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) popup: bool,
}

impl LoginOptions {
    /// Default options: the configured scope and audience, back to the default page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where to send the user after login (sanitised: same origin only).
    pub fn return_to(mut self, path: impl Into<String>) -> Self {
        self.return_to = Some(path.into());
        self
    }

    /// Finish in a popup: the callback answers a page that tells the opener (by `postMessage`)
    /// instead of redirecting. Used by the browser module's `mfa.challengeWithPopup`.
    pub fn popup(mut self) -> Self {
        self.popup = true;
        self
    }

    /// The requested `returnTo`, as given.
    pub fn return_to_value(&self) -> Option<&str> {
        self.return_to.as_deref()
    }

    /// An authorization parameter (`scope`, `audience`, `max_age`, `acr_values`, `prompt`,
    /// `organization`, `connection`, `screen_hint`, `login_hint`, …). Protected parameters
    /// (`client_id`, `redirect_uri`, `state`, `nonce`, PKCE, …) are ignored.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if !is_protected_param(&name) {
            self.params.retain(|(n, _)| *n != name);
            self.params.push((name, value.into()));
        }
        self
    }

    /// Reads options from the login route's query string: `returnTo`, `challengeMode` and the
    /// authorization parameters named in `allowed` (the app's
    /// [`Config::login_query_params`](crate::Config::login_query_params)). Any other parameter,
    /// protected ones (`state`, `redirect_uri`, …) included, is refused with
    /// [`Error::LoginParameterNotAllowed`](crate::Error::LoginParameterNotAllowed): the app
    /// decides which parameters a user may choose, and a link that asks for more fails loudly
    /// instead of silently logging in with less. `max_age` must be a non-negative integer.
    ///
    /// ```
    /// use tollgate::{Error, LoginOptions, DEFAULT_LOGIN_QUERY_PARAMS};
    ///
    /// let opts = LoginOptions::from_query("returnTo=%2Fbilling&prompt=login", DEFAULT_LOGIN_QUERY_PARAMS)?;
    /// assert_eq!(opts.return_to_value(), Some("/billing"));
    ///
    /// let refused = LoginOptions::from_query("audience=https%3A%2F%2Fpayments.example.com", DEFAULT_LOGIN_QUERY_PARAMS);
    /// assert!(matches!(refused, Err(Error::LoginParameterNotAllowed { ref name }) if name == "audience"));
    ///
    /// // An app that lets its links pick the API lists `audience`:
    /// assert!(LoginOptions::from_query("audience=https%3A%2F%2Fpayments.example.com", &["audience"]).is_ok());
    /// # Ok::<(), tollgate::Error>(())
    /// ```
    pub fn from_query<S: AsRef<str>>(query: &str, allowed: &[S]) -> Result<Self, crate::Error> {
        let mut opts = Self::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let name = k.as_ref();
            let is_sdk_own = matches!(name, "returnTo" | "challengeMode");
            if !is_sdk_own
                && (is_protected_param(name) || !allowed.iter().any(|a| a.as_ref() == name))
            {
                return Err(crate::Error::LoginParameterNotAllowed {
                    name: name.chars().take(MAX_NAME_IN_ERROR).collect(),
                });
            }
            match name {
                "returnTo" => opts.return_to = Some(v.into_owned()),
                "challengeMode" => match v.as_ref() {
                    "popup" => opts.popup = true,
                    "redirect" => opts.popup = false,
                    _ => {
                        return Err(crate::Error::InvalidParameter {
                            name: "challengeMode",
                            reason: "it must be redirect or popup",
                        });
                    }
                },
                "max_age" if v.parse::<u64>().is_err() => {
                    return Err(crate::Error::InvalidParameter {
                        name: "max_age",
                        reason: "it must be a non-negative whole number of seconds",
                    });
                }
                _ => opts = opts.param(k.into_owned(), v.into_owned()),
            }
        }
        Ok(opts)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Everything that goes into the authorize URL.
pub(crate) struct AuthorizeRequest<'a> {
    pub(crate) endpoint: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) scope: &'a str,
    pub(crate) state: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) code_challenge: &'a str,
    /// The DPoP key's thumbprint, when DPoP is on.
    pub(crate) dpop_jkt: Option<&'a str>,
    /// Other parameters, configured ones first then per-login ones; later wins.
    pub(crate) extra: Vec<(&'a str, &'a str)>,
}

impl AuthorizeRequest<'_> {
    /// Every parameter but `client_id`, in order; a repeated extra parameter keeps its last value.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs = vec![
            ("response_type", "code"),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("state", self.state),
            ("nonce", self.nonce),
            ("code_challenge", self.code_challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(jkt) = self.dpop_jkt {
            pairs.push(("dpop_jkt", jkt));
        }
        let mut extra: Vec<(&str, &str)> = Vec::new();
        for (k, v) in &self.extra {
            if matches!(*k, "scope") || is_protected_param(k) {
                continue;
            }
            extra.retain(|(n, _)| n != k);
            extra.push((k, v));
        }
        pairs.extend(extra);
        pairs
    }

    /// The authorize URL carrying every parameter.
    pub(crate) fn url(&self) -> Result<Url, url::ParseError> {
        let mut url = Url::parse(self.endpoint)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", self.client_id);
            for (k, v) in self.pairs() {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// The authorize URL of a pushed request (RFC 9126): only `client_id` and `request_uri`.
    pub(crate) fn pushed_url(&self, request_uri: &str) -> Result<Url, url::ParseError> {
        let mut url = Url::parse(self.endpoint)?;
        url.query_pairs_mut()
            .append_pair("client_id", self.client_id)
            .append_pair("request_uri", request_uri);
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    fn refused(query: &str, allowed: &[&str]) -> Option<String> {
        match LoginOptions::from_query(query, allowed) {
            Err(crate::Error::LoginParameterNotAllowed { name }) => Some(name),
            _ => None,
        }
    }

    #[test]
    fn protected_params_are_refused_even_when_listed() {
        for p in PROTECTED {
            let listed = [*p, "acr_values"];
            assert_eq!(
                refused(&format!("returnTo=%2Fx&{p}=evil"), &listed).as_deref(),
                Some(*p)
            );
        }
    }

    #[test]
    fn only_listed_params_are_taken_from_the_query() {
        let opts = LoginOptions::from_query(
            "returnTo=%2Fx&challengeMode=popup&acr_values=a&prompt=login",
            DEFAULT_LOGIN_QUERY_PARAMS,
        )
        .unwrap();
        assert_eq!(opts.return_to_value(), Some("/x"));
        assert!(opts.popup);
        assert_eq!(opts.get("acr_values"), Some("a"));
        assert_eq!(opts.get("prompt"), Some("login"));
        for p in [
            "audience",
            "scope",
            "organization",
            "connection",
            "invitation",
            "utm",
        ] {
            assert_eq!(
                refused(&format!("{p}=x"), DEFAULT_LOGIN_QUERY_PARAMS).as_deref(),
                Some(p)
            );
        }
        let listed =
            LoginOptions::from_query("audience=api&scope=read", &["audience", "scope"]).unwrap();
        assert_eq!(listed.get("audience"), Some("api"));
        assert_eq!(listed.get("scope"), Some("read"));
        assert_eq!(
            refused("prompt=login", &["audience"]).as_deref(),
            Some("prompt")
        );
    }

    #[test]
    fn a_refused_name_is_capped_in_the_error() {
        let long = "a".repeat(5_000);
        assert_eq!(
            refused(&format!("{long}=1"), DEFAULT_LOGIN_QUERY_PARAMS).map(|n| n.len()),
            Some(MAX_NAME_IN_ERROR)
        );
    }

    #[test]
    fn max_age_must_be_a_whole_number() {
        let d = DEFAULT_LOGIN_QUERY_PARAMS;
        assert!(LoginOptions::from_query("max_age=-1", d).is_err());
        assert!(LoginOptions::from_query("max_age=abc", d).is_err());
        assert!(LoginOptions::from_query("max_age=0", d).is_ok());
    }
}

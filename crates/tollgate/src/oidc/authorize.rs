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

    /// Reads options from the login route's query string: `returnTo` and every other parameter
    /// (protected ones dropped). `max_age` must be a non-negative integer.
    pub fn from_query(query: &str) -> Result<Self, crate::Error> {
        let mut opts = Self::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
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

    #[test]
    fn protected_params_never_pass_through() {
        let opts = LoginOptions::from_query(
            "returnTo=%2Fx&state=evil&client_id=evil&redirect_uri=https%3A%2F%2Fevil&acr_values=a&audience=api",
        )
        .unwrap();
        assert_eq!(opts.return_to_value(), Some("/x"));
        assert_eq!(opts.get("acr_values"), Some("a"));
        assert_eq!(opts.get("state"), None);
        assert_eq!(opts.get("client_id"), None);
        assert_eq!(opts.get("redirect_uri"), None);
        assert!(LoginOptions::from_query("max_age=-1").is_err());
        assert!(LoginOptions::from_query("max_age=abc").is_err());
        assert!(LoginOptions::from_query("max_age=0").is_ok());
    }
}

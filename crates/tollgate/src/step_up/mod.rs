//! Step-up: asking for a second factor exactly when a sensitive page or API needs it.
//!
//! There are two paths, one for pages and one for APIs. Both end in a session whose proof of the
//! second factor comes from the provider's signed tokens, never from a request parameter.
//!
//! **1. A page (`acr_values`, the browser goes round the login).** A route guarded by a
//! [`StepUp`] (`tollgate-axum`'s `RequireMfa`) checks the session with [`StepUp::is_satisfied`]:
//! `amr` contains `mfa` (or `acr` is the multi-factor policy), and with [`StepUp::max_age`] the
//! `auth_time` is recent enough. When it is not, the browser is sent to `/auth/login` with
//! [`StepUp::login_query`] (`acr_values`, `max_age`, `returnTo`). The callback
//! (`web/callback.rs`) validates the new ID token and refuses it with
//! [`CallbackError::StepUpNotSatisfied`](crate::CallbackError::StepUpNotSatisfied) when the
//! provider did not do what was asked; the claims live in the session's
//! [`Authentication`](crate::Authentication), so profile filtering cannot drop them. Once per
//! session: a satisfied session passes until it ends.
//!
//! **2. An API (`mfa_required`, the page stays where it is).** When the token endpoint answers a
//! refresh for an audience with `mfa_required` (the provider's policy covers that API),
//! [`Tollgate::access_token`](crate::Tollgate::access_token) returns
//! [`MfaRequiredError`](crate::MfaRequiredError) (`tokens/refresh.rs`), holding the provider's
//! `mfa_token` sealed with its own key and bound to this session, the audience and the scope, for
//! five minutes ([`mfa`], `mfa/token.rs`). The application (or the browser module's `mfa.*`,
//! `web/browser/client.js`) then lists the user's authenticators, challenges one and verifies
//! the code through [`Mfa`](crate::Mfa) (`mfa/client.rs`, the provider's MFA API and MFA
//! grants); the tokens the verify returns are stored in the session for that audience. The
//! routes are `tollgate-axum`'s `/auth/mfa/*`.

pub(crate) mod mfa;

use std::time::Duration;

use serde_json::{Value, json};

use crate::session::{ACR_MULTI_FACTOR, SessionData};

/// What a sensitive route requires.
///
/// ```
/// use std::time::Duration;
/// let billing = tollgate::StepUp::mfa();                                  // once per session
/// let payouts = tollgate::StepUp::mfa().max_age(Duration::from_secs(300)); // MFA in the last 5 minutes
/// assert!(billing.login_query("/billing").contains("acr_values="));
/// assert!(payouts.login_query("/payouts").contains("max_age=300"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUp {
    acr_values: String,
    max_age: Option<Duration>,
    prompt_login: bool,
}

impl StepUp {
    /// Multi-factor authentication (`amr` contains `mfa`, or `acr` is the multi-factor policy),
    /// at any time during the session.
    pub fn mfa() -> Self {
        Self {
            acr_values: ACR_MULTI_FACTOR.to_owned(),
            max_age: None,
            prompt_login: false,
        }
    }

    /// …no older than `age` (`auth_time`), sent as `max_age` so the provider re-authenticates.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// …and make the provider ask for the password again (`prompt=login`).
    pub fn prompt_login(mut self) -> Self {
        self.prompt_login = true;
        self
    }

    /// Whether `session` satisfies this requirement at `now` (seconds since the epoch).
    pub fn is_satisfied(&self, session: &SessionData, now: u64) -> bool {
        if !session.has_mfa() {
            return false;
        }
        match self.max_age {
            None => true,
            Some(age) => session
                .authentication
                .as_ref()
                .and_then(|a| a.auth_time)
                .is_some_and(|t| t.saturating_add(age.as_secs()) >= now),
        }
    }

    /// The login route's query string that performs this step-up and returns to `return_to`.
    pub fn login_query(&self, return_to: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("returnTo", return_to)
            .append_pair("acr_values", &self.acr_values);
        if let Some(age) = self.max_age {
            q.append_pair("max_age", &age.as_secs().to_string());
        }
        if self.prompt_login {
            q.append_pair("prompt", "login");
        }
        q.finish()
    }

    /// The 403 JSON body for an API request that needs this step-up.
    pub fn api_error(&self, step_up_url: &str) -> Value {
        json!({
            "error": "mfa_required",
            "error_description": "This resource requires multi-factor authentication. Send the user to step_up_url to verify.",
            "step_up_url": step_up_url,
        })
    }
}

impl Default for StepUp {
    fn default() -> Self {
        Self::mfa()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Authentication;

    fn session(amr: &[&str], acr: Option<&str>, auth_time: u64) -> SessionData {
        SessionData {
            authentication: Some(Authentication {
                amr: amr.iter().map(|s| (*s).to_owned()).collect(),
                acr: acr.map(str::to_owned),
                auth_time: Some(auth_time),
            }),
            ..SessionData::default()
        }
    }

    #[test]
    fn mfa_is_shown_by_amr_or_acr() {
        let now = 10_000;
        assert!(!StepUp::mfa().is_satisfied(&session(&["pwd"], None, now), now));
        assert!(StepUp::mfa().is_satisfied(&session(&["pwd", "mfa"], None, now), now));
        assert!(StepUp::mfa().is_satisfied(&session(&[], Some(ACR_MULTI_FACTOR), now), now));
        assert!(!StepUp::mfa().is_satisfied(&session(&[], Some("urn:other"), now), now));
        assert!(!StepUp::mfa().is_satisfied(&SessionData::default(), now));
    }

    #[test]
    fn max_age_needs_a_recent_auth_time() {
        let fresh = StepUp::mfa().max_age(Duration::from_secs(300));
        assert!(fresh.is_satisfied(&session(&["mfa"], None, 9_800), 10_000));
        assert!(!fresh.is_satisfied(&session(&["mfa"], None, 9_000), 10_000));
    }
}

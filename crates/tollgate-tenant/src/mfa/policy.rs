//! MFA policies: when a second factor is required, standing in for an Auth0 post-login Action
//! that calls `api.authentication.challengeWithAny(…)` / `enrollWithAny(…)`.

use serde::Deserialize;

/// The `mfa_requirements` vocabulary, in the order the tenant lists factors.
pub(crate) const FACTOR_TYPES: [&str; 5] = [
    "otp",
    "push-notification",
    "phone",
    "email",
    "recovery-code",
];

/// When an [`MfaPolicy`] is evaluated: the grants that issue tokens for a user.
///
/// The `authorization_code` grant itself never answers `mfa_required` (Auth0 runs MFA inside
/// Universal Login); [`GrantKind::Login`] is that interactive step, and the code exchange gives
/// what the login earned. The MFA grants (`mfa-otp`, `mfa-oob`, `mfa-recovery-code`) are how a
/// policy is answered, not something it covers; the federated connection exchange (Token Vault)
/// issues another provider's tokens, for no API of this tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantKind {
    /// The `refresh_token` grant at `/oauth/token` (including a refresh for another API): a
    /// matching policy answers `403 mfa_required` with an `mfa_token` for the MFA API.
    RefreshToken,
    /// The interactive login at `/authorize` (also after PAR): a matching policy shows the MFA
    /// page after the password (or straight away for an SSO session), as `acr_values` with the
    /// multi-factor policy URI does.
    Login,
    /// Custom Token Exchange (`urn:ietf:params:oauth:grant-type:token-exchange`): the subject
    /// token proves no second factor, so a matching policy answers `403 mfa_required` with an
    /// `mfa_token`, and the MFA grant that answers it issues the tokens.
    TokenExchange,
    /// Client-Initiated Backchannel Authentication: a matching policy refuses `/bc-authorize`
    /// with `access_denied`, because the approval of a backchannel request is one tap with no
    /// way to ask for a second factor.
    Ciba,
}

impl GrantKind {
    /// Every grant a policy can cover: what a policy with an audience covers.
    pub const ALL: [GrantKind; 4] = [
        GrantKind::Login,
        GrantKind::RefreshToken,
        GrantKind::TokenExchange,
        GrantKind::Ciba,
    ];

    /// The name used in TOML (`login`, `refresh_token`, `token_exchange`, `ciba`).
    ///
    /// ```
    /// use tollgate_tenant::GrantKind;
    ///
    /// assert_eq!(GrantKind::RefreshToken.name(), "refresh_token");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            GrantKind::RefreshToken => "refresh_token",
            GrantKind::Login => "login",
            GrantKind::TokenExchange => "token_exchange",
            GrantKind::Ciba => "ciba",
        }
    }
}

/// The shape of the `mfa_requirements` member of a `403 mfa_required` answer.
///
/// Auth0 answers in two ways, depending on how MFA is asked for. With Customizable MFA (a
/// post-login Action calling `api.authentication.challengeWithAny(…)` or `enrollWithAny(…)`)
/// the answer lists the factor types the user may use (`{"challenge":[{"type":"otp"},…]}`) or
/// enroll (`{"enroll":[…]}`), in the vocabulary `otp`, `phone`, `email`, `push-notification`,
/// `recovery-code`. With the plain MFA policy (the tenant's MFA setting, or an Action calling
/// `api.multifactor.enable(…)`) the answer has `error`, `error_description` and `mfa_token`
/// only.
///
/// The difference matters to SDKs: `@auth0/nextjs-auth0` 4.x compares its `challengeType`
/// (`otp` or `oob`) with the listed types before it sends `/mfa/challenge`, so against a
/// listed answer its SMS and email challenges (`oob`) stop in the SDK with
/// `MfaNoAvailableFactorsError`, as they would against Auth0 with Customizable MFA; with
/// [`Omitted`](Self::Omitted) it sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MfaRequirements {
    /// Customizable MFA: `mfa_requirements` lists `challenge` (or `enroll`) types (the
    /// default; TOML `mfa_requirements = "listed"`).
    #[default]
    Listed,
    /// The plain MFA policy: no `mfa_requirements` member (TOML
    /// `mfa_requirements = "omitted"`).
    Omitted,
}

/// A rule that requires a second factor, like an Auth0 post-login Action.
///
/// **A policy for an API covers every grant that issues tokens for that API.** With
/// [`for_audience`](Self::for_audience), the policy applies to all of [`GrantKind::ALL`]: the
/// login at `/authorize` whose `audience` is that API (the MFA page before the code is issued),
/// the refresh-token grant (`mfa_required` until the family passed MFA), Custom Token Exchange
/// (`mfa_required`) and CIBA (refused). An Auth0 post-login Action runs at the login and at the
/// refresh alike; a policy that covered only some of them would leave the others as a way to the
/// API without a second factor (a password login with `audience` would get the token the
/// refresh grant refuses). So narrowing an audience policy with [`on_grants`](Self::on_grants)
/// to less than all of them is refused when the tenant starts
/// ([`ConfigError::MfaPolicyLeavesGrantOpen`](crate::ConfigError::MfaPolicyLeavesGrantOpen)),
/// rather than silently widened: the configuration says something it cannot mean.
///
/// A policy without an audience applies to any audience (including none) on the grants named by
/// [`on_grants`](Self::on_grants) (default: only the refresh-token grant): it is a rule about
/// the session, not about an API, and may be narrowed.
///
/// The user may answer with the factors named by [`with_factors`](Self::with_factors) (default:
/// all of them), and must pass [`with_required_factor_count`](Self::with_required_factor_count)
/// different ones (default 1).
///
/// ```
/// use tollgate_tenant::{GrantKind, MfaPolicy};
///
/// let policy = MfaPolicy::new()
///     .for_audience("https://payments.example.com")
///     .with_factors(["otp", "phone", "recovery-code"])
///     .with_required_factor_count(2)
///     .every_time(false);
/// assert_eq!(policy.audience(), Some("https://payments.example.com"));
/// assert_eq!(policy.grants(), GrantKind::ALL);
/// assert_eq!(policy.factors(), ["otp", "phone", "recovery-code"]);
/// assert_eq!(policy.required_factor_count(), 2);
///
/// // Without an audience: the refresh-token grant, unless told otherwise.
/// assert_eq!(MfaPolicy::new().grants(), [GrantKind::RefreshToken]);
/// let at_login = MfaPolicy::new().on_grants([GrantKind::Login]);
/// assert_eq!(at_login.grants(), [GrantKind::Login]);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaPolicy {
    #[serde(default)]
    audience: Option<String>,
    /// `None`: the default ([`GrantKind::ALL`] with an audience, else the refresh-token grant).
    #[serde(default)]
    grants: Option<Vec<GrantKind>>,
    #[serde(default = "default_factors")]
    factors: Vec<String>,
    #[serde(default)]
    every_time: bool,
    #[serde(default = "one", rename = "required_factors")]
    required_factors: usize,
    /// Days a browser that passed MFA for this policy skips it at login (TOML
    /// `remember_browser_days`).
    #[serde(default, rename = "remember_browser_days")]
    remember_browser_days: Option<u64>,
    /// Login MFA only from a device or IP address the user has not logged in from before.
    #[serde(default)]
    new_devices_only: bool,
    /// Whether `mfa_required` answers list the factors (TOML `mfa_requirements`).
    #[serde(default)]
    mfa_requirements: MfaRequirements,
}

fn one() -> usize {
    1
}

fn default_factors() -> Vec<String> {
    FACTOR_TYPES.iter().map(|&f| f.to_owned()).collect()
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            audience: None,
            grants: None,
            factors: default_factors(),
            every_time: false,
            required_factors: 1,
            remember_browser_days: None,
            new_devices_only: false,
            mfa_requirements: MfaRequirements::Listed,
        }
    }
}

impl MfaPolicy {
    /// A policy for any audience, on the refresh-token grant, accepting every factor, satisfied
    /// once per refresh-token family. [`for_audience`](Self::for_audience) makes it cover every
    /// grant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the policy only to requests for this API identifier (the `audience`), on every
    /// grant that issues tokens for it ([`GrantKind::ALL`]).
    #[must_use]
    pub fn for_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets the grants the policy applies to (replacing the default: `[RefreshToken]` without an
    /// audience). A policy with an audience must cover all of [`GrantKind::ALL`]; a shorter list
    /// is refused when the tenant starts (see the type's documentation).
    #[must_use]
    pub fn on_grants(mut self, grants: impl IntoIterator<Item = GrantKind>) -> Self {
        self.grants = Some(grants.into_iter().collect());
        self
    }

    /// Sets the factors that satisfy the policy, in the `mfa_requirements` vocabulary: `otp`,
    /// `push-notification`, `phone`, `email`, `recovery-code` (replacing the default: all).
    #[must_use]
    pub fn with_factors<I, S>(mut self, factors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.factors = factors.into_iter().map(Into::into).collect();
        self
    }

    /// With `false` (the default), a refresh-token family (or SSO session, for
    /// [`GrantKind::Login`]) that has passed MFA passes this policy afterwards; with `true`,
    /// every matching request asks for MFA again.
    #[must_use]
    pub fn every_time(mut self, every_time: bool) -> Self {
        self.every_time = every_time;
        self
    }

    /// Requires `count` different factors (default 1; TOML `required_factors`), like an Action
    /// that chains challenges. On the refresh-token grant, each successful MFA grant but the
    /// last answers a new `403 mfa_required` with a fresh `mfa_token` whose
    /// `mfa_requirements.challenge` lists the remaining factor types (those already passed left
    /// out). Must be between 1 and the number of [`factors`](Self::factors). The login pages
    /// (`GrantKind::Login`) ask for one factor whatever the count.
    #[must_use]
    pub fn with_required_factor_count(mut self, count: usize) -> Self {
        self.required_factors = count;
        self
    }

    /// "Remember this browser": after MFA at login, the browser skips this policy's login MFA
    /// for `days` days (a `tollgate_mfa_remember` cookie tied to the user). Applies to
    /// [`GrantKind::Login`].
    #[must_use]
    pub fn remember_browser_days(mut self, days: u64) -> Self {
        self.remember_browser_days = Some(days);
        self
    }

    /// An adaptive rule: the policy asks for MFA at login only when the browser (its
    /// `tollgate_did` device cookie) or the client IP (`X-Forwarded-For`, else unknown) has not
    /// been seen in one of the user's earlier logins. Applies to [`GrantKind::Login`].
    #[must_use]
    pub fn new_devices_only(mut self, on: bool) -> Self {
        self.new_devices_only = on;
        self
    }

    /// Sets the shape of this policy's `mfa_required` answers (default
    /// [`MfaRequirements::Listed`], Customizable MFA). When several policies apply to one
    /// request, the answer lists the factors if any of them lists.
    ///
    /// ```
    /// use tollgate_tenant::{MfaPolicy, MfaRequirements};
    ///
    /// let plain = MfaPolicy::new().with_mfa_requirements(MfaRequirements::Omitted);
    /// assert_eq!(plain.mfa_requirements(), MfaRequirements::Omitted);
    /// assert_eq!(MfaPolicy::new().mfa_requirements(), MfaRequirements::Listed);
    /// ```
    #[must_use]
    pub fn with_mfa_requirements(mut self, shape: MfaRequirements) -> Self {
        self.mfa_requirements = shape;
        self
    }

    /// The shape of this policy's `mfa_required` answers.
    pub fn mfa_requirements(&self) -> MfaRequirements {
        self.mfa_requirements
    }

    /// Days a browser is remembered after MFA, if the policy remembers browsers.
    pub fn remembered_days(&self) -> Option<u64> {
        self.remember_browser_days
    }

    /// Whether the policy asks only new devices and addresses.
    pub fn is_new_devices_only(&self) -> bool {
        self.new_devices_only
    }

    /// How many different factors the policy requires.
    pub fn required_factor_count(&self) -> usize {
        self.required_factors
    }

    /// The audience the policy is limited to, if any.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The grants the policy applies to.
    pub fn grants(&self) -> &[GrantKind] {
        match (&self.grants, &self.audience) {
            (Some(grants), _) => grants,
            (None, Some(_)) => &GrantKind::ALL,
            (None, None) => &[GrantKind::RefreshToken],
        }
    }

    /// The first grant an audience policy leaves out, if any: such a policy would let tokens
    /// for its API out of that grant without MFA.
    pub(crate) fn open_grant(&self) -> Option<GrantKind> {
        self.audience.as_ref()?;
        GrantKind::ALL
            .into_iter()
            .find(|grant| !self.grants().contains(grant))
    }

    /// The factors that satisfy the policy.
    pub fn factors(&self) -> &[String] {
        &self.factors
    }

    /// Whether MFA is asked for on every matching request.
    pub fn is_every_time(&self) -> bool {
        self.every_time
    }

    /// Whether the policy covers a `grant` request for `audience`.
    pub(crate) fn applies_to(&self, grant: GrantKind, audience: Option<&str>) -> bool {
        self.grants().contains(&grant)
            && self
                .audience
                .as_deref()
                .is_none_or(|own| Some(own) == audience)
    }

    /// The first factor name outside the vocabulary, if any.
    pub(crate) fn unknown_factor(&self) -> Option<&str> {
        self.factors
            .iter()
            .map(String::as_str)
            .find(|f| !FACTOR_TYPES.contains(f))
    }
}

/// What a request needs before tokens are issued: the union of the factors allowed by every
/// policy that applies and is not yet satisfied, and the largest number of factors they require.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Requirement {
    /// Allowed factor types, in [`FACTOR_TYPES`] order.
    #[serde(with = "crate::persist::codec::factor_types")]
    pub(crate) factors: Vec<&'static str>,
    /// How many different factors must pass.
    pub(crate) count: usize,
    /// Whether the `mfa_required` answer lists the factors (`mfa_requirements`).
    #[serde(default = "listed")]
    pub(crate) listed: bool,
}

fn listed() -> bool {
    true
}

impl Requirement {
    /// Any one factor (the MFA API audience, `acr_values`).
    pub(crate) fn any_factor() -> Self {
        Self {
            factors: FACTOR_TYPES.to_vec(),
            count: 1,
            listed: true,
        }
    }

    /// Whether `factor` may satisfy the requirement.
    pub(crate) fn allows(&self, factor: &str) -> bool {
        self.factors.contains(&factor)
    }
}

/// The requirement of `policies` for a `grant` request for `audience`. `satisfied` says whether
/// MFA was already done for this family or session (then only `every_time` policies count).
pub(crate) fn requirement<'a>(
    policies: impl IntoIterator<Item = &'a MfaPolicy>,
    grant: GrantKind,
    audience: Option<&str>,
    satisfied: bool,
) -> Option<Requirement> {
    let mut allowed: Vec<&'static str> = Vec::new();
    let mut any = false;
    let mut count = 1;
    let mut listed = false;
    for policy in policies {
        if !policy.applies_to(grant, audience) || (satisfied && !policy.every_time) {
            continue;
        }
        any = true;
        count = count.max(policy.required_factors);
        listed |= policy.mfa_requirements == MfaRequirements::Listed;
        for factor in FACTOR_TYPES {
            if policy.factors.iter().any(|f| f == factor) && !allowed.contains(&factor) {
                allowed.push(factor);
            }
        }
    }
    allowed.sort_by_key(|f| FACTOR_TYPES.iter().position(|t| t == f));
    any.then_some(Requirement {
        factors: allowed,
        count,
        listed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_match_by_grant_audience_and_satisfaction() {
        let payments = MfaPolicy::new()
            .for_audience("https://payments")
            .with_factors(["recovery-code", "otp"]);
        let always = MfaPolicy::new()
            .for_audience("https://admin")
            .with_factors(["email"])
            .every_time(true);
        let chained = MfaPolicy::new()
            .for_audience("https://admin")
            .with_factors(["otp", "email"])
            .with_required_factor_count(2);
        let policies = [payments, always, chained];
        let need = |aud: Option<&str>, satisfied| {
            requirement(&policies, GrantKind::RefreshToken, aud, satisfied)
        };
        assert_eq!(
            need(Some("https://payments"), false).unwrap().factors,
            ["otp", "recovery-code"]
        );
        assert!(need(Some("https://payments"), true).is_none());
        assert!(need(None, false).is_none());
        assert_eq!(need(Some("https://payments"), false).unwrap().count, 1);
        let admin = need(Some("https://admin"), false).unwrap();
        assert_eq!(
            (admin.factors.as_slice(), admin.count),
            (["otp", "email"].as_slice(), 2)
        );
        // Once satisfied, only the every-time policy (one factor) is left.
        let admin = need(Some("https://admin"), true).unwrap();
        assert_eq!(
            (admin.factors.as_slice(), admin.count),
            (["email"].as_slice(), 1)
        );
        // An audience policy covers the login and the other grants too, not only the refresh.
        for grant in GrantKind::ALL {
            assert!(requirement(&policies, grant, Some("https://payments"), false).is_some());
            assert!(requirement(&policies, grant, Some("https://other"), false).is_none());
        }
        assert_eq!(policies[0].open_grant(), None);
        let narrowed = MfaPolicy::new()
            .for_audience("https://payments")
            .on_grants([GrantKind::RefreshToken]);
        assert_eq!(narrowed.open_grant(), Some(GrantKind::Login));
        assert_eq!(
            MfaPolicy::new().on_grants([GrantKind::Login]).open_grant(),
            None
        );

        let any = MfaPolicy::new();
        assert!(any.applies_to(GrantKind::RefreshToken, None));
        assert!(any.applies_to(GrantKind::RefreshToken, Some("https://x")));
        assert_eq!(any.unknown_factor(), None);
        assert_eq!(
            MfaPolicy::new().with_factors(["sms"]).unknown_factor(),
            Some("sms")
        );
    }
}

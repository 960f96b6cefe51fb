//! The claims of a verified access token, and the checks every token must pass.

use serde_json::{Map, Value};

use super::{ApiTokenError, str_claim};
use crate::oidc::id_token::numeric_date;

/// Checks `iss`, `aud`, `exp`, `nbf` and `iat` of a token whose signature was verified.
pub(super) fn check(
    claims: &Map<String, Value>,
    issuer: &str,
    audience: &str,
    now: u64,
    tolerance: u64,
) -> Result<(), ApiTokenError> {
    let bad = |m: &str| Err(ApiTokenError::Invalid(m.to_owned()));
    if str_claim(claims, "iss") != Some(issuer) {
        return bad("the token was not issued by the configured provider");
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_ok {
        return bad("the token is not for this API (aud)");
    }
    let date = |name: &'static str| {
        numeric_date(claims, name)
            .map_err(|_| ApiTokenError::Invalid(format!("{name} is not a number of seconds")))
    };
    let Some(exp) = date("exp")? else {
        return bad("the token has no expiry (exp)");
    };
    if now > exp.saturating_add(tolerance) {
        return bad("the token has expired");
    }
    if date("nbf")?.is_some_and(|nbf| nbf > now.saturating_add(tolerance)) {
        return bad("the token is not valid yet (nbf)");
    }
    if date("iat")?.is_some_and(|iat| iat > now.saturating_add(tolerance)) {
        return bad("the token was issued in the future (iat)");
    }
    if str_claim(claims, "sub").is_none_or(str::is_empty) {
        return bad("the token has no subject (sub)");
    }
    match claims.get("scope") {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => bad("scope is not a string"),
    }
}

/// A verified access token's claims.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenClaims {
    claims: Map<String, Value>,
}

impl AccessTokenClaims {
    pub(super) fn new(claims: Map<String, Value>) -> Self {
        Self { claims }
    }

    /// The subject: a user id, or `{client_id}@clients` for machine-to-machine tokens.
    pub fn sub(&self) -> &str {
        str_claim(&self.claims, "sub").unwrap_or_default()
    }

    /// The client the token was issued to (`azp`, or RFC 9068's `client_id`).
    pub fn client_id(&self) -> Option<&str> {
        str_claim(&self.claims, "azp").or_else(|| str_claim(&self.claims, "client_id"))
    }

    /// The granted scopes (`scope`, space-separated).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        str_claim(&self.claims, "scope")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted (in `scope`, or in the RBAC `permissions` array).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
            || self
                .claims
                .get("permissions")
                .and_then(Value::as_array)
                .is_some_and(|p| p.iter().any(|v| v.as_str() == Some(scope)))
    }

    /// Succeeds when every scope of `required` was granted.
    ///
    /// # Errors
    /// [`ApiTokenError::InsufficientScope`] naming all of `required`.
    pub fn require_scopes(&self, required: &[&str]) -> Result<(), ApiTokenError> {
        if required.iter().all(|s| self.has_scope(s)) {
            Ok(())
        } else {
            Err(ApiTokenError::InsufficientScope {
                required: required.iter().map(|s| (*s).to_owned()).collect(),
            })
        }
    }

    /// Succeeds when claim `name` equals `expected`, or, for an array claim, contains it (for
    /// example a namespaced MFA claim that an Auth0 Action adds).
    ///
    /// # Errors
    /// [`ApiTokenError::ClaimRequired`] naming the claim.
    pub fn require_claim(&self, name: &str, expected: &Value) -> Result<(), ApiTokenError> {
        let ok = match self.claims.get(name) {
            Some(Value::Array(items)) if !expected.is_array() => items.contains(expected),
            Some(v) => v == expected,
            None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiTokenError::ClaimRequired {
                claim: name.to_owned(),
            })
        }
    }

    /// Whether the token was issued to a client for itself (Auth0's `client_credentials` grant:
    /// `gty` is `client-credentials`, or `sub` is `{client_id}@clients`), not to a user.
    pub fn is_machine_to_machine(&self) -> bool {
        str_claim(&self.claims, "gty") == Some("client-credentials")
            || self.sub().ends_with("@clients")
    }

    /// Succeeds when the token was issued to a user, not machine to machine.
    ///
    /// # Errors
    /// [`ApiTokenError::UserRequired`].
    pub fn require_user(&self) -> Result<(), ApiTokenError> {
        if self.is_machine_to_machine() {
            Err(ApiTokenError::UserRequired)
        } else {
            Ok(())
        }
    }

    /// Whether the token shows that the user passed multi-factor authentication: `amr` (RFC
    /// 9068 §2.2.1) contains `mfa`, or `acr` is the multi-factor policy URI.
    ///
    /// Auth0 puts neither in access tokens (and Actions may not set them): there, an Action
    /// copies `event.authentication.methods` into a namespaced claim, read with
    /// [`has_mfa_in`](Self::has_mfa_in).
    pub fn has_mfa(&self) -> bool {
        self.has_mfa_in("amr")
    }

    /// Whether the array claim `methods_claim` (an `amr`-like list of method names, such as
    /// `https://example.com/amr`) contains `mfa`, or `acr` is the multi-factor policy URI.
    ///
    /// ```
    /// # use tollgate::api::AccessTokenClaims;
    /// # fn check(token: &AccessTokenClaims) -> bool {
    /// token.has_mfa_in("https://example.com/amr")
    /// # }
    /// ```
    pub fn has_mfa_in(&self, methods_claim: &str) -> bool {
        let listed = self
            .claims
            .get(methods_claim)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("mfa")));
        listed || str_claim(&self.claims, "acr") == Some(crate::session::ACR_MULTI_FACTOR)
    }

    /// Succeeds when the token was issued to a user and shows MFA in `methods_claim` (`"amr"`
    /// for RFC 9068 tokens; see [`has_mfa_in`](Self::has_mfa_in)). A machine-to-machine token
    /// never does.
    ///
    /// ```
    /// # use tollgate::api::{AccessTokenClaims, ApiTokenError};
    /// # fn check(token: &AccessTokenClaims) {
    /// if let Err(e) = token.require_mfa_in("amr") {
    ///     // RFC 9470: 401 with error="insufficient_user_authentication" and acr_values.
    ///     assert_eq!(e, ApiTokenError::UserAuthenticationRequired);
    ///     assert_eq!(e.status(), 401);
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ApiTokenError::UserAuthenticationRequired`].
    pub fn require_mfa_in(&self, methods_claim: &str) -> Result<(), ApiTokenError> {
        if self.has_mfa_in(methods_claim) && !self.is_machine_to_machine() {
            Ok(())
        } else {
            Err(ApiTokenError::UserAuthenticationRequired)
        }
    }

    /// The DPoP key thumbprint the token is bound to (`cnf.jkt`), if any.
    pub fn cnf_jkt(&self) -> Option<&str> {
        self.claims
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(Value::as_str)
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// All claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn good() -> Value {
        json!({"iss": "https://t/", "sub": "u", "aud": ["https://api", "https://t/userinfo"],
               "exp": NOW + 60, "iat": NOW, "scope": "read:a write:a",
               "permissions": ["admin"], "https://app/mfa": true})
    }

    #[test]
    fn each_claim_defect_is_refused() {
        assert!(check(&claims(good()), "https://t/", "https://api", NOW, 0).is_ok());
        let mutations: [(&str, Value); 9] = [
            ("iss", json!("https://t/evil")),
            ("aud", json!("https://other")),
            ("aud", json!(42)),
            ("exp", json!(NOW - 1)),
            ("exp", json!("9999999999")),
            ("nbf", json!(NOW + 5)),
            ("iat", json!(NOW + 5)),
            ("sub", json!("")),
            ("scope", json!(["read:a"])),
        ];
        for (name, value) in mutations {
            let mut c = claims(good());
            c.insert(name.to_owned(), value.clone());
            let err = check(&c, "https://t/", "https://api", NOW, 0).unwrap_err();
            assert!(
                matches!(err, ApiTokenError::Invalid(_)),
                "{name}={value}: {err:?}"
            );
        }
        let mut c = claims(good());
        c.remove("exp");
        assert!(check(&c, "https://t/", "https://api", NOW, 0).is_err());
        // Within the tolerance, a just-expired token still passes.
        let mut c = claims(good());
        c.insert("exp".into(), json!(NOW - 30));
        assert!(check(&c, "https://t/", "https://api", NOW, 60).is_ok());
    }

    #[test]
    fn scopes_permissions_and_claims() {
        let t = AccessTokenClaims::new(claims(good()));
        assert!(t.require_scopes(&["read:a", "write:a"]).is_ok());
        assert!(
            t.require_scopes(&["admin"]).is_ok(),
            "RBAC permissions count"
        );
        let err = t.require_scopes(&["read:a", "delete:a"]).unwrap_err();
        assert_eq!(
            err,
            ApiTokenError::InsufficientScope {
                required: vec!["read:a".into(), "delete:a".into()]
            }
        );
        assert!(t.require_claim("https://app/mfa", &json!(true)).is_ok());
        assert!(t.require_claim("https://app/mfa", &json!(false)).is_err());
        assert!(t.require_claim("permissions", &json!("admin")).is_ok());
        assert!(t.require_claim("missing", &json!(true)).is_err());
        assert_eq!(t.sub(), "u");
        assert_eq!(t.cnf_jkt(), None);
    }

    #[test]
    fn mfa_and_machine_tokens_are_told_apart() {
        let with = |extra: Value| {
            let mut c = claims(good());
            c.extend(claims(extra));
            AccessTokenClaims::new(c)
        };
        let password = with(json!({"amr": ["pwd"]}));
        assert!(!password.has_mfa());
        assert_eq!(
            password.require_mfa_in("amr"),
            Err(ApiTokenError::UserAuthenticationRequired)
        );
        assert!(password.require_user().is_ok());
        assert!(
            with(json!({"amr": ["pwd", "mfa"]}))
                .require_mfa_in("amr")
                .is_ok()
        );
        assert!(
            with(json!({"acr": crate::session::ACR_MULTI_FACTOR}))
                .require_mfa_in("amr")
                .is_ok()
        );
        let namespaced = with(json!({"https://app/amr": ["pwd", "mfa"]}));
        assert!(namespaced.has_mfa_in("https://app/amr"));
        assert!(!namespaced.has_mfa(), "only the named claim counts");
        assert!(!with(json!({"amr": "mfa"})).has_mfa(), "amr is an array");
        assert!(!with(json!({"acr": "mfa"})).has_mfa());
        for machine in [
            json!({"gty": "client-credentials"}),
            json!({"sub": "svc@clients"}),
            json!({"sub": "svc@clients", "amr": ["mfa"]}),
        ] {
            let t = with(machine.clone());
            assert_eq!(
                t.require_user(),
                Err(ApiTokenError::UserRequired),
                "{machine}"
            );
            assert!(t.require_mfa_in("amr").is_err(), "{machine}");
        }
    }
}

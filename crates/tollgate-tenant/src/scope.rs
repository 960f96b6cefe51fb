//! Scope strings: parsing, joining and deciding what is granted.

use crate::ApiConfig;

/// The OpenID Connect scopes the tenant understands without an API.
const OIDC_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "address",
    "phone",
];

/// Splits a space-separated scope string, dropping empty parts and repeats, keeping order.
pub(crate) fn parse(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for part in scope.split(' ').filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|s| s == part) {
            scopes.push(part.to_owned());
        }
    }
    scopes
}

/// Joins scopes with single spaces.
pub(crate) fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Whether `scopes` contains `scope`.
pub(crate) fn has(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

/// The scopes granted for a request: the OIDC scopes asked for, plus the asked-for scopes the
/// target API defines. Unknown scopes are dropped, as Auth0 does.
pub(crate) fn grant(requested: &[String], api: Option<&ApiConfig>) -> Vec<String> {
    requested
        .iter()
        .filter(|s| OIDC_SCOPES.contains(&s.as_str()) || api.is_some_and(|a| a.defines_scope(s)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_grants() {
        let requested = parse("openid  profile openid read:payments unknown");
        assert_eq!(requested, ["openid", "profile", "read:payments", "unknown"]);
        assert_eq!(grant(&requested, None), ["openid", "profile"]);
        let api = ApiConfig::new("https://api").with_scopes(["read:payments"]);
        assert_eq!(
            join(&grant(&requested, Some(&api))),
            "openid profile read:payments"
        );
    }
}

//! The SSO cookie, named `auth0` like Auth0's, so it never collides with an application's
//! `__session`, `__session__N` or `__txn_*` cookies on the same host.

use axum::http::{HeaderMap, HeaderValue, header};

/// The SSO cookie's name.
pub(crate) const SSO_COOKIE: &str = "auth0";

/// The value of the SSO cookie in the request, if any.
pub(crate) fn sso_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SSO_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` that stores a session id for `max_age_secs`.
pub(crate) fn set_sso_cookie(value: &str, max_age_secs: u64) -> HeaderValue {
    let cookie =
        format!("{SSO_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| clear_sso_cookie())
}

/// `Set-Cookie` that deletes the SSO cookie.
pub(crate) fn clear_sso_cookie() -> HeaderValue {
    HeaderValue::from_static("auth0=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sso_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__session=x; auth0=abc; __txn_1=y"),
        );
        assert_eq!(sso_cookie(&headers).as_deref(), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("auth0_compat=z; =; novalue"),
        );
        assert_eq!(sso_cookie(&headers), None);
    }
}

//! Sanitising `returnTo`: only same-origin destinations survive.
//!
//! Open redirects through post-login and post-logout targets are a classic OIDC client bug
//! (nextjs-auth0's `/%09/evil.com` and `/\evil.com` bypasses among them). The rule here is simple and
//! strict: after percent-decoding, the value must be a path on the application's own origin with no
//! control characters and no backslashes; anything else is refused.

use url::Url;

/// Longest `returnTo` accepted, in bytes.
pub const MAX_RETURN_TO_LEN: usize = 2048;

/// Returns the same-origin path (with query) that `value` designates, or `None` when it must be
/// refused. `base` is the application's base URL.
///
/// ```
/// use url::Url;
/// let base = Url::parse("https://app.example.com").unwrap();
/// assert_eq!(tollgate::sanitize_return_to("/billing?tab=1", &base).as_deref(), Some("/billing?tab=1"));
/// assert_eq!(tollgate::sanitize_return_to("https://app.example.com/x", &base).as_deref(), Some("/x"));
/// assert_eq!(tollgate::sanitize_return_to("//evil.com", &base), None);
/// assert_eq!(tollgate::sanitize_return_to("/%09/evil.com", &base), None);
/// assert_eq!(tollgate::sanitize_return_to("https://evil.com/", &base), None);
/// ```
pub fn sanitize_return_to(value: &str, base: &Url) -> Option<String> {
    if value.is_empty() || value.len() > MAX_RETURN_TO_LEN {
        return None;
    }
    // Look through up to three layers of percent-encoding for anything a browser would reinterpret.
    let mut layer = value.to_owned();
    for _ in 0..3 {
        if !plausible(&layer) {
            return None;
        }
        let decoded = percent_decode(&layer)?;
        if decoded == layer {
            break;
        }
        layer = decoded;
    }
    if !plausible(&layer) {
        return None;
    }
    let target = if value.starts_with('/') {
        base.join(value).ok()?
    } else {
        Url::parse(value).ok()?
    };
    if target.origin() != base.origin() || target.username() != "" || target.password().is_some() {
        return None;
    }
    let path = target.path();
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    let mut out = path.to_owned();
    if let Some(q) = target.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// Rejects control characters, backslashes and protocol-relative starts.
fn plausible(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || c == '\\')
        && !s.starts_with("//")
        && (s.starts_with('/') || s.starts_with("http://") || s.starts_with("https://"))
}

/// Percent-decodes once; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> Url {
        Url::parse("https://app.example.com/").unwrap()
    }

    #[test]
    fn accepts_same_origin_paths() {
        for (input, want) in [
            ("/", "/"),
            ("/billing", "/billing"),
            ("/a/b?c=d&e=%20f", "/a/b?c=d&e=%20f"),
            ("/a/../b", "/b"),
            ("https://app.example.com/p?q=1", "/p?q=1"),
        ] {
            assert_eq!(
                sanitize_return_to(input, &base()).as_deref(),
                Some(want),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_every_open_redirect_form() {
        for input in [
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "http://app.example.com/",
            "/%09/evil.com",
            "/%2F/evil.com",
            "/%5Cevil.com",
            "/%252F%252Fevil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "/a\u{0}",
            "javascript:alert(1)",
            "evil.com",
            "",
            "https://user:pw@app.example.com/",
            "/a/../..//evil.com",
            "https:evil.com",
        ] {
            assert_eq!(sanitize_return_to(input, &base()), None, "{input:?}");
        }
        assert_eq!(
            sanitize_return_to(&format!("/{}", "a".repeat(3000)), &base()),
            None
        );
    }

    proptest! {
        #[test]
        fn never_leaves_the_origin(s in ".{0,64}") {
            if let Some(p) = sanitize_return_to(&s, &base()) {
                prop_assert!(p.starts_with('/') && !p.starts_with("//"));
                prop_assert!(!p.contains('\\'));
                let resolved = base().join(&p).unwrap();
                prop_assert_eq!(resolved.origin(), base().origin());
            }
        }

        #[test]
        fn never_panics_on_prefixed_garbage(s in "(/|//|/%09|https://)[ -~]{0,40}") {
            let _ = sanitize_return_to(&s, &base());
        }
    }
}

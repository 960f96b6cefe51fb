//! Reading the `Cookie` header and writing `Set-Cookie` lines, including chunked cookies.
//!
//! A value longer than [`MAX_CHUNK_SIZE`] bytes is split over `name__0`, `name__1`, … exactly as
//! nextjs-auth0 v4 does, so both SDKs read each other's cookies.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Values above this many bytes are split into chunks (nextjs-auth0's `MAX_CHUNK_SIZE`).
pub const MAX_CHUNK_SIZE: usize = 3500;

/// Chunk indexes above this are ignored when reading, which bounds the work a request can cause.
const MAX_CHUNKS: usize = 64;

/// At most this many `;`-separated pairs of a request's `Cookie` headers are looked at; the rest
/// is ignored, unread. Browsers send far fewer (Chrome keeps at most 180 cookies per domain), so
/// only a hostile or broken client reaches it. Past the cap the request simply lacks those
/// cookies: a session or transaction cookie beyond it is not read (the request has no session),
/// which fails closed and never panics.
pub const MAX_COOKIE_PAIRS: usize = 1000;

/// The cookies of one request, parsed once, in time linear in the header's length.
///
/// The first of two cookies with the same name wins: browsers send the cookie with the longest
/// path first (RFC 6265 §5.4), so it is the most specific one. Only the first
/// [`MAX_COOKIE_PAIRS`] pairs are considered.
///
/// ```
/// let jar = tollgate::CookieJar::parse("a=1; __session=abc; b=2; a=dup");
/// assert_eq!(jar.get("__session"), Some("abc"));
/// assert_eq!(jar.get("a"), Some("1"));
/// assert_eq!(jar.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    /// The header text that was considered, kept once; cookies are byte ranges into it.
    raw: String,
    /// Distinct names in header order, each with its first value.
    pairs: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    /// `;`-separated segments considered so far, across every `Cookie` header.
    considered: usize,
    /// Whether a header went past [`MAX_COOKIE_PAIRS`].
    truncated: bool,
}

impl CookieJar {
    /// Parses the value of one `Cookie` header. Malformed pairs are skipped; the first of two
    /// cookies with the same name wins (browsers send the most specific path first).
    pub fn parse(header: &str) -> Self {
        let mut jar = Self::default();
        jar.extend(header);
        jar.finish();
        jar
    }

    /// Parses every `Cookie` header of a request.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let mut jar = Self::default();
        for value in headers.get_all(http::header::COOKIE) {
            if let Ok(s) = value.to_str() {
                jar.extend(s);
            }
        }
        jar.finish();
        jar
    }

    /// Whether the request carried more than [`MAX_COOKIE_PAIRS`] pairs (the rest was ignored).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Appends the pairs of `header`, up to the cap, duplicates included (`finish` drops them).
    fn extend(&mut self, header: &str) {
        if self.considered >= MAX_COOKIE_PAIRS {
            self.truncated |= !header.is_empty();
            return;
        }
        let base = self.raw.len();
        let mut offset = 0;
        // memchr's vectorised search: the session cookie's value is most of the header.
        let ends =
            memchr::memchr_iter(b';', header.as_bytes()).chain(std::iter::once(header.len()));
        for end in ends {
            if self.considered == MAX_COOKIE_PAIRS {
                self.truncated = true;
                break;
            }
            self.considered += 1;
            let start = base + offset;
            // `;` is ASCII, so `offset..end` lies on character boundaries.
            let part = &header[offset..end];
            offset = end + 1;
            let Some(eq) = memchr::memchr(b'=', part.as_bytes()) else {
                continue;
            };
            let (name, value) = (&part[..eq], &part[eq + 1..]);
            let name_trimmed = name.trim();
            if name_trimmed.is_empty() {
                continue;
            }
            let name_start = start + (name.len() - name.trim_start().len());
            let name_range = name_start..name_start + name_trimmed.len();
            let v = value.trim();
            let mut v_start = start + eq + 1 + (value.len() - value.trim_start().len());
            let mut v_len = v.len();
            if v_len >= 2 && v.starts_with('"') && v.ends_with('"') {
                v_start += 1;
                v_len -= 2;
            }
            self.pairs.push((name_range, v_start..v_start + v_len));
        }
        // Only the part that was looked at is kept (`offset` may pass the end by the last `;`).
        self.raw.push_str(&header[..offset.min(header.len())]);
        self.raw.push(';');
    }

    /// Keeps the first pair of each name, in one pass with a hash set (expected linear time;
    /// std's hasher is randomly keyed, so a client cannot pick colliding names).
    fn finish(&mut self) {
        let raw = &self.raw;
        let mut seen = std::collections::HashSet::with_capacity(self.pairs.len());
        self.pairs.retain(|(n, _)| seen.insert(&raw[n.clone()]));
        if self.truncated {
            tracing::warn!(
                cap = MAX_COOKIE_PAIRS,
                "the request has more cookie pairs than Tollgate reads; the rest are ignored"
            );
        }
    }

    /// The value of the cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| &self.raw[n.clone()] == name)
            .map(|(_, v)| &self.raw[v.clone()])
    }

    /// Every cookie as `(name, value)`, each name once (its first value), in header order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(n, v)| (&self.raw[n.clone()], &self.raw[v.clone()]))
    }

    /// Names of the cookies whose name starts with `prefix`.
    pub fn names_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.iter()
            .map(|(n, _)| n)
            .filter(move |n| n.starts_with(prefix))
    }

    /// Reads a possibly chunked value: the plain cookie `name` when present and non-empty, else the
    /// chunks `name__0..name__N` joined. A missing chunk yields `None`: half a value is no value.
    pub fn get_chunked(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(v) = self.get(name).filter(|v| !v.is_empty()) {
            return Some(Cow::Borrowed(v));
        }
        let mut chunks: Vec<(usize, &str)> = self.chunks_of(name).collect();
        if chunks.is_empty() {
            return None;
        }
        chunks.sort_unstable_by_key(|(i, _)| *i);
        if chunks.iter().enumerate().any(|(want, (i, _))| want != *i) {
            tracing::warn!(
                cookie = name,
                "a chunk of the cookie is missing; ignoring it"
            );
            return None;
        }
        Some(Cow::Owned(chunks.into_iter().map(|(_, v)| v).collect()))
    }

    /// The chunks `name__N` present in this request, as `(N, value)`, in one pass over the
    /// (distinct) names.
    fn chunks_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (usize, &'a str)> {
        self.iter().filter_map(move |(n, v)| {
            let idx = n.strip_prefix(name)?.strip_prefix("__")?;
            if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let i: usize = idx.parse().ok()?;
            (i < MAX_CHUNKS).then_some((i, v))
        })
    }

    /// Whether the request carries `name` or any chunk of it.
    pub fn has_chunked(&self, name: &str) -> bool {
        self.get(name).is_some() || self.chunks_of(name).next().is_some()
    }
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// `SameSite=Lax` (the default): sent on top-level navigations, which the login callback is.
    #[default]
    Lax,
    /// `SameSite=Strict`. Breaks the callback from the provider's domain; use with care.
    Strict,
    /// `SameSite=None`; requires `Secure`.
    None,
}

impl SameSite {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }

    /// Parses `lax`, `strict` or `none` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lax" => Some(Self::Lax),
            "strict" => Some(Self::Strict),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// Attributes shared by the cookies Tollgate writes. Cookies are always `HttpOnly`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieAttributes {
    /// `Path`, default `/`.
    pub path: String,
    /// `Domain`, absent by default (host-only cookie).
    pub domain: Option<String>,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite`.
    pub same_site: SameSite,
}

impl Default for CookieAttributes {
    fn default() -> Self {
        Self {
            path: "/".to_owned(),
            domain: None,
            secure: false,
            same_site: SameSite::Lax,
        }
    }
}

impl CookieAttributes {
    /// A `Set-Cookie` value. `max_age: None` makes a browser-session (transient) cookie.
    pub fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut s = String::with_capacity(name.len() + value.len() + 96);
        let _ = write!(s, "{name}={value}; Path={}", self.path);
        if let Some(age) = max_age {
            let _ = write!(s, "; Max-Age={age}");
        }
        self.push_common(&mut s);
        s
    }

    /// A `Set-Cookie` value that deletes `name`.
    pub fn delete(&self, name: &str) -> String {
        let mut s = format!("{name}=; Path={}; Max-Age=0", self.path);
        self.push_common(&mut s);
        s
    }

    fn push_common(&self, s: &mut String) {
        if let Some(d) = &self.domain {
            let _ = write!(s, "; Domain={d}");
        }
        s.push_str("; HttpOnly");
        if self.secure {
            s.push_str("; Secure");
        }
        let _ = write!(s, "; SameSite={}", self.same_site.as_str());
    }

    /// `Set-Cookie` values that store `value` under `name`, chunked above [`MAX_CHUNK_SIZE`], and
    /// delete whatever the request carried under the other layout (base cookie or surplus chunks).
    /// `value` must be ASCII (every sealed Tollgate value is base64url).
    pub fn set_chunked(
        &self,
        jar: &CookieJar,
        name: &str,
        value: &str,
        max_age: Option<u64>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if value.len() <= MAX_CHUNK_SIZE {
            out.push(self.set(name, value, max_age));
            for (i, _) in jar.chunks_of(name) {
                out.push(self.delete(&format!("{name}__{i}")));
            }
            return out;
        }
        let count = value.len().div_ceil(MAX_CHUNK_SIZE);
        for (i, chunk) in value.as_bytes().chunks(MAX_CHUNK_SIZE).enumerate() {
            // Chunk boundaries are byte boundaries; `value` is ASCII so each is valid UTF-8.
            let chunk = std::str::from_utf8(chunk).unwrap_or_default();
            out.push(self.set(&format!("{name}__{i}"), chunk, max_age));
        }
        if jar.get(name).is_some() {
            out.push(self.delete(name));
        }
        for (i, _) in jar.chunks_of(name) {
            if i >= count {
                out.push(self.delete(&format!("{name}__{i}")));
            }
        }
        out
    }

    /// `Set-Cookie` values that delete `name` and every chunk of it the request carried.
    pub fn delete_chunked(&self, jar: &CookieJar, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        if jar.get(name).is_some() {
            out.push(self.delete(name));
        }
        for (i, _) in jar.chunks_of(name) {
            out.push(self.delete(&format!("{name}__{i}")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any header: no panic, and every cookie it yields is a substring of the header.
        #[test]
        fn parsing_any_header_never_panics(header in "\\PC{0,200}") {
            let jar = CookieJar::parse(&header);
            for (n, v) in jar.iter() {
                proptest::prop_assert!(header.contains(n) && header.contains(v));
            }
            let _ = jar.get_chunked("__session");
        }

        /// Well-formed pairs are found exactly.
        #[test]
        fn well_formed_pairs_round_trip(pairs in proptest::collection::vec(("[a-z_]{1,8}", "[A-Za-z0-9._-]{0,16}"), 1..6)) {
            let header = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
            let jar = CookieJar::parse(&header);
            for (n, _) in &pairs {
                let first = pairs.iter().find(|(m, _)| m == n).map(|(_, v)| v.as_str());
                proptest::prop_assert_eq!(jar.get(n), first);
            }
        }
    }

    proptest::proptest! {
        /// Any mix of names, duplicates and junk: `get` answers the first value of each name,
        /// `iter` yields each name once, and chunked values join whatever the interleaving.
        #[test]
        fn first_value_wins_for_every_name(
            pairs in proptest::collection::vec(("[ab]|s__[0-3]|s", "[a-z0-9]{0,4}"), 0..40),
            junk in proptest::collection::vec("[ =;]{0,3}", 0..5),
        ) {
            let mut parts: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
            parts.extend(junk);
            let header = parts.join("; ");
            let jar = CookieJar::parse(&header);
            let mut names = std::collections::HashSet::new();
            for (n, _) in jar.iter() {
                proptest::prop_assert!(names.insert(n.to_owned()), "{n} twice");
            }
            for (n, _) in &pairs {
                let first = pairs.iter().find(|(m, _)| m == n).map(|(_, v)| v.as_str());
                proptest::prop_assert_eq!(jar.get(n), first);
            }
        }
    }

    #[test]
    fn duplicate_chunks_keep_the_first_and_still_join() {
        let jar = CookieJar::parse("s__0=AA; s__1=BB; s__0=evil; s__1=evil");
        assert_eq!(jar.get_chunked("s").as_deref(), Some("AABB"));
        assert_eq!(jar.iter().count(), 2);
    }

    #[test]
    fn pairs_past_the_cap_are_not_read() {
        let filler = |n: usize| (0..n).map(|i| format!("f{i}=x")).collect::<Vec<_>>();
        let mut within = filler(MAX_COOKIE_PAIRS - 1);
        within.push("__session=yes".into());
        let jar = CookieJar::parse(&within.join("; "));
        assert_eq!(
            jar.get("__session"),
            Some("yes"),
            "the last pair within the cap is read"
        );
        assert!(!jar.truncated());

        let mut beyond = filler(MAX_COOKIE_PAIRS);
        beyond.push("__session=yes".into());
        let jar = CookieJar::parse(&beyond.join("; "));
        assert_eq!(
            jar.get("__session"),
            None,
            "a session past the cap is not read"
        );
        assert!(jar.truncated());
        assert_eq!(jar.iter().count(), MAX_COOKIE_PAIRS);

        // Empty segments count too, and the cap spans every Cookie header of the request.
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::COOKIE,
            ";".repeat(MAX_COOKIE_PAIRS).parse().unwrap(),
        );
        headers.append(http::header::COOKIE, "__session=yes".parse().unwrap());
        let jar = CookieJar::from_headers(&headers);
        assert_eq!(jar.get("__session"), None);
        assert!(jar.truncated());
    }

    #[test]
    fn several_cookie_headers_are_one_jar() {
        let mut headers = http::HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1; s__0=AA".parse().unwrap());
        headers.append(http::header::COOKIE, "a=2; s__1=BB".parse().unwrap());
        let jar = CookieJar::from_headers(&headers);
        assert_eq!(jar.get("a"), Some("1"));
        assert_eq!(jar.get_chunked("s").as_deref(), Some("AABB"));
    }

    #[test]
    fn parses_and_trims() {
        let jar = CookieJar::parse(" a = 1 ;b=\"two\"; broken; =x; a=dup");
        assert_eq!(jar.get("a"), Some("1"));
        assert_eq!(jar.get("b"), Some("two"));
        assert_eq!(jar.iter().count(), 2);
    }

    #[test]
    fn chunks_join_in_order_and_gaps_fail() {
        let jar = CookieJar::parse("s__1=BB; s__0=AA; s__2=C");
        assert_eq!(jar.get_chunked("s").as_deref(), Some("AABBC"));
        let gap = CookieJar::parse("s__0=AA; s__2=C");
        assert_eq!(gap.get_chunked("s"), None);
        let not_chunks = CookieJar::parse("s__x=1; s__=2; s__+1=3");
        assert_eq!(not_chunks.get_chunked("s"), None);
    }

    #[test]
    fn base_cookie_wins_over_chunks() {
        let jar = CookieJar::parse("s=base; s__0=chunk");
        assert_eq!(jar.get_chunked("s").as_deref(), Some("base"));
    }

    #[test]
    fn writes_chunks_and_cleans_up() {
        let attrs = CookieAttributes::default();
        let long = "x".repeat(MAX_CHUNK_SIZE * 2 + 1);
        let jar = CookieJar::parse("s=old; s__5=stale");
        let lines = attrs.set_chunked(&jar, "s", &long, Some(60));
        assert!(lines[0].starts_with("s__0="));
        assert!(lines[2].starts_with("s__2=x;"));
        assert!(lines.iter().any(|l| l.starts_with("s=; ")));
        assert!(lines.iter().any(|l| l.starts_with("s__5=; ")));
        let short = attrs.set_chunked(&CookieJar::parse("s__0=a; s__1=b"), "s", "v", None);
        assert_eq!(short.len(), 3);
        assert_eq!(short[0], "s=v; Path=/; HttpOnly; SameSite=Lax");
    }

    #[test]
    fn attributes_render() {
        let attrs = CookieAttributes {
            path: "/app".into(),
            domain: Some("example.com".into()),
            secure: true,
            same_site: SameSite::Strict,
        };
        assert_eq!(
            attrs.set("n", "v", Some(10)),
            "n=v; Path=/app; Max-Age=10; Domain=example.com; HttpOnly; Secure; SameSite=Strict"
        );
        assert_eq!(
            attrs.delete("n"),
            "n=; Path=/app; Max-Age=0; Domain=example.com; HttpOnly; Secure; SameSite=Strict"
        );
    }
}

/// The `Set-Cookie` header values an answer must carry, each checked once as a header value.
///
/// Every SDK call that changes cookies returns one; [`apply`](Self::apply) adds them to a
/// response's headers. `Debug` shows only the cookie names, never their (sealed) values.
///
/// ```
/// let mut cookies = tollgate::SetCookies::new();
/// cookies.push("__session=abc; Path=/; HttpOnly");
/// let mut headers = tollgate::http::HeaderMap::new();
/// cookies.apply(&mut headers);
/// assert_eq!(headers.get_all("set-cookie").iter().count(), 1);
/// assert_eq!(cookies.names().collect::<Vec<_>>(), ["__session"]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SetCookies(Vec<http::HeaderValue>);

impl SetCookies {
    /// No cookies.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds one `Set-Cookie` line. The SDK's own lines are always valid header values; a line that
    /// is not (a control character in an application's cookie) is dropped and logged, never sent
    /// half-formed.
    pub fn push(&mut self, line: impl AsRef<str>) {
        match http::HeaderValue::from_str(line.as_ref()) {
            Ok(v) => self.0.push(v),
            Err(_) => tracing::error!("dropped a Set-Cookie line that is not a valid header value"),
        }
    }

    /// Adds the cookies of `other` after these.
    pub fn append(&mut self, other: SetCookies) {
        self.0.extend(other.0);
    }

    /// Whether there is no cookie to set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many `Set-Cookie` lines there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The header values, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, http::HeaderValue> {
        self.0.iter()
    }

    /// The lines as text, in order (for tests and logs of names; the values are sealed).
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|v| v.to_str().ok())
    }

    /// The cookie names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lines()
            .map(|l| l.split_once('=').map_or(l, |(name, _)| name).trim())
    }

    /// Appends every cookie to `headers` as a `Set-Cookie` header.
    pub fn apply(&self, headers: &mut http::HeaderMap) {
        for v in &self.0 {
            headers.append(http::header::SET_COOKIE, v.clone());
        }
    }
}

impl std::fmt::Debug for SetCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SetCookies")
            .field(&self.names().collect::<Vec<_>>())
            .finish()
    }
}

impl From<Vec<String>> for SetCookies {
    fn from(lines: Vec<String>) -> Self {
        let mut out = Self(Vec::with_capacity(lines.len()));
        for l in lines {
            // Owned lines become header values without a copy (a sealed session is kilobytes).
            match http::HeaderValue::try_from(l) {
                Ok(v) => out.0.push(v),
                Err(_) => {
                    tracing::error!("dropped a Set-Cookie line that is not a valid header value")
                }
            }
        }
        out
    }
}

impl IntoIterator for SetCookies {
    type Item = http::HeaderValue;
    type IntoIter = std::vec::IntoIter<http::HeaderValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a SetCookies {
    type Item = &'a http::HeaderValue;
    type IntoIter = std::slice::Iter<'a, http::HeaderValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

//! Request parameters from a query string, a form body or a JSON body.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

/// Named string parameters. The first occurrence of a repeated name wins; empty values count as
/// absent, as they do at Auth0.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Params(HashMap<String, String>);

/// The body is neither a form nor a JSON object.
#[derive(Debug)]
pub(crate) struct MalformedBody;

impl Params {
    /// Parses a URL query (or form-encoded text). Never fails: invalid escapes are kept lossily.
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            map.entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(map)
    }

    /// Parses a POST body: JSON when the content type says so, form-encoded otherwise.
    pub(crate) fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Self, MalformedBody> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !is_json {
            let text = std::str::from_utf8(body).map_err(|_| MalformedBody)?;
            return Ok(Self::from_query(Some(text)));
        }
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| MalformedBody)?;
        let serde_json::Value::Object(object) = value else {
            return Err(MalformedBody);
        };
        let mut map = HashMap::new();
        for (name, value) in object {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            map.insert(name, text);
        }
        Ok(Self(map))
    }

    /// These parameters without the client's credentials (`client_secret`, assertions).
    pub(crate) fn without_client_credentials(&self) -> Self {
        let mut map = self.0.clone();
        for name in ["client_secret", "client_assertion", "client_assertion_type"] {
            map.remove(name);
        }
        Self(map)
    }

    /// These parameters with `name` set to `value`.
    pub(crate) fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The value of `name`, if present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name` as an owned string.
    pub(crate) fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms_and_json() {
        let q = Params::from_query(Some("a=1&a=2&b=&c=%ZZ&d=x+y"));
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("b"), None);
        assert_eq!(q.get("c"), Some("%ZZ"));
        assert_eq!(q.get("d"), Some("x y"));

        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        let j = Params::from_body(&headers, br#"{"grant_type":"x","n":3,"o":{}}"#).unwrap();
        assert_eq!(j.get("grant_type"), Some("x"));
        assert_eq!(j.get("n"), Some("3"));
        assert_eq!(j.get("o"), None);
        assert!(Params::from_body(&headers, b"[1]").is_err());
        assert!(Params::from_body(&HeaderMap::new(), b"\xff").is_err());
    }
}

//! The session: who the user is and which tokens they hold.
//!
//! The JSON shape is nextjs-auth0 v4's `SessionData`, so a Next.js front end and a Rust API on one
//! domain can share one login: `{user, tokenSet, accessTokens?, internal{sid, createdAt}, …}`.
//! Tollgate adds one member, `authentication`, holding the claims from the signed ID token that
//! step-up decisions need (`amr`, `acr`, `auth_time`), so that they survive profile filtering.

pub(crate) mod base_url;
pub(crate) mod codec;
pub(crate) mod cookies;
pub(crate) mod jwe;
pub(crate) mod return_to;
pub(crate) mod secret;
pub mod store;
pub(crate) mod transaction;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The user's profile claims (from the ID token, filtered by the claim allow-list).
///
/// ```
/// let user: tollgate::User = serde_json::from_str(r#"{"sub":"auth0|1","name":"Ada"}"#).unwrap();
/// assert_eq!(user.sub(), "auth0|1");
/// assert_eq!(user.name(), Some("Ada"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct User(pub Map<String, Value>);

impl User {
    /// The subject identifier (`sub`), or `""` when missing.
    pub fn sub(&self) -> &str {
        self.str_claim("sub").unwrap_or("")
    }

    /// The `name` claim.
    pub fn name(&self) -> Option<&str> {
        self.str_claim("name")
    }

    /// The `email` claim.
    pub fn email(&self) -> Option<&str> {
        self.str_claim("email")
    }

    /// Any string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
}

/// Claims of the ID token needed for step-up decisions, kept even when profile claims are filtered.
/// They are copied from a *validated, signed* ID token at login and live inside the sealed cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// Authentication methods (`amr`), e.g. `["pwd", "mfa"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Authentication context class (`acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// When the user last authenticated actively (`auth_time`, seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
}

/// The tokens of the login (the default audience).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// The raw ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Scope that was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_scope: Option<String>,
    /// The refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Access token expiry, seconds since the epoch.
    pub expires_at: u64,
    /// The audience the access token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// `Bearer` or `DPoP`.
    #[serde(
        default,
        rename = "token_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_type: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .field("audience", &self.audience)
            .finish()
    }
}

/// An access token for another audience, obtained with the same refresh token (MRRT).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenEntry {
    /// The access token.
    pub access_token: String,
    /// Granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Scope that was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_scope: Option<String>,
    /// The audience.
    pub audience: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// `Bearer` or `DPoP`.
    #[serde(
        default,
        rename = "token_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_type: Option<String>,
}

impl fmt::Debug for AccessTokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenEntry")
            .field("access_token", &"[redacted]")
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Bookkeeping the SDK owns. Hooks cannot change it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Internal {
    /// The provider's session id (`sid` of the ID token), used for logout and back-channel logout.
    #[serde(default)]
    pub sid: String,
    /// When this session was created, seconds since the epoch (start of the absolute lifetime).
    #[serde(default)]
    pub created_at: u64,
    /// Members written by other SDKs, kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Everything stored for one signed-in user.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionData {
    /// Profile claims.
    pub user: User,
    /// Tokens for the default audience.
    pub token_set: TokenSet,
    /// Tokens for other audiences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_tokens: Vec<AccessTokenEntry>,
    /// SDK bookkeeping.
    pub internal: Internal,
    /// Step-up claims from the signed ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// Custom members (set by hooks or other SDKs), kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The OpenID Connect `acr` value of Auth0's multi-factor policy.
pub const ACR_MULTI_FACTOR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

impl SessionData {
    /// Whether the signed ID token of this session showed multi-factor authentication:
    /// `amr` contains `mfa`, or `acr` is the multi-factor policy.
    pub fn has_mfa(&self) -> bool {
        self.authentication.as_ref().is_some_and(|a| {
            a.amr.iter().any(|m| m == "mfa") || a.acr.as_deref() == Some(ACR_MULTI_FACTOR)
        })
    }
}

// Hand-written deserialisation: `#[serde(flatten)]` buffers every value through an intermediate
// representation, which doubled the cost of reading a session cookie. These visitors route the
// known members straight to their types and keep the rest as JSON values.

/// A member name, borrowed from the input when it holds no escapes (a `Cow<str>` would always be
/// copied: serde's `Cow` implementation deserialises the owned form).
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for SessionData {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SessionData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SessionData, A::Error> {
                let mut user = None;
                let mut token_set = None;
                let mut access_tokens = None;
                let mut internal = None;
                let mut authentication = None;
                let mut extra = Map::new();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "user" => user = Some(map.next_value()?),
                        "tokenSet" => token_set = Some(map.next_value()?),
                        "accessTokens" => access_tokens = map.next_value()?,
                        "internal" => internal = Some(map.next_value()?),
                        "authentication" => authentication = map.next_value()?,
                        _ => {
                            extra.insert(key.into_owned(), map.next_value()?);
                        }
                    }
                }
                Ok(SessionData {
                    user: user.ok_or_else(|| serde::de::Error::missing_field("user"))?,
                    token_set: token_set
                        .ok_or_else(|| serde::de::Error::missing_field("tokenSet"))?,
                    access_tokens: access_tokens.unwrap_or_default(),
                    internal: internal
                        .ok_or_else(|| serde::de::Error::missing_field("internal"))?,
                    authentication,
                    extra,
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Internal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Internal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the internal session object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Internal, A::Error> {
                let mut out = Internal::default();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "sid" => out.sid = map.next_value()?,
                        "createdAt" => out.created_at = map.next_value()?,
                        _ => {
                            out.other.insert(key.into_owned(), map.next_value()?);
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

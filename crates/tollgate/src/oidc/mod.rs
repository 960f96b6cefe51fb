//! OpenID Connect and OAuth 2.0 on the wire: the provider's metadata, keys and token endpoint,
//! ID-token validation, DPoP, client authentication, the authorization request, back-channel
//! logout, CIBA and UserInfo.

pub(crate) mod authorize;
pub(crate) mod backchannel;
pub(crate) mod ciba;
pub(crate) mod client_assertion;
pub(crate) mod dpop;
pub(crate) mod id_token;
pub(crate) mod provider;
pub(crate) mod userinfo;

//! Client authentication at the token and revocation endpoints and the MFA API:
//! `client_secret_basic` (HTTP Basic), `client_secret_post` (body parameters),
//! `private_key_jwt` (an ES256 client assertion verified with the client's registered public
//! key, single use) or `none` (a public client: `client_id` only).

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use super::oauth_error::OAuthError;
use super::params::Params;
use crate::state::TenantState;
use crate::{ClientConfig, TokenEndpointAuthMethod};

/// The `client_assertion_type` of a JWT client assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client the request authenticated as, or 401 `invalid_client`; 403 `access_denied` when
/// a browser on an origin the client does not list sent it.
///
/// Each client authenticates with its method ([`ClientConfig::token_endpoint_auth_method`]):
/// a public client (`none`) with `client_id` alone, and it must not send a secret or an
/// assertion; a `private_key_jwt` client with an assertion only; a `client_secret_post` or
/// `client_secret_basic` client with its secret, either way (as this tenant always accepted),
/// or an assertion if it registered a key. Every refusal answers Auth0's
/// `401 invalid_client` "Client authentication failed"; the reason is logged.
pub(crate) fn authenticate<'a>(
    state: &'a TenantState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    let client = credentials_client(state, headers, params)?;
    check_origin(state, headers, client)?;
    Ok(client)
}

/// The client whose credentials the request carries.
fn credentials_client<'a>(
    state: &'a TenantState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    let refuse = |why: &str| {
        tracing::info!(why, "client authentication refused");
        OAuthError::invalid_client()
    };
    let config = &state.config;
    if let Some(assertion) = params.get("client_assertion") {
        let client = assertion_client(state, params, assertion)?;
        if client.is_public() {
            return Err(refuse("a public client sent a client assertion"));
        }
        return Ok(client);
    }
    let (client_id, secret) = match basic_credentials(headers) {
        Some((id, secret)) => {
            // A body `client_id` may accompany Basic, but must name the same client.
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_client());
            }
            (id, Some(secret))
        }
        None => match params.owned("client_id") {
            Some(id) => (id, params.owned("client_secret")),
            None => return Err(OAuthError::invalid_client()),
        },
    };
    let client = config
        .client(&client_id)
        .ok_or_else(|| refuse("unknown client"))?;
    let method = client.token_endpoint_auth_method();
    let Some(secret) = secret else {
        return if method == TokenEndpointAuthMethod::None {
            Ok(client)
        } else {
            Err(refuse("a confidential client sent no credentials"))
        };
    };
    if method == TokenEndpointAuthMethod::None {
        return Err(refuse(
            "a public client (token_endpoint_auth_method none) sent a client secret",
        ));
    }
    if !method.uses_secret() || !client.has_secret() {
        return Err(refuse("the client does not authenticate with a secret"));
    }
    let matches: bool = client
        .client_secret()
        .as_bytes()
        .ct_eq(secret.as_bytes())
        .into();
    if matches {
        Ok(client)
    } else {
        Err(refuse("wrong client secret"))
    }
}

/// A request that a browser sent (it has an `Origin`) is accepted only from an origin the
/// client lists (Allowed Origins, Allowed Web Origins or a callback's origin), or from the
/// tenant's own origin.
fn check_origin(
    state: &TenantState,
    headers: &HeaderMap,
    client: &ClientConfig,
) -> Result<(), OAuthError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let own = url::Url::parse(&state.issuer)
        .is_ok_and(|issuer| issuer.origin().ascii_serialization() == origin);
    if own || client.allows_origin(origin) {
        Ok(())
    } else {
        tracing::info!(
            origin,
            client_id = client.client_id(),
            "refused a request from an origin the client does not allow"
        );
        Err(OAuthError::access_denied(format!(
            "Origin {origin} is not allowed for this client"
        )))
    }
}

/// `private_key_jwt`: the assertion names the client (`iss` = `sub`), is signed with its
/// registered ES256 key, is for this tenant (`aud` the issuer or the token endpoint), has not
/// expired and was not seen before.
fn assertion_client<'a>(
    state: &'a TenantState,
    params: &Params,
    assertion: &str,
) -> Result<&'a ClientConfig, OAuthError> {
    let refuse = |why: &str| {
        tracing::info!(why, "client assertion refused");
        OAuthError::invalid_client()
    };
    if params.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(refuse("client_assertion_type is not jwt-bearer"));
    }
    let claims = assertion
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
        .ok_or_else(|| refuse("not a JWT"))?;
    let client_id = claims["iss"].as_str().ok_or_else(|| refuse("no iss"))?;
    if params.get("client_id").is_some_and(|id| id != client_id) {
        return Err(refuse("client_id is not the assertion's issuer"));
    }
    let client = state
        .config
        .client(client_id)
        .ok_or_else(|| refuse("unknown client"))?;
    let pem = client
        .client_assertion_key()
        .ok_or_else(|| refuse("the client has no registered assertion key"))?;
    let key = jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes())
        .map_err(|_| refuse("the registered key is not a P-256 public key"))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[state.issuer.as_str(), &state.endpoint("oauth/token")]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let verified = jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &validation)
        .map_err(|e| refuse(&format!("invalid assertion: {e}")))?;
    let jti = verified.claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or_else(|| refuse("no jti"))?;
    let exp = verified.claims["exp"].as_u64().unwrap_or_default();
    if !state.store().remember_assertion(client_id, jti, exp) {
        return Err(refuse("replayed assertion"));
    }
    Ok(client)
}

/// The client a request claims to be (from HTTP Basic or the body), authenticated or not.
pub(crate) fn claimed_client_id(headers: &HeaderMap, params: &Params) -> Option<String> {
    basic_credentials(headers)
        .map(|(id, _)| id)
        .or_else(|| params.owned("client_id"))
}

/// `Authorization: Basic base64(id:secret)`. Per RFC 6749 §2.3.1 both parts are form-encoded;
/// most clients do not encode, so the raw form is used when decoding changes nothing useful.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// Decodes `%XX` escapes and `+`; returns the input unchanged if it is not valid encoding.
fn form_decode(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => return text.to_owned(),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn decodes_form_encoding_leniently() {
        assert_eq!(form_decode("plain-secret"), "plain-secret");
        assert_eq!(form_decode("a%3Ab+c"), "a:b c");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%FF"), "%FF");
    }
}

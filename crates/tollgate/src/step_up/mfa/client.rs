//! The MFA API client: list, enroll, challenge, verify, delete — each bound to the session that the
//! sealed `mfa_token` was issued for.

use reqwest::Method;
use serde_json::{Value, json};

use super::error::MfaError;
use super::token::MfaContext;
use super::types::{
    Authenticator, ChallengeRequest, ChallengeResponse, EnrollRequest, VerifyRequest,
};
use crate::config::ClientAuth;
use crate::oidc::provider::token::GrantError;
use crate::session::SessionData;
use crate::tokens::{AccessToken, AccessTokenError, AccessTokenOptions};
use crate::web::Tollgate;

const GRANT_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const GRANT_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
const GRANT_RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// The result of a successful verification.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOutcome {
    /// The session with the new tokens stored (save it).
    pub session: SessionData,
    /// The access token obtained for the MFA token's audience.
    pub token: AccessToken,
    /// A new recovery code to show the user (recovery-code verification only).
    pub recovery_code: Option<String>,
}

/// MFA operations for one session. Get it with [`Tollgate::mfa`].
#[derive(Debug, Clone, Copy)]
pub struct Mfa<'a> {
    auth: &'a Tollgate,
    session: &'a SessionData,
}

impl Tollgate {
    /// MFA operations on behalf of `session`. Every sealed `mfa_token` passed to them must have been
    /// issued for this session; one from another session is refused as invalid.
    pub fn mfa<'a>(&'a self, session: &'a SessionData) -> Mfa<'a> {
        Mfa {
            auth: self,
            session,
        }
    }
}

impl Mfa<'_> {
    fn open(&self, sealed: &str) -> Result<MfaContext, MfaError> {
        MfaContext::open(
            self.auth.mfa_keys(),
            sealed,
            self.session,
            self.auth.config().now(),
        )
    }

    async fn mfa_url(&self, path: &str) -> Result<String, MfaError> {
        let meta = self
            .auth
            .provider()
            .metadata()
            .await
            .map_err(MfaError::Unavailable)?;
        let base = if meta.issuer.ends_with('/') {
            meta.issuer.clone()
        } else {
            format!("{}/", meta.issuer)
        };
        Ok(format!("{base}mfa/{path}"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, MfaError> {
        let url = self.mfa_url(path).await?;
        let (status, bytes) = self
            .auth
            .provider()
            .http
            .send_json("MFA API", method, &url, bearer, body)
            .await
            .map_err(MfaError::Unavailable)?;
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            Err(MfaError::from_answer(status, &bytes))
        }
    }

    /// The user's active authenticators, filtered to the types the provider requires.
    pub async fn authenticators(&self, mfa_token: &str) -> Result<Vec<Authenticator>, MfaError> {
        let ctx = self.open(mfa_token)?;
        let bytes = self
            .call(Method::GET, "authenticators", Some(&ctx.mfa_token), None)
            .await?;
        let all: Vec<Authenticator> = serde_json::from_slice(&bytes).map_err(|e| {
            MfaError::Unavailable(crate::ProviderError::InvalidResponse {
                endpoint: "MFA API",
                reason: format!("the authenticator list is malformed ({e})"),
            })
        })?;
        let wanted = ctx
            .mfa_requirements
            .as_ref()
            .map(|r| r.challenge_types())
            .unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|a| a.active)
            .filter(|a| wanted.is_empty() || wanted.contains(&a.requirement_type()))
            .collect())
    }

    /// Starts a challenge (`otp`, or `oob` which sends a code or a push notification).
    pub async fn challenge(
        &self,
        mfa_token: &str,
        req: &ChallengeRequest,
    ) -> Result<ChallengeResponse, MfaError> {
        let ctx = self.open(mfa_token)?;
        if !matches!(req.challenge_type.as_str(), "otp" | "oob") {
            return Err(MfaError::InvalidRequest(
                "challenge_type must be otp or oob".into(),
            ));
        }
        let wanted = ctx
            .mfa_requirements
            .as_ref()
            .map(|r| r.challenge_types())
            .unwrap_or_default();
        let allowed = wanted.is_empty()
            || wanted.iter().any(|t| match req.challenge_type.as_str() {
                "otp" => t == "otp",
                _ => matches!(
                    t.as_str(),
                    "phone" | "email" | "push-notification" | "oob" | "sms" | "voice"
                ),
            });
        if !allowed {
            return Err(MfaError::NoAvailableFactors(format!(
                "the provider requires one of [{}], not {}",
                wanted.join(", "),
                req.challenge_type
            )));
        }
        let config = self.auth.config();
        let mut body = json!({
            "client_id": config.client_id,
            "mfa_token": ctx.mfa_token,
            "challenge_type": req.challenge_type,
        });
        match &config.client_auth {
            ClientAuth::SecretPost(s) | ClientAuth::SecretBasic(s) => {
                body["client_secret"] = json!(s.expose())
            }
            ClientAuth::PrivateKeyJwt { key, audience } => {
                body["client_assertion_type"] = json!(crate::JWT_BEARER_ASSERTION);
                body["client_assertion"] =
                    json!(key.assertion(&config.client_id, audience, self.auth.config().now()));
            }
        }
        if let Some(id) = &req.authenticator_id {
            body["authenticator_id"] = json!(id);
        }
        let bytes = self
            .call(Method::POST, "challenge", None, Some(&body))
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            MfaError::Unavailable(crate::ProviderError::InvalidResponse {
                endpoint: "MFA API",
                reason: format!("the challenge answer is malformed ({e})"),
            })
        })
    }

    /// Enrolls a new authenticator. Returns the provider's answer as it is (`secret` and
    /// `barcode_uri` for OTP, `oob_code` for out-of-band, `recovery_codes` the first time).
    pub async fn enroll(&self, mfa_token: &str, req: &EnrollRequest) -> Result<Value, MfaError> {
        let ctx = self.open(mfa_token)?;
        req.validate()
            .map_err(|m| MfaError::InvalidRequest(m.to_owned()))?;
        let body = serde_json::to_value(req)
            .map_err(|_| MfaError::InvalidRequest("unserialisable request".into()))?;
        let bytes = self
            .call(Method::POST, "associate", Some(&ctx.mfa_token), Some(&body))
            .await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(MfaError::Unavailable(
                crate::ProviderError::InvalidResponse {
                    endpoint: "MFA API",
                    reason: "the enrollment answer is not a JSON object".into(),
                },
            )),
        }
    }

    /// Verifies a factor. On success the new access token — and a rotated refresh token or new ID
    /// token when returned — are stored in the returned session under the audience and scope that
    /// were requested, so the next request for them finds the token without another refresh.
    pub async fn verify(
        &self,
        mfa_token: &str,
        req: &VerifyRequest,
    ) -> Result<VerifyOutcome, MfaError> {
        let ctx = self.open(mfa_token)?;
        let mut form: Vec<(&str, &str)> = vec![("mfa_token", &ctx.mfa_token)];
        match req {
            VerifyRequest::Otp { otp } => {
                form.push(("grant_type", GRANT_OTP));
                form.push(("otp", otp));
            }
            VerifyRequest::Oob {
                oob_code,
                binding_code,
            } => {
                form.push(("grant_type", GRANT_OOB));
                form.push(("oob_code", oob_code));
                if let Some(b) = binding_code.as_deref().filter(|b| !b.is_empty()) {
                    form.push(("binding_code", b));
                }
            }
            VerifyRequest::RecoveryCode { recovery_code } => {
                form.push(("grant_type", GRANT_RECOVERY));
                form.push(("recovery_code", recovery_code));
            }
        }
        if !ctx.audience.is_empty() {
            form.push(("audience", &ctx.audience));
        }
        if !ctx.scope.is_empty() {
            form.push(("scope", &ctx.scope));
        }
        let config = self.auth.config();
        let resp = match self
            .auth
            .provider()
            .grant(&config.client_id, &config.client_auth, &form)
            .await
        {
            Ok(r) => r,
            Err(GrantError::MfaRequired {
                description,
                mfa_token,
                requirements,
            }) => {
                return Err(MfaError::MfaRequired(self.auth.mfa_required_error(
                    self.session,
                    &ctx.audience,
                    &ctx.scope,
                    description,
                    mfa_token,
                    requirements,
                )));
            }
            Err(GrantError::Other(crate::ProviderError::OAuth {
                status,
                error,
                description,
                ..
            })) => {
                return Err(MfaError::Provider {
                    status,
                    error,
                    description: description.unwrap_or_default(),
                });
            }
            Err(GrantError::Other(e)) => return Err(MfaError::Unavailable(e)),
        };
        let recovery_code = resp.recovery_code.clone();
        let mut session = self.session.clone();
        let audience = (!ctx.audience.is_empty()).then_some(ctx.audience.as_str());
        let key = match audience {
            Some(a) if !self.auth.is_default_audience(&session, Some(a)) => Some(a),
            _ => None,
        };
        let token = self
            .auth
            .store_tokens(
                &mut session,
                key,
                &ctx.scope,
                resp,
                self.auth.config().now(),
            )
            .await
            .map_err(|e| match e {
                AccessTokenError::InvalidIdToken(crate::IdTokenError::SubjectMismatch) => {
                    MfaError::IdentityMismatch
                }
                AccessTokenError::RefreshFailed(p) => MfaError::Unavailable(p),
                other => MfaError::Provider {
                    status: 400,
                    error: other.code().to_owned(),
                    description: other.to_string(),
                },
            })?;
        Ok(VerifyOutcome {
            session,
            token,
            recovery_code,
        })
    }

    /// Deletes an authenticator. Auth0 requires an access token for the MFA API audience
    /// (`https://{domain}/mfa/`, scope `remove:authenticators`), not an `mfa_token`: it is taken from
    /// the session, or refreshed — which may itself answer `mfa_required`.
    pub async fn delete_authenticator(
        &self,
        authenticator_id: &str,
    ) -> Result<Option<SessionData>, MfaError> {
        let audience = self.mfa_url("").await?;
        let outcome = self
            .auth
            .access_token(
                self.session,
                &AccessTokenOptions::new()
                    .audience(audience)
                    .scope("remove:authenticators"),
            )
            .await
            .map_err(|e| match e {
                AccessTokenError::MfaRequired(m) => MfaError::MfaRequired(m),
                AccessTokenError::MissingRefreshToken => MfaError::MissingSession,
                AccessTokenError::RefreshFailed(p) => MfaError::Unavailable(p),
                other => MfaError::InvalidRequest(other.to_string()),
            })?;
        let id: String =
            url::form_urlencoded::byte_serialize(authenticator_id.as_bytes()).collect();
        self.call(
            Method::DELETE,
            &format!("authenticators/{}", id.replace('+', "%20")),
            Some(&outcome.token.token),
            None,
        )
        .await?;
        Ok(outcome.session)
    }
}

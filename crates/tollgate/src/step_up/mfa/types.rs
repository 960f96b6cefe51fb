//! MFA API shapes, snake_case as Auth0 sends them.

use serde::{Deserialize, Serialize};

/// An enrolled authenticator (`GET /mfa/authenticators`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticator {
    /// e.g. `totp|dev_…`.
    pub id: String,
    /// `otp`, `oob` or `recovery-code`.
    pub authenticator_type: String,
    /// The requirement vocabulary: `otp`, `phone`, `email`, `push-notification`, `recovery-code`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Confirmed.
    #[serde(default)]
    pub active: bool,
    /// Masked phone, email or device name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `sms`, `voice`, `email` or `auth0` (push), for `oob`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oob_channel: Option<String>,
    /// Phone number, when the provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_auth: Option<String>,
}

impl Authenticator {
    /// The requirement type: the provider's `type`, or inferred from the authenticator type and
    /// channel when the provider omits it (so filtering never silently empties the list).
    pub fn requirement_type(&self) -> String {
        if let Some(k) = &self.kind {
            return k.to_ascii_lowercase();
        }
        match (
            self.authenticator_type.as_str(),
            self.oob_channel.as_deref(),
        ) {
            ("oob", Some("sms" | "voice")) => "phone".into(),
            ("oob", Some("email")) => "email".into(),
            ("oob", Some("auth0")) => "push-notification".into(),
            (other, _) => other.to_owned(),
        }
    }
}

/// `POST /auth/mfa/challenge` body (without the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRequest {
    /// `otp` or `oob`.
    pub challenge_type: String,
    /// A specific authenticator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_id: Option<String>,
}

/// The provider's answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// `otp` or `oob`.
    pub challenge_type: String,
    /// For `oob`: the code to verify with (and poll, for push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oob_code: Option<String>,
    /// `prompt` when the user must type the code they received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_method: Option<String>,
}

/// `POST /auth/mfa/associate` body (without the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// `["otp"]` or `["oob"]`.
    pub authenticator_types: Vec<String>,
    /// For `oob`: `["sms"]`, `["voice"]`, `["email"]` or `["auth0"]` (push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oob_channels: Option<Vec<String>>,
    /// E.164 phone number, for sms and voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Email address, for the email channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl EnrollRequest {
    /// Checks the request before it goes to the provider.
    pub fn validate(&self) -> Result<(), &'static str> {
        match self.authenticator_types.as_slice() {
            [t] if t == "otp" => Ok(()),
            [t] if t == "oob" => {
                let channels = self.oob_channels.as_deref().unwrap_or_default();
                if channels.is_empty() {
                    return Err("oob_channels is required for an oob authenticator");
                }
                for c in channels {
                    match c.as_str() {
                        "sms" | "voice" => {
                            let ok = self.phone_number.as_deref().is_some_and(|p| {
                                p.len() >= 8
                                    && p.len() <= 16
                                    && p.starts_with('+')
                                    && p[1..].bytes().all(|b| b.is_ascii_digit())
                            });
                            if !ok {
                                return Err(
                                    "phone_number must be an E.164 number such as +15555550100 for sms and voice",
                                );
                            }
                        }
                        "email" | "auth0" => {}
                        _ => return Err("oob_channels must be sms, voice, email or auth0"),
                    }
                }
                Ok(())
            }
            _ => Err("authenticator_types must be [\"otp\"] or [\"oob\"]"),
        }
    }
}

/// What proves the factor.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum VerifyRequest {
    /// A one-time password (TOTP).
    Otp {
        /// The code.
        otp: String,
    },
    /// An out-of-band code, with the code the user received when the binding method is `prompt`.
    Oob {
        /// From the challenge or enrollment.
        oob_code: String,
        /// What the user typed.
        #[serde(default)]
        binding_code: Option<String>,
    },
    /// A recovery code.
    RecoveryCode {
        /// The code.
        recovery_code: String,
    },
}

impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Otp { .. } => "VerifyRequest::Otp",
            Self::Oob { .. } => "VerifyRequest::Oob",
            Self::RecoveryCode { .. } => "VerifyRequest::RecoveryCode",
        })
    }
}

impl VerifyRequest {
    /// An OTP verification.
    pub fn otp(code: impl Into<String>) -> Self {
        Self::Otp { otp: code.into() }
    }

    /// An out-of-band verification.
    pub fn oob(oob_code: impl Into<String>, binding_code: Option<String>) -> Self {
        Self::Oob {
            oob_code: oob_code.into(),
            binding_code,
        }
    }

    /// A recovery-code verification.
    pub fn recovery_code(code: impl Into<String>) -> Self {
        Self::RecoveryCode {
            recovery_code: code.into(),
        }
    }
}

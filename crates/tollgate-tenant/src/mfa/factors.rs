//! A user's authenticators (Auth0 "enrollments"): TOTP, SMS, voice, email, push and the
//! recovery code, with their pending (unconfirmed) state, twins and one-time-code bookkeeping.

use std::collections::HashSet;

use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::limits::{Bucket, Limit};
use super::totp;
use crate::{ConfigError, UserConfig, random};

/// Letters and digits of recovery codes and device ids.
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The length of a recovery code.
const RECOVERY_CODE_LEN: usize = 24;
/// The device name of push authenticators enrolled through `/mfa/associate`.
pub(crate) const ENROLLED_PUSH_DEVICE: &str = "Auth0 Guardian";

/// What an authenticator is, with the secret or address it needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Kind {
    Totp { secret: String },
    Sms { phone: String },
    Voice { phone: String },
    Email { address: String },
    Push { device: String },
    RecoveryCode { code: String },
}

impl Kind {
    /// The prefix of the id: `totp`, `sms`, `voice`, `email`, `push` or `recovery-code`.
    pub(crate) fn id_prefix(&self) -> &'static str {
        match self {
            Self::Totp { .. } => "totp",
            Self::Sms { .. } => "sms",
            Self::Voice { .. } => "voice",
            Self::Email { .. } => "email",
            Self::Push { .. } => "push",
            Self::RecoveryCode { .. } => "recovery-code",
        }
    }

    /// The `mfa_requirements` / `type` vocabulary.
    pub(crate) fn factor_type(&self) -> &'static str {
        match self {
            Self::Totp { .. } => "otp",
            Self::Sms { .. } | Self::Voice { .. } => "phone",
            Self::Email { .. } => "email",
            Self::Push { .. } => "push-notification",
            Self::RecoveryCode { .. } => "recovery-code",
        }
    }

    /// `authenticator_type`: `otp`, `oob` or `recovery-code`.
    pub(crate) fn authenticator_type(&self) -> &'static str {
        match self {
            Self::Totp { .. } => "otp",
            Self::RecoveryCode { .. } => "recovery-code",
            _ => "oob",
        }
    }

    /// `oob_channel` of out-of-band authenticators.
    pub(crate) fn oob_channel(&self) -> Option<&'static str> {
        match self {
            Self::Sms { .. } => Some("sms"),
            Self::Voice { .. } => Some("voice"),
            Self::Email { .. } => Some("email"),
            Self::Push { .. } => Some("auth0"),
            _ => None,
        }
    }

    /// Where codes or requests go: the phone, email address or device name.
    pub(crate) fn destination(&self) -> Option<&str> {
        match self {
            Self::Sms { phone } | Self::Voice { phone } => Some(phone),
            Self::Email { address } => Some(address),
            Self::Push { device } => Some(device),
            _ => None,
        }
    }

    /// The `name` shown in listings: the masked phone, the email or the device name.
    fn display_name(&self) -> Option<String> {
        match self {
            Self::Sms { phone } | Self::Voice { phone } => Some(mask_phone(phone)),
            Self::Email { address } => Some(address.clone()),
            Self::Push { device } => Some(device.clone()),
            _ => None,
        }
    }
}

/// One authenticator.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Authenticator {
    /// `<kind>|dev_<16 characters>`.
    pub(crate) id: String,
    pub(crate) kind: Kind,
    /// `false` until the enrollment is confirmed.
    pub(crate) active: bool,
    /// The authenticator enrolled and removed together with this one (SMS/voice, push/OTP).
    twin: Option<String>,
}

impl Authenticator {
    /// The `/mfa/authenticators` JSON object.
    pub(crate) fn to_json(&self) -> Value {
        let mut object = json!({
            "id": self.id,
            "authenticator_type": self.kind.authenticator_type(),
            "active": self.active,
            "type": self.kind.factor_type(),
        });
        if let Some(channel) = self.kind.oob_channel() {
            object["oob_channel"] = json!(channel);
        }
        if let Some(name) = self.kind.display_name() {
            object["name"] = json!(name);
        }
        object
    }
}

/// Everything MFA knows about one user.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct UserFactors {
    authenticators: Vec<Authenticator>,
    /// TOTP steps already used, per authenticator id.
    used_steps: HashSet<(String, u64)>,
    /// Failed codes: 10, then 1 per 6 minutes.
    pub(crate) failures: Bucket,
    /// SMS and voice sends: 10, then 1 per hour.
    pub(crate) phone_sends: Bucket,
    /// Email sends: 20, then 1 per minute.
    pub(crate) email_sends: Bucket,
}

impl UserFactors {
    /// The authenticators a configured user starts with, all active.
    pub(crate) fn from_config(user: &UserConfig) -> Self {
        let mut factors = Self {
            authenticators: Vec::new(),
            used_steps: HashSet::new(),
            failures: Bucket::new(Limit::FAILED_CODES),
            phone_sends: Bucket::new(Limit::PHONE_SENDS),
            email_sends: Bucket::new(Limit::EMAIL_SENDS),
        };
        if let Some(code) = user.recovery_code() {
            factors.add(
                vec![Kind::RecoveryCode {
                    code: code.to_owned(),
                }],
                true,
            );
        }
        if let Some(secret) = user.totp_secret() {
            factors.add(
                vec![Kind::Totp {
                    secret: secret.to_owned(),
                }],
                true,
            );
        }
        if let Some(phone) = user.phone() {
            // SMS and voice share one device id and are removed together, as at Auth0.
            factors.add(
                vec![
                    Kind::Sms {
                        phone: phone.to_owned(),
                    },
                    Kind::Voice {
                        phone: phone.to_owned(),
                    },
                ],
                true,
            );
        }
        if user.email_factor() {
            factors.add(
                vec![Kind::Email {
                    address: user.email().to_owned(),
                }],
                true,
            );
        }
        if let Some(device) = user.push_device() {
            factors.add(
                vec![
                    Kind::Push {
                        device: device.to_owned(),
                    },
                    Kind::Totp {
                        secret: totp::generate_secret(),
                    },
                ],
                true,
            );
        }
        factors
    }

    /// Adds authenticators that share one device id (and are twins when there are two);
    /// returns their ids.
    pub(crate) fn add(&mut self, kinds: Vec<Kind>, active: bool) -> Vec<String> {
        let suffix = random::from_alphabet(ALNUM, 16);
        let ids: Vec<String> = kinds
            .iter()
            .map(|kind| format!("{}|dev_{suffix}", kind.id_prefix()))
            .collect();
        for (index, kind) in kinds.into_iter().enumerate() {
            let twin = match ids.as_slice() {
                [a, b] => Some(if index == 0 { b.clone() } else { a.clone() }),
                _ => None,
            };
            self.authenticators.push(Authenticator {
                id: ids[index].clone(),
                kind,
                active,
                twin,
            });
        }
        ids
    }

    /// All authenticators, active or pending, the recovery code first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Authenticator> {
        let recovery = self
            .authenticators
            .iter()
            .filter(|a| matches!(a.kind, Kind::RecoveryCode { .. }));
        let others = self
            .authenticators
            .iter()
            .filter(|a| !matches!(a.kind, Kind::RecoveryCode { .. }));
        recovery.chain(others)
    }

    /// The authenticator with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Authenticator> {
        self.authenticators.iter().find(|a| a.id == id)
    }

    /// The active authenticators that can be challenged (all but the recovery code).
    pub(crate) fn challengeable(&self) -> impl Iterator<Item = &Authenticator> {
        self.authenticators
            .iter()
            .filter(|a| a.active && !matches!(a.kind, Kind::RecoveryCode { .. }))
    }

    /// Whether the user has an active factor other than a recovery code.
    pub(crate) fn is_enrolled(&self) -> bool {
        self.challengeable().next().is_some()
    }

    /// The factor types of the active authenticators, in `mfa_requirements` order.
    pub(crate) fn active_types(&self) -> Vec<&'static str> {
        super::policy::FACTOR_TYPES
            .into_iter()
            .filter(|t| {
                self.authenticators
                    .iter()
                    .any(|a| a.active && a.kind.factor_type() == *t)
            })
            .collect()
    }

    /// The first active authenticator of a factor type.
    #[cfg(test)]
    pub(crate) fn first_active(&self, factor_type: &str) -> Option<&Authenticator> {
        self.challengeable()
            .find(|a| a.kind.factor_type() == factor_type)
    }

    /// The secret of the user's TOTP authenticator: the first active one, else the first pending.
    pub(crate) fn totp_secret(&self) -> Option<&str> {
        let totps = || {
            self.authenticators.iter().filter_map(|a| match &a.kind {
                Kind::Totp { secret } => Some((a.active, secret.as_str())),
                _ => None,
            })
        };
        totps()
            .find(|(active, _)| *active)
            .or_else(|| totps().next())
            .map(|(_, secret)| secret)
    }

    /// Checks a TOTP code against the TOTP authenticators `eligible` accepts; a step that was
    /// used once is refused. Returns the id of the authenticator that matched.
    pub(crate) fn verify_totp(
        &mut self,
        code: &str,
        now: u64,
        eligible: impl Fn(&Authenticator) -> bool,
    ) -> Option<String> {
        let current = totp::step_at(now);
        self.used_steps.retain(|(_, step)| *step + 2 >= current);
        let used_steps = &self.used_steps;
        let found = self.authenticators.iter().find_map(|a| match &a.kind {
            Kind::Totp { secret } if eligible(a) => totp::matching_step(secret, code, now)
                .filter(|step| !used_steps.contains(&(a.id.clone(), *step)))
                .map(|step| (a.id.clone(), step)),
            _ => None,
        })?;
        self.used_steps.insert(found.clone());
        Some(found.0)
    }

    /// Whether `code` is the active recovery code (case, spaces and hyphens ignored).
    pub(crate) fn recovery_code_matches(&self, code: &str) -> bool {
        let normalized: String = code
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self.authenticators.iter().any(|a| match &a.kind {
            Kind::RecoveryCode { code } if a.active => {
                code.as_bytes().ct_eq(normalized.as_bytes()).into()
            }
            _ => false,
        })
    }

    /// Replaces the active recovery code by a new one, which is returned.
    pub(crate) fn rotate_recovery_code(&mut self) -> String {
        let new_code = generate_recovery_code();
        for a in &mut self.authenticators {
            if let Kind::RecoveryCode { code } = &mut a.kind
                && a.active
            {
                code.clone_from(&new_code);
            }
        }
        new_code
    }

    /// Makes sure a recovery code will exist once a first enrollment is confirmed: when the
    /// user has no active recovery code, returns the pending one, made on first call.
    pub(crate) fn pending_recovery_code(&mut self) -> Option<String> {
        let mut pending = None;
        for a in &self.authenticators {
            if let Kind::RecoveryCode { code } = &a.kind {
                if a.active {
                    return None;
                }
                pending = Some(code.clone());
            }
        }
        if pending.is_some() {
            return pending;
        }
        let code = generate_recovery_code();
        self.add(vec![Kind::RecoveryCode { code: code.clone() }], false);
        Some(code)
    }

    /// Confirms an enrollment: the authenticator, its twin and a pending recovery code become
    /// active. Returns the recovery code that became active, if any.
    pub(crate) fn activate(&mut self, id: &str) -> Option<String> {
        let twin = self.get(id).and_then(|a| a.twin.clone());
        let mut new_recovery = None;
        for a in &mut self.authenticators {
            let target = a.id == id || twin.as_deref() == Some(a.id.as_str());
            if target {
                a.active = true;
            } else if let Kind::RecoveryCode { code } = &a.kind
                && !a.active
            {
                a.active = true;
                new_recovery = Some(code.clone());
            }
        }
        new_recovery
    }

    /// Removes an authenticator and its twin; `false` if there is none with this id.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let Some(twin) = self.get(id).map(|a| a.twin.clone()) else {
            return false;
        };
        self.authenticators
            .retain(|a| a.id != id && twin.as_deref() != Some(a.id.as_str()));
        true
    }
}

/// A new recovery code: 24 upper-case letters and digits.
pub(crate) fn generate_recovery_code() -> String {
    random::from_alphabet(UPPER_ALNUM, RECOVERY_CODE_LEN)
}

/// `+15555550100` → `XXXXXXXX0100`: everything but the last four characters masked.
pub(crate) fn mask_phone(phone: &str) -> String {
    let count = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < count { 'X' } else { c })
        .collect()
}

/// Whether `phone` is E.164: `+`, a non-zero digit, then 6 to 14 more digits.
pub(crate) fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Checks the MFA fields of a configured user.
pub(crate) fn validate_user(user: &UserConfig) -> Result<(), ConfigError> {
    let email = || user.email().to_owned();
    if user
        .totp_secret()
        .is_some_and(|s| totp::base32_decode(s).is_none())
    {
        return Err(ConfigError::InvalidTotpSecret { email: email() });
    }
    if let Some(phone) = user.phone()
        && !is_e164(phone)
    {
        return Err(ConfigError::InvalidPhoneNumber {
            email: email(),
            phone: phone.to_owned(),
        });
    }
    if user.recovery_code().is_some_and(|code| {
        code.len() != RECOVERY_CODE_LEN || !code.bytes().all(|b| UPPER_ALNUM.contains(&b))
    }) {
        return Err(ConfigError::InvalidRecoveryCode { email: email() });
    }
    if user.push_device().is_some_and(|d| d.trim().is_empty()) {
        return Err(ConfigError::EmptyPushDevice { email: email() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserFactors {
        UserFactors::from_config(
            &UserConfig::new("alice@example.com", "pw")
                .with_totp_secret("JBSWY3DPEHPK3PXP")
                .with_phone("+15555550100")
                .with_email_factor()
                .with_push_device("Alice's phone")
                .with_recovery_code("ABCDEFGHJKLMNPQRSTUVWXYZ"),
        )
    }

    #[test]
    fn configured_factors_are_listed_with_twins() {
        let factors = alice();
        let listed: Vec<Value> = factors.all().map(Authenticator::to_json).collect();
        let kinds: Vec<&str> = listed
            .iter()
            .map(|a| a["id"].as_str().unwrap().split('|').next().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "recovery-code",
                "totp",
                "sms",
                "voice",
                "email",
                "push",
                "totp"
            ]
        );
        assert_eq!(listed[2]["name"], "XXXXXXXX0100");
        assert_eq!(listed[2]["oob_channel"], "sms");
        assert_eq!(listed[2]["type"], "phone");
        let suffix = |i: usize| {
            listed[i]["id"]
                .as_str()
                .unwrap()
                .split_once('|')
                .unwrap()
                .1
                .to_owned()
        };
        assert_eq!(suffix(2), suffix(3));
        assert!(suffix(2).starts_with("dev_") && suffix(2).len() == 20);
        assert_eq!(listed[5]["oob_channel"], "auth0");
        assert_eq!(listed[5]["type"], "push-notification");
        assert_eq!(listed[0]["authenticator_type"], "recovery-code");
        assert!(listed[1].get("name").is_none());
        assert_eq!(
            factors.active_types(),
            [
                "otp",
                "push-notification",
                "phone",
                "email",
                "recovery-code"
            ]
        );
    }

    #[test]
    fn removing_cascades_to_the_twin() {
        let mut factors = alice();
        let sms = factors.first_active("phone").unwrap().id.clone();
        assert!(factors.remove(&sms));
        assert!(factors.first_active("phone").is_none());
        let push = factors
            .first_active("push-notification")
            .unwrap()
            .id
            .clone();
        assert!(factors.remove(&push));
        assert_eq!(factors.all().count(), 3);
        assert!(!factors.remove("totp|dev_nope"));
    }

    #[test]
    fn totp_steps_are_single_use_and_recovery_codes_rotate() {
        let mut factors = alice();
        let now = 1_700_000_000;
        let code = totp::code_at("JBSWY3DPEHPK3PXP", now).unwrap();
        assert!(factors.verify_totp(&code, now, |a| a.active).is_some());
        assert!(factors.verify_totp(&code, now, |a| a.active).is_none());

        assert!(factors.recovery_code_matches("abcd efgh-jklmnpqrstuvwxyz"));
        let new_code = factors.rotate_recovery_code();
        assert!(!factors.recovery_code_matches("ABCDEFGHJKLMNPQRSTUVWXYZ"));
        assert!(factors.recovery_code_matches(&new_code));
    }

    #[test]
    fn enrollment_activates_twin_and_recovery_code() {
        let mut factors = UserFactors::from_config(&UserConfig::new("bob@example.com", "pw"));
        assert!(!factors.is_enrolled());
        let recovery = factors.pending_recovery_code().unwrap();
        let ids = factors.add(
            vec![
                Kind::Push {
                    device: ENROLLED_PUSH_DEVICE.to_owned(),
                },
                Kind::Totp {
                    secret: totp::generate_secret(),
                },
            ],
            false,
        );
        let id = ids[1].clone();
        assert!(!factors.is_enrolled());
        assert_eq!(factors.activate(&id).as_deref(), Some(recovery.as_str()));
        assert_eq!(
            factors.active_types(),
            ["otp", "push-notification", "recovery-code"]
        );
        assert!(factors.pending_recovery_code().is_none());
    }

    #[test]
    fn phone_numbers_and_masks() {
        assert!(is_e164("+15555550100"));
        assert!(!is_e164("15555550100"));
        assert!(!is_e164("+0555"));
        assert!(!is_e164("+1555555010x"));
        assert_eq!(mask_phone("+15555550100"), "XXXXXXXX0100");
        assert_eq!(mask_phone("12"), "12");
    }
}

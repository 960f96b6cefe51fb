//! MFA entries of the event log, with Auth0's Guardian event codes: codes and push requests
//! sent (`gd_send_sms`, `gd_send_voice`, `gd_send_email`, `gd_send_pn`), factors verified
//! (`gd_auth_succeed`, `gd_recovery_succeed`) or refused (`gd_auth_failed`, `gd_auth_rejected`,
//! `gd_recovery_failed`, `gd_otp_rate_limit_exceed`), and enrollments (`gd_start_enroll`,
//! `gd_enrollment_complete`, `gd_unenroll`).

use super::factors::Kind;
use super::store::Verdict;
use crate::UserConfig;
use crate::events::NewEvent;
use crate::state::TenantState;

/// Where a factor was used: the MFA API and grants, or the `/u/mfa` pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// `/mfa/*` and the `mfa-*` grants.
    Api,
    /// The login pages.
    LoginPage,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Self::Api => "mfa-api",
            Self::LoginPage => "login-page",
        }
    }
}

/// Records that a code or push request was sent to an authenticator of `kind`.
pub(crate) fn sent(
    state: &TenantState,
    user: &UserConfig,
    client_id: Option<&str>,
    kind: &Kind,
    via: Via,
) {
    let (type_code, description) = match kind {
        Kind::Sms { .. } => ("gd_send_sms", "SMS code sent"),
        Kind::Voice { .. } => ("gd_send_voice", "Voice call with a code made"),
        Kind::Email { .. } => ("gd_send_email", "Email code sent"),
        Kind::Push { .. } => ("gd_send_pn", "Push notification sent"),
        Kind::Totp { .. } | Kind::RecoveryCode { .. } => return,
    };
    state.events.record(
        NewEvent::new(type_code, description)
            .client(client_id)
            .user(user)
            .detail("factor", kind.factor_type())
            .detail("via", via.name()),
    );
}

/// Records an enrollment started through `/mfa/associate`.
pub(crate) fn enrollment_started(
    state: &TenantState,
    user: &UserConfig,
    client_id: &str,
    authenticator_id: &str,
    kind: &Kind,
) {
    state.events.record(
        NewEvent::new("gd_start_enroll", "Enrollment started")
            .client(Some(client_id))
            .user(user)
            .detail("factor", kind.factor_type())
            .detail("authenticator_id", authenticator_id)
            .detail("via", Via::Api.name()),
    );
}

/// Records a removed authenticator.
pub(crate) fn unenrolled(
    state: &TenantState,
    user: &UserConfig,
    client_id: &str,
    authenticator_id: &str,
) {
    state.events.record(
        NewEvent::new("gd_unenroll", "Authenticator removed")
            .client(Some(client_id))
            .user(user)
            .detail("authenticator_id", authenticator_id)
            .detail("via", Via::Api.name()),
    );
}

/// Records the outcome of checking a factor. `factor` names what was tried (`otp`, `oob`,
/// `recovery-code`, or the page's method); pending and too-fast push polls are not recorded.
pub(crate) fn verdict(
    state: &TenantState,
    user: &UserConfig,
    client_id: Option<&str>,
    factor: &str,
    verdict: &Verdict,
    via: Via,
) {
    let recovery = factor == "recovery-code";
    let (type_code, description, used) = match verdict {
        Verdict::Accepted {
            factor, enrolled, ..
        } => {
            if *enrolled {
                state.events.record(
                    NewEvent::new("gd_enrollment_complete", "Enrollment complete")
                        .client(client_id)
                        .user(user)
                        .detail("factor", *factor)
                        .detail("via", via.name()),
                );
            }
            if *factor == "recovery-code" {
                ("gd_recovery_succeed", "Recovery code accepted", *factor)
            } else {
                ("gd_auth_succeed", "Second factor verified", *factor)
            }
        }
        Verdict::Invalid if recovery => ("gd_recovery_failed", "Invalid recovery code", factor),
        Verdict::Invalid => ("gd_auth_failed", "Invalid code", factor),
        Verdict::RateLimited if recovery => (
            "gd_recovery_rate_limit_exceed",
            "Too many failed codes",
            factor,
        ),
        Verdict::RateLimited => ("gd_otp_rate_limit_exceed", "Too many failed codes", factor),
        Verdict::Denied => ("gd_auth_rejected", "Push notification rejected", factor),
        Verdict::Expired => ("gd_auth_failed", "The oob_code is expired", factor),
        Verdict::UnknownOob => ("gd_auth_failed", "Unknown oob_code", factor),
        Verdict::Pending | Verdict::SlowDown | Verdict::MissingBindingCode => return,
    };
    state.events.record(
        NewEvent::new(type_code, description)
            .client(client_id)
            .user(user)
            .detail("factor", used)
            .detail("via", via.name()),
    );
}

//! Multi-factor authentication, shaped like Auth0's: policies that answer `mfa_required` on the
//! refresh-token grant, the MFA API (`/mfa/authenticators`, `/mfa/associate`, `/mfa/challenge`),
//! the `mfa-otp` / `mfa-oob` / `mfa-recovery-code` grants, the interactive step-up pages at
//! `/u/mfa` and `/u/mfa-enroll`, and a development outbox in place of SMS, voice, email and push.

pub(crate) mod api;
pub(crate) mod dev;
pub(crate) mod devices;
pub(crate) mod factors;
pub(crate) mod grants;
pub(crate) mod limits;
pub(crate) mod log;
pub(crate) mod login;
mod outbox;
mod pages;
pub(crate) mod policy;
mod qr;
pub(crate) mod store;
pub(crate) mod totp;

pub use outbox::{OutboxChannel, OutboxMessage, PushState};
pub use policy::{GrantKind, MfaPolicy, MfaRequirements};

pub(crate) use factors::validate_user;

/// The `acr_values` URI that asks for multi-factor authentication.
pub(crate) const MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// The scopes of the built-in MFA API (`{issuer}mfa/`).
pub(crate) const MFA_API_SCOPES: [&str; 3] =
    ["enroll", "read:authenticators", "remove:authenticators"];

/// Whether an `acr_values` parameter asks for the multi-factor policy.
pub(crate) fn acr_requests_mfa(acr_values: Option<&str>) -> bool {
    acr_values.is_some_and(|values| values.split(' ').any(|v| v == MFA_ACR))
}

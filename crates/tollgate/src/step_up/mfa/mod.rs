//! Multi-factor authentication through the API: the `mfa_required` error, the sealed `mfa_token`,
//! and the MFA API client.

mod client;
mod error;
mod token;
mod types;

pub use client::{Mfa, VerifyOutcome};
pub use error::{FactorRequirement, MfaError, MfaRequiredError, MfaRequirements};
pub(crate) use token::MfaContext;
pub use types::{Authenticator, ChallengeRequest, ChallengeResponse, EnrollRequest, VerifyRequest};

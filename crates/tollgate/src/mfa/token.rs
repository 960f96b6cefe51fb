//! The sealed `mfa_token`: the provider's raw token and its context, encrypted and authenticated
//! with the MFA-token key (never the session or transaction key), bound to one session, and
//! short-lived.

use serde::{Deserialize, Serialize};

use super::error::{MfaError, MfaRequirements};
use crate::jwe;
use crate::secret::Keyring;
use crate::session::SessionData;

/// What a sealed MFA token carries.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaContext {
    /// The provider's raw `mfa_token`.
    pub(crate) mfa_token: String,
    /// The audience that was requested (`""` = the default audience).
    pub(crate) audience: String,
    /// The scope that was requested.
    pub(crate) scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mfa_requirements: Option<MfaRequirements>,
    /// The session it belongs to.
    pub(crate) sid: String,
    pub(crate) sub: String,
    pub(crate) created_at: u64,
    pub(crate) exp: u64,
}

impl std::fmt::Debug for MfaContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaContext")
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

impl MfaContext {
    pub(crate) fn seal(&self, keys: &Keyring) -> String {
        jwe::seal(
            keys,
            &serde_json::to_vec(self).expect("invariant: the MFA context serialises"),
        )
    }

    /// Opens a sealed token and checks it belongs to `session` and has not expired.
    pub(crate) fn open(
        keys: &Keyring,
        sealed: &str,
        session: &SessionData,
        now: u64,
    ) -> Result<Self, MfaError> {
        let plain = jwe::open(keys, sealed.trim()).map_err(|_| MfaError::TokenInvalid)?;
        let ctx: Self = serde_json::from_slice(&plain).map_err(|_| MfaError::TokenInvalid)?;
        let same_session = ctx.sid == session.internal.sid && ctx.sub == session.user.sub();
        if !same_session {
            return Err(MfaError::TokenInvalid);
        }
        if now >= ctx.exp {
            return Err(MfaError::TokenExpired);
        }
        Ok(ctx)
    }
}

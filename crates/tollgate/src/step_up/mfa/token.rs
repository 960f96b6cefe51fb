//! The sealed `mfa_token`: the provider's raw token and its context, encrypted and authenticated
//! with the MFA-token key (never the session or transaction key), bound to one session, and
//! short-lived.

use serde::{Deserialize, Serialize};

use super::error::{MfaError, MfaRequirements};
use crate::session::SessionData;
use crate::session::jwe;
use crate::session::secret::Keyring;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::secret::{KeyPurpose, Secret};
    use crate::session::{SessionData, User};

    fn keys(p: KeyPurpose) -> Keyring {
        Keyring::derive(&[Secret::new("mfa-test-secret-mfa-test-secret-0123")], p).unwrap()
    }

    fn session(sid: &str, sub: &str) -> SessionData {
        let mut s = SessionData::default();
        s.internal.sid = sid.into();
        s.user = User(serde_json::from_str(&format!(r#"{{"sub":"{sub}"}}"#)).unwrap());
        s
    }

    fn ctx(exp: u64) -> MfaContext {
        MfaContext {
            mfa_token: "raw".into(),
            audience: "https://payments.example.com".into(),
            scope: "openid read:payments".into(),
            mfa_requirements: None,
            sid: "sid-1".into(),
            sub: "auth0|alice".into(),
            created_at: 100,
            exp,
        }
    }

    #[test]
    fn opens_for_its_own_session_until_it_expires() {
        let k = keys(KeyPurpose::MfaToken);
        let sealed = ctx(400).seal(&k);
        let own = session("sid-1", "auth0|alice");
        assert_eq!(
            MfaContext::open(&k, &sealed, &own, 399).unwrap().mfa_token,
            "raw"
        );
        assert_eq!(
            MfaContext::open(&k, &sealed, &own, 400).unwrap_err(),
            MfaError::TokenExpired
        );
    }

    #[test]
    fn another_session_or_user_is_refused() {
        let k = keys(KeyPurpose::MfaToken);
        let sealed = ctx(400).seal(&k);
        for other in [
            session("sid-2", "auth0|alice"),
            session("sid-1", "auth0|mallory"),
        ] {
            assert_eq!(
                MfaContext::open(&k, &sealed, &other, 100).unwrap_err(),
                MfaError::TokenInvalid
            );
        }
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let k = keys(KeyPurpose::MfaToken);
        let own = session("sid-1", "auth0|alice");
        let mut sealed = ctx(400).seal(&k);
        sealed.insert(
            60,
            if sealed.as_bytes()[60] == b'A' {
                'B'
            } else {
                'A'
            },
        );
        assert_eq!(
            MfaContext::open(&k, &sealed, &own, 100).unwrap_err(),
            MfaError::TokenInvalid
        );
        // A session cookie (session key) is never an MFA token, nor the other way round.
        let as_session = jwe::seal(
            &keys(KeyPurpose::Session),
            &serde_json::to_vec(&ctx(400)).unwrap(),
        );
        assert_eq!(
            MfaContext::open(&k, &as_session, &own, 100).unwrap_err(),
            MfaError::TokenInvalid
        );
        let mfa = ctx(400).seal(&k);
        assert!(jwe::open(&keys(KeyPurpose::Session), &mfa).is_err());
        assert!(jwe::open(&keys(KeyPurpose::Transaction), &mfa).is_err());
        assert_eq!(
            MfaContext::open(&k, "garbage", &own, 100).unwrap_err(),
            MfaError::TokenInvalid
        );
    }
}

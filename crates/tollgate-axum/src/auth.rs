//! The [`Auth`] extractor: the SDK for one request, with session writes that reach the response.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tollgate::{AccessToken, AccessTokenError, AccessTokenOptions, SessionData, Tollgate};

use crate::extract::context;
use crate::layer::SessionContext;
use crate::rejection::MissingSessionLayer;

/// The SDK bound to the current request. Whatever changes the session through it (a refreshed or
/// rotated token, an MFA verification, an update) is written to the response's cookies by
/// [`SessionLayer`](crate::SessionLayer) — no refreshed token is ever dropped.
///
/// ```
/// use axum::response::IntoResponse;
/// use tollgate::AccessTokenOptions;
///
/// async fn payments(auth: tollgate_axum::Auth) -> axum::response::Response {
///     match auth.access_token(AccessTokenOptions::new().audience("https://payments.example.com")).await {
///         Ok(token) => format!("calling the API with a {} token", token.token_type).into_response(),
///         Err(e) => (
///             axum::http::StatusCode::from_u16(e.status()).unwrap(),
///             axum::Json(e.to_json()),
///         )
///             .into_response(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    ctx: SessionContext,
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ctx: context(parts)?.clone(),
        })
    }
}

impl Auth {
    /// The SDK.
    pub fn tollgate(&self) -> &Tollgate {
        &self.ctx.auth
    }

    /// The current session (including changes saved earlier in this request).
    pub fn session(&self) -> Option<Arc<SessionData>> {
        self.ctx.session()
    }

    /// Saves `session`: the response will carry its cookie.
    pub async fn save_session(&self, session: SessionData) -> Result<(), tollgate::Error> {
        let lines = self.ctx.auth.save_session(&self.ctx.jar, &session).await?;
        let mut state = self.ctx.state.lock().unwrap_or_else(|p| p.into_inner());
        state.session = Some(Arc::new(session));
        state.pending = Some(lines);
        Ok(())
    }

    /// An access token (refreshed when needed; the refreshed session is saved).
    pub async fn access_token(
        &self,
        opts: AccessTokenOptions,
    ) -> Result<AccessToken, AccessTokenError> {
        let session = self.session().ok_or(AccessTokenError::MissingSession)?;
        let outcome = self.ctx.auth.access_token(&session, &opts).await?;
        if let Some(updated) = outcome.session {
            self.save_session(updated).await.map_err(|e| {
                AccessTokenError::RefreshFailed(tollgate::ProviderError::InvalidResponse {
                    endpoint: "session store",
                    reason: e.to_string(),
                })
            })?;
        }
        Ok(outcome.token)
    }
}

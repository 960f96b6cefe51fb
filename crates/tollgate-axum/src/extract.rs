//! Extractors: [`Session`] and [`User`].

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use tollgate::SessionData;

use crate::layer::SessionContext;
use crate::rejection::{LoginRequired, MissingSessionLayer, SessionRejection, SessionUnavailable};

/// The signed-in user's session. Rejects with [`LoginRequired`] when there is none; use
/// `Option<Session>` where signing in is optional.
///
/// ```
/// async fn handler(session: Option<tollgate_axum::Session>) -> String {
///     match session {
///         Some(s) => format!("signed in as {}", s.user.sub()),
///         None => "anonymous".into(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Session(pub Arc<SessionData>);

impl Deref for Session {
    type Target = SessionData;
    fn deref(&self) -> &SessionData {
        &self.0
    }
}

/// The signed-in user's profile. Rejects with [`LoginRequired`] when there is no session.
///
/// ```
/// async fn handler(user: tollgate_axum::User) -> String {
///     format!("Hello {}", user.name().unwrap_or("there"))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct User(pub tollgate::User);

impl Deref for User {
    type Target = tollgate::User;
    fn deref(&self) -> &tollgate::User {
        &self.0
    }
}

pub(crate) fn context(parts: &Parts) -> Result<&SessionContext, MissingSessionLayer> {
    parts
        .extensions
        .get::<SessionContext>()
        .ok_or(MissingSessionLayer)
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = context(parts)?;
        if let Some(e) = ctx.error() {
            return Err(SessionRejection::Unavailable(SessionUnavailable(
                e.to_string(),
            )));
        }
        match ctx.session() {
            Some(s) => Ok(Self(s)),
            None => Err(LoginRequired::reject(&ctx.auth, parts)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(context(parts)?.session().map(Self))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let s = <Session as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(Self(s.0.user.clone()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for User {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let s = <Session as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(s.map(|s| Self(s.0.user.clone())))
    }
}

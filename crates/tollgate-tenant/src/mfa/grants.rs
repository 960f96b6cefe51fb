//! `mfa_required` on the refresh-token and token-exchange grants, and the `mfa-otp`, `mfa-oob`
//! and `mfa-recovery-code` grants that answer it at `/oauth/token`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::api;
use super::log::{self, Via};
use super::policy::{self, GrantKind, Requirement};
use super::store::{Lookup, MfaTransaction, Verdict};
use crate::http::oauth_error::OAuthError;
use crate::http::params::Params;
use crate::state::TenantState;
use crate::store::Store;
use crate::tokens::{self, IdTokenSubject};
use crate::tokens::{GrantRecord, TokenResponse};
use crate::{ClientConfig, UserConfig, random, scope};

/// The `mfa_required` description, in Auth0's words.
const MFA_REQUIRED: &str = "Multifactor authentication required";
const MALFORMED_TOKEN: &str = "Malformed mfa_token";
const EXPIRED_TOKEN: &str = "mfa_token is expired";
const INVALID_REFRESH_TOKEN: &str = "Unknown or invalid refresh token.";
/// Factors a user can enroll through `/mfa/associate`, in `mfa_requirements` order.
const ENROLLABLE: [&str; 4] = ["otp", "push-notification", "phone", "email"];

/// One of the three MFA grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MfaGrant {
    /// `http://auth0.com/oauth/grant-type/mfa-otp`
    Otp,
    /// `http://auth0.com/oauth/grant-type/mfa-oob`
    Oob,
    /// `http://auth0.com/oauth/grant-type/mfa-recovery-code`
    RecoveryCode,
}

impl MfaGrant {
    /// The grant for a `grant_type` value, if it is an MFA grant.
    pub(crate) fn from_grant_type(grant_type: &str) -> Option<Self> {
        match grant_type {
            "http://auth0.com/oauth/grant-type/mfa-otp" => Some(Self::Otp),
            "http://auth0.com/oauth/grant-type/mfa-oob" => Some(Self::Oob),
            "http://auth0.com/oauth/grant-type/mfa-recovery-code" => Some(Self::RecoveryCode),
            _ => None,
        }
    }
}

/// What a refresh-token request for `audience` needs from the family `family_id`, if anything:
/// the MFA API always asks; policies ask until the family passed MFA (or every time).
pub(crate) fn refresh_requirement(
    state: &TenantState,
    store: &Store,
    family_id: &str,
    audience: Option<&str>,
) -> Option<Requirement> {
    requirement(
        state,
        GrantKind::RefreshToken,
        audience,
        store.refresh.is_mfa_satisfied(family_id),
    )
}

/// What a `grant` request for `audience` needs, if anything: the MFA API always asks; policies
/// covering the grant ask unless `satisfied` (then only `every_time` ones).
pub(crate) fn requirement(
    state: &TenantState,
    grant: GrantKind,
    audience: Option<&str>,
    satisfied: bool,
) -> Option<Requirement> {
    if audience == Some(state.mfa_audience()) {
        return Some(Requirement::any_factor());
    }
    policy::requirement(state.config.mfa_policies(), grant, audience, satisfied)
}

/// Whether completing `transaction` also meets what the policies ask for `audience` on any
/// grant: the transaction's factors are all allowed there, and at least as many are required.
/// An MFA grant that names another audience than its `mfa_token`'s is refused otherwise, so a
/// token from a lenient policy cannot be turned into one for a stricter API.
fn covers(state: &TenantState, transaction: &MfaTransaction, audience: Option<&str>) -> bool {
    GrantKind::ALL
        .into_iter()
        .filter_map(|grant| requirement(state, grant, audience, false))
        .all(|need| {
            let own = &transaction.requirement;
            own.count >= need.count && own.factors.iter().all(|f| need.allows(f))
        })
}

/// Issues an `mfa_token` for `transaction` and builds the `403 mfa_required` answer, with
/// `mfa_requirements.challenge` (the allowed factors the user has, minus those already passed
/// in a chain) or, for a user without any, `mfa_requirements.enroll` (the allowed factors they
/// can enroll).
pub(crate) fn mfa_required(
    state: &TenantState,
    store: &mut Store,
    user: &UserConfig,
    transaction: MfaTransaction,
) -> OAuthError {
    let requirements = requirements_for(store, user, &transaction);
    let listed = transaction.requirement.listed;
    let Some(requirements) = requirements else {
        if !transaction.passed.is_empty() {
            return OAuthError::access_denied(format!(
                "Multifactor authentication requires {} different factors, but this user has no other allowed factor",
                transaction.requirement.count
            ));
        }
        return OAuthError::access_denied(
            "Multifactor authentication is required, but none of the allowed factors can be used by this user",
        );
    };
    let token = store
        .mfa
        .issue_token(transaction, state.config.mfa_token_lifetime());
    tracing::info!(sub = %user.sub(), "mfa_required");
    let answer = OAuthError::new(StatusCode::FORBIDDEN, "mfa_required", MFA_REQUIRED)
        .with_field("mfa_token", json!(token));
    if listed {
        answer.with_field("mfa_requirements", requirements)
    } else {
        answer
    }
}

/// `{"challenge":[{"type":…},…]}` or `{"enroll":[…]}`; `None` when neither has an entry.
///
/// The challenge lists the allowed types of the user's active authenticators that were not
/// passed already; a recovery code counts only next to another active factor. Without any, the
/// allowed enrollable types (only at the start of a chain).
fn requirements_for(
    store: &mut Store,
    user: &UserConfig,
    transaction: &MfaTransaction,
) -> Option<Value> {
    let requirement = &transaction.requirement;
    let factors = store.mfa.user(user);
    let enrolled = factors.is_enrolled();
    let challenge: Vec<&str> = factors
        .active_types()
        .into_iter()
        .filter(|t| transaction.may_answer(t) && (enrolled || *t != "recovery-code"))
        .collect();
    let list = |types: Vec<&str>| -> Value {
        Value::Array(types.into_iter().map(|t| json!({ "type": t })).collect())
    };
    if !challenge.is_empty() {
        return Some(json!({ "challenge": list(challenge) }));
    }
    if !transaction.passed.is_empty() {
        return None;
    }
    let enroll: Vec<&str> = ENROLLABLE
        .into_iter()
        .filter(|t| requirement.allows(t))
        .collect();
    (!enroll.is_empty()).then(|| json!({ "enroll": list(enroll) }))
}

/// Finds what an `mfa_token` parameter stands for: an `mfa_token` issued to this client, or an
/// access token for the MFA API (which stands for its own audience and scopes).
pub(crate) fn resolve_token(
    state: &TenantState,
    client: &ClientConfig,
    token: &str,
) -> Lookup<MfaTransaction> {
    let lookup = state.store().mfa.token(token);
    match lookup {
        Lookup::Live(transaction) if transaction.client_id == client.client_id() => {
            return Lookup::Live(transaction);
        }
        Lookup::Live(_) => return Lookup::Unknown,
        Lookup::Expired => return Lookup::Expired,
        Lookup::Unknown => {}
    }
    match api::mfa_access_token(state, token) {
        Some(access) if access.client_id == client.client_id() => Lookup::Live(MfaTransaction {
            email: access.email,
            client_id: access.client_id,
            family: None,
            audience: Some(state.mfa_audience().to_owned()),
            scope: access.scopes,
            requirement: Requirement::any_factor(),
            passed: Vec::new(),
        }),
        _ => Lookup::Unknown,
    }
}

/// Verifies the factor and issues tokens for the `mfa_token`'s request.
pub(crate) fn exchange<'a>(
    state: &'a TenantState,
    client: &ClientConfig,
    params: &Params,
    grant: MfaGrant,
    record: &mut GrantRecord<'a>,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let token = params
        .get("mfa_token")
        .ok_or_else(|| OAuthError::missing("mfa_token"))?;
    let answer_field = match grant {
        MfaGrant::Otp => "otp",
        MfaGrant::Oob => "oob_code",
        MfaGrant::RecoveryCode => "recovery_code",
    };
    let answer = params
        .get(answer_field)
        .ok_or_else(|| OAuthError::missing(answer_field))?;
    let transaction = match resolve_token(state, client, token) {
        Lookup::Live(transaction) => transaction,
        Lookup::Expired => {
            return Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "expired_token",
                EXPIRED_TOKEN,
            ));
        }
        Lookup::Unknown => return Err(OAuthError::invalid_grant(MALFORMED_TOKEN)),
    };
    let user = state
        .config
        .user_by_email(&transaction.email)
        .ok_or_else(|| OAuthError::invalid_grant(MALFORMED_TOKEN))?;
    record.user = Some(user);
    record.audience.clone_from(&transaction.audience);
    let audience = match params.get("audience") {
        Some(audience) => Some(
            state
                .api(audience)
                .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))?
                .identifier()
                .to_owned(),
        ),
        None => transaction.audience.clone(),
    };
    record.audience.clone_from(&audience);
    if audience != transaction.audience && !covers(state, &transaction, audience.as_deref()) {
        return Err(OAuthError::access_denied(format!(
            "The mfa_token was issued for another audience, whose multifactor policy is weaker than the one of {}; request tokens for that audience to get an mfa_token for it",
            audience.as_deref().unwrap_or("the requested audience")
        )));
    }
    let family = match &transaction.family {
        Some(id) => Some(
            state
                .store()
                .refresh
                .family(id)
                .cloned()
                .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH_TOKEN))?,
        ),
        None => None,
    };
    if let Some(bound) = family.as_ref().and_then(|f| f.jkt.as_deref())
        && jkt != Some(bound)
    {
        return Err(OAuthError::invalid_grant(crate::tokens::DPOP_KEY_MISMATCH));
    }

    let verdict = {
        let mut store = state.store();
        match grant {
            // Pending TOTP authenticators count: this confirms an enrollment.
            MfaGrant::Otp => store.mfa.verify_otp(user, answer, |a| {
                transaction.may_answer(a.kind.factor_type())
            }),
            // Only a factor not passed yet in this chain; the type was checked by
            // /mfa/challenge when the code was sent.
            MfaGrant::Oob => store.mfa.verify_oob(
                user,
                answer,
                params.get("binding_code"),
                Some(client.client_id()),
                state.config.push_poll_interval(),
                |factor| !transaction.passed.contains(&factor),
            ),
            MfaGrant::RecoveryCode if !transaction.may_answer("recovery-code") => Verdict::Invalid,
            MfaGrant::RecoveryCode => store.mfa.verify_recovery_code(user, answer),
        }
    };
    log::verdict(
        state,
        user,
        Some(client.client_id()),
        answer_kind(grant),
        &verdict,
        Via::Api,
    );
    let (new_recovery_code, factor) = match verdict {
        Verdict::Accepted {
            recovery_code,
            factor,
            ..
        } => (
            (grant == MfaGrant::RecoveryCode)
                .then_some(recovery_code)
                .flatten(),
            factor,
        ),
        refused => return Err(refusal(grant, &refused, state)),
    };
    tracing::info!(sub = %user.sub(), ?grant, "MFA verified through the MFA API");

    let mut passed = transaction.passed.clone();
    passed.push(factor);
    record.details.push(("factors_passed", json!(passed)));
    record
        .details
        .push(("factors_required", json!(transaction.requirement.count)));
    if passed.len() < transaction.requirement.count {
        // A chained policy: the next factor, with a fresh mfa_token.
        let mut store = state.store();
        store.mfa.consume_token(token);
        let next = MfaTransaction {
            passed,
            ..transaction
        };
        let mut error = mfa_required(state, &mut store, user, next);
        if let Some(code) = new_recovery_code {
            // The used recovery code was replaced: the user must still see the new one.
            error = error.with_field("recovery_code", json!(code));
        }
        return Err(error);
    }

    let api = audience.as_deref().and_then(|a| state.api(a));
    let requested = params
        .get("scope")
        .map_or_else(|| transaction.scope.clone(), scope::parse);
    let mut granted = scope::grant(&requested, api);
    if family
        .as_ref()
        .is_none_or(|f| !scope::has(&f.scope, "offline_access"))
    {
        granted.retain(|s| s != "offline_access");
    }
    // An `mfa_token` from a refresh-token request marks that family as having passed MFA and
    // leaves its refresh token as it was: the answer carries no new one. An SDK that keeps the
    // refresh token it had (nextjs-auth0 stores only the new access token) and one that would
    // store a new one both go on refreshing with the family's current token, and a replay of a
    // token the family rotated away from is still reuse (tenant README, "MFA grants and refresh
    // tokens").
    {
        let mut store = state.store();
        store.mfa.consume_token(token);
        if let Some(family_id) = &transaction.family {
            store.refresh.mark_mfa_satisfied(family_id);
        }
    }
    let refresh_token: Option<String> = None;
    let bound = tokens::binding(state, audience.as_deref(), jkt);
    // The family's methods, now with `mfa`; a token for no family records the MFA alone.
    let methods = match &transaction.family {
        Some(id) => state.store().refresh.family(id).map(|f| f.amr.clone()),
        None => None,
    }
    .unwrap_or_else(|| vec!["mfa".to_owned()]);
    let access_token = tokens::user_access_token(
        state,
        client.client_id(),
        user,
        audience.as_deref(),
        &granted,
        Some(&methods),
        bound,
    );
    let sid = family.as_ref().map_or_else(random::id, |f| f.sid.clone());
    let id_token = scope::has(&granted, "openid").then(|| {
        tokens::id_token(
            state,
            &IdTokenSubject {
                client,
                user,
                scope: &granted,
                nonce: None,
                sid: &sid,
                auth_time: family.as_ref().map_or_else(|| state.now(), |f| f.auth_time),
                // Tokens issued through the MFA API carry no `amr` at Auth0.
                amr: None,
                acr: None,
            },
        )
    });
    Ok(TokenResponse {
        access_token,
        id_token,
        refresh_token,
        token_type: tokens::token_type(bound),
        expires_in: state.access_token_lifetime(audience.as_deref()).as_secs(),
        scope: Some(scope::join(&granted)),
        recovery_code: new_recovery_code,
        dpop_nonce: None,
        issued_token_type: None,
    })
}

/// What the grant tries, in the event log's words.
fn answer_kind(grant: MfaGrant) -> &'static str {
    match grant {
        MfaGrant::Otp => "otp",
        MfaGrant::Oob => "oob",
        MfaGrant::RecoveryCode => "recovery-code",
    }
}

/// The error for a refused verification.
fn refusal(grant: MfaGrant, verdict: &Verdict, state: &TenantState) -> OAuthError {
    match verdict {
        Verdict::Invalid => OAuthError::invalid_grant(match grant {
            MfaGrant::Otp => "Invalid otp_code.",
            MfaGrant::Oob => "Invalid binding_code.",
            MfaGrant::RecoveryCode => "Invalid recovery_code.",
        }),
        Verdict::RateLimited => too_many_attempts(),
        Verdict::Pending => OAuthError::new(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "Authorization pending: please repeat the request in a few seconds.",
        ),
        Verdict::SlowDown => OAuthError::new(
            StatusCode::BAD_REQUEST,
            "slow_down",
            format!(
                "You are polling faster than allowed. Wait at least {} seconds between requests.",
                state.config.push_poll_interval().as_secs()
            ),
        ),
        Verdict::Denied => OAuthError::invalid_grant("MFA Authorization rejected."),
        Verdict::Expired => OAuthError::invalid_grant("oob_code is expired"),
        Verdict::UnknownOob => OAuthError::invalid_grant("Invalid oob_code."),
        Verdict::MissingBindingCode => OAuthError::missing("binding_code"),
        Verdict::Accepted { .. } => OAuthError::invalid_grant(MALFORMED_TOKEN),
    }
}

/// 429 `too_many_attempts`, Universal Login's words.
pub(crate) fn too_many_attempts() -> OAuthError {
    OAuthError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Too many failed codes. Wait for some minutes before retrying.",
    )
}

//! The interactive MFA step of a login transaction: `GET|POST /u/mfa`, `GET|POST /u/mfa-enroll`,
//! `POST /u/mfa/complete` and `GET /u/mfa/cancel`.
//!
//! The step starts after the password, or straight away when an SSO session is stepped up, if
//! `acr_values` names the multi-factor policy, the audience is the MFA API, or an MFA policy
//! covers [`GrantKind::Login`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::devices::{self, Browser};
use super::factors::Kind;
use super::log::{self, Via};
use super::pages::{self, Method, Screen};
use super::policy::{self, GrantKind};
use super::store::{SendError, Verdict};
use super::{MFA_ACR, acr_requests_mfa, qr, totp};
use crate::UserConfig;
use crate::http::binding::{self, Purpose};
use crate::http::oauth_error::{error_redirect, redirect, with_query};
use crate::http::params::Params;
use crate::routes::login::{complete_login, expired};
use crate::state::TenantState;
use crate::store::{AuthorizeRequest, LoginTransaction, MfaStep, Session};

/// The `error_description` of a cancelled challenge.
const CANCELLED: &str = "The user cancelled the multifactor challenge.";
/// The alert when SMS, voice or email sends are exhausted.
const TOO_MANY_SENDS: &str = "Too many codes were sent. Wait before asking for another one.";

/// The result of a passed MFA step, for the SSO session and the ID token.
#[derive(Debug, Clone)]
pub(crate) struct MfaPassed {
    /// The `acr` claim, when `acr_values` asked for the multi-factor policy.
    pub(crate) acr: Option<String>,
}

/// Whether this login must pass MFA. `session` is the user's live SSO session, if any: policies
/// that are satisfied once let a session that passed MFA through; `acr_values` and the MFA API
/// audience always ask again.
pub(crate) fn needs_mfa(
    state: &TenantState,
    request: &AuthorizeRequest,
    session: Option<&Session>,
    email: &str,
    browser: &Browser,
) -> bool {
    if acr_requests_mfa(request.acr_values.as_deref())
        || request.audience.as_deref() == Some(state.mfa_audience())
    {
        return true;
    }
    let (remembered, known) = {
        let store = state.store();
        let devices = &store.mfa.devices;
        (
            devices.is_remembered(email, browser, state.now()),
            devices.is_known(email, browser),
        )
    };
    // A remembered browser, and a known device for adaptive policies, pass those policies.
    let policies = state.config.mfa_policies().iter().filter(|p| {
        let remembered = remembered && p.remembered_days().is_some() && !p.is_every_time();
        let familiar = known && p.is_new_devices_only();
        !remembered && !familiar
    });
    policy::requirement(
        policies,
        GrantKind::Login,
        request.audience.as_deref(),
        session.is_some_and(|s| s.mfa_at.is_some()),
    )
    .is_some()
}

/// Records a completed login from `browser` (and, after MFA, remembers it when a login policy
/// asks to); returns the `Set-Cookie` values for the browser.
pub(crate) fn record_browser(
    state: &TenantState,
    request: &AuthorizeRequest,
    email: &str,
    browser: &Browser,
    mfa_passed: bool,
) -> Vec<HeaderValue> {
    let remember_days = mfa_passed
        .then(|| {
            state
                .config
                .mfa_policies()
                .iter()
                .filter(|p| p.applies_to(GrantKind::Login, request.audience.as_deref()))
                .filter_map(|p| p.remembered_days())
                .max()
        })
        .flatten();
    let mut store = state.store();
    let devices = &mut store.mfa.devices;
    let device = devices.record_login(email, browser);
    let mut cookies: Vec<HeaderValue> = devices::device_cookie(&device).into_iter().collect();
    if let Some(days) = remember_days {
        let token = devices.remember(email, days, state.now());
        cookies.extend(devices::remember_cookie(&token, days));
    }
    cookies
}

/// The `acr` claim for a request: the multi-factor policy URI when `acr_values` asked for it.
pub(crate) fn acr_claim(request: &AuthorizeRequest) -> Option<String> {
    acr_requests_mfa(request.acr_values.as_deref()).then(|| MFA_ACR.to_owned())
}

/// Starts the MFA step of transaction `id` for `email` and sends the browser to `/u/mfa`.
pub(crate) fn start(state: &TenantState, id: &str, email: &str, password: bool) -> Response {
    let started = state.store().transaction_mut(id).map(|transaction| {
        transaction.mfa = Some(MfaStep {
            email: email.to_owned(),
            password,
            oob_code: None,
            enrollment: None,
            verified_at: None,
        });
    });
    if started.is_none() {
        return expired();
    }
    redirect(&mfa_url(state, "u/mfa", id, None))
}

fn mfa_url(state: &TenantState, path: &str, id: &str, method: Option<Method>) -> String {
    with_query(
        &state.endpoint(path),
        &[("state", Some(id)), ("method", method.map(Method::name))],
    )
}

/// The transaction, its MFA step and the user, or the page to answer with.
struct Context<'a> {
    id: String,
    transaction: LoginTransaction,
    step: MfaStep,
    user: &'a UserConfig,
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the early-return response, built at most once per request"
)]
fn load<'a>(state: &'a TenantState, id: Option<&str>) -> Result<Context<'a>, Response> {
    let id = id.ok_or_else(expired)?;
    let transaction = state.store().transaction(id).cloned().ok_or_else(expired)?;
    let Some(step) = transaction.mfa.clone() else {
        // No user yet: the password comes first.
        return Err(redirect(&with_query(
            &state.endpoint("u/login"),
            &[("state", Some(id))],
        )));
    };
    let user = state
        .config
        .user_by_email(&step.email)
        .ok_or_else(expired)?;
    Ok(Context {
        id: id.to_owned(),
        transaction,
        step,
        user,
    })
}

/// [`load`] for a post: the transaction must be bound to this browser.
#[expect(
    clippy::result_large_err,
    reason = "the error is the early-return response, built at most once per request"
)]
fn load_bound<'a>(
    state: &'a TenantState,
    headers: &HeaderMap,
    id: Option<&str>,
) -> Result<Context<'a>, Response> {
    let context = load(state, id)?;
    binding::require(headers, Purpose::Login, &context.id)?;
    Ok(context)
}

fn update_step(state: &TenantState, id: &str, change: impl FnOnce(&mut MfaStep)) {
    if let Some(step) = state
        .store()
        .transaction_mut(id)
        .and_then(|t| t.mfa.as_mut())
    {
        change(step);
    }
}

/// The user's methods, in page order.
fn methods(state: &TenantState, user: &UserConfig) -> Vec<Method> {
    let mut store = state.store();
    let factors = store.mfa.user(user);
    Method::ALL
        .into_iter()
        .filter(|m| match m {
            Method::RecoveryCode => factors.active_types().contains(&"recovery-code"),
            other => factors
                .challengeable()
                .any(|a| a.kind.id_prefix() == other.id_prefix()),
        })
        .collect()
}

/// The first active authenticator of a method: `(id, kind)`.
fn authenticator(state: &TenantState, user: &UserConfig, method: Method) -> Option<(String, Kind)> {
    let mut store = state.store();
    store
        .mfa
        .user(user)
        .challengeable()
        .find(|a| a.kind.id_prefix() == method.id_prefix())
        .map(|a| (a.id.clone(), a.kind.clone()))
}

/// `GET /u/mfa?state=…[&method=…]`: the challenge page. SMS, voice and email send a fresh code
/// and push sends a request, as Universal Login does when its page opens.
pub(crate) async fn show(
    State(state): State<Arc<TenantState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let context = match load(&state, params.get("state")) {
        Ok(context) => context,
        Err(response) => return response,
    };
    let methods = methods(&state, context.user);
    if !methods.iter().any(|m| *m != Method::RecoveryCode) {
        return redirect(&mfa_url(&state, "u/mfa-enroll", &context.id, None));
    }
    let method = params
        .get("method")
        .and_then(Method::from_name)
        .filter(|m| methods.contains(m))
        .or_else(|| methods.contains(&Method::Otp).then_some(Method::Otp));
    let render = |screen: &Screen, status, alert| {
        pages::challenge_page(status, &context.id, screen, &methods, alert)
    };
    let Some(method) = method else {
        return render(&Screen::Choose, StatusCode::OK, None);
    };
    let screen = match method {
        Method::Otp | Method::RecoveryCode => Screen::Code {
            method,
            sent_to: None,
        },
        _ => {
            let Some((authenticator_id, kind)) = authenticator(&state, context.user, method) else {
                return render(&Screen::Choose, StatusCode::OK, None);
            };
            let sent = state.store().mfa.send(
                context.user,
                &authenticator_id,
                None,
                state.config.oob_code_lifetime(),
            );
            match sent {
                Ok(oob_code) => {
                    log::sent(
                        &state,
                        context.user,
                        Some(&context.transaction.request.client_id),
                        &kind,
                        Via::LoginPage,
                    );
                    update_step(&state, &context.id, |step| {
                        step.oob_code = Some(oob_code);
                    });
                }
                Err(SendError::RateLimited) => {
                    return render(
                        &Screen::Choose,
                        StatusCode::TOO_MANY_REQUESTS,
                        Some(TOO_MANY_SENDS),
                    );
                }
                Err(SendError::NoSuchAuthenticator) => {
                    return render(&Screen::Choose, StatusCode::OK, None);
                }
            }
            screen_for(method, &kind)
        }
    };
    render(&screen, StatusCode::OK, None)
}

/// The screen of an out-of-band method for an authenticator.
fn screen_for(method: Method, kind: &Kind) -> Screen {
    match kind {
        Kind::Push { device } => Screen::Push {
            device: device.clone(),
        },
        Kind::Sms { phone } | Kind::Voice { phone } => Screen::Code {
            method,
            sent_to: Some(super::factors::mask_phone(phone)),
        },
        other => Screen::Code {
            method,
            sent_to: other.destination().map(str::to_owned),
        },
    }
}

/// `POST /u/mfa`: form fields `state`, `method` (`otp`, `sms`, `voice`, `email`, `push`,
/// `recovery-code`) and `code` (not for `push`).
pub(crate) async fn submit(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = Params::from_query(query.as_deref());
    let form = Params::from_body(&headers, &body).unwrap_or_default();
    let id = form.owned("state").or_else(|| query.owned("state"));
    let context = match load_bound(&state, &headers, id.as_deref()) {
        Ok(context) => context,
        Err(response) => return response,
    };
    let methods = methods(&state, context.user);
    let Some(method) = form
        .get("method")
        .and_then(Method::from_name)
        .filter(|m| methods.contains(m))
    else {
        return redirect(&mfa_url(&state, "u/mfa", &context.id, None));
    };
    let code = form.get("code").unwrap_or_default();
    let verdict = {
        let mut store = state.store();
        match method {
            Method::Otp => store.mfa.verify_otp(context.user, code, |a| a.active),
            Method::RecoveryCode => store.mfa.verify_recovery_code(context.user, code),
            Method::Push => match &context.step.oob_code {
                Some(oob) => {
                    store
                        .mfa
                        .verify_oob(context.user, oob, None, None, Duration::ZERO, |_| true)
                }
                None => Verdict::UnknownOob,
            },
            Method::Sms | Method::Voice | Method::Email => match &context.step.oob_code {
                Some(oob) => store.mfa.verify_oob(
                    context.user,
                    oob,
                    Some(code),
                    None,
                    Duration::ZERO,
                    |_| true,
                ),
                None => Verdict::Expired,
            },
        }
    };
    log::verdict(
        &state,
        context.user,
        Some(&context.transaction.request.client_id),
        method.name(),
        &verdict,
        Via::LoginPage,
    );
    let alert = match verdict {
        Verdict::Accepted { recovery_code, .. } => {
            tracing::info!(sub = %context.user.sub(), method = method.name(), "MFA passed at the login page");
            return match recovery_code {
                Some(code) => show_recovery_code(&state, &context.id, &code),
                None => finish(&state, &headers, context),
            };
        }
        Verdict::RateLimited => pages::TOO_MANY_FAILURES,
        Verdict::Pending => {
            "The request has not been approved yet. Approve it on your device, then select Continue."
        }
        Verdict::Denied => "The request was denied. Send a new one or choose another method.",
        Verdict::Expired => "The code has expired. Choose a method to get a new one.",
        Verdict::Invalid
        | Verdict::UnknownOob
        | Verdict::MissingBindingCode
        | Verdict::SlowDown => pages::INVALID_CODE,
    };
    let status = if verdict == Verdict::RateLimited {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::BAD_REQUEST
    };
    let screen = match (method, &verdict) {
        (_, Verdict::Denied | Verdict::Expired) => Screen::Choose,
        (Method::Otp | Method::RecoveryCode, _) => Screen::Code {
            method,
            sent_to: None,
        },
        _ => match authenticator(&state, context.user, method) {
            Some((_, kind)) => screen_for(method, &kind),
            None => Screen::Choose,
        },
    };
    pages::challenge_page(status, &context.id, &screen, &methods, Some(alert))
}

/// Keeps the transaction (the factor was accepted) and shows the new recovery code.
fn show_recovery_code(state: &TenantState, id: &str, code: &str) -> Response {
    update_step(state, id, |step| {
        step.verified_at = Some(state.now());
        step.oob_code = None;
        step.enrollment = None;
    });
    pages::recovery_code_page(id, code)
}

/// Ends the transaction: the SSO session records MFA and the callback gets a code whose ID
/// token has `amr` `["pwd","mfa"]` (or `["mfa"]` without a password in this transaction).
fn finish(state: &TenantState, headers: &HeaderMap, context: Context<'_>) -> Response {
    state.store().finish_transaction(&context.id);
    let mut amr = Vec::new();
    if context.step.password {
        amr.push("pwd".to_owned());
    }
    amr.push("mfa".to_owned());
    let acr = acr_claim(&context.transaction.request);
    complete_login(
        state,
        headers,
        context.transaction.request,
        context.user,
        amr,
        Some(MfaPassed { acr }),
    )
}

/// `POST /u/mfa/complete`: the Continue button of the recovery-code page.
pub(crate) async fn complete(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = Params::from_query(query.as_deref());
    let form = Params::from_body(&headers, &body).unwrap_or_default();
    let id = form.owned("state").or_else(|| query.owned("state"));
    let context = match load_bound(&state, &headers, id.as_deref()) {
        Ok(context) => context,
        Err(response) => return response,
    };
    if context.step.verified_at.is_none() {
        return redirect(&mfa_url(&state, "u/mfa", &context.id, None));
    }
    finish(&state, &headers, context)
}

/// `GET /u/mfa/cancel?state=…`: back to the application with `access_denied`. Only the
/// browser of the transaction can cancel it.
pub(crate) async fn cancel(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let Some(id) = params.get("state") else {
        return expired();
    };
    if state.store().transaction(id).is_none() {
        return expired();
    }
    if let Err(refused) = binding::require(&headers, Purpose::Login, id) {
        return refused;
    }
    let Some(transaction) = state.store().finish_transaction(id) else {
        return expired();
    };
    tracing::info!("MFA challenge cancelled");
    let request = transaction.request;
    error_redirect(
        &request.redirect_uri,
        "access_denied",
        CANCELLED,
        request.state.as_deref(),
    )
}

/// The pending TOTP authenticator of the enrollment page, created on first view: `(id, secret)`.
fn enrollment(state: &TenantState, context: &Context<'_>) -> Option<(String, String)> {
    let mut store = state.store();
    let factors = store.mfa.user(context.user);
    let existing = context.step.enrollment.as_deref().and_then(|id| {
        factors.get(id).and_then(|a| match &a.kind {
            Kind::Totp { secret } if !a.active => Some((a.id.clone(), secret.clone())),
            _ => None,
        })
    });
    if existing.is_some() {
        return existing;
    }
    if factors.is_enrolled() {
        return None;
    }
    let secret = totp::generate_secret();
    let ids = factors.add(
        vec![Kind::Totp {
            secret: secret.clone(),
        }],
        false,
    );
    factors.pending_recovery_code();
    let id = ids.into_iter().next()?;
    if let Some(step) = store
        .transaction_mut(&context.id)
        .and_then(|t| t.mfa.as_mut())
    {
        step.enrollment = Some(id.clone());
    }
    Some((id, secret))
}

fn render_enrollment(
    state: &TenantState,
    context: &Context<'_>,
    secret: &str,
    status: StatusCode,
    alert: Option<&str>,
) -> Response {
    let uri = totp::otpauth_uri(state.config.tenant_name(), context.user.email(), secret);
    let svg = qr::svg(&uri, "QR code for setting up your authenticator app").unwrap_or_default();
    pages::enroll_page(status, &context.id, secret, &svg, alert)
}

/// `GET /u/mfa-enroll?state=…`: TOTP enrollment for a user without an active factor.
pub(crate) async fn enroll_show(
    State(state): State<Arc<TenantState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let context = match load(&state, params.get("state")) {
        Ok(context) => context,
        Err(response) => return response,
    };
    match enrollment(&state, &context) {
        Some((_, secret)) => render_enrollment(&state, &context, &secret, StatusCode::OK, None),
        None => redirect(&mfa_url(&state, "u/mfa", &context.id, None)),
    }
}

/// `POST /u/mfa-enroll`: form fields `state` and `code`. A correct code activates the
/// authenticator and shows the new recovery code (if the user had none).
pub(crate) async fn enroll_submit(
    State(state): State<Arc<TenantState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = Params::from_query(query.as_deref());
    let form = Params::from_body(&headers, &body).unwrap_or_default();
    let id = form.owned("state").or_else(|| query.owned("state"));
    let context = match load_bound(&state, &headers, id.as_deref()) {
        Ok(context) => context,
        Err(response) => return response,
    };
    let Some((authenticator_id, secret)) = enrollment(&state, &context) else {
        return redirect(&mfa_url(&state, "u/mfa", &context.id, None));
    };
    let code = form.get("code").unwrap_or_default();
    let verdict = state
        .store()
        .mfa
        .verify_otp(context.user, code, |a| a.id == authenticator_id);
    log::verdict(
        &state,
        context.user,
        Some(&context.transaction.request.client_id),
        "otp",
        &verdict,
        Via::LoginPage,
    );
    match verdict {
        Verdict::Accepted { recovery_code, .. } => {
            tracing::info!(sub = %context.user.sub(), "TOTP enrolled at the login page");
            match recovery_code {
                Some(code) => show_recovery_code(&state, &context.id, &code),
                None => finish(&state, &headers, context),
            }
        }
        Verdict::RateLimited => render_enrollment(
            &state,
            &context,
            &secret,
            StatusCode::TOO_MANY_REQUESTS,
            Some(pages::TOO_MANY_FAILURES),
        ),
        _ => render_enrollment(
            &state,
            &context,
            &secret,
            StatusCode::BAD_REQUEST,
            Some(pages::INVALID_CODE),
        ),
    }
}

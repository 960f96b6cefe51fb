//! The HTML of the MFA pages (`/u/mfa`, `/u/mfa-enroll`, the recovery code) and of the
//! development outbox. Plain HTML without JavaScript; everything from a request or the
//! configuration is escaped.

use axum::http::StatusCode;
use axum::response::Response;

use super::outbox::{OutboxChannel, OutboxMessage, PushState};
use crate::clock;
use crate::http::pages::{escape, page, wide_page};

/// The alert after a wrong code.
pub(crate) const INVALID_CODE: &str = "The code is not valid. Try again.";
/// The alert once the failure limit is reached, in Universal Login's words.
pub(crate) const TOO_MANY_FAILURES: &str =
    "Too many failed codes. Wait for some minutes before retrying.";

/// A way to answer the challenge, named as in the `method` form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Otp,
    Push,
    Sms,
    Voice,
    Email,
    RecoveryCode,
}

impl Method {
    /// In the order the pages list them.
    pub(crate) const ALL: [Self; 6] = [
        Self::Otp,
        Self::Push,
        Self::Sms,
        Self::Voice,
        Self::Email,
        Self::RecoveryCode,
    ];

    /// The `method` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Push => "push",
            Self::Sms => "sms",
            Self::Voice => "voice",
            Self::Email => "email",
            Self::RecoveryCode => "recovery-code",
        }
    }

    /// The method with this `method` value.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The prefix of the authenticator ids this method uses.
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            Self::Otp => "totp",
            other => other.name(),
        }
    }

    /// The text of the link that switches to this method.
    fn link_text(self) -> &'static str {
        match self {
            Self::Otp => "Use your authenticator app",
            Self::Push => "Send a push notification",
            Self::Sms => "Send a code by SMS",
            Self::Voice => "Call me with a code",
            Self::Email => "Send a code by email",
            Self::RecoveryCode => "Use a recovery code",
        }
    }
}

/// What the challenge page shows.
#[derive(Debug, Clone)]
pub(crate) enum Screen {
    /// The code form for a method, with where the code was sent (`None` for TOTP and the
    /// recovery code).
    Code {
        method: Method,
        sent_to: Option<String>,
    },
    /// The push waiting page.
    Push { device: String },
    /// Only the list of methods.
    Choose,
}

/// The challenge page of transaction `state_id`; `methods` are the user's other ways to answer.
pub(crate) fn challenge_page(
    status: StatusCode,
    state_id: &str,
    screen: &Screen,
    methods: &[Method],
    alert: Option<&str>,
) -> Response {
    let state_query = query(state_id);
    let alert_html = alert_html(alert);
    let action = escape(&format!("/u/mfa?{state_query}"));
    let state_field = format!(
        "<input type=\"hidden\" name=\"state\" value=\"{}\">\n",
        escape(state_id)
    );
    let (current, main) = match screen {
        Screen::Code { method, sent_to } => {
            let intro = match (method, sent_to) {
                (Method::Otp, _) => {
                    "Enter the 6-digit code from your authenticator app.".to_owned()
                }
                (Method::RecoveryCode, _) => {
                    "Enter the recovery code you saved when you set up multifactor authentication."
                        .to_owned()
                }
                (Method::Voice, Some(to)) => {
                    format!("We are calling {} to read you a 6-digit code.", escape(to))
                }
                (Method::Email, Some(to)) => {
                    format!("We sent an email with a 6-digit code to {}.", escape(to))
                }
                (_, Some(to)) => format!(
                    "We sent a text message with a 6-digit code to {}.",
                    escape(to)
                ),
                (_, None) => "Enter the 6-digit code we sent you.".to_owned(),
            };
            let input = if *method == Method::RecoveryCode {
                code_input("Recovery code", alert.is_some(), false)
            } else {
                code_input("Enter the 6-digit code", alert.is_some(), true)
            };
            let form = format!(
                "<p>{intro}</p>\n{alert_html}<form method=\"post\" action=\"{action}\">\n{state_field}\
                 <input type=\"hidden\" name=\"method\" value=\"{}\">\n{input}\
                 <button type=\"submit\">Continue</button>\n</form>\n",
                method.name()
            );
            (Some(*method), form)
        }
        Screen::Push { device } => {
            let form = format!(
                "<p>We sent a notification to {}.</p>\n\
                 <p>Approve the request on your device, then select Continue.</p>\n{alert_html}\
                 <form method=\"post\" action=\"{action}\">\n{state_field}\
                 <input type=\"hidden\" name=\"method\" value=\"push\">\n\
                 <button type=\"submit\">Continue</button>\n</form>\n",
                escape(device)
            );
            (Some(Method::Push), form)
        }
        Screen::Choose => (
            None,
            format!("<p>Choose how to verify your identity.</p>\n{alert_html}"),
        ),
    };
    let mut links = String::new();
    for method in methods.iter().filter(|m| Some(**m) != current) {
        links.push_str(&format!(
            "<li><a href=\"{}\">{}</a></li>\n",
            escape(&format!("/u/mfa?{state_query}&method={}", method.name())),
            method.link_text()
        ));
    }
    let others = if links.is_empty() {
        String::new()
    } else {
        let heading = if current.is_some() {
            "Other methods"
        } else {
            "Methods"
        };
        format!(
            "<nav aria-labelledby=\"other-methods\">\n<h2 id=\"other-methods\">{heading}</h2>\n<ul>\n{links}</ul>\n</nav>\n"
        )
    };
    let body = format!(
        "<h1>Verify your identity</h1>\n{main}{others}{}",
        cancel_link(state_id)
    );
    page(status, "Verify your identity", &body)
}

/// The TOTP enrollment page: the QR code, the secret as text and the code form.
pub(crate) fn enroll_page(
    status: StatusCode,
    state_id: &str,
    secret: &str,
    qr_svg: &str,
    alert: Option<&str>,
) -> Response {
    let body = format!(
        "<h1>Secure your account</h1>\n\
         <p>Scan this QR code with an authenticator app, such as Google Authenticator, then enter \
         the 6-digit code the app shows.</p>\n{}\
         <figure>\n{qr_svg}\n</figure>\n\
         <p>Can't scan the code? Enter this key in your app instead:</p>\n\
         <p><code id=\"totp-secret\">{}</code></p>\n\
         <form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"state\" value=\"{}\">\n{}\
         <button type=\"submit\">Continue</button>\n</form>\n{}",
        alert_html(alert),
        escape(secret),
        escape(&format!("/u/mfa-enroll?{}", query(state_id))),
        escape(state_id),
        code_input("Enter the 6-digit code", alert.is_some(), true),
        cancel_link(state_id),
    );
    page(status, "Secure your account", &body)
}

/// The page that shows a new recovery code before the login completes.
pub(crate) fn recovery_code_page(state_id: &str, code: &str) -> Response {
    let body = format!(
        "<h1>Save your recovery code</h1>\n\
         <p>If you lose access to your device, you can use this code to verify your identity. \
         Copy it and keep it somewhere safe: it will not be shown again.</p>\n\
         <p><code id=\"recovery-code\">{}</code></p>\n\
         <form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"state\" value=\"{}\">\n\
         <button type=\"submit\">Continue</button>\n</form>",
        escape(code),
        escape(&format!("/u/mfa/complete?{}", query(state_id))),
        escape(state_id),
    );
    page(StatusCode::OK, "Save your recovery code", &body)
}

/// The development outbox, newest first.
pub(crate) fn outbox_page(messages: &[OutboxMessage]) -> Response {
    let mut rows = String::new();
    for message in messages.iter().rev() {
        let state = match message.state {
            Some(PushState::Pending) => format!(
                "pending \
                 <form method=\"post\" action=\"/dev/outbox/push/{id}/approve\"><button type=\"submit\">Approve</button></form>\
                 <form method=\"post\" action=\"/dev/outbox/push/{id}/deny\"><button type=\"submit\">Deny</button></form>",
                id = escape(&message.id)
            ),
            Some(other) => other.as_str().to_owned(),
            None => String::new(),
        };
        rows.push_str(&format!(
            "<tr id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>\n",
            escape(&message.id),
            clock::iso8601(message.created_at),
            channel_label(message.channel),
            escape(&message.to),
            escape(&message.user_email),
            match (&message.code, &message.binding_message) {
                (Some(c), _) => format!("<code>{}</code>", escape(c)),
                (None, Some(m)) => format!("login request: \u{201c}{}\u{201d}", escape(m)),
                (None, None) => String::new(),
            },
        ));
    }
    let table = if rows.is_empty() {
        "<p>No messages yet.</p>".to_owned()
    } else {
        format!(
            "<table>\n<caption>Messages, newest first</caption>\n<thead><tr><th scope=\"col\">Time (UTC)</th>\
             <th scope=\"col\">Channel</th><th scope=\"col\">To</th><th scope=\"col\">User</th>\
             <th scope=\"col\">Code or message</th><th scope=\"col\">Push</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"
        )
    };
    let body = format!(
        "<h1>Development outbox</h1>\n\
         <p>SMS, voice and email codes and push requests this tenant would have sent. \
         Also as JSON at <a href=\"/dev/outbox.json\">/dev/outbox.json</a>.</p>\n{table}"
    );
    wide_page(StatusCode::OK, "Development outbox", &body)
}

fn channel_label(channel: OutboxChannel) -> &'static str {
    match channel {
        OutboxChannel::Sms => "SMS",
        OutboxChannel::Voice => "Voice",
        OutboxChannel::Email => "Email",
        OutboxChannel::Push => "Push",
    }
}

/// `state=<id>`, form-encoded.
fn query(state_id: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", state_id)
        .finish()
}

fn alert_html(alert: Option<&str>) -> String {
    alert
        .map(|a| format!("<p role=\"alert\" id=\"code-error\">{}</p>\n", escape(a)))
        .unwrap_or_default()
}

/// The labelled `code` input; numeric one-time codes get the one-time-code hints.
fn code_input(label: &str, invalid: bool, numeric: bool) -> String {
    let hints = if numeric {
        "autocomplete=\"one-time-code\" inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"6\""
    } else {
        "autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\""
    };
    let error = if invalid {
        " aria-invalid=\"true\" aria-describedby=\"code-error\""
    } else {
        ""
    };
    format!(
        "<label for=\"code\">{label}</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" {hints} required{error}>\n"
    )
}

fn cancel_link(state_id: &str) -> String {
    format!(
        "<p><a href=\"{}\">Cancel</a></p>",
        escape(&format!("/u/mfa/cancel?{}", query(state_id)))
    )
}

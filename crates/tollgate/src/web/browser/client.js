// Tollgate browser module: the signed-in user, access tokens and the MFA API, through the app's
// own /auth routes. No dependencies. Served by the SDK; import it as an ES module:
//
//   import { getUser, getAccessToken, mfa, MfaRequiredError } from "/auth/client.js";
//
// Every failure is thrown as a typed error carrying the server's `error` code.

const ROUTES = /*TOLLGATE_ROUTES*/ {};

/** Base class: `code` is the server's `error`, `description` its `error_description`. */
export class TollgateError extends Error {
  constructor(code, description, status) {
    super(description || code);
    this.name = "TollgateError";
    this.code = code;
    this.description = description || "";
    this.status = status;
  }
}

/** The provider requires multi-factor authentication; `mfaToken` is sealed by the server. */
export class MfaRequiredError extends TollgateError {
  constructor(body, status) {
    super("mfa_required", body.error_description, status);
    this.name = "MfaRequiredError";
    this.mfaToken = body.mfa_token || "";
    this.mfaRequirements = body.mfa_requirements;
    this.stepUpUrl = body.step_up_url;
  }
}

/** The MFA token has expired: restart from the request that asked for MFA. */
export class MfaTokenExpiredError extends TollgateError {
  constructor(body, status) {
    super("mfa_token_expired", body.error_description, status);
    this.name = "MfaTokenExpiredError";
  }
}

/** The MFA token is invalid (tampered, or from another session). */
export class MfaTokenInvalidError extends TollgateError {
  constructor(body, status) {
    super("mfa_token_invalid", body.error_description, status);
    this.name = "MfaTokenInvalidError";
  }
}

/** Any other MFA failure (`invalid_grant`, `authorization_pending`, `too_many_attempts`, …). */
export class MfaError extends TollgateError {
  constructor(body, status) {
    super(body.error || "mfa_error", body.error_description, status);
    this.name = "MfaError";
  }
}

/** No access token (`missing_session`, `missing_refresh_token`, `failed_to_refresh_token`, …). */
export class AccessTokenError extends TollgateError {
  constructor(code, message, status) {
    super(code, message, status);
    this.name = "AccessTokenError";
  }
}

async function parse(resp) {
  const text = await resp.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { error: "invalid_response", error_description: text.slice(0, 200) };
  }
}

function mfaErrorFrom(body, status) {
  switch (body.error) {
    case "mfa_required":
      return new MfaRequiredError(body, status);
    case "mfa_token_expired":
      return new MfaTokenExpiredError(body, status);
    case "mfa_token_invalid":
      return new MfaTokenInvalidError(body, status);
    default:
      return new MfaError(body, status);
  }
}

async function call(path, { method = "GET", token, body } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { resp, body: await parse(resp) };
}

/** The signed-in user's profile, or `null` when logged out. */
export async function getUser() {
  const { resp, body } = await call(ROUTES.profile);
  if (resp.status === 401 || resp.status === 204) return null;
  if (!resp.ok) throw new TollgateError(body.error || "profile_error", body.error_description, resp.status);
  return body;
}

/**
 * An access token: `{token, scope, expires_at, expires_in, token_type}`.
 * Options: `audience`, `scope`, `refresh` (force).
 * Throws `MfaRequiredError` when the provider requires MFA for it.
 */
export async function getAccessToken(options = {}) {
  const q = new URLSearchParams();
  if (options.audience) q.set("audience", options.audience);
  if (options.scope) q.set("scope", options.scope);
  if (options.refresh) q.set("refresh", "true");
  const qs = q.toString();
  const { resp, body } = await call(qs ? `${ROUTES.accessToken}?${qs}` : ROUTES.accessToken);
  if (resp.ok) return body;
  if (body.error === "mfa_required") throw new MfaRequiredError(body, resp.status);
  const err = body.error && typeof body.error === "object" ? body.error : { code: body.error, message: body.error_description };
  throw new AccessTokenError(err.code || "access_token_error", err.message, resp.status);
}

const FACTORS = {
  otp: { authenticator_types: ["otp"] },
  sms: { authenticator_types: ["oob"], oob_channels: ["sms"] },
  voice: { authenticator_types: ["oob"], oob_channels: ["voice"] },
  email: { authenticator_types: ["oob"], oob_channels: ["email"] },
  push: { authenticator_types: ["oob"], oob_channels: ["auth0"] },
};

/** A popup step-up is already open. */
export class PopupInProgressError extends TollgateError {
  constructor() {
    super("popup_in_progress", "A step-up popup is already open.", 0);
    this.name = "PopupInProgressError";
  }
}

/** The browser blocked the popup (open it from a click handler). */
export class PopupBlockedError extends TollgateError {
  constructor() {
    super("popup_blocked", "The browser blocked the step-up popup.", 0);
    this.name = "PopupBlockedError";
  }
}

const MFA_POLICY = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
let activePopup = null;

/** The MFA API, driven with the `mfaToken` of an `MfaRequiredError`. */
export const mfa = {
  /**
   * Steps up in a popup: opens the login route with `acr_values` (default: the multi-factor
   * policy) in a popup, waits for it to report back (same origin only), then returns
   * `getAccessToken({audience, scope})`. Options: `audience`, `scope`, `acr_values`, `prompt`,
   * `returnTo`, `timeout` (ms, default 60000), `popupWidth` (400), `popupHeight` (600).
   */
  async challengeWithPopup(options = {}) {
    if (typeof window === "undefined") throw new TollgateError("execution_context", "challengeWithPopup runs in a browser.", 0);
    if (activePopup) throw new PopupInProgressError();
    const q = new URLSearchParams();
    q.set("returnTo", options.returnTo || window.location.pathname);
    q.set("acr_values", options.acr_values || MFA_POLICY);
    q.set("challengeMode", "popup");
    // `audience` and `scope` are not put in the login URL (the login route refuses them unless
    // the app allows them): the step-up gives the session MFA, and the token for the API is then
    // asked for from the server.
    if (options.prompt) q.set("prompt", options.prompt);
    const width = options.popupWidth || 400;
    const height = options.popupHeight || 600;
    const popup = window.open(`${ROUTES.login}?${q}`, "tollgate-step-up", `width=${width},height=${height}`);
    if (!popup) throw new PopupBlockedError();
    activePopup = popup;
    try {
      const result = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new TollgateError("timeout", "The step-up popup did not finish in time.", 0));
        }, options.timeout || 60000);
        function onMessage(event) {
          if (event.origin !== window.location.origin || !event.data || event.data.type !== "auth_complete") return;
          cleanup();
          resolve(event.data);
        }
        function cleanup() {
          clearTimeout(timer);
          window.removeEventListener("message", onMessage);
        }
        window.addEventListener("message", onMessage);
      });
      if (!result.success) {
        const e = result.error || {};
        throw new AccessTokenError(e.code || "step_up_failed", e.message, 0);
      }
      return await getAccessToken({ audience: options.audience, scope: options.scope });
    } finally {
      activePopup = null;
    }
  },

  /** The user's authenticators of the required types. */
  async getAuthenticators(mfaToken) {
    const { resp, body } = await call(ROUTES.mfaAuthenticators, { token: mfaToken });
    if (!resp.ok) throw mfaErrorFrom(body, resp.status);
    return body;
  },

  /** Enrolls a factor: `{factorType: "otp"|"sms"|"voice"|"email"|"push", phoneNumber?, email?}`. */
  async enroll(mfaToken, { factorType, phoneNumber, email } = {}) {
    const base = FACTORS[factorType];
    if (!base) throw new MfaError({ error: "invalid_request", error_description: `unknown factorType ${factorType}` }, 0);
    const payload = { ...base };
    if (phoneNumber) payload.phone_number = phoneNumber;
    if (email) payload.email = email;
    const { resp, body } = await call(ROUTES.mfaAssociate, { method: "POST", token: mfaToken, body: payload });
    if (!resp.ok) throw mfaErrorFrom(body, resp.status);
    return body;
  },

  /** Starts a challenge: `{challengeType: "otp"|"oob", authenticatorId?}` → `{challenge_type, oob_code?, binding_method?}`. */
  async challenge(mfaToken, { challengeType, authenticatorId } = {}) {
    const payload = { mfa_token: mfaToken, challenge_type: challengeType };
    if (authenticatorId) payload.authenticator_id = authenticatorId;
    const { resp, body } = await call(ROUTES.mfaChallenge, { method: "POST", body: payload });
    if (!resp.ok) throw mfaErrorFrom(body, resp.status);
    return body;
  },

  /** Verifies: `{otp}` | `{oobCode, bindingCode?}` | `{recoveryCode}` → `{success, recovery_code?}`. */
  async verify(mfaToken, { otp, oobCode, bindingCode, recoveryCode } = {}) {
    let payload;
    if (otp) payload = { otp };
    else if (oobCode) payload = { oob_code: oobCode, binding_code: bindingCode };
    else if (recoveryCode) payload = { recovery_code: recoveryCode };
    else throw new MfaError({ error: "invalid_request", error_description: "give otp, oobCode or recoveryCode" }, 0);
    const { resp, body } = await call(ROUTES.mfaVerify, { method: "POST", token: mfaToken, body: payload });
    if (!resp.ok) throw mfaErrorFrom(body, resp.status);
    return body;
  },
};
